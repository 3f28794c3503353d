/**
 * Pure operations on drafts: each takes a draft and returns a new one, never mutating its input,
 * so the service can diff, undo and store versions. Ids are derived from what is already there.
 */
import type { MediaInfo } from '../media/index.ts';
import { buildCues, cueDefaultsFor, definedOnly, hasSpeakers, type Cue, type CueOptions, type Transcript } from '../transcript/index.ts';
import type { AudioMeta, AudioSegment, Corner, Draft, Fit, TextMeta, TextSegment, TextStyle, TextTrack, Track, VideoSegment, VideoTrack } from './draft.ts';
import { canvasFor, timelineDuration, type Aspect, type Resolution } from './timeline.ts';

export const CAPTIONS_TRACK_ID = 'captions';
export const TITLES_TRACK_ID = 'titles';
export const MUSIC_TRACK_ID = 'music';
export const MAIN_TRACK_ID = 'video';
export const OVERLAYS_TRACK_ID = 'overlays';
/** How long a photo shows when the draft is built from photos alone. */
export const SLIDE_MS = 3000;

/** An id like `prefix-3` not yet used by any track or segment. */
function freshId(draft: Draft, prefix: string): string {
  const used = new Set<string>();
  for (const t of draft.t) {
    used.add(t.id);
    for (const sg of t.sg) used.add(sg.id);
  }
  if (!used.has(prefix)) return prefix;
  for (let n = 2; ; n++) if (!used.has(`${prefix}-${n}`)) return `${prefix}-${n}`;
}

export function createDraft(opts: { id: string; w?: number; h?: number; fps?: number }): Draft {
  const draft: Draft = { id: opts.id, version: 1, w: opts.w ?? 1920, h: opts.h ?? 1080, t: [] };
  if (opts.fps !== undefined) draft.fps = opts.fps;
  return draft;
}

function bump(draft: Draft, t: Track[], extra: Partial<Draft> = {}): Draft {
  return { ...draft, ...extra, version: draft.version + 1, t };
}

export interface FromMediaOptions {
  /** Draft id (default "draft"). */
  id?: string;
  /** What segments reference: a media id in the service, a path for the CLI (default media.path). */
  src?: string;
  aspect?: Aspect;
  resolution?: Resolution;
  /** Default: contain when the source has the canvas's shape, blur when it does not (vertical from landscape). */
  fit?: Fit;
}

/** A draft showing one media file from start to end: a video track (with its sound), or an audio track for audio-only files. */
export function draftFromMedia(media: Pick<MediaInfo, 'path' | 'durationSec' | 'video' | 'audio'>, opts: FromMediaOptions = {}): Draft {
  const { w, h } = canvasFor(opts.aspect ?? '16:9', opts.resolution ?? '1080p');
  const d = Math.max(1, Math.round(media.durationSec * 1000));
  const src = opts.src ?? media.path;
  const draft = createDraft({ id: opts.id ?? 'draft', w, h });
  const v = media.video[0];
  if (v) {
    const sameShape = v.width > 0 && v.height > 0 && Math.abs(v.width / v.height - w / h) < 0.01;
    const fit = opts.fit ?? (sameShape ? 'contain' : 'blur');
    const seg: VideoSegment = { id: 'clip', s: 0, d, src, m: { fit } };
    draft.t.push({ id: 'video', tt: 0, name: 'Video', sg: [seg] });
  } else {
    draft.t.push({ id: 'audio', tt: 1, name: 'Audio', sg: [{ id: 'clip', s: 0, d, src, m: { volume: 1 } }] });
  }
  return draft;
}

/** Canvas by aspect (16:9 → 1920×1080, 9:16 → 1080×1920, 1:1 → 1080×1080; 720p variants). */
export function setAspect(draft: Draft, aspect: Aspect, resolution: Resolution = '1080p'): Draft {
  return bump(draft, draft.t, canvasFor(aspect, resolution));
}

/** How burned-in captions show who speaks (diarized transcripts): "[Ana] " on the first caption after each change, a colour per speaker, or nothing. */
export type CaptionSpeakers = 'name' | 'color' | 'none';
export const CAPTION_SPEAKERS: readonly CaptionSpeakers[] = ['name', 'color', 'none'];

/**
 * Caption colours by speaker, in order of first appearance: white first (the usual caption), then
 * hues far apart that stay light enough to read on the translucent black box.
 */
export const SPEAKER_COLORS = ['#FFFFFF', '#FFD84D', '#6FE3FF', '#9BF07A', '#FF9EDB', '#FFB36B', '#C4A8FF', '#A8FFE0'] as const;

export const speakerColor = (id: number): string => SPEAKER_COLORS[((id % SPEAKER_COLORS.length) + SPEAKER_COLORS.length) % SPEAKER_COLORS.length]!;

export interface CaptionOptions extends CueOptions {
  /** Added to every cue time: where the transcribed media's 0 s sits on the timeline (ms). */
  offsetMs?: number;
  position?: 'top' | 'center' | 'bottom';
  style?: TextStyle;
  /** How captions show the speaker; default 'name' for a diarized transcript (nothing to show otherwise). 'color' overrides style.color. */
  speakers?: CaptionSpeakers;
}

/**
 * Captions from a transcript (or ready-made cues): one `kind: 'caption'` segment per cue, built by
 * the transcript core's subtitle rules (28 characters a line on portrait canvases, 42 otherwise;
 * fewer in Chinese, Japanese and Korean, cueDefaultsFor).
 * Replaces any captions the draft had; cues outside the timeline are dropped or cut to it.
 */
export function setCaptions(draft: Draft, source: Transcript | readonly Cue[], opts: CaptionOptions = {}): Draft {
  const { offsetMs = 0, position = 'bottom', style, speakers, ...cueOpts } = opts;
  const vertical = draft.h > draft.w;
  const diarized = Array.isArray(source) ? (source as readonly Cue[]).some((c) => c.speaker) : hasSpeakers(source as Transcript);
  const show = speakers ?? (diarized ? 'name' : 'none');
  const cues = Array.isArray(source)
    ? namedCues(source as readonly Cue[], show === 'name')
    : buildCues(source as Transcript, {
        ...cueDefaultsFor((source as Transcript).language ?? '', { vertical }),
        ...definedOnly(cueOpts),
        speakerPrefix: show === 'name',
      });
  const end = timelineDuration({ ...draft, t: withoutCaptions(draft.t) }) || Infinity;
  const segments: TextSegment[] = [];
  for (const cue of cues) {
    const s = Math.max(0, Math.round(cue.start * 1000) + offsetMs);
    const e = Math.min(end, Math.round(cue.end * 1000) + offsetMs);
    if (e <= s) continue;
    const m: TextMeta = { text: cue.lines.join('\n'), kind: 'caption', position };
    if (style) m.style = style;
    if (show === 'color' && cue.speaker) m.style = { ...style, color: speakerColor(cue.speaker.id) };
    segments.push({ id: `cue-${segments.length + 1}`, s, d: e - s, m });
  }
  const t = withoutCaptions(draft.t);
  if (segments.length) t.push({ id: freshCaptionTrackId(t), tt: 7, name: 'Captions', sg: segments });
  return bump(draft, t);
}

/** Ready-made cues with "[Name] " opening the first cue after each change of speaker (as buildCues does when it lays them out). */
function namedCues(cues: readonly Cue[], names: boolean): readonly Cue[] {
  if (!names) return cues;
  let last: number | undefined;
  return cues.map((c) => {
    if (!c.speaker || c.speaker.id === last) return c;
    last = c.speaker.id;
    const [first = '', ...rest] = c.lines;
    return { ...c, lines: [`[${c.speaker.name.replace(/\s+/g, ' ').trim()}] ${first}`, ...rest] };
  });
}

function freshCaptionTrackId(t: Track[]): string {
  return freshId({ id: '', version: 0, w: 0, h: 0, t }, CAPTIONS_TRACK_ID);
}

/** Tracks with every caption segment removed (and text tracks that held only captions dropped). */
function withoutCaptions(tracks: Track[]): Track[] {
  const out: Track[] = [];
  for (const t of tracks) {
    if (t.tt !== 7) out.push(t);
    else {
      const kept = t.sg.filter((sg) => sg.m.kind !== 'caption');
      if (kept.length || t.sg.length === 0) out.push({ ...t, sg: kept });
    }
  }
  return out;
}

export interface TextOptions {
  kind?: 'title' | 'overlay';
  /** Start on the timeline, ms (default 0). */
  startMs?: number;
  /** Default 3000 ms. */
  durationMs?: number;
  /** Default: titles centred, overlays at the top. */
  position?: 'top' | 'center' | 'bottom';
  style?: TextStyle;
}

/** Adds a title (default: centred, 0–3 s) or an overlay to the draft's titles track. */
export function addText(draft: Draft, text: string, opts: TextOptions = {}): Draft {
  const kind = opts.kind ?? 'title';
  const m: TextMeta = { text, kind, position: opts.position ?? (kind === 'title' ? 'center' : 'top') };
  if (opts.style) m.style = opts.style;
  const seg: TextSegment = { id: freshId(draft, kind), s: opts.startMs ?? 0, d: opts.durationMs ?? 3000, m };
  const t = [...draft.t];
  const i = t.findIndex((tr) => tr.tt === 7 && tr.id === TITLES_TRACK_ID);
  if (i >= 0) t[i] = { ...(t[i] as TextTrack), sg: [...(t[i] as TextTrack).sg, seg] };
  else t.push({ id: freshId(draft, TITLES_TRACK_ID), tt: 7, name: 'Titles', sg: [seg] });
  return bump(draft, t);
}

export const addTitle = (draft: Draft, text: string, opts: Omit<TextOptions, 'kind'> = {}): Draft => addText(draft, text, { ...opts, kind: 'title' });

export interface MusicOptions extends Partial<AudioMeta> {
  startMs?: number;
  /** Default: to the end of the timeline (the music loops if it is shorter). */
  durationMs?: number;
  /** Offset into the music file, ms. */
  inMs?: number;
}

/** Background music on its own track: volume 0..1 (default 0.35, under speech), optional fades and ducking. */
export function addBackgroundMusic(draft: Draft, src: string, opts: MusicOptions = {}): Draft {
  const s = opts.startMs ?? 0;
  const d = opts.durationMs ?? Math.max(1, timelineDuration(draft) - s);
  const m: AudioMeta = { volume: opts.volume ?? 0.35 };
  // Fades longer than the segment would be rejected by the schema: shrink them to fit.
  const fi = opts.fade_in_ms,
    fo = opts.fade_out_ms;
  const scale = (fi ?? 0) + (fo ?? 0) > d ? d / ((fi ?? 0) + (fo ?? 0)) : 1;
  if (fi !== undefined) m.fade_in_ms = Math.floor(fi * scale);
  if (fo !== undefined) m.fade_out_ms = Math.floor(fo * scale);
  if (opts.duck !== undefined) m.duck = opts.duck;
  const seg: AudioSegment = { id: freshId(draft, 'bgm'), s, d, src, m };
  if (opts.inMs) seg.in = opts.inMs;
  return bump(draft, [...draft.t, { id: freshId(draft, MUSIC_TRACK_ID), tt: 1, name: 'Music', sg: [seg] }]);
}

/** Keeps [startMs, endMs) of the timeline, moved to 0: segments are cut, shifted or dropped, source offsets follow. */
export function trimDraft(draft: Draft, startMs: number, endMs: number): Draft {
  if (!(endMs > startMs) || startMs < 0) throw new RangeError(`trim needs 0 ≤ start < end, got ${startMs}..${endMs}`);
  const t = draft.t.map((track) => {
    const sg = [];
    for (const seg of track.sg) {
      const s = Math.max(seg.s, startMs);
      const e = Math.min(seg.s + seg.d, endMs);
      if (e <= s) continue;
      const cut = s - seg.s;
      const next = { ...seg, s: s - startMs, d: e - s } as typeof seg;
      if (track.tt !== 7) next.in = (seg.in ?? 0) + cut;
      if (track.tt === 1) next.m = clampFades(next.m as AudioMeta, e - s);
      sg.push(next);
    }
    return { ...track, sg } as Track;
  });
  return bump(draft, t);
}

function clampFades(m: AudioMeta, d: number): AudioMeta {
  const fi = m.fade_in_ms ?? 0,
    fo = m.fade_out_ms ?? 0;
  if (fi + fo <= d) return m;
  const k = d / (fi + fo);
  const out: AudioMeta = { ...m };
  if (m.fade_in_ms !== undefined) out.fade_in_ms = Math.floor(fi * k);
  if (m.fade_out_ms !== undefined) out.fade_out_ms = Math.floor(fo * k);
  return out;
}

/** The seed's example timeline: "city timelapse" 0–10 s, "Lo-fi" music at 35 %, title "Urban Dreams" 0–3 s. */
export function seedExampleDraft(sources: { video: string; music: string }): Draft {
  return {
    id: 'seed-example',
    version: 1,
    w: 1920,
    h: 1080,
    fps: 30,
    t: [
      { id: 'v1', tt: 0, name: 'city timelapse', sg: [{ id: 'v1s1', s: 0, d: 10_000, src: sources.video, in: 0, m: { fit: 'contain' } }] },
      { id: 'a1', tt: 1, name: 'Lo-fi', sg: [{ id: 'a1s1', s: 0, d: 10_000, src: sources.music, in: 0, m: { volume: 0.35 } }] },
      { id: 'x1', tt: 7, name: 'Title', sg: [{ id: 'x1s1', s: 0, d: 3000, m: { text: 'Urban Dreams', kind: 'title', position: 'center' } }] },
    ],
  };
}

/** The main track: the first video track that shows clips (not overlays). */
function mainTrackIndex(draft: Draft): number {
  return draft.t.findIndex((t) => t.tt === 0 && !t.sg.some((sg) => sg.m.overlay));
}

function mainEnd(track: VideoTrack | undefined): number {
  let end = 0;
  for (const sg of track?.sg ?? []) end = Math.max(end, sg.s + sg.d);
  return end;
}

/** Default fit: contain when the picture has the canvas's shape, else blur (a landscape clip on a vertical canvas). */
function fitFor(draft: Pick<Draft, 'w' | 'h'>, size?: { width?: number; height?: number }): Fit {
  const { width = 0, height = 0 } = size ?? {};
  return width > 0 && height > 0 && Math.abs(width / height - draft.w / draft.h) < 0.01 ? 'contain' : 'blur';
}

export interface StillOptions {
  /** Where the still starts on the main track (default 0); what plays from there on moves later by its duration. */
  atMs?: number;
  /** Default 3000 ms. */
  durationMs?: number;
  /** Default: contain when the picture has the canvas's shape, else blur. */
  fit?: Fit;
}

/** A picture to place: its media id (service) or path (CLI), and its size when known. */
export interface PictureRef {
  src: string;
  width?: number;
  height?: number;
}

/**
 * A picture on the main track ("use the photo as the first 3 seconds"): a still at `atMs` for
 * `durationMs`, and everything at or after `atMs` on every track moves later by that much (a clip
 * that spans `atMs` is split around the still). An animated gif loops for the duration.
 */
export function addStill(draft: Draft, picture: PictureRef, opts: StillOptions = {}): Draft {
  const at = Math.max(0, Math.round(opts.atMs ?? 0));
  const d = Math.max(1, Math.round(opts.durationMs ?? SLIDE_MS));
  const seg: VideoSegment = { id: freshId(draft, 'still'), s: at, d, src: picture.src, m: { fit: opts.fit ?? fitFor(draft, picture) } };
  const t = insertGap(draft, at, d);
  const i = mainTrackIndex({ ...draft, t });
  if (i >= 0) {
    const track = t[i] as VideoTrack;
    t[i] = { ...track, sg: [...track.sg, seg].sort((a, b) => a.s - b.s) };
  } else t.unshift({ id: freshId(draft, MAIN_TRACK_ID), tt: 0, name: 'Video', sg: [seg] });
  return bump(draft, t);
}

/** Opens a gap of `d` ms at `at` on every track: later segments move, a segment spanning `at` is split (its source offset follows). */
function insertGap(draft: Draft, at: number, d: number): Track[] {
  let n = 0;
  const ids = new Set(draft.t.flatMap((tr) => [tr.id, ...tr.sg.map((sg) => sg.id)]));
  const fresh = (base: string) => {
    let id: string;
    do id = `${base}-${++n + 1}`;
    while (ids.has(id));
    ids.add(id);
    return id;
  };
  return draft.t.map((track) => {
    // Overlays cover the whole timeline by default: they grow over the inserted still instead of moving.
    const sg = track.sg.flatMap((seg) => {
      if (track.tt === 0 && (seg as VideoSegment).m.overlay)
        return [seg.s <= at && seg.s + seg.d >= at ? { ...seg, d: seg.d + d } : seg.s > at ? { ...seg, s: seg.s + d } : seg];
      if (seg.s >= at) return [{ ...seg, s: seg.s + d }];
      if (seg.s + seg.d <= at) return [seg];
      const head = at - seg.s;
      const first = { ...seg, d: head };
      const rest = { ...seg, id: fresh(seg.id), s: at + d, d: seg.d - head };
      if (track.tt !== 7) rest.in = (seg.in ?? 0) + head;
      return [first, rest];
    });
    return { ...track, sg } as Track;
  });
}

export interface OverlayOptions {
  corner?: Corner;
  /** Width, % of the canvas width (default 15). */
  widthPct?: number;
  /** Distance from the edges, % of the canvas's shorter side (default 3). */
  marginPct?: number;
  /** Default 0. */
  startMs?: number;
  /** Default: to the end of the timeline. */
  durationMs?: number;
}

/** A picture over the video ("put the logo in the top right corner"): by default top-right, 15 % wide, for the whole timeline. */
export function addOverlay(draft: Draft, picture: PictureRef, opts: OverlayOptions = {}): Draft {
  const s = Math.max(0, Math.round(opts.startMs ?? 0));
  const d = Math.max(1, Math.round(opts.durationMs ?? timelineDuration(draft) - s));
  const overlay = { corner: opts.corner ?? 'top-right', widthPct: opts.widthPct ?? 15, ...(opts.marginPct !== undefined ? { marginPct: opts.marginPct } : {}) };
  const seg: VideoSegment = { id: freshId(draft, 'overlay'), s, d, src: picture.src, m: { fit: 'contain', overlay } };
  const t = [...draft.t];
  const i = t.findIndex((tr) => tr.tt === 0 && tr.sg.length > 0 && tr.sg.every((sg) => sg.m.overlay));
  if (i >= 0) t[i] = { ...(t[i] as VideoTrack), sg: [...(t[i] as VideoTrack).sg, seg] };
  else t.push({ id: freshId(draft, OVERLAYS_TRACK_ID), tt: 0, name: 'Overlays', sg: [seg] });
  return bump(draft, t);
}

/** Every overlay removed (tracks left empty by it dropped). */
export function removeOverlays(draft: Draft): Draft {
  const t: Track[] = [];
  for (const track of draft.t) {
    if (track.tt !== 0) t.push(track);
    else {
      const sg = track.sg.filter((seg) => !seg.m.overlay);
      if (sg.length || track.sg.length === 0) t.push({ ...track, sg });
    }
  }
  return bump(draft, t);
}

/** A session's upload, as the draft sees it. */
export interface UploadedMedia {
  /** What segments reference (the media id). */
  src: string;
  kind: 'video' | 'audio' | 'image';
  durationSec: number;
  width?: number;
  height?: number;
}

/**
 * The draft after an upload, the way an editor's timeline takes new media: the first video starts
 * the main track (the canvas takes its shape: 16:9, 9:16 or 1:1 at 1080p) and later videos are
 * appended after the main track's last clip; with no video, photos become a slideshow of
 * `SLIDE_MS` stills and an audio file plays over a black background. Audio beside a video is
 * left for music, photos beside a video for stills and overlays. Nothing already there is moved
 * or removed. Returns the draft unchanged (same version) when nothing was placed.
 */
export function placeUploads(
  draft: Draft | null,
  added: readonly UploadedMedia[],
  opts: { /** The session's media before this upload: what the draft's sources are. */ earlier?: readonly UploadedMedia[]; maxStills?: number } = {},
): Draft | null {
  const maxStills = opts.maxStills ?? 16;
  const videoSrcs = new Set([...(opts.earlier ?? []), ...added].filter((m) => m.kind === 'video').map((m) => m.src));
  const videos = added.filter((m) => m.kind === 'video');
  const images = added.filter((m) => m.kind === 'image');
  const audios = added.filter((m) => m.kind === 'audio');
  let d = draft;
  if (!d) {
    if (!added.length) return null;
    const first = videos[0] ?? images[0];
    const aspect: Aspect =
      first?.width && first.height
        ? Math.abs(first.width - first.height) <= first.width * 0.01
          ? '1:1'
          : first.width < first.height
            ? '9:16'
            : '16:9'
        : '16:9';
    d = { ...createDraft({ id: 'draft', ...canvasFor(aspect) }), version: 0 };
  }
  const before = d;
  const main = () => {
    const i = mainTrackIndex(d!);
    return i >= 0 ? (d!.t[i] as VideoTrack) : undefined;
  };
  const hasVideo = (x: Draft) => x.t.some((t) => t.tt === 0 && t.sg.some((sg) => !sg.m.overlay && videoSrcs.has(sg.src)));
  for (const v of videos) {
    const at = mainEnd(main());
    const seg: VideoSegment = { id: freshId(d, 'clip'), s: at, d: Math.max(1, Math.round(v.durationSec * 1000)), src: v.src, m: { fit: fitFor(d, v) } };
    const i = mainTrackIndex(d);
    const t: Track[] = [...d.t];
    if (i >= 0) t[i] = { ...(t[i] as VideoTrack), sg: [...(t[i] as VideoTrack).sg, seg] };
    else t.unshift({ id: freshId(d, MAIN_TRACK_ID), tt: 0, name: 'Video', sg: [seg] });
    d = { ...d, t };
  }
  if (!hasVideo(d)) {
    // A slideshow, up to what one render may read (each photo is one input).
    const shown = new Set(main()?.sg.map((sg) => sg.src));
    for (const img of images) {
      if (shown.size >= maxStills) break;
      shown.add(img.src);
      d = { ...addStill(d, img, { atMs: mainEnd(main()) }), version: d.version };
    }
    const soundless = !d.t.some((t) => t.tt === 1 && t.sg.length > 0);
    const audio = audios[0];
    if (audio && soundless) {
      const seg: AudioSegment = { id: freshId(d, 'clip'), s: 0, d: Math.max(1, Math.round(audio.durationSec * 1000)), src: audio.src, m: { volume: 1 } };
      d = { ...d, t: [...d.t, { id: freshId(d, 'audio'), tt: 1, name: 'Audio', sg: [seg] }] };
    }
  }
  if (d === before) return draft;
  return { ...d, version: d.version + 1 };
}

/**
 * One video's own draft, for a batch export ("export each video separately"): the session draft's
 * canvas, titles, music and overlays, with the main track holding only `video`, from its start to
 * its end. Captions are dropped (they belong to whichever video was transcribed: the caller adds
 * this video's own), and everything else is cut to the video's length so music laid under the
 * whole session draft does not run on past it. The session draft is not changed.
 */
export function draftForOneVideo(draft: Draft, video: UploadedMedia): Draft {
  const d = Math.max(1, Math.round(video.durationSec * 1000));
  const seg: VideoSegment = { id: 'clip', s: 0, d, src: video.src, m: { fit: fitFor(draft, video) } };
  const main = draft.t[mainTrackIndex(draft)];
  const rest = withoutCaptions(draft.t.filter((x) => x !== main));
  // Everything else cut to the video's end; a track the cut empties (a title after the end) goes.
  const cut = trimDraft({ ...draft, t: rest }, 0, d).t.filter((x, n) => x.sg.length > 0 || rest[n]!.sg.length === 0);
  const track: VideoTrack = main ? { ...(main as VideoTrack), sg: [seg] } : { id: freshId(draft, MAIN_TRACK_ID), tt: 0, name: 'Video', sg: [seg] };
  // Where it was (under overlays and text); tracks dropped before it can only move it down.
  const at = main ? Math.min(draft.t.indexOf(main), cut.length) : 0;
  return { ...draft, id: `${draft.id}-${video.src}`, version: 1, t: [...cut.slice(0, at), track, ...cut.slice(at)] };
}
