/**
 * Connections (a review's finding: a request whose body never came held its connection for ever,
 * and ten thousand of them from one address took the server down): a quiet connection is closed,
 * one address holds a bounded number of connections (the trusted proxies excepted), and a route
 * whose answer takes long to start (a /v1 transcription) is not cut for being quiet.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { addressKey, inNetworks } from '../../src/api/connections.ts';
import { SAMPLE_MP4 } from '../helpers/media.ts';
import { newUser, startServer } from '../helpers/server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw connection to the server, and a promise that settles when the server closes it. */
function open(url: string): Promise<{ socket: Socket; closed: Promise<void>; isClosed: () => boolean }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let closed = false;
    const socket = connect(Number(port), hostname);
    const closedP = new Promise<void>((res) => socket.once('close', () => res()));
    socket.once('close', () => {
      closed = true;
    });
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, closed: closedP, isClosed: () => closed }));
    socket.once('error', reject);
  });
}

describe('connections', () => {
  test('a request whose body stops coming is closed once the connection has been quiet for the idle time', async () => {
    const srv = await startServer({ asrSlots: 0, renderSlots: 0 }, { idleMs: 400 });
    try {
      const c = await open(srv.url);
      c.socket.write('POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{');
      const outcome = await Promise.race([c.closed.then(() => 'closed'), sleep(5000).then(() => 'still open')]);
      assert.equal(outcome, 'closed');
      c.socket.destroy();
      // A request that keeps coming is not cut: 3 bytes 200 ms apart, then an answer.
      const d = await open(srv.url);
      const body = '{"email":"x@example.org","password":"not the right one"}';
      d.socket.write(
        `POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      );
      let answer = '';
      d.socket.on('data', (b) => {
        answer += b.toString();
      });
      for (const [i, ch] of [...body].entries()) {
        d.socket.write(ch);
        if (i < 3) await sleep(200);
      }
      await d.closed;
      assert.match(answer, /^HTTP\/1\.1 401/, answer.slice(0, 200));
    } finally {
      await srv.close();
    }
  });

  test('one address holds at most so many connections; one more is closed as it opens; a trusted proxy is not counted', async () => {
    const srv = await startServer({ asrSlots: 0, renderSlots: 0 }, { connectionsPerAddress: 3 });
    try {
      const held = [await open(srv.url), await open(srv.url), await open(srv.url)];
      const extra = await open(srv.url);
      await Promise.race([extra.closed, sleep(3000)]);
      assert.ok(extra.isClosed(), 'the fourth connection is closed');
      await sleep(200);
      assert.ok(
        held.every((c) => !c.isClosed()),
        'the first three stay open',
      );
      held[0]!.socket.destroy();
      await held[0]!.closed;
      await sleep(100);
      const again = await open(srv.url);
      const r = await fetch(`${srv.url}/healthz`).catch((e: Error) => e);
      assert.ok(r instanceof Error, 'all three places are taken again');
      again.socket.destroy();
      for (const c of held) c.socket.destroy();
    } finally {
      await srv.close();
    }
    const proxied = await startServer({ asrSlots: 0, renderSlots: 0 }, { connectionsPerAddress: 3, trustProxy: ['loopback'] });
    try {
      const many = await Promise.all(Array.from({ length: 6 }, () => open(proxied.url)));
      await sleep(300);
      assert.ok(
        many.every((c) => !c.isClosed()),
        'connections from a trusted proxy are not counted',
      );
      for (const c of many) c.socket.destroy();
    } finally {
      await proxied.close();
    }
  });

  test('a /v1 transcription that takes longer than the idle time is answered', async () => {
    const srv = await startServer({}, { idleMs: 300 });
    try {
      const u = await newUser(srv.url);
      const fd = new FormData();
      fd.append('file', new Blob([new Uint8Array(readFileSync(SAMPLE_MP4))]), 'jfk.mp4');
      fd.append('model', 'tiny.en');
      const started = Date.now();
      const r = await fetch(`${srv.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${u.api.token}` }, body: fd });
      const body = (await r.json()) as { text?: string };
      assert.equal(r.status, 200, JSON.stringify(body));
      assert.match(body.text ?? '', /country/);
      assert.ok(Date.now() - started > 300, 'the answer took longer than the idle time (the model loads first)');
    } finally {
      await srv.close();
    }
  });

  test('connections are counted by IPv4 address or IPv6 /64; --trust-proxy forms match', () => {
    assert.equal(addressKey('192.0.2.9'), '192.0.2.9');
    assert.equal(addressKey('::ffff:192.0.2.9'), '192.0.2.9');
    assert.equal(addressKey('2001:db8:0:7::1'), addressKey('2001:db8:0:7:ffff:1:2:3'));
    assert.notEqual(addressKey('2001:db8:0:7::1'), addressKey('2001:db8:0:8::1'));
    assert.ok(inNetworks('127.0.0.1', ['loopback']) && inNetworks('::1', ['loopback']) && inNetworks('::ffff:127.0.0.1', ['loopback']));
    assert.ok(inNetworks('10.1.2.3', ['10.0.0.0/8']) && !inNetworks('11.1.2.3', ['10.0.0.0/8']));
    assert.ok(inNetworks('fd00::5', ['uniquelocal']) && inNetworks('192.168.1.1', ['uniquelocal']) && !inNetworks('8.8.8.8', ['uniquelocal']));
    assert.ok(inNetworks('fe80::1', ['linklocal']) && inNetworks('2001:db8::1', ['2001:db8::1']) && !inNetworks('2001:db8::2', ['2001:db8::1']));
    assert.ok(!inNetworks('not an address', ['loopback']));
  });
});
