/** How a job looks to a client: the seed's states, progress in %, and a signed link to its result. */
import { JobType, type JobSummary } from '../jobs/queue.ts';

/** The seed's render states: a running render is "rendering". */
export function statusOf(j: JobSummary): string {
  if (j.state === 'running') return j.type === JobType.Render ? 'rendering' : 'running';
  return j.state;
}

export function jobView(j: JobSummary, downloadUrl: (fileId: string) => string) {
  const base = {
    id: j.id,
    type: j.type,
    status: statusOf(j),
    progress: Math.round(j.progress * 1000) / 10,
    price: j.price,
    created_at: new Date(j.createdAt).toISOString(),
  };
  const r = j.result;
  return {
    ...base,
    ...(r?.fileId ? { file_id: r.fileId, file_name: r.fileName, url: downloadUrl(r.fileId) } : {}),
    ...(j.type === JobType.Transcribe && j.result ? { transcript_id: j.result.transcriptId } : {}),
    ...(j.error ? { error: j.error } : {}),
  };
}
