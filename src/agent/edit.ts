/**
 * Applying the chat agent's draft-editing intents to a draft. Pure: each intent maps onto one
 * render operation; intents that need jobs (transcribe, captions, export) are left to the runner.
 */
import {
  addBackgroundMusic,
  addOverlay,
  addStill,
  addTitle,
  setAspect,
  timelineDuration,
  trimDraft,
  type Aspect,
  type Draft,
  type PictureRef,
  type Resolution,
  type Track,
} from '../render/index.ts';
import type { Intent, MediaSelector, Removable } from './intent.ts';

export interface EditContext {
  /** media id (the `src` a music segment gets) for a music selector, already resolved by the caller */
  musicSrc?: string;
  /** The image a still or an overlay shows, already resolved by the caller. */
  picture?: PictureRef;
}

/** The canvas's shape, read back from its size. */
function aspectOf(draft: Draft): Aspect {
  return draft.w > draft.h ? '16:9' : draft.w < draft.h ? '9:16' : '1:1';
}

/** The canvas's resolution: a 720 px shorter side is 720p, anything else 1080p. */
function resolutionOf(draft: Draft): Resolution {
  return Math.min(draft.w, draft.h) === 720 ? '720p' : '1080p';
}

/**
 * A landscape source letterboxed ('contain') in a vertical or square frame is mostly black bars;
 * users going from 16:9 to TikTok/Instagram expect the blurred fill instead. Other fits were chosen
 * deliberately and are kept.
 */
function blurContainedVideo(tracks: Track[]): Track[] {
  return tracks.map((t) => (t.tt === 0 ? { ...t, sg: t.sg.map((sg) => (sg.m.fit === 'contain' ? { ...sg, m: { ...sg.m, fit: 'blur' as const } } : sg)) } : t));
}

function applyOne(draft: Draft, intent: Intent, ctx: EditContext): Draft {
  switch (intent.kind) {
    case 'aspect': {
      const next = setAspect(draft, intent.aspect, resolutionOf(draft));
      return aspectOf(draft) === '16:9' && intent.aspect !== '16:9' ? { ...next, t: blurContainedVideo(next.t) } : next;
    }
    case 'resolution':
      return setAspect(draft, aspectOf(draft), intent.resolution);
    case 'title':
      return addTitle(draft, intent.text, {
        startMs: intent.startMs,
        durationMs: intent.durationMs,
        ...(intent.position ? { position: intent.position } : {}),
      });
    case 'music':
      if (!ctx.musicSrc) throw new Error('no audio file to use as music');
      return addBackgroundMusic(draft, ctx.musicSrc, { volume: intent.volume, fade_in_ms: intent.fadeInMs, fade_out_ms: intent.fadeOutMs });
    case 'trim':
      // No end means "to the end"; trimDraft throws a RangeError if the start is past it.
      return trimDraft(draft, intent.startMs, intent.endMs ?? timelineDuration(draft));
    case 'remove':
      return removeFromDraft(draft, intent.what);
    case 'still':
      if (!ctx.picture) throw new Error('no picture to use');
      return addStill(draft, ctx.picture, { atMs: intent.atMs < 0 ? timelineDuration(draft) : intent.atMs, durationMs: intent.durationMs });
    case 'overlay':
      if (!ctx.picture) throw new Error('no picture to use');
      return addOverlay(draft, ctx.picture, { corner: intent.corner });
    default:
      return draft; // transcribe, captions, export need jobs, history needs the session: the runner's business
  }
}

/**
 * The draft without its captions, titles (any text that is not a caption), music (audio tracks) or
 * overlays (overlay texts, and any video segment marked as an overlay). A track left empty goes
 * too. Throws when there was nothing of the kind, so the user hears so instead of "done".
 */
export function removeFromDraft(draft: Draft, what: Removable): Draft {
  const gone = (t: Track, sg: Track['sg'][number]): boolean => {
    const kind = (sg.m as { kind?: string }).kind;
    if (what === 'captions') return t.tt === 7 && kind === 'caption';
    if (what === 'titles') return t.tt === 7 && kind !== 'caption';
    if (what === 'music') return t.tt === 1;
    // Overlay texts, and pictures drawn over the video (a logo: m.overlay on a video segment).
    return kind === 'overlay' || (t.tt === 0 && (sg.m as { overlay?: unknown }).overlay !== undefined);
  };
  let removed = 0;
  const t: Track[] = [];
  for (const track of draft.t) {
    const kept = (track.sg as Track['sg'][number][]).filter((sg) => !gone(track, sg));
    removed += track.sg.length - kept.length;
    if (kept.length === track.sg.length) t.push(track);
    else if (kept.length) t.push({ ...track, sg: kept } as Track);
  }
  if (removed === 0) throw new NothingToRemove(what);
  return { ...draft, version: draft.version + 1, t };
}

/** A removal that found nothing of its kind on the draft. */
export class NothingToRemove extends Error {
  constructor(readonly what: Removable) {
    super(`the draft has no ${what}`);
  }
}

/** Applies the draft-only intents (aspect, resolution, title, music, trim) in order; returns the new draft. Transcribe/captions/export are ignored here (they need jobs). Pure. */
export function applyDraftIntents(draft: Draft, intents: readonly Intent[], ctx: EditContext = {}): Draft {
  return intents.reduce((d, intent) => applyOne(d, intent, ctx), draft);
}

const stem = (name: string) => name.toLowerCase().replace(/\.[^./\\]*$/, '');
const MEDIA_NAME_RE = /\.(?:mp4|mov|avi|webm|mkv|m4v|mp3|wav|m4a|aac|flac|ogg|opus)$/i;

/**
 * The uploaded item a selector means, or undefined: never a guess. Ordinals count among items of
 * the selector's kind in upload order (-1 = last). Names match exactly (case-insensitive); a media
 * name also without its extension ("interview.mp4" for "Interview.MOV"); and as the tail of the
 * mentioned name after non-Latin text (Chinese has no spaces: "转写采访.mp4" names "采访.mp4"), but
 * not inside a word ("nothere.mp4" is not "here.mp4").
 * No selector: the first item of the wanted kind; with no wanted kind, the first item.
 */
export function selectMedia<T extends { name: string; kind: 'video' | 'audio' | 'image' }>(
  items: readonly T[],
  sel: MediaSelector | undefined,
  want?: 'video' | 'audio',
): T | undefined {
  if (!sel) return want ? items.find((i) => i.kind === want) : items[0];
  if (sel.by === 'ordinal') {
    const pool = sel.kind ? items.filter((i) => i.kind === sel.kind) : items;
    return sel.index < 0 ? pool[pool.length + sel.index] : pool[sel.index];
  }
  const name = sel.name.toLowerCase();
  const tailOf = (i: T) => {
    const own = i.name.toLowerCase();
    return name.length > own.length && name.endsWith(own) && !/[\w.-]/.test(name[name.length - own.length - 1]!);
  };
  return (
    items.find((i) => i.name.toLowerCase() === name) ??
    (MEDIA_NAME_RE.test(name) ? items.find((i) => stem(i.name) === stem(name)) : undefined) ??
    items.filter(tailOf).sort((a, b) => b.name.length - a.name.length)[0]
  );
}
