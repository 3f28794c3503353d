import { Command } from 'commander';
import { VidscribeError } from '../shared/errors.ts';

// Each command loads its own modules when it runs: the server's (Fastify, the database, the MCP
// SDK) cost `transcribe` 0.7 s of start-up and 60-75 MB of memory it never used.

/** Where `serve` and `credits add` keep the database and files. */
const DEFAULT_DATA_DIR = process.env.VIDSCRIBE_DATA ?? 'vidscribe-data';

const program = new Command().name('vidscribe').description('Turn spoken video and audio into text, offline.').version('0.1.0');

program
  .command('transcribe')
  .description('Transcribe media files to txt, srt, vtt, json (OpenAI verbose_json), docx or md')
  .argument('<files...>', 'video or audio files (mp4 mov avi webm mkv mp3 wav m4a aac flac ogg)')
  .option('-f, --format <list>', 'comma-separated formats: txt,srt,vtt,json,docx,md', 'txt')
  .option('-o, --out <dir>', 'output folder (default: beside each input); "-" prints one format to stdout')
  .option(
    '-m, --model <model>',
    'base (default, every language), tiny.en, auto (detect: English → tiny.en, others → base), a CTranslate2 model folder, or a Whisper size name to download',
  )
  .option('--fast', 'the fast choice: English to tiny.en (about twice as fast, a little less accurate), other languages to base (same as --model auto)')
  .option(
    '-l, --language <code>',
    'spoken language as ISO 639-1, skips detection (zh-TW / zh-Hant: traditional Chinese; zh: simplified) (default: detect; English for .en models)',
  )
  .option('--task <task>', 'transcribe, or translate to English (multilingual models)', 'transcribe')
  .option('--prompt <text>', 'context or custom vocabulary to steer spelling')
  .option('--hotwords <words>', 'words to favour, space-separated')
  .option('--audio-track <n>', 'audio stream to transcribe, counted from 0', '0')
  .option('--beam-size <n>', 'beam search width (1 = greedy, fastest)')
  .option('--no-vad', 'disable voice-activity gating (not recommended: invites hallucinations over silence)')
  .option('--timestamps', 'add [hh:mm:ss] stamps to TXT paragraphs')
  .option('--max-line-chars <n>', 'subtitle line length (42 default; about 28 suits vertical video)')
  .option('--max-size-mb <n>', 'largest input accepted', '500')
  .option('--threads <n>', 'CPU threads for recognition (default: all cores)')
  .option('--diarize', 'find who speaks when: every output names the speakers (Speaker 1, Speaker 2…)')
  .option('--speakers <n>', 'with --diarize: exactly this many speakers (1–16; default: found automatically)')
  .option('--min-speakers <n>', 'with --diarize: at least this many speakers')
  .option('--max-speakers <n>', 'with --diarize: at most this many speakers')
  .option('--speaker-names <list>', 'names in order of first appearance, e.g. "Ana,Ben" (implies --diarize)')
  .action(async (files: string[], opts) => {
    const { runTranscribe } = await import('./transcribe-command.ts');
    process.exitCode = await runTranscribe(files, opts);
  });

program
  .command('render')
  .description('Render a draft (timeline JSON) to an H.264/AAC MP4')
  .argument('<draft>', 'draft file (JSON); relative sources resolve against its folder')
  .option('-o, --out <file>', 'output MP4 (default: beside the draft)')
  .option('--timeout <sec>', 'give up after this many seconds')
  .action(async (draft: string, opts) => {
    const { runRender } = await import('./render-command.ts');
    process.exitCode = await runRender(draft, opts);
  });

program
  .command('convert')
  .description('Make an MP4 from a video or audio file: resize, reframe, captions, title, background music')
  .argument('<input>', 'video or audio file')
  .option('-o, --out <file>', 'output MP4 (default: beside the input)')
  .option('--resolution <res>', '1080p or 720p', '1080p')
  .option('--aspect <ratio>', '16:9, 9:16 or 1:1 (default 16:9)')
  .option('--fit <fit>', 'contain, cover or blur (default: contain, blur when the aspect changes)')
  .option('--captions', 'transcribe and burn in captions')
  .option('--speaker-labels <how>', 'with --captions: find the speakers and show each one as a name prefix or a colour: name, color or none')
  .option('--speakers <n>', 'with --speaker-labels: exactly this many speakers (1–16; default: found automatically)')
  .option('--min-speakers <n>', 'with --speaker-labels: at least this many speakers')
  .option('--max-speakers <n>', 'with --speaker-labels: at most this many speakers')
  .option('-m, --model <model>', 'speech model for --captions (default base; see transcribe --model)')
  .option('--fast', 'for --captions: English to the fast tiny.en, other languages to base (same as --model auto)')
  .option('-l, --language <code>', 'spoken language for --captions (default: detect)')
  .option('--title <text>', 'a title over the start')
  .option('--title-duration <sec>', 'how long the title shows', '3')
  .option('--bgm <file>', 'background music, looped to the length')
  .option('--bgm-volume <0..1>', 'music volume (0.35 = 35 %)', '0.35')
  .option('--no-duck', 'do not lower the music under speech')
  .option('--save-draft <file>', 'also write the draft (timeline JSON) used')
  .option('--timeout <sec>', 'give up after this many seconds')
  .action(async (input: string, opts) => {
    const { runConvert } = await import('./render-command.ts');
    process.exitCode = await runConvert(input, opts);
  });

program
  .command('serve')
  .description('Serve the HTTP API (seed-compatible, OpenAI-compatible); by default on the embedded SQLite, local files and in-process workers')
  .option('-p, --port <port>', 'port', '8787')
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('-d, --data <dir>', 'where the database and files live (env VIDSCRIBE_DATA)', DEFAULT_DATA_DIR)
  .option('-m, --model <model>', 'default speech model for every transcription (base; auto for the fast choice: English → tiny.en)')
  .option(
    '--public-url <url>',
    "base URL for the links the API hands out (default: the request's Host when it is localhost or in --allowed-hosts, else this server's own address)",
  )
  .option('--allowed-hosts <names>', 'comma-separated host names whose Host header may shape links when --public-url is not set')
  .option('--allow-private-urls', 'let URL uploads reach private, loopback and link-local addresses (off: SSRF guard)')
  .option('--max-upload-mb <n>', 'largest upload', '500')
  .option('--quota-mb <n>', 'uploads one account may keep, all its sessions together (0: no limit)', '10240')
  .option('--asr-slots <n>', 'transcriptions at once (default: one per core, two to a speech-model process)')
  .option('--render-slots <n>', 'renders at once', '1')
  .option('--tokens-per-hour <n>', 'anonymous tokens one address may get per hour', '30')
  .option('--registrations-per-hour <n>', 'registrations one address may make per hour', '5')
  .option(
    '--trust-proxy <list>',
    'comma-separated addresses or CIDR networks (or loopback, linklocal, uniquelocal) of reverse proxies whose X-Forwarded-For names the client for the per-address limits (default: none, the header is ignored)',
  )
  .option('--signup-credits <n>', 'credits granted on registering (default 100; overrides signupGrant in --prices)')
  .option(
    '--prices <json>',
    'prices in credits, e.g. \'{"transcribePerMinute":1,"render1080pPerMinute":2,"render720pPerMinute":1,"anonymousGrant":100,"signupGrant":100}\' (those are the defaults)',
  )
  .option(
    '--llm-url <url>',
    "an OpenAI-compatible chat-completions API (llama.cpp, Ollama, vLLM: e.g. http://127.0.0.1:8080/v1) that plans requests the agent's parser does not understand (env VIDSCRIBE_LLM_URL; key from VIDSCRIBE_LLM_KEY)",
  )
  .option('--llm-model <name>', 'the model name to ask for on --llm-url (env VIDSCRIBE_LLM_MODEL)')
  .option(
    '--database <url>',
    'postgres://user@host:port/db to keep accounts, sessions, jobs and credits in Postgres (env VIDSCRIBE_DATABASE; default SQLite in --data)',
  )
  .option(
    '--db-pool <n>',
    "pooled Postgres connections this process holds at most, besides one for job events (env VIDSCRIBE_DB_POOL; default 10): all processes together must fit the server's max_connections",
  )
  .option(
    '--blobs <url>',
    's3://bucket[/prefix]?endpoint=http://host:port&region=… to keep media and results in S3-compatible storage, credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (env VIDSCRIBE_BLOBS; default files in --data)',
  )
  .option('--role <role>', 'api (HTTP only), worker (jobs only, /healthz on --port), or all (env VIDSCRIBE_ROLE)', undefined)
  .option('--lease-seconds <n>', "how long a worker's claim on a job lasts unrenewed: a dead worker's job moves on after about this long", '30')
  .option('--max-attempts <n>', 'runs of one job before it fails for good (a job that crashes its worker every time)', '3')
  .action(async (opts) => {
    const { runServe } = await import('./serve-command.ts');
    await runServe(opts);
  });

program
  .command('mcp')
  .description('Serve the Model Context Protocol on stdio for an assistant (Claude Desktop, Cursor…): transcribe, read, search, edit and export')
  .option('--server <url>', 'a vidscribe server to use (token from VIDSCRIBE_TOKEN, else an anonymous one); default: the embedded engine in-process')
  .option('-d, --data <dir>', 'local mode: where the database and files live (default $XDG_DATA_HOME/vidscribe)')
  .option('--max-upload-mb <n>', 'largest local file the assistant may hand over', '500')
  .action(async (opts) => {
    const { runMcp } = await import('./mcp-command.ts');
    await runMcp(opts);
  });

program
  .command('credits')
  .description('Administer credits')
  .command('add')
  .description('Add N credits to an account (by account id or token)')
  .argument('<account>', 'account id (anon_…, acct_…) or a token')
  .argument('<n>', 'credits to add (negative to remove)')
  .option('-d, --data <dir>', "the server's data folder", DEFAULT_DATA_DIR)
  .action(async (account: string, n: string, opts) => {
    const { runCreditsAdd } = await import('./serve-command.ts');
    await runCreditsAdd(account, n, opts);
  });

program
  .command('chat')
  .description('Talk to the agent in a terminal (or a pipe): requests line by line, files uploaded, results downloaded')
  .argument('[files...]', 'media files to upload first (a path typed or dragged in later is uploaded too)')
  .option('-s, --server <url>', 'a vidscribe server (default: start the engine locally, data in --data)')
  .option('-d, --data <dir>', 'data folder of the local engine (default $XDG_DATA_HOME/vidscribe or ~/.local/share/vidscribe)')
  .option('-o, --out <dir>', 'where transcripts and exports are saved (default: the current folder)')
  .option('--still-working <sec>', 'after this long without news, say the work goes on', '120')
  .option('--rate-limit-wait <sec>', 'how long to wait before retrying a rate-limited request', '30')
  .action(async (files: string[], opts) => {
    const { runChatCommand } = await import('./chat-command.ts');
    process.exitCode = await runChatCommand(files, { ...opts, stillWorkingSec: opts.stillWorking, rateLimitWaitSec: opts.rateLimitWait });
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof VidscribeError) {
    process.stderr.write(`vidscribe: [${e.code}] ${e.message}\n`);
    process.exitCode = 2;
  } else {
    throw e;
  }
}
