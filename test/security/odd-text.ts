/**
 * Odd text for anything that lays text out or writes it into a script (libass, subtitles):
 * controls of every kind, line separators, script syntax, right-to-left and combining text,
 * emoji, very long words. Each entry says what it tries.
 */
const C0 = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join('');
const C1 = Array.from({ length: 32 }, (_, i) => String.fromCharCode(0x80 + i)).join('');

/** A full-frame red box drawn by an injected event: what a successful injection looks like on screen. */
export const RED_DRAWING = '{\\an7\\pos(0,0)\\p1\\bord0\\shad0\\1c&H0000FF&\\1a&H00&}m 0 0 l 4000 0 4000 4000 0 4000{\\p0}';
const injectedEvent = `Dialogue: 9,0:00:00.00,0:09:00.00,title-plain,,0,0,0,,${RED_DRAWING}`;
const injectedStyle = 'Style: title-plain,DejaVu Sans,900,&H000000FF,&H000000FF,&H000000FF,&H000000FF,0,0,0,0,100,100,0,0,3,900,0,5,0,0,0,1';

export const ODD_TEXT: { what: string; text: string }[] = [
  { what: 'a lone CR starting a new script line (an injected event)', text: `Hi\r${injectedEvent}` },
  { what: 'a lone CR injecting a style', text: `Hi\r[V4+ Styles]\r${injectedStyle}\r[Events]` },
  { what: 'LF and CRLF injections', text: `a\n${injectedEvent}\r\nb` },
  { what: 'NEL, LS and PS line separators', text: `one\u0085two\u2028three\u2029four` },
  { what: "NUL, which ends libass's reading of the file", text: 'before\u0000after' },
  { what: 'every C0 control', text: `c0[${C0}]` },
  { what: 'DEL and every C1 control', text: `c1[\u007f${C1}]` },
  { what: 'an override block', text: RED_DRAWING },
  { what: 'an alignment override', text: '{\\an8}top?' },
  { what: 'escaped-looking overrides', text: '\\{\\an7}\\}{{\\b1}}' },
  { what: 'libass line-break escapes', text: 'a\\Nb\\nc\\hd' },
  { what: 'a trailing backslash', text: 'ends with \\' },
  { what: 'right-to-left text with bidi controls', text: '\u202Eשלום עולם\u202C مرحبا \u2067بالعالم\u2069' },
  { what: 'combining marks piled on one letter', text: `Z${'\u0301\u0316\u0327\u0350'.repeat(40)}algo` },
  { what: 'emoji with joiners and skin tones', text: '👩🏽‍💻 🏳️‍🌈 👨‍👩‍👧‍👦 🇺🇳' },
  { what: 'a very long word', text: 'x'.repeat(999) },
  { what: 'zero-width and BOM characters', text: '\u200b\u200c\u200d\ufeffzero' },
  { what: 'a lone surrogate', text: 'half \ud800 a pair' },
  { what: 'script section headers as text', text: '[Script Info] [Events] Format: Layer' },
];
