/**
 * The agent behind /run_sse, without an LLM: a message is parsed into intents (intent.ts),
 * each becomes a tool call on the session — reported as ADK functionCall/functionResponse
 * events — and every request ends with a text reply saying what was done, or what could not
 * be and why. Work that takes time (transcription, render) streams progress as it runs.
 */
import { randomUUID } from 'node:crypto';
import { enqueueRender, enqueueTranscription, sourceOfMedia, type EnqueueDeps } from '../jobs/enqueue.ts';
import { resultOf, type Job } from '../jobs/queue.ts';
import type { JobType } from '../jobs/types.ts';
import { waitForJob } from '../jobs/wait.ts';
import { hasSpeakers, toTxt } from '../transcript/index.ts';
import { draftFromMedia, parseDraft, setCaptions, timelineDuration, type Draft } from '../render/index.ts';
import { draftForOneVideo } from '../render/operations.ts';
import { ErrorCode, VidscribeError, isVidscribeError } from '../shared/errors.ts';
import type { MediaItem, Session } from '../sessions/sessions.ts';
import { NothingToRemove, applyDraftIntents, selectMedia, type EditContext } from './edit.ts';
import { parseRequest, type Intent } from './intent.ts';
import { languageName, repliesFor, type Replies } from './replies.ts';
import { validateIntents } from './validate.ts';

export const AGENT_NAME = 'nemo_agent';

export type Part =
  | { text: string }
  | { functionCall: { id: string; name: string; args: Record<string, unknown> } }
  | { functionResponse: { id: string; name: string; response: Record<string, unknown> } };

/** An event in Google ADK's shape, as the seed's clients parse them. */
export interface AdkEvent {
  id: string;
  invocationId: string;
  author: string;
  timestamp: number;
  content: { role: 'model'; parts: Part[] };
  /** Progress lines are partial; the final reply is not. */
  partial?: boolean;
  turnComplete?: boolean;
}

export interface AgentDeps extends EnqueueDeps {
  /** A signed link to a stored file. */
  downloadUrl(fileId: string): string;
  /** The 2001 message for this caller (with a registration link for anonymous users). */
  noCreditsMessage(what: string): string;
  /** The caller's available credits, for the reply after a charge. */
  creditsLeft?(): Promise<number>;
  /**
   * An optional planner for requests the parser does not understand (a language model): it returns
   * intents, which go through validateIntents like the parser's. The route passes
   * plannerForRequest (src/agent/planner/), which is bounded in time and never throws.
   */
  planner?: { plan(input: { message: string; media: readonly MediaItem[]; draft: Draft | null }): Promise<unknown> };
}

export interface AgentRequest {
  session: Session;
  message: string;
  signal?: AbortSignal;
}

/** The tools the agent calls, as its functionCall events name them. */
const TOOL_NAMES: Record<Exclude<Intent['kind'], 'remove'>, string> = {
  transcribe: 'transcribe_media',
  captions: 'add_captions',
  export: 'export_video',
  trim: 'trim',
  aspect: 'set_aspect',
  resolution: 'set_resolution',
  title: 'add_title',
  music: 'add_background_music',
  still: 'add_still',
  overlay: 'add_overlay',
  undo: 'undo',
  redo: 'redo',
  startOver: 'start_over',
};

/** The tools that cost credits: they run only when the request asks for them. */
export const PAID_TOOLS: readonly string[] = [TOOL_NAMES.transcribe, TOOL_NAMES.export];

export async function runAgent(req: AgentRequest, deps: AgentDeps, emit: (e: AdkEvent) => void): Promise<void> {
  const invocationId = `e-${randomUUID()}`;
  const event = (parts: Part[], extra: Partial<AdkEvent> = {}): AdkEvent => ({
    id: randomUUID(),
    invocationId,
    author: AGENT_NAME,
    timestamp: Date.now() / 1000,
    content: { role: 'model', parts },
    ...extra,
  });
  const say = (text: string) => emit(event([{ text }], { partial: true }));
  const t = repliesFor(req.message);
  const done: string[] = [];
  const problems: string[] = [];
  /** The code of the last tool call that failed (a batch stops at 2001). */
  let lastErrorCode: ErrorCode | undefined;

  /** One tool call: functionCall, the work, functionResponse (with the error if it failed). */
  const tool = async <T extends Record<string, unknown>>(name: string, args: Record<string, unknown>, work: () => Promise<T>): Promise<T | undefined> => {
    const id = `call-${randomUUID().slice(0, 8)}`;
    emit(event([{ functionCall: { id, name, args } }]));
    try {
      const response = await work();
      emit(event([{ functionResponse: { id, name, response: { status: 'ok', ...response } } }]));
      return response;
    } catch (e) {
      // A stopped stream (cap, client gone) is not the tool's failure: let the route say so.
      if (!isVidscribeError(e) || req.signal?.aborted) throw e;
      emit(event([{ functionResponse: { id, name, response: { status: 'error', code: e.code, message: e.message } } }]));
      problems.push(e.message);
      lastErrorCode = e.code;
      return undefined;
    }
  };

  /** Waits for a job, turning its progress into text events (at most one per 10 %). */
  const follow = async <T extends JobType>(job: { id: string; type: T }, what: string): Promise<Job<T>> => {
    let shown = -1;
    const finished = await waitForJob(deps.queue, job, {
      signal: req.signal,
      onEvent: (j) => {
        const step = Math.floor(j.progress * 10);
        if (j.state === 'running' && step > shown) {
          shown = step;
          say(t.progress(what, Math.round(j.progress * 100)));
        }
      },
    });
    if (finished.state !== 'completed') {
      throw new VidscribeError((finished.error?.code ?? ErrorCode.AsrFailed) as ErrorCode, t.failed(what, finished.error?.message ?? finished.state));
    }
    return finished;
  };

  const ask = (text: string) => emit(event([{ text }], { turnComplete: true }));
  const parsed = parseRequest(req.message);
  if (parsed.question) {
    ask(t.question(parsed.question, []));
    return;
  }
  const media = await deps.sessions.media(req.session.id);
  const stored = await deps.sessions.draft(req.session.id);
  let planned: unknown = parsed.intents;
  if ((parsed.unknown || parsed.intents.length === 0) && deps.planner) {
    planned = await deps.planner.plan({ message: req.message, media, draft: stored });
  }
  const checked = validateIntents(planned, { media, hasDraft: stored !== null });
  if (!checked.ok && 'question' in checked) {
    ask(
      t.question(
        checked.question,
        media.filter((m) => m.kind === 'video').map((m) => m.name),
      ),
    );
    return;
  }
  if (!checked.ok || checked.intents.length === 0) {
    ask(t.cannotDo(t.capabilities));
    return;
  }
  parsed.intents = checked.intents;

  const who = { accountId: req.session.accountId, sessionId: req.session.id };
  const playable = media.filter((m) => m.kind !== 'image');
  // Photos alone are a slideshow draft (placeUploads): it can be edited and exported, not transcribed.
  const slideshow = playable.length === 0 && stored !== null && parsed.intents.every((i) => i.kind !== 'transcribe' && i.kind !== 'captions');
  if (playable.length === 0 && !slideshow) {
    emit(event([{ text: t.noMedia }], { turnComplete: true }));
    return;
  }

  // Every file the request names or counts to must be in the session and playable, else the
  // answer is in words: no tool call, no charge, never another file in its place.
  const missing = unresolvedFiles(parsed.intents, media, t);
  if (missing.length) {
    emit(event([{ text: missing.join('\n') }], { turnComplete: true }));
    return;
  }

  const selectorOf = (i: Intent) => ('media' in i && i.kind !== 'music' ? i.media : undefined);
  const explicit = parsed.intents.map(selectorOf).find(Boolean);
  const mainMedia = selectMedia(playable, explicit, 'video') ?? selectMedia(playable, explicit) ?? playable[0]!;

  // The draft the edits apply to: the session's, unless the request names another file.
  let draft: Draft | null = stored;
  const draftSources = new Set(draft?.t.flatMap((t) => t.sg.map((s) => s.src)) ?? []);
  // A batch of videos (captions and all) is built from the session draft without changing it: alone it needs no stored draft.
  const batch = parsed.intents.some((i) => i.kind === 'export' && i.each) && media.some((m) => m.kind === 'video');
  const needsDraft = parsed.intents.some(
    (i) => i.kind !== 'transcribe' && i.kind !== 'undo' && i.kind !== 'redo' && !(batch && (i.kind === 'export' || i.kind === 'captions')),
  );
  const fromMedia = (m: MediaItem) =>
    draftFromMedia({ path: m.name, durationSec: m.durationSec, video: m.info.video, audio: m.info.audio }, { id: `draft-${m.id}`, src: m.id });
  if (needsDraft && (!draft || (explicit && !draftSources.has(mainMedia.id)))) {
    // Stored as the uploads' draft (not an edit): undo and "start over" come back to it.
    draft = await deps.sessions.saveDraft(req.session.id, fromMedia(mainMedia));
  }
  /** Every change is a version: undo is exact. */
  let dirty = false;
  const commit = async () => {
    if (draft && dirty) draft = await deps.sessions.commitDraft(req.session.id, draft);
    dirty = false;
  };
  let spent = 0;
  const mainClip = draft?.t.find((t) => t.tt !== 7)?.sg.find((s) => s.src !== undefined);
  const mediaOfDraft = media.find((m) => m.id === mainClip?.src) ?? mainMedia;

  const transcriptFor = (m: MediaItem) => deps.sessions.transcriptOf(req.session.id, m.id);
  // In a batch ("add captions to each video and export them separately") captions go on each
  // video's own draft from its own transcript, not on the session draft.

  /**
   * The video's transcript, transcribing it first (a paid tool call) when it has none, or none with
   * speakers when they are wanted; undefined if that failed.
   */
  const ensureTranscript = async (target: MediaItem, speakers = false) => {
    const had = await transcriptFor(target);
    if (had && (!speakers || had.speakers !== undefined)) return had;
    const args = { media_id: target.id, name: target.name, ...(speakers ? { diarize: true } : {}) };
    const ok = await tool(TOOL_NAMES.transcribe, args, async () => {
      const job = await enqueueTranscription(deps, who, sourceOfMedia(target), {
        ...(speakers ? { options: { diarize: {} } } : {}),
        noCreditsMessage: deps.noCreditsMessage(`transcribe ${target.name}`),
      });
      say(t.transcribing(target.name, target.durationSec, job.price));
      const fin = await follow(job, t.transcribingWhat(target.name));
      spent += job.price;
      const r = resultOf(fin);
      return { transcript_id: r.transcriptId, language: r.language, words: r.words, credits: job.price };
    });
    return ok ? transcriptFor(target) : undefined;
  };

  /**
   * One render per video, in upload order, each of its own draft (draftForOneVideo). All are queued
   * before any is awaited, each holding its own credits; when the credits run out part-way, the
   * renders already queued stand and the reply names the videos that got none.
   */
  const exportEach = async (base: Draft) => {
    const videos = media.filter((m) => m.kind === 'video');
    const wantsCaptions = parsed.intents.some((i) => i.kind === 'captions');
    const queued: { id: string; job: Job<'render'>; video: MediaItem; d: Draft }[] = [];
    for (const [n, video] of videos.entries()) {
      if (req.signal?.aborted) break;
      const v = video.info.video[0];
      let d = draftForOneVideo(base, { src: video.id, kind: 'video', durationSec: video.durationSec, ...(v ? { width: v.width, height: v.height } : {}) });
      if (wantsCaptions) {
        const transcript = await ensureTranscript(video);
        if (!transcript) {
          if (lastErrorCode === ErrorCode.NoCredits) {
            problems.push(
              t.notQueued(
                videos.slice(n).map((m) => m.name),
                problems.pop()!,
              ),
            );
            break;
          }
          continue;
        }
        d = setCaptions(d, transcript);
        const cues = d.t.filter((x) => x.tt === 7).flatMap((x) => x.sg.filter((sg) => (sg.m as { kind?: string }).kind === 'caption')).length;
        done.push(`${video.name}: ${t.captioned(cues)}`);
      }
      const id = `call-${randomUUID().slice(0, 8)}`;
      const name = TOOL_NAMES.export;
      emit(event([{ functionCall: { id, name, args: { media_id: video.id, name: video.name, each: true, w: d.w, h: d.h } } }]));
      try {
        d = parseDraft(d);
        const job = await enqueueRender(deps, who, d, deps.noCreditsMessage(`render ${video.name}`));
        say(t.rendering(d.w, d.h, job.price));
        queued.push({ id, job, video, d });
      } catch (e) {
        if (!isVidscribeError(e) || req.signal?.aborted) throw e;
        emit(event([{ functionResponse: { id, name, response: { status: 'error', code: e.code, message: e.message } } }]));
        if (e.code === ErrorCode.NoCredits) {
          problems.push(
            t.notQueued(
              videos.slice(n).map((m) => m.name),
              e.message,
            ),
          );
          break;
        }
        problems.push(`${video.name}: ${e.message}`);
      }
    }
    for (const { id, job, video } of queued) {
      const name = TOOL_NAMES.export;
      try {
        const fin = await follow(job, `${t.renderingWhat} (${video.name})`);
        spent += job.price;
        const res = resultOf(fin);
        const url = deps.downloadUrl(res.fileId);
        const response = {
          status: 'ok',
          render_id: job.id,
          media_id: video.id,
          file_id: res.fileId,
          file_name: res.fileName,
          url,
          duration: res.durationSec,
          credits: job.price,
        };
        emit(event([{ functionResponse: { id, name, response } }]));
        done.push(t.rendered(res.fileName, res.durationSec, job.price, url));
      } catch (e) {
        if (!isVidscribeError(e) || req.signal?.aborted) throw e;
        emit(event([{ functionResponse: { id, name, response: { status: 'error', code: e.code, message: e.message } } }]));
        problems.push(e.message);
      }
    }
  };

  const edits: Intent[] = [];
  const flushEdits = async () => {
    if (!edits.length || !draft) return;
    const batch = edits.splice(0);
    for (const intent of batch) {
      const r = await tool(toolName(intent), intentArgs(intent), async () => {
        let musicSrc: string | undefined;
        if (intent.kind === 'music') {
          const audio = selectMedia(
            media.filter((m) => m.kind === 'audio' && m.id !== mediaOfDraft.id),
            intent.media,
            'audio',
          );
          if (!audio) throw new VidscribeError(ErrorCode.BadRequest, t.noMusicFile);
          musicSrc = audio.id;
        }
        let picture: EditContext['picture'];
        if (intent.kind === 'still' || intent.kind === 'overlay') {
          const images = media.filter((m) => m.kind === 'image');
          // Named, else for an overlay an image called like a logo and for a still one that is not, else the first image.
          const logoLike = (m: MediaItem) => /logo|watermark|icon|标志|图标|水印/i.test(m.name);
          const image = intent.picture ? selectMedia(images, intent.picture) : (images.find((m) => (intent.kind === 'overlay') === logoLike(m)) ?? images[0]);
          if (!image) throw new VidscribeError(ErrorCode.BadRequest, t.noPicture);
          const v = image.info.video[0];
          picture = { src: image.id, ...(v ? { width: v.width, height: v.height } : {}) };
        }
        if (intent.kind === 'trim' && intent.startMs >= timelineDuration(draft!)) {
          throw new VidscribeError(ErrorCode.BadRequest, t.tooShort(timelineDuration(draft!) / 1000, intent.startMs / 1000));
        }
        try {
          draft = parseDraft(applyDraftIntents(draft!, [intent], { musicSrc, picture }));
          dirty = true;
        } catch (e) {
          // An edit that cannot apply to this draft is the user's to fix, not a fault.
          if (isVidscribeError(e)) throw e;
          if (e instanceof NothingToRemove) throw new VidscribeError(ErrorCode.BadRequest, t.nothingToRemove(e.what), { cause: e });
          throw new VidscribeError(ErrorCode.BadRequest, t.cannotApply(t.describe(intent), (e as Error).message), { cause: e });
        }
        return { draft_version: draft.version, w: draft.w, h: draft.h };
      });
      if (r) done.push(t.describe(intent));
    }
  };

  for (const intent of parsed.intents) {
    if (req.signal?.aborted) break;
    switch (intent.kind) {
      case 'trim':
      case 'aspect':
      case 'resolution':
      case 'title':
      case 'music':
      case 'remove':
      case 'still':
      case 'overlay':
        edits.push(intent);
        break;
      case 'undo':
      case 'redo':
      case 'startOver': {
        // Whatever this request changed so far becomes a version first, so undo steps back over it.
        await flushEdits();
        await commit();
        const r = await tool(toolName(intent), intentArgs(intent), async () => {
          let to: Draft | undefined;
          if (intent.kind === 'undo') to = await deps.sessions.undoDraft(req.session.id, intent.steps);
          else if (intent.kind === 'redo') to = await deps.sessions.redoDraft(req.session.id, intent.steps);
          else {
            // The draft the session's uploads make, with no edits (the same placement an upload does).
            const playableVideo = playable.find((m) => m.kind === 'video') ?? playable[0]!;
            const base = (await deps.sessions.draftFromSessionMedia(req.session.id)) ?? fromMedia(playableVideo);
            to = await deps.sessions.commitDraft(req.session.id, base);
          }
          if (!to) throw new VidscribeError(ErrorCode.BadRequest, intent.kind === 'undo' ? t.nothingToUndo : t.nothingToRedo);
          draft = to;
          return { draft_version: to.version, w: to.w, h: to.h };
        });
        if (r) done.push(t.describe(intent));
        break;
      }
      case 'captions': {
        await flushEdits();
        if (!draft || batch) break;
        const target = mediaOfDraft;
        const transcript = await ensureTranscript(target, intent.speakers === true);
        if (!transcript) break;
        const clip = draft.t.find((t) => t.tt !== 7)?.sg.find((s) => s.src === target.id);
        const offsetMs = clip ? clip.s - (clip.in ?? 0) : 0;
        const spoken = transcript;
        const r = await tool(TOOL_NAMES.captions, { media_id: target.id }, async () => {
          draft = parseDraft(setCaptions(draft!, spoken, { offsetMs }));
          dirty = true;
          const cues = draft.t
            .filter((x) => x.tt === 7)
            .flatMap((x) => x.sg)
            .filter((s) => s.m && (s.m as { kind?: string }).kind === 'caption').length;
          return { draft_version: draft.version, cues };
        });
        if (r) done.push(t.captioned(r.cues));
        break;
      }
      case 'transcribe': {
        const target = selectMedia(playable, intent.media, 'video') ?? selectMedia(playable, intent.media) ?? mainMedia;
        if (intent.translateTo && intent.translateTo !== 'en') {
          problems.push(t.onlyIntoEnglish(languageName(intent.translateTo, t)));
        }
        const task = intent.translateTo === 'en' ? 'translate' : 'transcribe';
        const args = {
          media_id: target.id,
          name: target.name,
          format: intent.format,
          timestamps: intent.timestamps,
          task,
          ...(intent.language ? { language: intent.language } : {}),
          ...(intent.diarize ? { diarize: true } : {}),
        };
        const r = await tool(TOOL_NAMES.transcribe, args, async () => {
          const job = await enqueueTranscription(deps, who, sourceOfMedia(target), {
            options: { task, ...(intent.language ? { language: intent.language } : {}), ...(intent.diarize ? { diarize: {} } : {}) },
            export: { format: intent.format, timestamps: intent.timestamps },
            noCreditsMessage: deps.noCreditsMessage(`transcribe ${target.name}`),
          });
          say(t.transcribing(target.name, target.durationSec, job.price));
          const fin = await follow(job, t.transcribingWhat(target.name));
          spent += job.price;
          const res = resultOf(fin);
          const transcript = await deps.sessions.transcriptByJob(job.id);
          // With speakers, the excerpt reads like the TXT export: "Speaker 1: …" paragraphs.
          const text = !transcript ? '' : hasSpeakers(transcript) ? toTxt(transcript).trim() : transcript.segments.map((s) => s.text.trim()).join(' ');
          return {
            transcript_id: res.transcriptId,
            file_id: res.fileId,
            file_name: res.fileName,
            url: res.fileId ? deps.downloadUrl(res.fileId) : undefined,
            language: res.language,
            words: res.words,
            credits: job.price,
            text,
            ...(intent.diarize && transcript?.speakers ? { speakers: transcript.speakers.length } : {}),
          };
        });
        if (r) {
          const excerpt = String(r.text).length > 600 ? String(r.text).slice(0, 600) + '…' : String(r.text);
          done.push(t.transcribed(target.name, String(r.file_name), r.words, r.credits, String(r.url), excerpt, r.speakers));
        }
        break;
      }
      case 'export': {
        await flushEdits();
        await commit();
        if (batch) {
          // With no stored draft, the one the uploads make (not saved: the batch leaves the session as it was).
          const base = draft ?? (await deps.sessions.draftFromSessionMedia(req.session.id));
          if (base) await exportEach(base);
          break;
        }
        if (!draft) break;
        const d = draft;
        const r = await tool(TOOL_NAMES.export, { draft_id: d.id, draft_version: d.version, w: d.w, h: d.h }, async () => {
          const job = await enqueueRender(deps, who, d, deps.noCreditsMessage('render this video'));
          say(t.rendering(d.w, d.h, job.price));
          const fin = await follow(job, t.renderingWhat);
          spent += job.price;
          const res = resultOf(fin);
          return {
            render_id: job.id,
            file_id: res.fileId,
            file_name: res.fileName,
            url: deps.downloadUrl(res.fileId),
            duration: res.durationSec,
            credits: job.price,
          };
        });
        if (r) done.push(t.rendered(r.file_name, r.duration, r.credits, r.url));
        break;
      }
    }
  }
  await flushEdits();
  if (parsed.intents.some((i) => i.kind !== 'transcribe')) await commit();

  const lines: string[] = [];
  if (done.length) lines.push(t.done(done));
  if (problems.length) lines.push(t.problems(done.length > 0, problems));
  if (spent > 0) lines.push(t.cost(spent, await deps.creditsLeft?.()));
  if (draft && !parsed.intents.some((i) => i.kind === 'export') && parsed.intents.some((i) => i.kind !== 'transcribe') && done.length) {
    lines.push(t.draftSaved);
  }
  emit(event([{ text: lines.join('\n\n') || t.nothing }], { turnComplete: true }));
}

/**
 * What is wrong with each file selector that does not resolve: a name or ordinal that matches
 * nothing, or a named image. Background music's default ("the uploaded song") is left to the
 * music tool, which answers without charging when there is no audio.
 */
function unresolvedFiles(intents: readonly Intent[], media: readonly MediaItem[], t: Replies): string[] {
  const playable = media.filter((m) => m.kind !== 'image');
  const audio = media.filter((m) => m.kind === 'audio');
  const problems = new Set<string>();
  for (const intent of intents) {
    const sel = 'media' in intent ? intent.media : undefined;
    if (!sel || (intent.kind === 'music' && sel.by !== 'name')) continue;
    if (selectMedia(intent.kind === 'music' ? audio : playable, sel)) continue;
    const named = sel.by === 'name' ? selectMedia(media, sel) : undefined;
    problems.add(
      named?.kind === 'image'
        ? t.notMedia(named.name)
        : t.notInSession(
            t.selector(sel),
            media.map((m) => m.name),
          ),
    );
  }
  return [...problems];
}

export function toolName(i: Intent): string {
  return i.kind === 'remove' ? `remove_${i.what}` : TOOL_NAMES[i.kind];
}

export function intentArgs(i: Intent): Record<string, unknown> {
  const { kind: _k, ...rest } = i as Intent & Record<string, unknown>;
  return rest;
}
