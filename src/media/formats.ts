/** File extensions vidscribe transcribes: video containers first, then audio. */
export const TRANSCRIBABLE_EXTENSIONS = ['mp4', 'mov', 'avi', 'webm', 'mkv', 'mp3', 'wav', 'm4a', 'aac', 'flac', 'ogg'] as const;
export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'gif', 'webp'] as const;

/**
 * ffprobe `format_name` values (comma-separated families) we accept, so that a file is judged by
 * its content rather than by its name alone: a PNG renamed to .mp4 is still an image.
 */
const ACCEPTED_CONTAINERS = new Set(['mov', 'mp4', 'm4a', 'avi', 'matroska', 'webm', 'mp3', 'wav', 'aac', 'flac', 'ogg', 'adts']);

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
  mp4: 'video', mov: 'video', avi: 'video', webm: 'video', mkv: 'video',
  jpg: 'image', jpeg: 'image', png: 'image', gif: 'image', webp: 'image',
  mp3: 'audio', wav: 'audio', m4a: 'audio', aac: 'audio', flac: 'audio', ogg: 'audio',
} as const satisfies Record<string, 'video' | 'audio' | 'image'>;

export function uploadKindOf(name: string): 'video' | 'audio' | 'image' | undefined {
  return (UPLOAD_EXTENSIONS as Record<string, 'video' | 'audio' | 'image'>)[extensionOf(name)];
}

export function unsupportedUploadMessage(name: string): string {
  return `${name}: not a supported file. Upload video (mp4 mov avi webm mkv), images (jpg png gif webp) or audio (mp3 wav m4a aac flac ogg).`;
}
