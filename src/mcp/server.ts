/**
 * The MCP server: vidscribe's tools and resources for an assistant (Claude Desktop, Cursor…),
 * each one a call on the vidscribe HTTP API through a VidscribeClient. Errors come back as tool
 * errors carrying the vidscribe code and the server's sentence, so the assistant can act on them.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { parseRequest } from '../agent/intent.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import type { FileView, SegmentView } from '../api/views.ts';
import type { ToolName } from '../agent/planner/tools.ts';
import type { VidscribeClient } from './client.ts';

/** How much transcript text a tool result carries; the whole text is the resource. */
export const TEXT_MAX_CHARS = 8000;
const POLL_MS = 500;

export interface McpOptions {
  /** Local mode: `path` arguments are files this process reads, at most this many bytes. Remote servers never read paths. */
  localFiles?: { maxBytes: number };
}

const text = (s: string): CallToolResult => ({ content: [{ type: 'text', text: s }] });

/** A thrown error as a tool error the assistant can read and act on. */
function toolError(e: unknown): CallToolResult {
  if (e instanceof VidscribeError) {
    const link = typeof e.data?.register_url === 'string' ? ` Registration link: ${e.data.register_url}` : '';
    return { isError: true, content: [{ type: 'text', text: `vidscribe error ${e.code}: ${e.message}${link}` }] };
  }
  return { isError: true, content: [{ type: 'text', text: `vidscribe error ${ErrorCode.Internal}: ${(e as Error)?.message ?? String(e)}` }] };
}

async function guarded(work: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await work();
  } catch (e) {
    return toolError(e);
  }
}

/**
 * The sentence asking the agent to transcribe: the agent understands a spoken language by its
 * name ("the speech is in French"), so an ISO code is named first and checked against its parser.
 */
export function transcribeRequest(name: string, format: string, language?: string, speakers = false): string {
  const base = `transcribe ${name} into a ${format} file${speakers ? ' and label the speakers' : ''}`;
  if (speakers && !parseRequest(base).intents.some((i) => i.kind === 'transcribe' && i.diarize)) {
    // The agent's parser no longer hears this phrase: a loud failure, not a transcript without speakers.
    throw new VidscribeError(ErrorCode.Internal, 'The request for speaker labels is not understood by the agent');
  }
  if (!language) return base;
  const code = language.toLowerCase().split(/[-_]/)[0]!;
  let named: string | undefined;
  try {
    named = new Intl.DisplayNames(['en'], { type: 'language' }).of(code);
  } catch {
    named = undefined; // not a language code: refused below
  }
  const request = `${base} (the speech is in ${named ?? language})`;
  if (!parseRequest(request).intents.some((i) => i.kind === 'transcribe' && i.language === code))
    throw new VidscribeError(
      ErrorCode.BadRequest,
      `Unknown or unsupported language "${language}": give an ISO 639-1 code such as en, fr, de, zh, or leave it out to detect it`,
    );
  return request;
}

/** The agent's tool that makes a transcript (its reply names the transcript). */
const TRANSCRIBE_TOOL: ToolName = 'transcribe_media';

const stamp = (sec: number) => new Date(Math.max(0, sec) * 1000).toISOString().slice(11, 19);

/** The largest text file a resource read returns inline (an hour's SRT is about 100 kB); a larger one, or a video, as its link. */
export const MAX_INLINE_TEXT_BYTES = 1024 * 1024;

export function createMcpServer(client: VidscribeClient, opts: McpOptions = {}): McpServer {
  const server = new McpServer({ name: 'vidscribe', version: '0.1.0' });

  /** The transcript asked for, else the newest. */
  const transcript = async (id?: string) => {
    const st = await client.state();
    const list = st.transcripts as { id: string; media_id: string; text: string }[];
    const t = id ? list.find((x) => x.id === id) : list.at(-1);
    if (!t) throw new VidscribeError(ErrorCode.NotFound, id ? `No transcript ${id} in this session` : 'No transcript yet: call transcribe first');
    return { t, st };
  };

  /** The transcript's timed segments. */
  const segments = async (id?: string): Promise<SegmentView[]> => (await client.transcript((await transcript(id)).t.id)).segments;

  server.registerTool(
    'transcribe',
    {
      description:
        'Transcribe a video or audio file with vidscribe (speech to text, offline Whisper). Give a local file path (local mode) or an http(s) URL. Returns the transcript text (by speaker turns with speakers: true) and its resource URI; the exported file (txt, srt, vtt, json, md or docx) is listed as a resource.',
      inputSchema: {
        path: z.string().max(4096).optional().describe('a local file path (only when the MCP server runs on this machine)'),
        url: z.string().url().max(2048).optional().describe('an http(s) URL of the media'),
        format: z.enum(['txt', 'srt', 'vtt', 'json', 'md', 'docx']).optional().describe('export format, default txt'),
        language: z.string().max(16).optional().describe('spoken language, ISO 639-1 (default: detected)'),
        speakers: z.boolean().optional().describe('find who speaks when: the text and the file name each speaker (Speaker 1, Speaker 2…)'),
      },
    },
    (args) =>
      guarded(async () => {
        const speakers = args.speakers === true;
        transcribeRequest('media', args.format ?? 'txt', args.language, speakers); // an unknown language is refused before any upload
        let media: { id: string; name: string }[];
        if (args.url) media = await client.upload({ url: args.url });
        else if (args.path) {
          if (!opts.localFiles)
            throw new VidscribeError(
              ErrorCode.BadRequest,
              'This vidscribe server cannot read local paths: pass a url instead, or run `vidscribe mcp` on the machine that has the file',
            );
          const full = resolve(args.path);
          const info = await stat(full).catch((e) => {
            throw new VidscribeError(ErrorCode.FileNotFound, `No file at ${args.path}`, { cause: e });
          });
          if (!info.isFile()) throw new VidscribeError(ErrorCode.FileNotFound, `${args.path} is not a file`);
          if (info.size > opts.localFiles.maxBytes)
            throw new VidscribeError(ErrorCode.FileTooLarge, `${args.path} is larger than the upload limit (${Math.round(opts.localFiles.maxBytes / 1e6)} MB)`);
          media = await client.upload({ name: basename(full), body: new Uint8Array(await readFile(full)) });
        } else throw new VidscribeError(ErrorCode.BadRequest, 'Give either path or url');
        const reply = await client.ask(transcribeRequest(media[0]!.name, args.format ?? 'txt', args.language, speakers));
        // The transcript is the one the agent's transcription call made: a file of the same name
        // uploaded earlier in the session is another media item, with transcripts of its own.
        const made = [...reply.toolCalls].reverse().find((c) => c.name === TRANSCRIBE_TOOL && typeof c.response?.transcript_id === 'string')?.response;
        if (!made) throw new VidscribeError(ErrorCode.AsrFailed, `The agent made no transcript: ${reply.text}`);
        if (speakers && made.speakers === undefined) throw new VidscribeError(ErrorCode.AsrFailed, `Speaker diarization did not run: ${reply.text}`);
        const id = made.transcript_id as string;
        // With speakers, "Speaker 1: …" paragraphs, as the TXT export reads.
        const said = String(made.text ?? '');
        const cut = said.length > TEXT_MAX_CHARS ? `${said.slice(0, TEXT_MAX_CHARS)}… (read the rest from the resource)` : said;
        return {
          content: [
            { type: 'text', text: cut },
            { type: 'resource_link', uri: `vidscribe://transcript/${id}`, name: `transcript ${id}`, mimeType: 'text/plain' },
            { type: 'text', text: `${reply.text}\ntranscript_id: ${id}` },
          ],
        };
      }),
  );

  server.registerTool(
    'read_transcript',
    {
      description: 'Read a transcript of this session: plain text, or with [hh:mm:ss] timestamps; optionally only from/to (seconds).',
      inputSchema: {
        transcript_id: z.string().max(128).optional().describe('default: the newest transcript'),
        mode: z.enum(['plain', 'timestamps']).default('plain'),
        from: z.number().min(0).optional().describe('start, seconds'),
        to: z.number().min(0).optional().describe('end, seconds'),
      },
    },
    (args) =>
      guarded(async () => {
        if (args.mode === 'plain' && args.from === undefined && args.to === undefined) return text((await transcript(args.transcript_id)).t.text);
        const segs = (await segments(args.transcript_id)).filter((s) => s.end >= (args.from ?? 0) && s.start <= (args.to ?? Number.POSITIVE_INFINITY));
        return text(segs.map((s) => (args.mode === 'timestamps' ? `[${stamp(s.start)}] ${s.text}` : s.text)).join('\n'));
      }),
  );

  server.registerTool(
    'search_transcript',
    {
      description: 'Find where something is said: case-insensitive search over a transcript, returning each matching segment with its time.',
      inputSchema: { query: z.string().min(1).max(200), transcript_id: z.string().max(128).optional() },
    },
    (args) =>
      guarded(async () => {
        const q = args.query.toLowerCase();
        const hits = (await segments(args.transcript_id)).filter((s) => s.text.toLowerCase().includes(q));
        return text(
          hits.length
            ? hits.map((s) => `[${stamp(s.start)}–${stamp(s.end)}] (${s.start}s) ${s.text}`).join('\n')
            : `"${args.query}" is not said in this transcript`,
        );
      }),
  );

  server.registerTool(
    'edit_video',
    {
      description:
        'Ask the vidscribe video agent to edit this session\'s video, in plain words ("make it vertical", "cut the silences", "add captions", "add a title …"). Returns the agent\'s reply and the tool calls it made. Export with export_video.',
      inputSchema: { request: z.string().min(1).max(4000) },
    },
    (args) =>
      guarded(async () => {
        const reply = await client.ask(args.request);
        const calls = reply.toolCalls.map((c) => `- ${c.name}(${JSON.stringify(c.args)}) → ${String(c.response?.status ?? 'no reply')}`).join('\n');
        return text(`${reply.text}${calls ? `\n\nTool calls:\n${calls}` : ''}`);
      }),
  );

  server.registerTool(
    'export_video',
    {
      description:
        "Render this session's current draft to an MP4. Reports progress; cancelling the request cancels the render and releases its credits. Returns the file's resource URI and download link.",
      inputSchema: {},
    },
    (_args, extra) =>
      guarded(async () => {
        const { render_id: id } = await client.exportVideo();
        const token = extra._meta?.progressToken;
        const cancel = () => {
          client.cancelRender(id).catch(() => {
            // The render may have just ended on its own: nothing left to cancel.
          });
        };
        extra.signal.addEventListener('abort', cancel, { once: true });
        try {
          for (;;) {
            const r = await client.render(id);
            if (token !== undefined)
              await extra.sendNotification({
                method: 'notifications/progress',
                params: { progressToken: token, progress: r.progress, total: 100, message: `render ${r.status}` },
              });
            if (r.status === 'completed') {
              const st = await client.state();
              const job = (st.jobs as { id: string; file_id?: string }[]).find((j) => j.id === id);
              return {
                content: [
                  { type: 'text', text: `Exported (render ${id}). Download: ${r.url}` },
                  ...(job?.file_id
                    ? [{ type: 'resource_link' as const, uri: `vidscribe://file/${job.file_id}`, name: `render ${id}`, mimeType: 'video/mp4' }]
                    : []),
                ],
              };
            }
            if (r.status !== 'queued' && r.status !== 'running' && r.status !== 'rendering') {
              const err = r.error as { code?: number; message?: string } | undefined;
              throw new VidscribeError((err?.code ?? ErrorCode.RenderFailed) as ErrorCode, err?.message ?? `render ${id} ${r.status}`);
            }
            if (extra.signal.aborted) throw new VidscribeError(ErrorCode.Cancelled, `render ${id} cancelled`);
            await new Promise((ok) => setTimeout(ok, POLL_MS));
          }
        } finally {
          extra.signal.removeEventListener('abort', cancel);
        }
      }),
  );

  server.registerTool('credits', { description: 'Credits of this vidscribe account: available, frozen (held by running jobs), total.', inputSchema: {} }, () =>
    guarded(async () => text(JSON.stringify(await client.credits()))),
  );

  server.registerTool(
    'session_state',
    { description: 'This session: media, transcripts (ids), jobs, exported files and the current draft.', inputSchema: {} },
    () =>
      guarded(async () => {
        const st = await client.state();
        const summary = {
          session_id: st.session_id,
          media: st.media,
          transcripts: (st.transcripts as { id: string; media_id: string; language: string; text: string }[]).map((t) => ({
            id: t.id,
            media_id: t.media_id,
            language: t.language,
            uri: `vidscribe://transcript/${t.id}`,
            chars: t.text.length,
          })),
          jobs: st.jobs,
          files: (st.files as { id: string; name: string; content_type: string }[]).map((f) => ({ ...f, uri: `vidscribe://file/${f.id}` })),
          draft: st.draft,
        };
        return text(JSON.stringify(summary, null, 1));
      }),
  );

  server.registerResource(
    'transcript',
    new ResourceTemplate('vidscribe://transcript/{id}', {
      list: async () => ({
        resources: ((await client.state()).transcripts as { id: string; text: string }[]).map((t) => ({
          uri: `vidscribe://transcript/${t.id}`,
          name: `transcript ${t.id}`,
          mimeType: 'text/plain',
        })),
      }),
    }),
    { description: 'A transcript of this session, as plain text', mimeType: 'text/plain' },
    async (uri, { id }) => {
      const { t } = await transcript(String(id));
      return { contents: [{ uri: uri.href, mimeType: 'text/plain', text: t.text }] };
    },
  );

  server.registerResource(
    'file',
    new ResourceTemplate('vidscribe://file/{id}', {
      list: async () => ({
        resources: ((await client.state()).files as { id: string; name: string; content_type: string }[]).map((f) => ({
          uri: `vidscribe://file/${f.id}`,
          name: f.name,
          mimeType: f.content_type,
        })),
      }),
    }),
    {
      description:
        'A file this session made: an exported transcript (srt, vtt, json…) as its text, or a rendered MP4 (or any file over 1 MB) as its download link (text/uri-list, valid for an hour)',
    },
    async (uri, { id }) => {
      const f = ((await client.state()).files as FileView[]).find((x) => x.id === String(id));
      if (!f) throw new VidscribeError(ErrorCode.NotFound, `No file ${String(id)} in this session`);
      const isText = /^text\/|json|subrip|vtt|markdown/.test(f.content_type);
      // A video is for downloading, not for an assistant's context: inlined (base64), each read of
      // a 177 MB render held 236 MB in this process, and ten reads at once 4.4 GB.
      if (!isText || f.size_bytes > MAX_INLINE_TEXT_BYTES) return { contents: [{ uri: uri.href, mimeType: 'text/uri-list', text: f.url }] };
      const { bytes } = await client.download(f.url);
      return { contents: [{ uri: uri.href, mimeType: f.content_type, text: new TextDecoder().decode(bytes) }] };
    },
  );

  return server;
}
