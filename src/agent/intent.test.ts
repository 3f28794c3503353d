import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { draftFromMedia, type AudioTrack, type Draft, type TextTrack, type VideoTrack } from '../render/index.ts';
import { applyDraftIntents, selectMedia } from './edit.ts';
import { parseRequest, type Intent } from './intent.ts';

const txt = (extra: Partial<Extract<Intent, { kind: 'transcribe' }>> = {}): Intent => ({ kind: 'transcribe', format: 'txt', timestamps: false, ...extra });

const PARSE_CASES: [string, Intent[]][] = [
  // transcribe
  ['transcribe the spoken dialogue into a text document', [txt()]],
  ['转写成文字', [txt()]],
  ['convert this to text', [txt()]],
  ['转录一下', [txt()]],
  ['语音转文字', [txt()]],
  ['提取字幕', [txt()]],
  ['get me an SRT', [txt({ format: 'srt' })]],
  ['subtitles file please', [txt({ format: 'srt' })]],
  ['给我字幕文件', [txt({ format: 'srt' })]],
  ['I need a WebVTT', [txt({ format: 'vtt' })]],
  ['导出为 Word 文档', [txt({ format: 'docx' })]],
  ['give me the transcript in Word with timestamps', [txt({ format: 'docx', timestamps: true })]],
  ['transcribe to JSON', [txt({ format: 'json' })]],
  ['Markdown transcript please', [txt({ format: 'md' })]],
  ['转写，带时间戳', [txt({ timestamps: true })]],
  ['请把这段采访转写成文字，带时间码', [txt({ timestamps: true })]],
  ['transcribe without timestamps', [txt()]],
  ['subtitles in Spanish', [txt({ format: 'srt', translateTo: 'es' })]],
  ['translate to Spanish', [txt({ translateTo: 'es' })]],
  ['翻译成西班牙语', [txt({ translateTo: 'es' })]],
  ['Translate to English.', [txt({ translateTo: 'en' })]],
  ['生成日语字幕', [txt({ format: 'srt', translateTo: 'ja' })]],
  ['The audio is in German, transcribe it', [txt({ language: 'de' })]],
  ['translate this Spanish video into English subtitles', [txt({ format: 'srt', language: 'es', translateTo: 'en' })]],
  ['音频是德语的，转写成英文', [txt({ language: 'de', translateTo: 'en' })]],
  ['ＳＲＴ，谢谢！', [txt({ format: 'srt' })]], // full-width letters
  // captions (on the video) vs subtitle files
  ['burn the subtitles in', [{ kind: 'captions' }]],
  ['add captions to the video', [{ kind: 'captions' }]],
  ['加字幕', [{ kind: 'captions' }]],
  ['烧录字幕', [{ kind: 'captions' }]],
  ['要硬字幕', [{ kind: 'captions' }]],
  ['burn the captions in and also give me the SRT', [{ kind: 'captions' }, txt({ format: 'srt' })]],
  ['Convert this 10-minute interview into a 1080p MP4 with captions', [{ kind: 'resolution', resolution: '1080p' }, { kind: 'captions' }, { kind: 'export' }]],
  // canvas
  ['make it vertical for TikTok', [{ kind: 'aspect', aspect: '9:16' }]],
  ['做成竖屏', [{ kind: 'aspect', aspect: '9:16' }]],
  ['竖版，发抖音', [{ kind: 'aspect', aspect: '9:16' }]],
  ['make it 9:16', [{ kind: 'aspect', aspect: '9:16' }]],
  ['square', [{ kind: 'aspect', aspect: '1:1' }]],
  ['for an Instagram post', [{ kind: 'aspect', aspect: '1:1' }]],
  ['改成方形', [{ kind: 'aspect', aspect: '1:1' }]],
  ['landscape for YouTube', [{ kind: 'aspect', aspect: '16:9' }]],
  ['把竖屏改成横屏', [{ kind: 'aspect', aspect: '16:9' }]],
  ['convert from 16:9 to 1:1', [{ kind: 'aspect', aspect: '1:1' }]],
  ['transcribe this YouTube video', [txt()]], // a brand name that is not a destination
  ['720p', [{ kind: 'resolution', resolution: '720p' }]],
  ['full HD please', [{ kind: 'resolution', resolution: '1080p' }]],
  ['高清', [{ kind: 'resolution', resolution: '1080p' }]],
  ['in 4K', [{ kind: 'resolution', resolution: '1080p' }]],
  [
    '1280x720',
    [
      { kind: 'aspect', aspect: '16:9' },
      { kind: 'resolution', resolution: '720p' },
    ],
  ],
  // titles
  ["add a title 'Urban Dreams' for the first 3 seconds", [{ kind: 'title', text: 'Urban Dreams', startMs: 0, durationMs: 3000 }]],
  ['加标题「城市之梦」前3秒', [{ kind: 'title', text: '城市之梦', startMs: 0, durationMs: 3000 }]],
  ['加个标题《城市之梦》，前五秒', [{ kind: 'title', text: '城市之梦', startMs: 0, durationMs: 5000 }]],
  ['add a title “Hello” from 0:05 to 0:10', [{ kind: 'title', text: 'Hello', startMs: 5000, durationMs: 5000 }]],
  ["add a title 'Hi' between 5s and 8s", [{ kind: 'title', text: 'Hi', startMs: 5000, durationMs: 3000 }]],
  ["add a title 'Hi' at 10 seconds for 2 seconds", [{ kind: 'title', text: 'Hi', startMs: 10000, durationMs: 2000 }]],
  ['加标题「你好」第5秒到第10秒', [{ kind: 'title', text: '你好', startMs: 5000, durationMs: 5000 }]],
  ["add a title 'Vertical Love'", [{ kind: 'title', text: 'Vertical Love', startMs: 0, durationMs: 3000 }]], // quoted words trigger nothing
  ["add a text overlay 'Sale'", [{ kind: 'title', text: 'Sale', startMs: 0, durationMs: 3000, position: 'top' }]],
  ['加文字「限时优惠」在底部', [{ kind: 'title', text: '限时优惠', startMs: 0, durationMs: 3000, position: 'bottom' }]],
  ['add a title: Urban Dreams for 5 seconds', [{ kind: 'title', text: 'Urban Dreams', startMs: 0, durationMs: 5000 }]],
  // music
  ['add lo-fi music at 35%', [{ kind: 'music', volume: 0.35 }]],
  ['background music at 0.2', [{ kind: 'music', volume: 0.2 }]],
  ['add some music, volume 50%', [{ kind: 'music', volume: 0.5 }]],
  ['add background music', [{ kind: 'music', volume: 0.35 }]],
  ['背景音乐 35%', [{ kind: 'music', volume: 0.35 }]],
  ['加背景音乐，音量百分之三十，淡入淡出', [{ kind: 'music', volume: 0.3, fadeInMs: 2000, fadeOutMs: 2000 }]],
  ['add music with a fade in', [{ kind: 'music', volume: 0.35, fadeInMs: 2000 }]],
  ['add background music and fade out over 4 seconds', [{ kind: 'music', volume: 0.35, fadeOutMs: 4000 }]],
  ['add music.mp3 as background music', [{ kind: 'music', volume: 0.35, media: { by: 'name', name: 'music.mp3' } }]],
  ['use the uploaded song as background music', [{ kind: 'music', volume: 0.35, media: { by: 'ordinal', index: 0, kind: 'audio' } }]],
  ['用上传的歌曲做背景音乐', [{ kind: 'music', volume: 0.35, media: { by: 'ordinal', index: 0, kind: 'audio' } }]],
  // trim
  ['cut the first 10 seconds', [{ kind: 'trim', startMs: 10000 }]],
  ['keep 1:00 to 2:30', [{ kind: 'trim', startMs: 60000, endMs: 150000 }]],
  ['trim to the first 30 seconds', [{ kind: 'trim', startMs: 0, endMs: 30000 }]],
  ['only the first 30 seconds', [{ kind: 'trim', startMs: 0, endMs: 30000 }]],
  ['剪掉前10秒', [{ kind: 'trim', startMs: 10000 }]],
  ['保留1:00到2:30', [{ kind: 'trim', startMs: 60000, endMs: 150000 }]],
  ['只要前三十秒', [{ kind: 'trim', startMs: 0, endMs: 30000 }]],
  ['截取第5秒到第30秒', [{ kind: 'trim', startMs: 5000, endMs: 30000 }]],
  ['cut the first 1m30s', [{ kind: 'trim', startMs: 90000 }]],
  ['cut the first 1 minute 30 seconds', [{ kind: 'trim', startMs: 90000 }]],
  ['cut the first 90s', [{ kind: 'trim', startMs: 90000 }]],
  ['剪掉前1分30秒', [{ kind: 'trim', startMs: 90000 }]],
  ['clip from 5 to 20 seconds', [{ kind: 'trim', startMs: 5000, endMs: 20000 }]],
  ['cut the first minute', [{ kind: 'trim', startMs: 60000 }]],
  // export
  ['export', [{ kind: 'export' }]],
  ['render it', [{ kind: 'export' }]],
  ['导出', [{ kind: 'export' }]],
  ['生成视频', [{ kind: 'export' }]],
  ['make it vertical for TikTok and export an MP4', [{ kind: 'aspect', aspect: '9:16' }, { kind: 'export' }]],
  [
    '生成一个带字幕的1080p竖屏视频',
    [{ kind: 'aspect', aspect: '9:16' }, { kind: 'resolution', resolution: '1080p' }, { kind: 'captions' }, { kind: 'export' }],
  ],
  ['导出字幕', [txt({ format: 'srt' })]], // exporting a transcript is not a video export
  // media selection
  ['transcribe the second video', [txt({ media: { by: 'ordinal', index: 1, kind: 'video' } })]],
  ['第二个视频转写成文字', [txt({ media: { by: 'ordinal', index: 1, kind: 'video' } })]],
  ['transcribe the last video', [txt({ media: { by: 'ordinal', index: -1, kind: 'video' } })]],
  ['转写最后一个音频', [txt({ media: { by: 'ordinal', index: -1, kind: 'audio' } })]],
  ['transcribe video 2', [txt({ media: { by: 'ordinal', index: 1, kind: 'video' } })]],
  ['#3 transcribe please', [txt({ media: { by: 'ordinal', index: 2 } })]],
  ['transcribe interview.mp4 to SRT', [txt({ format: 'srt', media: { by: 'name', name: 'interview.mp4' } })]],
  ["transcribe 'my interview.mov'", [txt({ media: { by: 'name', name: 'my interview.mov' } })]],
  [
    'export the second video with captions',
    [
      { kind: 'captions', media: { by: 'ordinal', index: 1, kind: 'video' } },
      { kind: 'export', media: { by: 'ordinal', index: 1, kind: 'video' } },
    ],
  ],
  [
    'add song.mp3 to interview.mp4 and export',
    [
      { kind: 'music', volume: 0.35, media: { by: 'name', name: 'song.mp3' } },
      { kind: 'export', media: { by: 'name', name: 'interview.mp4' } },
    ],
  ],
  // several at once, in run order
  [
    "trim to the first 30 seconds, make it vertical, add a title 'Go' and lo-fi music at 20% with fade in and out, then export as mp4",
    [
      { kind: 'trim', startMs: 0, endMs: 30000 },
      { kind: 'aspect', aspect: '9:16' },
      { kind: 'title', text: 'Go', startMs: 0, durationMs: 3000 },
      { kind: 'music', volume: 0.2, fadeInMs: 2000, fadeOutMs: 2000 },
      { kind: 'export' },
    ],
  ],
  [
    "cut the first 10 seconds and add a title 'Hello, World' from 2s to 4s",
    [
      { kind: 'trim', startMs: 10000 },
      { kind: 'title', text: 'Hello, World', startMs: 2000, durationMs: 2000 },
    ],
  ],
  ['剪掉前三秒，做成竖屏视频导出', [{ kind: 'trim', startMs: 3000 }, { kind: 'aspect', aspect: '9:16' }, { kind: 'export' }]],
];

describe('parseRequest', () => {
  for (const [message, intents] of PARSE_CASES) {
    it(message, () => assert.deepEqual(parseRequest(message), { intents, unknown: false }));
  }

  const UNKNOWN = [
    "what's the weather?",
    '你好',
    'hello there',
    'remove the background noise',
    'add a voiceover',
    'summarize the video',
    'make it 4:3',
    'add a title',
  ];
  for (const message of UNKNOWN) {
    it(`unknown: ${message}`, () => assert.deepEqual(parseRequest(message), { intents: [], unknown: true }));
  }

  // Issue 9: taking things away and history. "remove the subtitles" once became a paid SRT transcription.
  const REMOVE_CASES: [string, Intent[]][] = [
    ['remove the subtitles', [{ kind: 'remove', what: 'captions' }]],
    ['remvoe the captoins', [{ kind: 'remove', what: 'captions' }]],
    ['remove the background music', [{ kind: 'remove', what: 'music' }]],
    ['去掉背景音乐', [{ kind: 'remove', what: 'music' }]],
    ['去掉字幕', [{ kind: 'remove', what: 'captions' }]],
    [
      'get rid of the music and the title',
      [
        { kind: 'remove', what: 'titles' },
        { kind: 'remove', what: 'music' },
      ],
    ],
    ['take the logo off', [{ kind: 'remove', what: 'overlays' }]],
    ['export without captions', [{ kind: 'remove', what: 'captions' }, { kind: 'export' }]],
    ['undo', [{ kind: 'undo', steps: 1 }]],
    ['undo twice', [{ kind: 'undo', steps: 2 }]],
    ['撤销', [{ kind: 'undo', steps: 1 }]],
    ['redo', [{ kind: 'redo', steps: 1 }]],
    ['start over', [{ kind: 'startOver' }]],
    ['重新开始', [{ kind: 'startOver' }]],
  ];
  for (const [message, intents] of REMOVE_CASES) {
    it(`takes away / history: ${message}`, () => assert.deepEqual(parseRequest(message), { intents, unknown: false }));
  }
  for (const [message, question] of [
    ['subtitles', 'subtitles'],
    ['字幕', 'subtitles'],
    ['make it better', 'vague'],
    ['do the thing', 'vague'],
  ] as const) {
    it(`asks back: ${message}`, () => assert.deepEqual(parseRequest(message), { intents: [], unknown: false, question }));
  }
});

// ---------------------------------------------------------------------------------------------

const media = {
  path: 'x',
  durationSec: 60,
  video: [{ streamIndex: 0, codec: 'h264', width: 1920, height: 1080, fps: 30 }],
  audio: [{ audioIndex: 0, streamIndex: 1, codec: 'aac', channels: 2, sampleRate: 48000 }],
};
const base = (): Draft => draftFromMedia(media, { src: 'm1' });
const edit = (message: string, draft = base()) => applyDraftIntents(draft, parseRequest(message).intents, { musicSrc: 'm2' });
const videoTrack = (d: Draft) => d.t.find((t): t is VideoTrack => t.tt === 0)!;
const textSegs = (d: Draft) => d.t.filter((t): t is TextTrack => t.tt === 7).flatMap((t) => t.sg);
const musicSegs = (d: Draft) => d.t.filter((t): t is AudioTrack => t.tt === 1).flatMap((t) => t.sg);

describe('applyDraftIntents', () => {
  it('title for the first 3 seconds', () => {
    for (const msg of ["add a title 'Urban Dreams' for the first 3 seconds", '加标题「Urban Dreams」前3秒']) {
      const [seg] = textSegs(edit(msg));
      assert.equal(seg?.s, 0);
      assert.equal(seg?.d, 3000);
      assert.equal(seg?.m.text, 'Urban Dreams');
      assert.equal(seg?.m.kind, 'title');
    }
  });

  it('vertical for TikTok: 1080×1920, letterboxed video becomes blurred fill', () => {
    for (const msg of ['make it vertical for TikTok', '做成竖屏']) {
      const d = edit(msg);
      assert.deepEqual([d.w, d.h], [1080, 1920]);
      assert.equal(videoTrack(d).sg[0]?.m.fit, 'blur');
    }
  });

  it('lo-fi music at 35% on the music source', () => {
    for (const msg of ['add lo-fi music at 35%', '加背景音乐，音量35%']) {
      const [seg] = musicSegs(edit(msg));
      assert.equal(seg?.m.volume, 0.35);
      assert.equal(seg?.src, 'm2');
      assert.equal(seg?.d, 60000);
    }
  });

  it('music fades', () => {
    const [seg] = musicSegs(edit('add background music at 20%, fade in and out'));
    assert.deepEqual(seg?.m, { volume: 0.2, fade_in_ms: 2000, fade_out_ms: 2000 });
  });

  it('cut the first 10 seconds', () => {
    for (const msg of ['cut the first 10 seconds', '剪掉前10秒']) {
      const seg = videoTrack(edit(msg)).sg[0];
      assert.equal(seg?.s, 0);
      assert.equal(seg?.d, 50000);
      assert.equal(seg?.in, 10000);
    }
  });

  it('keep 0:10 to 0:40', () => {
    for (const msg of ['keep 0:10 to 0:40', '保留0:10到0:40']) {
      const seg = videoTrack(edit(msg)).sg[0];
      assert.deepEqual([seg?.d, seg?.in], [30000, 10000]);
    }
  });

  it('square: 1080×1080', () => {
    for (const msg of ['square', '方形']) {
      const d = edit(msg);
      assert.deepEqual([d.w, d.h], [1080, 1080]);
      assert.equal(videoTrack(d).sg[0]?.m.fit, 'blur');
    }
  });

  it('720p keeps the aspect; the aspect keeps the resolution', () => {
    const d720 = edit('720p');
    assert.deepEqual([d720.w, d720.h], [1280, 720]);
    const vertical720 = edit('竖屏', d720);
    assert.deepEqual([vertical720.w, vertical720.h], [720, 1280]);
    const back1080 = edit('1080p', vertical720);
    assert.deepEqual([back1080.w, back1080.h], [1080, 1920]);
  });

  it('a deliberate fit is kept when going vertical', () => {
    const covered = base();
    videoTrack(covered).sg[0]!.m.fit = 'cover';
    assert.equal(videoTrack(edit('vertical', covered)).sg[0]?.m.fit, 'cover');
  });

  it('several edits in order, input untouched', () => {
    const before = base();
    const snapshot = structuredClone(before);
    const d = edit("cut the first 10 seconds, make it vertical, add a title 'Hi' and lo-fi music at 35%", before);
    assert.deepEqual(before, snapshot);
    assert.deepEqual([d.w, d.h], [1080, 1920]);
    assert.equal(videoTrack(d).sg[0]?.d, 50000);
    assert.equal(musicSegs(d)[0]?.d, 50000); // music laid after the trim spans the trimmed timeline
    assert.equal(textSegs(d)[0]?.m.text, 'Hi');
  });

  it('transcribe, captions and export leave the draft alone', () => {
    const d = base();
    assert.equal(applyDraftIntents(d, parseRequest('transcribe it, burn the captions in and export').intents), d);
  });

  it('music without a source throws', () => {
    assert.throws(() => applyDraftIntents(base(), parseRequest('add lo-fi music at 35%').intents), { message: 'no audio file to use as music' });
  });
});

describe('selectMedia', () => {
  const items = [
    { name: 'intro.mp4', kind: 'video' as const },
    { name: 'song.mp3', kind: 'audio' as const },
    { name: 'Interview.MOV', kind: 'video' as const },
    { name: 'voice.wav', kind: 'audio' as const },
    { name: 'logo.png', kind: 'image' as const },
  ];
  const name = (sel: Parameters<typeof selectMedia>[1], want?: 'video' | 'audio') => selectMedia(items, sel, want)?.name;

  it('ordinals count within the kind, -1 is the last', () => {
    assert.equal(name({ by: 'ordinal', index: 1, kind: 'video' }), 'Interview.MOV');
    assert.equal(name({ by: 'ordinal', index: 0, kind: 'audio' }), 'song.mp3');
    assert.equal(name({ by: 'ordinal', index: -1, kind: 'audio' }), 'voice.wav');
    assert.equal(name({ by: 'ordinal', index: -1, kind: 'video' }), 'Interview.MOV');
    assert.equal(name({ by: 'ordinal', index: 2 }), 'Interview.MOV');
    assert.equal(name({ by: 'ordinal', index: 2, kind: 'video' }), undefined);
  });

  it('names: exact (any case), then without extension, then as the tail of the mention', () => {
    assert.equal(name({ by: 'name', name: 'interview.mov' }), 'Interview.MOV');
    assert.equal(name({ by: 'name', name: 'interview.mp4' }), 'Interview.MOV');
    assert.equal(name({ by: 'name', name: '转写intro.mp4' }), 'intro.mp4');
    assert.equal(name({ by: 'name', name: 'missing.mp4' }), undefined);
  });

  it('never a guess: no tail match inside a word, no extension swap for a non-media name', () => {
    assert.equal(name({ by: 'name', name: 'nottro.mp4' }), undefined);
    assert.equal(selectMedia([{ name: 'here.mp4', kind: 'video' }], { by: 'name', name: 'nothere.mp4' }), undefined);
    assert.equal(selectMedia([{ name: 'logo.mp4', kind: 'video' }], { by: 'name', name: 'logo.png' }), undefined);
    assert.equal(name({ by: 'name', name: 'logo.png' }), 'logo.png');
  });

  it('names of images and documents are names too', () => {
    const sel = (m: string) => parseRequest(m).intents.find((i) => i.kind === 'transcribe')?.media;
    assert.deepEqual(sel('transcribe img.png'), { by: 'name', name: 'img.png' });
    assert.deepEqual(sel('转写 图片.jpg'), { by: 'name', name: '图片.jpg' });
    assert.deepEqual(sel('transcribe the audio file'), { by: 'ordinal', index: 0, kind: 'audio' });
  });

  it('the 27th file named is the 27th, not the first', () => {
    const videos = Array.from({ length: 26 }, (_, i) => `f${i}.mp4`).join(' ');
    const music = parseRequest(`${videos}, add song.mp3 as background music`).intents.find((i) => i.kind === 'music');
    assert.deepEqual(music?.media, { by: 'name', name: 'song.mp3' });
  });

  it('no selector: first of the wanted kind, else the first item', () => {
    assert.equal(name(undefined, 'audio'), 'song.mp3');
    assert.equal(name(undefined, 'video'), 'intro.mp4');
    assert.equal(name(undefined), 'intro.mp4');
    assert.equal(selectMedia([items[0]!], undefined, 'audio'), undefined);
  });

  it('resolves parsed selectors', () => {
    const sel = (m: string) => parseRequest(m).intents.find((i) => i.kind === 'transcribe')?.media;
    assert.equal(name(sel('transcribe the second video')), 'Interview.MOV');
    assert.equal(name(sel('转写最后一个音频')), 'voice.wav');
    assert.equal(name(sel('transcribe song.mp3')), 'song.mp3');
  });
});
