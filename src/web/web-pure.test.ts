/**
 * The web app's pure parts, in Node: every error code as a sentence in both languages, the
 * quick actions as requests the agent's parser understands, ADK events reduced into chat
 * messages, and the timeline's time → position math. (The real-browser tests are in test/web/.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRequest } from '../agent/intent.ts';
import type { AdkEvent } from '../agent/runner.ts';
import { ErrorCode } from '../shared/errors.ts';
import { QUICK_ACTIONS, assistantMessage, dropped, progressOf, reduceEvent } from './chat-state.ts';
import { NETWORK_ERROR, STREAM_DROPPED, dictionaries, errorSentence, initialLang, registerLinkOf, translate } from './i18n.ts';
import { draftDurationMs, drawTracks, formatTime, rulerTicks, tickStepMs, timeToPx } from './timeline-math.ts';

describe('i18n', () => {
  test('both dictionaries have every key, none empty', () => {
    const en = Object.keys(dictionaries.en).sort();
    assert.deepEqual(Object.keys(dictionaries.zh).sort(), en);
    for (const lang of ['en', 'zh'] as const) for (const k of en) assert.ok(dictionaries[lang][k as 'send'].trim(), `${lang}.${k}`);
  });

  test('the language: stored choice, else the browser (any zh-*), else English', () => {
    assert.equal(initialLang(null, 'zh-CN'), 'zh');
    assert.equal(initialLang(null, 'zh-TW'), 'zh');
    assert.equal(initialLang(null, 'de-DE'), 'en');
    assert.equal(initialLang('en', 'zh-CN'), 'en');
    assert.equal(initialLang('fr', undefined), 'en');
  });

  test('placeholders are filled', () => {
    assert.equal(translate('en', 'creditsValue', { available: 97, frozen: 3 }), '97 available · 3 held');
    assert.equal(translate('zh', 'exporting', { percent: 40 }), '导出中… 40%');
  });
});

describe('error codes as sentences', () => {
  test('4001 lists the accepted formats and names the file', () => {
    const e = { code: ErrorCode.UnsupportedFormat, message: 'photo.mp4: png is not a transcribable format.', data: { formats: ['mp4', 'mov', 'wav'] } };
    const en = errorSentence(e, 'en').text;
    assert.match(en, /^photo\.mp4 is not a file/);
    assert.match(en, /mp4, mov, wav/);
    assert.match(errorSentence(e, 'zh').text, /支持的格式：mp4, mov, wav/);
    // Without data the shared list of formats is used.
    assert.match(
      errorSentence({ code: 4001, message: 'nope' }, 'en').text,
      /mp4, mov, avi, webm, mkv, mp3, wav, m4a, aac, flac, ogg, jpg, jpeg, png, gif, webp/,
    );
  });

  test('4002 says the limit and suggests trimming', () => {
    const s = errorSentence({ code: 4002, message: 'big.mov is larger than the 500 MB limit', data: { maxBytes: 500 * 1024 * 1024 } }, 'en', 'big.mov').text;
    assert.match(s, /big\.mov is over the 500 MB limit/);
    assert.match(s, /Trim or compress/);
    assert.match(errorSentence({ code: 4002, message: 'x: 700 MB is over the 20 MB limit' }, 'zh').text, /20 MB 的上限.*剪短/);
  });

  test("4002 past the account's storage quota says how much it keeps, not a file limit", () => {
    const data = { quota_bytes: 10240 * 1024 * 1024, used_bytes: 10000 * 1024 * 1024, upload_bytes: 400 * 1024 * 1024 };
    const s = errorSentence({ code: 4002, message: "This upload would pass this account's storage quota", data }, 'en', 'talk.mp4').text;
    assert.match(s, /keeps 9.8 GB of its 10 GB of uploads, so talk\.mp4 does not fit/);
    assert.doesNotMatch(s, /Trim or compress/);
    assert.match(errorSentence({ code: 4002, message: 'x', data }, 'zh', 'talk.mp4').text, /9.8 GB.*10 GB.*配额/);
  });

  test('2001 carries a same-origin registration link taken from the server message', () => {
    const s = errorSentence(
      { code: 2001, message: 'Not enough credits to transcribe a.mp4. Register to get more: http://127.0.0.1:8787/register?bind=acc_123.' },
      'en',
    );
    assert.equal(s.registerUrl, '/register?bind=acc_123');
    assert.match(s.text, /out of credits/);
    // A registered account has no link: the sentence says whom to ask.
    assert.equal(errorSentence({ code: 2001, message: 'Not enough credits. Ask your administrator' }, 'en').registerUrl, undefined);
  });

  test('every code in the table, a network failure and a dropped stream read as sentences, never JSON', () => {
    const codes = [...Object.values(ErrorCode), 4009, NETWORK_ERROR, STREAM_DROPPED, 9999];
    for (const lang of ['en', 'zh'] as const) {
      for (const code of codes) {
        const { text } = errorSentence({ code, message: 'detail' }, lang);
        assert.ok(text.length > 2, `${lang} ${code}`);
        assert.doesNotMatch(text, /[{}]/, `${lang} ${code}: ${text}`);
      }
    }
    assert.match(errorSentence({ code: NETWORK_ERROR, message: 'Failed to fetch' }, 'en').text, /Could not reach the server/);
  });

  test('registerLinkOf keeps path and query only', () => {
    assert.equal(registerLinkOf('see https://evil.example/register?bind=a%20b, then'), '/register?bind=a%20b');
    assert.equal(registerLinkOf('no link here'), undefined);
  });
});

describe('quick actions', () => {
  const expected: Record<string, (i: ReturnType<typeof parseRequest>['intents']) => boolean> = {
    transcribe: (i) => i.length === 1 && i[0]!.kind === 'transcribe' && i[0]!.format === 'txt',
    srt: (i) => i.length === 1 && i[0]!.kind === 'transcribe' && i[0]!.format === 'srt',
    docx: (i) => i.length === 1 && i[0]!.kind === 'transcribe' && i[0]!.format === 'docx',
    captions: (i) => i.length === 1 && i[0]!.kind === 'captions',
    vertical: (i) => i.length === 1 && i[0]!.kind === 'aspect' && i[0]!.aspect === '9:16',
    export: (i) => i.length === 1 && i[0]!.kind === 'export',
  };
  for (const a of QUICK_ACTIONS) {
    for (const lang of ['en', 'zh'] as const) {
      test(`${a.id} (${lang}): "${a[lang]}" is understood as one ${a.id} request`, () => {
        const p = parseRequest(a[lang]);
        assert.equal(p.question, undefined);
        assert.ok(expected[a.id]!(p.intents), JSON.stringify(p.intents));
      });
    }
  }
});

describe('ADK events into a chat message', () => {
  const ev = (parts: AdkEvent['content']['parts'], extra: Partial<AdkEvent> = {}): AdkEvent => ({
    id: 'e',
    invocationId: 'i',
    author: 'nemo_agent',
    timestamp: 0,
    content: { role: 'model', parts },
    ...extra,
  });

  test('a tool call becomes a chip, progress a bar, the final text the reply', () => {
    let m = assistantMessage('a1');
    m = reduceEvent(m, ev([{ functionCall: { id: 'c1', name: 'transcribe_media', args: { media_id: 'm1', name: 'clip.mp4', format: 'srt' } } }]), 'en');
    assert.deepEqual(
      m.tools.map((t) => [t.label, t.status]),
      [['Transcribe · clip.mp4 · SRT', 'running']],
    );
    m = reduceEvent(m, ev([{ text: 'Transcribing clip.mp4 (12 s): 1 credit…' }], { partial: true }), 'en');
    m = reduceEvent(m, ev([{ text: 'Transcribing clip.mp4: 40 %' }], { partial: true }), 'en');
    m = reduceEvent(m, ev([{ text: 'Transcribing clip.mp4: 70 %' }], { partial: true }), 'en');
    assert.deepEqual(m.jobs, [{ what: 'Transcribing clip.mp4', percent: 70 }]);
    assert.deepEqual(m.notes, ['Transcribing clip.mp4 (12 s): 1 credit…']);
    assert.equal(m.done, false);
    m = reduceEvent(m, ev([{ functionResponse: { id: 'c1', name: 'transcribe_media', response: { status: 'ok', transcript_id: 't1' } } }]), 'en');
    assert.equal(m.tools[0]!.status, 'ok');
    assert.deepEqual(m.jobs, []);
    m = reduceEvent(m, ev([{ text: 'Done: the transcript is ready.' }], { turnComplete: true }), 'en');
    assert.equal(m.text, 'Done: the transcript is ready.');
    assert.equal(m.done, true);
  });

  test('a 2001 tool error gives the message its registration link; Chinese progress parses', () => {
    let m = assistantMessage('a2');
    m = reduceEvent(m, ev([{ functionCall: { id: 'c', name: 'export_video', args: {} } }]), 'zh');
    assert.equal(m.tools[0]!.label, '导出');
    m = reduceEvent(
      m,
      ev([
        {
          functionResponse: {
            id: 'c',
            name: 'export_video',
            response: { status: 'error', code: 2001, message: 'Not enough credits: http://h/register?bind=x1' },
          },
        },
      ]),
      'zh',
    );
    assert.equal(m.tools[0]!.status, 'error');
    assert.equal(m.registerUrl, '/register?bind=x1');
    assert.deepEqual(progressOf('渲染视频：35%'), { what: '渲染视频', percent: 35 });
    assert.equal(progressOf('Just words'), undefined);
  });

  test('a dropped stream ends the message with the error and no chip left running', () => {
    let m = assistantMessage('a3');
    m = reduceEvent(m, ev([{ functionCall: { id: 'c', name: 'add_captions', args: {} } }]), 'en');
    m = dropped(m, { code: STREAM_DROPPED, message: 'ended early' });
    assert.equal(m.done, true);
    assert.equal(m.error?.code, STREAM_DROPPED);
    assert.equal(m.tools[0]!.status, 'error');
  });
});

describe('timeline math', () => {
  test('time → pixels is linear and clamped to the ruler', () => {
    assert.equal(timeToPx(0, 10_000, 500), 0);
    assert.equal(timeToPx(5_000, 10_000, 500), 250);
    assert.equal(timeToPx(10_000, 10_000, 500), 500);
    assert.equal(timeToPx(12_000, 10_000, 500), 500);
    assert.equal(timeToPx(-5, 10_000, 500), 0);
    assert.equal(timeToPx(5, 0, 500), 0);
  });

  test('ticks are round steps at least the gap apart, labelled as clock times', () => {
    assert.equal(tickStepMs(60_000, 600), 10_000); // 100 ms per px → 64 px needs ≥ 6.4 s → 10 s
    assert.equal(tickStepMs(3_600_000, 320), 900_000);
    const ticks = rulerTicks(60_000, 600);
    assert.deepEqual(
      ticks.map((t) => t.label),
      ['0:00', '0:10', '0:20', '0:30', '0:40', '0:50', '1:00'],
    );
    assert.equal(ticks[3]!.left, 50);
    assert.equal(formatTime(3_723_000), '1:02:03');
    assert.equal(formatTime(1_500, true), '0:01.5');
  });

  test('tracks: kinds from tt, segments placed in percent of the whole draft, labelled by file or text', () => {
    const draft = {
      t: [
        { id: 'v', tt: 0 as const, sg: [{ id: 's1', s: 0, d: 8000, src: 'm1', m: { fit: 'contain' as const } }] },
        { id: 'a', tt: 1 as const, sg: [{ id: 's2', s: 2000, d: 6000, src: 'm2', m: { volume: 0.3 } }] },
        { id: 'x', tt: 7 as const, sg: [{ id: 's3', s: 4000, d: 6000, m: { text: 'Hello', kind: 'title' as const, position: 'top' as const } }] },
      ],
    };
    assert.equal(draftDurationMs(draft as never), 10_000);
    const tracks = drawTracks(draft as never, new Map([['m1', 'clip.mp4']]));
    assert.deepEqual(
      tracks.map((t) => t.kind),
      ['video', 'audio', 'text'],
    );
    assert.deepEqual(tracks[0]!.segments[0], { id: 's1', left: 0, width: 80, label: 'clip.mp4', startMs: 0, durationMs: 8000 });
    assert.equal(tracks[1]!.segments[0]!.label, 'm2');
    assert.deepEqual([tracks[2]!.segments[0]!.left, tracks[2]!.segments[0]!.width, tracks[2]!.segments[0]!.label], [40, 60, 'Hello']);
  });
});
