/**
 * Streaming download of a user-supplied URL (the upload endpoint's `{ "urls": [...] }` body), safe
 * against SSRF: only http(s), no credentials in the URL, every resolved address of every hop must be
 * public, and the connection is pinned to the address that was checked (no DNS rebinding between the
 * check and the connect). The body is streamed to disk with a byte cap and timeouts.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import { promises as dnsPromises, type LookupAddress, type LookupOptions } from 'node:dns';
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import ipaddr from 'ipaddr.js';
import { ErrorCode, VidscribeError, isVidscribeError } from '../shared/errors.ts';
import { abortable } from '../shared/abortable.ts';

export interface FetchUrlOptions {
  /** Cap in bytes: fails with FileTooLarge (4002) as soon as Content-Length says more, or once more bytes than this were read. */
  maxBytes: number;
  /** Skip the address check (loopback, private, link-local... become reachable). Default false. */
  allowPrivate?: boolean;
  /** Whole download, DNS to last byte (default 10 min). Connect + response headers must also come within 30 s per hop. */
  timeoutMs?: number;
  /** Longest wait for the next byte of the body (default 30 s): a server that stalls mid-body fails with Timeout (5003). */
  idleTimeoutMs?: number;
  /** Default 5; every hop is re-checked (scheme and address). */
  maxRedirects?: number;
  /** Cancels the download (the request that asked for it was closed): the connection is closed at once, Cancelled (5004). */
  signal?: AbortSignal;
  /** Injectable DNS (tests). Default: dns.promises.lookup(host, { all: true }). */
  lookup?: (host: string) => Promise<string[]>;
  /**
   * FOR TESTS ONLY: replaces `isPublicAddress` as the address check (ignored when allowPrivate is
   * true). Lets a test reach a local server while still proving that a redirect hop is re-checked.
   */
  isAllowedAddress?: (ip: string) => boolean;
}

export interface FetchedFile {
  path: string;
  bytes: number;
  /** Sanitized name for display/extension sniffing; see `downloadFileName`. */
  fileName: string;
  contentType?: string;
  /** URL of the last hop (after redirects). */
  finalUrl: string;
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000;
const HEADERS_TIMEOUT_MS = 30_000;
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_TIMER_MS = 2_147_483_647;
const PUBLIC_ONLY = 'URL uploads may only reach public addresses';

// ---------------------------------------------------------------------------------------------
// Address classification
// ---------------------------------------------------------------------------------------------

function parseAddress(ip: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const s = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  // net.isIP only accepts canonical literals (no "0x7f.1" or "2130706433"): anything else is not an address.
  if (isIP(s) === 0) return undefined;
  try {
    const addr = ipaddr.parse(s);
    return addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() ? (addr as ipaddr.IPv6).toIPv4Address() : addr;
  } catch {
    return undefined;
  }
}

/**
 * The IPv4 address an IPv6 address carries, for the forms that route to it: IPv4-compatible
 * (::a.b.c.d, deprecated), NAT64 (64:ff9b::/96, RFC 6052) and 6to4 (2002:ab:cd::/16). Teredo,
 * local-use NAT64 (64:ff9b:1::/48) and SIIT (::ffff:0:a.b.c.d) are never public unicast for
 * ipaddr.js, so they are refused whatever they carry. IPv4-mapped is handled by parseAddress.
 */
function embeddedIPv4(addr: ipaddr.IPv6): { ipv4: ipaddr.IPv4; form: string } | undefined {
  const w = addr.parts;
  const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  // :: and ::1 are the unspecified and loopback addresses, not IPv4-compatible ones.
  if (w.slice(0, 6).every((x) => x === 0) && (w[6] !== 0 || w[7]! > 1)) return { ipv4: v4(w[6]!, w[7]!), form: 'IPv4-compatible' };
  if (w[0] === 0x64 && w[1] === 0xff9b && w.slice(2, 6).every((x) => x === 0)) return { ipv4: v4(w[6]!, w[7]!), form: 'NAT64' };
  if (w[0] === 0x2002) return { ipv4: v4(w[1]!, w[2]!), form: '6to4' };
  return undefined;
}

/**
 * Pure: is this literal IP address allowed as a download target? ipaddr.js range 'unicast' only;
 * IPv4-mapped IPv6 is judged as IPv4, and an IPv6 form that embeds an IPv4 address (NAT64, 6to4,
 * IPv4-compatible) must carry a public one (IPv4-compatible is refused outright: it is deprecated
 * and some stacks route it to the IPv4 address, ::7f00:1 to 127.0.0.1).
 */
export function isPublicAddress(ip: string): boolean {
  const addr = parseAddress(ip);
  if (!addr) return false;
  if (addr.kind() === 'ipv4') return addr.range() === 'unicast';
  const embedded = embeddedIPv4(addr as ipaddr.IPv6);
  if (embedded) return embedded.form !== 'IPv4-compatible' && embedded.ipv4.range() === 'unicast';
  return addr.range() === 'unicast';
}

function describeAddress(ip: string): string {
  const addr = parseAddress(ip);
  if (!addr) return 'not a valid IP address';
  const embedded = addr.kind() === 'ipv6' ? embeddedIPv4(addr as ipaddr.IPv6) : undefined;
  if (embedded) {
    return embedded.form === 'IPv4-compatible'
      ? 'an IPv4-compatible IPv6 address (deprecated)'
      : `a ${embedded.form} address embedding ${embedded.ipv4.toString()}, ${describeAddress(embedded.ipv4.toString())}`;
  }
  const range = addr.range();
  const mapped = addr.kind() === 'ipv4' && isIP(ip.replace(/^\[|\]$/g, '')) === 6 ? ' (IPv4-mapped)' : '';
  const names: Record<string, string> = {
    loopback: 'a loopback address',
    private: 'a private-network address',
    uniqueLocal: 'a private-network (unique local) address',
    linkLocal: addr.toString() === '169.254.169.254' ? 'a link-local address (the cloud metadata endpoint)' : 'a link-local address',
    unspecified: 'an unspecified address',
    carrierGradeNat: 'a carrier-grade NAT (shared) address',
    multicast: 'a multicast address',
    broadcast: 'a broadcast address',
    reserved: 'a reserved address',
    unicast: 'a public address',
    teredo: 'a Teredo tunnel address',
    rfc6052: 'a NAT64 (local-use) address',
    rfc6145: 'an IPv4-translated (SIIT) address',
    '6to4': 'a 6to4 address',
  };
  return `${names[range] ?? `a special-purpose (${range}) address`}${mapped}`;
}

// ---------------------------------------------------------------------------------------------
// File names
// ---------------------------------------------------------------------------------------------

const MAX_NAME_CHARS = 200;
/** Also keep names well under the usual 255-byte file-system limit when they are multi-byte. */
const MAX_NAME_BYTES = 240;

function decodeRfc5987(charset: string, value: string): string | undefined {
  try {
    if (/^utf-?8$/i.test(charset)) return decodeURIComponent(value);
    if (/^(iso-8859-1|latin1|us-ascii)$/i.test(charset)) {
      return value.replace(/%([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
    }
  } catch {
    /* malformed escape */
  }
  return undefined;
}

function nameFromContentDisposition(cd: string): string | undefined {
  const ext = /(?:^|;)\s*filename\*\s*=\s*"?([^'";\s]*)'[^']*'([^;"\s]*)"?/i.exec(cd);
  if (ext) {
    const decoded = decodeRfc5987(ext[1] ?? '', ext[2] ?? '');
    if (decoded !== undefined && decoded.trim() !== '') return decoded;
  }
  const plain = /(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/i.exec(cd);
  if (plain) {
    const v = plain[1] !== undefined ? plain[1].replace(/\\(["\\])/g, '$1') : (plain[2] ?? '').trim();
    if (v.trim() !== '') return v;
  }
  return undefined;
}

function nameFromUrl(url: string): string | undefined {
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const seg = pathname.split('/').pop() ?? '';
  if (seg === '') return undefined;
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

function truncateName(name: string): string {
  const fits = (s: string) => [...s].length <= MAX_NAME_CHARS && Buffer.byteLength(s) <= MAX_NAME_BYTES;
  if (fits(name)) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
  const stem = [...name.slice(0, name.length - ext.length)];
  while (stem.length > 0 && !fits(stem.join('') + ext)) stem.pop();
  return stem.length > 0 ? stem.join('') + ext : [...name].slice(0, 50).join('');
}

function sanitizeName(raw: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  const noControl = raw.replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
  const base = (noControl.split(/[\\/]/).pop() ?? '').trim();
  if (base === '' || /^\.+$/.test(base)) return undefined;
  return truncateName(base);
}

/**
 * Pure: file name for a download: Content-Disposition filename (filename* RFC 5987 preferred), else
 * the last URL path segment (percent-decoded), else "download"; sanitized (no path separators, no
 * control characters, at most 200 characters and 240 UTF-8 bytes, never "." or "..").
 */
export function downloadFileName(url: string, contentDisposition?: string): string {
  const fromHeader = contentDisposition ? nameFromContentDisposition(contentDisposition) : undefined;
  const candidates = [fromHeader, nameFromUrl(url)];
  for (const c of candidates) {
    const s = c === undefined ? undefined : sanitizeName(c);
    if (s) return s;
  }
  return 'download';
}

// ---------------------------------------------------------------------------------------------
// Download
// ---------------------------------------------------------------------------------------------

/** The URL as shown in messages: no query string or fragment (signed URLs carry secrets there), bounded length. */
function displayUrl(url: string): string {
  let s: string;
  try {
    const u = new URL(url);
    u.search = '';
    u.hash = '';
    u.username = '';
    u.password = '';
    s = u.href;
  } catch {
    s = url;
  }
  return s.length > 200 ? `${s.slice(0, 199)}…` : s;
}

function seconds(ms: number): string {
  return ms >= 60_000 && ms % 60_000 === 0 ? `${ms / 60_000} min` : `${+(ms / 1000).toFixed(1)} s`;
}

function refused(shown: string, why: string, data?: Record<string, unknown>): VidscribeError {
  return new VidscribeError(ErrorCode.UrlRefused, `${shown}: refused: ${why}`, data ? { data } : {});
}

function failed(shown: string, why: string, cause?: unknown): VidscribeError {
  return new VidscribeError(ErrorCode.UrlFetchFailed, `${shown}: download failed: ${why}`, cause === undefined ? {} : { cause });
}

/** Parses and checks scheme and credentials. `shown` names the URL the user gave (for redirects, the original). */
function checkUrl(raw: string, shown: string, redirected: boolean): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw refused(shown, redirected ? `it redirects to an invalid URL (${raw.slice(0, 200)})` : 'not a valid URL; give a full http:// or https:// address');
  }
  const via = redirected ? `it redirects to ${displayUrl(u.href)}, and ` : '';
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw refused(shown, `${via}the ${u.protocol.replace(/:$/, '')}: scheme is not allowed; only http:// and https:// URLs can be uploaded`);
  }
  if (u.username !== '' || u.password !== '') {
    throw refused(shown, `${via}URLs with credentials (user:password@) are not allowed; use a pre-signed or public link instead`);
  }
  return u;
}

async function defaultLookup(host: string): Promise<string[]> {
  const all = await dnsPromises.lookup(host, { all: true, verbatim: true });
  return all.map((a) => a.address);
}

/**
 * Downloads `url` into `destPath` (written as is, overwriting; the caller moves it into place).
 * On any failure the partial file is removed. Errors: UrlRefused 4007, UrlFetchFailed 4008,
 * FileTooLarge 4002, Timeout 5003, Cancelled 5004.
 */
export async function fetchUrlToFile(url: string, destPath: string, opts: FetchUrlOptions): Promise<FetchedFile> {
  const shown = displayUrl(url);
  const maxBytes = opts.maxBytes;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const idleTimeoutMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const maxRedirects = opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const lookup = opts.lookup ?? defaultLookup;
  const allowed = opts.isAllowedAddress ?? isPublicAddress;

  const cancelled = () => new VidscribeError(ErrorCode.Cancelled, `${shown}: download cancelled`);
  if (opts.signal?.aborted) throw cancelled();

  const ac = new AbortController();
  const onUserAbort = () => ac.abort(cancelled());
  opts.signal?.addEventListener('abort', onUserAbort, { once: true });
  const timer = setTimeout(
    () =>
      ac.abort(
        new VidscribeError(ErrorCode.Timeout, `${shown}: the download did not finish within ${seconds(timeoutMs)}; try a smaller file or a faster host`),
      ),
    Math.min(Math.max(timeoutMs, 0), MAX_TIMER_MS),
  );

  let req: ClientRequest | undefined;
  let res: IncomingMessage | undefined;
  let headersTimer: NodeJS.Timeout | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let ws: WriteStream | undefined;

  const tooLarge = () =>
    new VidscribeError(ErrorCode.FileTooLarge, `${shown}: the file is larger than the ${(maxBytes / 1024 / 1024).toFixed(0)} MB limit for uploads`, {
      data: { maxBytes },
    });

  /** Resolves (or takes the literal), checks every address, returns the one to connect to. */
  const pickAddress = async (target: URL, hop: number): Promise<string> => {
    const host = target.hostname.replace(/^\[|\]$/g, '');
    const literal = isIP(host) !== 0;
    let addresses: string[];
    if (literal) {
      addresses = [host];
    } else {
      try {
        addresses = await abortable(lookup(host), ac.signal);
      } catch (e) {
        if (ac.signal.aborted) throw e;
        throw failed(shown, `could not resolve ${host} (${(e as Error).message ?? String(e)}); check the address`, e);
      }
      if (addresses.length === 0) throw failed(shown, `${host} has no address`);
    }
    if (!opts.allowPrivate) {
      for (const ip of addresses) {
        if (!allowed(ip)) {
          const via = hop > 0 ? `it redirects to ${displayUrl(target.href)}, and ` : '';
          const what = literal ? `${ip} is ${describeAddress(ip)}` : `${host} resolves to ${ip}, ${describeAddress(ip)}`;
          throw refused(shown, `${via}${what}; ${PUBLIC_ONLY}`, { address: ip });
        }
      }
    }
    const first = addresses[0] as string;
    // Connect to IPv4-mapped IPv6 addresses over IPv4.
    const parsed = parseAddress(first);
    return parsed && parsed.kind() === 'ipv4' ? parsed.toString() : first.replace(/^\[|\]$/g, '');
  };

  /** Sends the request pinned to `address`; resolves on the response headers. */
  const send = (target: URL, address: string): Promise<IncomingMessage> =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const family = isIP(address);
      const host = target.hostname.replace(/^\[|\]$/g, '');
      const pinned = (
        _hostname: string,
        options: LookupOptions,
        cb: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
      ): void => {
        if (options.all) cb(null, [{ address, family }]);
        else cb(null, address, family);
      };
      const mod = target.protocol === 'https:' ? https : http;
      const r = mod.request({
        protocol: target.protocol,
        hostname: host,
        port: target.port === '' ? undefined : Number(target.port),
        path: `${target.pathname}${target.search}`,
        method: 'GET',
        headers: { 'user-agent': 'vidscribe-url-upload', accept: '*/*' },
        lookup: pinned,
        // One connection per request, closed afterwards: no pooled sockets outlive the download.
        agent: false,
        signal: ac.signal,
        ...(target.protocol === 'https:' && isIP(host) === 0 ? { servername: host } : {}),
      });
      req = r;
      let settled = false;
      // A persistent listener: late socket errors must never become unhandled 'error' events.
      r.on('error', (e) => {
        if (settled) return;
        settled = true;
        reject(e);
      });
      r.on('response', (m) => {
        if (settled) {
          m.destroy();
          return;
        }
        settled = true;
        resolve(m);
      });
      r.end();
    });

  try {
    let target = checkUrl(url, shown, false);
    for (let hop = 0; ; hop++) {
      const address = await pickAddress(target, hop);
      headersTimer = setTimeout(
        () => ac.abort(new VidscribeError(ErrorCode.Timeout, `${shown}: no response from ${target.host} within ${seconds(HEADERS_TIMEOUT_MS)}`)),
        HEADERS_TIMEOUT_MS,
      );
      try {
        res = await send(target, address);
      } catch (e) {
        if (ac.signal.aborted) throw e;
        throw failed(shown, `could not connect to ${target.host} (${(e as Error).message ?? String(e)})`, e);
      } finally {
        clearTimeout(headersTimer);
      }
      const status = res.statusCode ?? 0;

      if (REDIRECT_STATUSES.has(status)) {
        const location = res.headers.location;
        res.destroy();
        req?.destroy();
        if (!location) throw failed(shown, `HTTP ${status} redirect without a Location header`);
        if (hop >= maxRedirects) throw failed(shown, `too many redirects (more than ${maxRedirects}); the link may loop`);
        let next: string;
        try {
          next = new URL(location, target).href;
        } catch {
          throw failed(shown, `HTTP ${status} redirect to an invalid Location (${location.slice(0, 200)})`);
        }
        target = checkUrl(next, shown, true);
        continue;
      }
      if (status >= 400) {
        res.destroy();
        throw failed(
          shown,
          `the server answered HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}; check that the link is public and still valid`,
        );
      }
      if (status < 200 || status >= 300) {
        res.destroy();
        throw failed(shown, `unexpected HTTP status ${status}`);
      }

      const lengthHeader = res.headers['content-length'];
      if (lengthHeader !== undefined && /^\d+$/.test(lengthHeader.trim()) && Number(lengthHeader) > maxBytes) {
        res.destroy();
        throw tooLarge();
      }

      let bytes = 0;
      // Each byte re-arms the idle timer: a body that stalls fails long before the whole-download limit.
      const stalled = () =>
        ac.abort(new VidscribeError(ErrorCode.Timeout, `${shown}: the download stalled: no data for ${seconds(idleTimeoutMs)} after ${bytes} bytes`));
      idleTimer = setTimeout(stalled, Math.min(Math.max(idleTimeoutMs, 0), MAX_TIMER_MS));
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          idleTimer?.refresh();
          bytes += chunk.length;
          if (bytes > maxBytes) cb(tooLarge());
          else cb(null, chunk);
        },
      });
      ws = createWriteStream(destPath);
      await pipeline(res, counter, ws, { signal: ac.signal });

      const contentType = res.headers['content-type'];
      const finalUrl = target.href;
      return {
        path: destPath,
        bytes,
        fileName: downloadFileName(finalUrl, res.headers['content-disposition']),
        ...(contentType ? { contentType } : {}),
        finalUrl,
      };
    }
  } catch (e) {
    if (ws) {
      ws.destroy();
      if (!ws.closed) await once(ws, 'close').catch(() => undefined);
      await rm(destPath, { force: true }).catch(() => undefined);
    }
    if (isVidscribeError(e)) throw e;
    if (ac.signal.aborted && isVidscribeError(ac.signal.reason)) throw ac.signal.reason;
    throw failed(shown, (e as Error)?.message ?? String(e), e);
  } finally {
    clearTimeout(timer);
    clearTimeout(headersTimer);
    clearTimeout(idleTimer);
    opts.signal?.removeEventListener('abort', onUserAbort);
    res?.destroy();
    req?.destroy();
  }
}
