/**
 * Guards on connections, below the routes. Without them a client that sends a request's headers
 * and then no more of its body held its connection, and a file descriptor, for ever: Fastify turns
 * Node's request timeout off, and ten thousand such connections from one address took the server
 * down for everyone.
 * - A connection quiet for IDLE_MS (nothing received or sent) is closed; a route whose answer
 *   legitimately takes long to start, once it has read its request, says so (`quietFromNowOn`).
 * - One address (an IPv6 client: its /64) holds at most so many connections at once; the reverse
 *   proxies named by `--trust-proxy` are not counted, since every client comes through them.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyRequest } from 'fastify';
import ipaddr from 'ipaddr.js';

/** How long a connection may stay quiet while a request is read (or between requests): long
 * enough for a file's checks (ffprobe, 30 s at most, perhaps after a wait for its turn) between
 * the files of one upload, when the server reads nothing. */
export const IDLE_MS = 120_000;
/**
 * Connections one address holds at once: a browser opens 6, an office behind one NAT some
 * hundreds, a load test 200 (bench:api) while its last round's are still closing. One address
 * then holds a twentieth of the 20 000 descriptors a server here has, not all of them.
 */
export const CONNECTIONS_PER_ADDRESS = 1000;

/** The key connections are counted by: an IPv4 address (also one mapped into IPv6), or an IPv6 address's /64. */
export function addressKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const a = ipaddr.process(address);
  if (a.kind() === 'ipv4') return a.toString();
  return `${(a as ipaddr.IPv6).toNormalizedString().split(':').slice(0, 4).join(':')}::/64`;
}

/** Whether `address` is in one of `entries` (addresses, CIDR networks, `loopback`, `linklocal`, `uniquelocal`: --trust-proxy's forms). */
export function inNetworks(address: string, entries: readonly string[]): boolean {
  if (entries.length === 0 || !ipaddr.isValid(address)) return false;
  const a = ipaddr.process(address);
  const range = a.range();
  return entries.some((e) => {
    if (e === 'loopback') return range === 'loopback';
    if (e === 'linklocal') return range === 'linkLocal';
    if (e === 'uniquelocal') return range === 'private' || range === 'uniqueLocal';
    if (e.includes('/')) {
      const [net, bits] = ipaddr.parseCIDR(e);
      return net.kind() === a.kind() && a.match(net, bits);
    }
    return ipaddr.isValid(e) && ipaddr.process(e).toNormalizedString() === a.toNormalizedString();
  });
}

/** Closes a connection past `perAddress` from one address (addressKey) as it opens, unless `exempt`. */
export function limitConnectionsPerAddress(server: Server, perAddress: number, exempt: (address: string) => boolean): void {
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (!address || exempt(address)) return;
    const key = addressKey(address);
    const n = (open.get(key) ?? 0) + 1;
    if (n > perAddress) {
      socket.destroy();
      return;
    }
    open.set(key, n);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left > 0) open.set(key, left);
      else open.delete(key);
    });
  });
}

/**
 * The request is read and its answer may take long to start (a transcription awaited, a download
 * from a URL, files moved into the store): the connection is no longer closed for being quiet.
 */
export function quietFromNowOn(req: FastifyRequest): void {
  req.raw.socket?.setTimeout(0);
}
