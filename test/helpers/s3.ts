/**
 * An S3-compatible server for tests, the cluster demo and the benchmark: s3rver (the npm package,
 * a file-backed S3 API) on a free loopback port with its files in a temp folder and one bucket.
 * It runs in the calling process; `stop()` closes it and removes the folder. The credentials are
 * s3rver's fixed dummy pair, exported the standard AWS way so child `vidscribe serve` processes
 * pick them up too (`env`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

// s3rver ships no type declarations: the little of it used here, typed.
const S3rver = createRequire(import.meta.url)('s3rver') as new (o: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string; configs: never[] }[];
}) => {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  on(event: 'event', f: (e: { Records: { eventName: string; s3: { object: { key: string } } }[] }) => void): void;
};

export interface S3Server {
  /** `s3://BUCKET?endpoint=…&region=…`: what `--blobs` takes. */
  url: string;
  endpoint: string;
  bucket: string;
  region: string;
  /** AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY for this server (s3rver's dummy account). */
  env: { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string };
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Every object written so far, in order, and how: a single PUT or a completed multipart upload. */
  writes: { key: string; how: 'put' | 'multipart' }[];
  stop(): Promise<void>;
}

export async function startS3(bucket = 'vidscribe-test'): Promise<S3Server> {
  const dir = mkdtempSync(join(tmpdir(), 'vidscribe-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory: dir, silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
  const writes: S3Server['writes'] = [];
  server.on('event', (e) => {
    for (const r of e.Records) {
      if (r.eventName === 'ObjectCreated:Put') writes.push({ key: r.s3.object.key, how: 'put' });
      if (r.eventName === 'ObjectCreated:Post') writes.push({ key: r.s3.object.key, how: 'multipart' });
    }
  });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const region = 'us-east-1';
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  return {
    url: `s3://${bucket}?endpoint=${encodeURIComponent(endpoint)}&region=${region}`,
    endpoint,
    bucket,
    region,
    credentials,
    writes,
    env: { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey },
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
