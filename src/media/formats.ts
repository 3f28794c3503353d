/** File extensions vidscribe transcribes: video containers first, then audio. */
export const TRANSCRIBABLE_EXTENSIONS = ['mp4', 'mov', 'avi', 'webm', 'mkv', 'mp3', 'wav', 'm4a', 'aac', 'flac', 'ogg'] as const;
export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'gif', 'webp'] as const;

/**
 * ffprobe `format_name` values (comma-separated families) we accept, so that a file is judged by
 * its content rather than by its name alone: a PNG renamed to .mp4 is still an image.
 */
const ACCEPTED_CONTAINERS = new Set(['mov', 'mp4', 'm4a', 'avi', 'matroska', 'webm', 'mp3', 'wav', 'aac', 'flac', 'ogg', 'adts']);

/**
 * The only ffmpeg demuxers that may open user media (ffprobe and ffmpeg alike). Without this list
 * an uploaded HLS or concat playlist named .mp4 makes ffprobe open the local files it names (and
 * its error tells whether they exist). `mov` covers mp4/m4a, `matroska` webm, `aac` ADTS; the
 * image demuxers are for image uploads.
 */
export const USER_MEDIA_DEMUXERS = [
  'mov',
  'avi',
  'matroska',
  'mp3',
  'wav',
  'aac',
  'flac',
  'ogg',
  'image2',
  'png_pipe',
  'jpeg_pipe',
  'gif',
  'webp_pipe',
  'mjpeg',
] as const;

/** The demuxers of USER_MEDIA_DEMUXERS that carry sound: all the ASR worker may open when it decodes a file itself. */
export const SOUND_DEMUXERS: readonly string[] = USER_MEDIA_DEMUXERS.slice(0, USER_MEDIA_DEMUXERS.indexOf('image2'));

/** Input options to put before every user media file's `-i` (or path, for ffprobe): allowed demuxers, local files only. */
export const USER_MEDIA_INPUT_ARGS: readonly string[] = ['-format_whitelist', USER_MEDIA_DEMUXERS.join(','), '-protocol_whitelist', 'file,pipe'];

export function extensionOf(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot + 1).toLowerCase();
}

export function isTranscribableExtension(ext: string): boolean {
  return (TRANSCRIBABLE_EXTENSIONS as readonly string[]).includes(ext);
}

/** True when ffprobe's format_name names a container we transcribe (not an image demuxer). */
export function isAcceptedContainer(formatName: string): boolean {
  return formatName.split(',').some((f) => ACCEPTED_CONTAINERS.has(f.trim()));
}

export function unsupportedFormatMessage(name: string, what: string): string {
  return `${name}: ${what} is not a transcribable format. Transcribable formats: ${TRANSCRIBABLE_EXTENSIONS.join(', ')}.`;
}

/** What the service's upload endpoint accepts, by the kind each extension claims. */
export const UPLOAD_EXTENSIONS = {
  mp4: 'video',
  mov: 'video',
  avi: 'video',
  webm: 'video',
  mkv: 'video',
  jpg: 'image',
  jpeg: 'image',
  png: 'image',
  gif: 'image',
  webp: 'image',
  mp3: 'audio',
  wav: 'audio',
  m4a: 'audio',
  aac: 'audio',
  flac: 'audio',
  ogg: 'audio',
} as const satisfies Record<string, 'video' | 'audio' | 'image'>;

export function uploadKindOf(name: string): 'video' | 'audio' | 'image' | undefined {
  return (UPLOAD_EXTENSIONS as Record<string, 'video' | 'audio' | 'image'>)[extensionOf(name)];
}

export function unsupportedUploadMessage(name: string): string {
  return `${name}: not a supported file. Upload video (mp4 mov avi webm mkv), images (jpg png gif webp) or audio (mp3 wav m4a aac flac ogg).`;
}

/** Content types of the kinds we accept, for links whose name carries no (or no known) extension. */
const CONTENT_TYPE_EXTENSIONS: Record<string, string> = {
  'video/mp4': 'mp4',
  'video/quicktime': 'mov',
  'video/x-msvideo': 'avi',
  'video/avi': 'avi',
  'video/webm': 'webm',
  'video/x-matroska': 'mkv',
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/wave': 'wav',
  'audio/mp4': 'm4a',
  'audio/x-m4a': 'm4a',
  'audio/aac': 'aac',
  'audio/flac': 'flac',
  'audio/x-flac': 'flac',
  'audio/ogg': 'ogg',
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

/** The upload extension a Content-Type names ("video/mp4; codecs=…" → mp4), if it is one we accept. */
export function extensionOfContentType(contentType: string | undefined): string | undefined {
  const mime = contentType?.split(';')[0]?.trim().toLowerCase();
  return mime ? CONTENT_TYPE_EXTENSIONS[mime] : undefined;
}

/** ffprobe's demuxer name → the usual extension of that content (for a download that arrived without one). */
const CONTAINER_EXTENSIONS: [RegExp, string][] = [
  [/(^|,)mp4(,|$)/, 'mp4'],
  [/(^|,)matroska(,|$)/, 'mkv'],
  [/(^|,)avi(,|$)/, 'avi'],
  [/(^|,)mp3(,|$)/, 'mp3'],
  [/(^|,)wav(,|$)/, 'wav'],
  [/(^|,)aac(,|$)/, 'aac'],
  [/(^|,)flac(,|$)/, 'flac'],
  [/(^|,)ogg(,|$)/, 'ogg'],
  [/(^|,)(png_pipe)(,|$)/, 'png'],
  [/(^|,)(jpeg_pipe|mjpeg)(,|$)/, 'jpg'],
  [/(^|,)gif(,|$)/, 'gif'],
  [/(^|,)webp_pipe(,|$)/, 'webp'],
];

export function extensionOfContainer(formatName: string): string | undefined {
  return CONTAINER_EXTENSIONS.find(([re]) => re.test(formatName))?.[1];
}

const EXTENSION_DEMUXERS: Record<string, string> = {
  mp4: 'mov',
  mov: 'mov',
  m4a: 'mov',
  mkv: 'matroska',
  webm: 'matroska',
  avi: 'avi',
  mp3: 'mp3',
  wav: 'wav',
  aac: 'aac',
  flac: 'flac',
  ogg: 'ogg',
  jpg: 'jpeg_pipe',
  jpeg: 'jpeg_pipe',
  png: 'png_pipe',
  gif: 'gif',
  webp: 'webp_pipe',
};

/** The extension for content ffprobe identified: the claimed one when the content fits it (video/webm stays .webm), else the content's own. */
export function extensionForContent(formatName: string, claimedExt: string | undefined): string | undefined {
  const demuxer = claimedExt ? EXTENSION_DEMUXERS[claimedExt] : undefined;
  if (claimedExt && demuxer && formatName.split(',').includes(demuxer)) return claimedExt;
  return extensionOfContainer(formatName);
}
