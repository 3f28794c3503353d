/**
 * `vidscribe mcp`: the MCP server on stdio for an assistant on this machine. With --server it
 * speaks to a vidscribe server (token from VIDSCRIBE_TOKEN, else an anonymous one); without, it
 * starts the embedded engine in-process on a loopback port and speaks to that. Either way the
 * assistant's `path` arguments are files this process reads, bounded by the upload limit.
 * stdout carries the protocol: every message for people goes to stderr.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { buildApp } from '../api/app.ts';
import { openServices } from '../api/services.ts';
import { VidscribeClient } from '../mcp/client.ts';
import { createMcpServer } from '../mcp/server.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';

export interface McpCommandOptions {
  server?: string;
  data?: string;
  maxUploadMb?: string;
}

export function defaultLocalDataDir(): string {
  return join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'vidscribe');
}

export async function runMcp(o: McpCommandOptions): Promise<void> {
  const maxMb = Number(o.maxUploadMb ?? '500');
  if (!Number.isFinite(maxMb) || maxMb <= 0)
    throw new VidscribeError(ErrorCode.BadRequest, `--max-upload-mb must be a positive number, got "${o.maxUploadMb}"`);
  const maxBytes = maxMb * 1024 * 1024;
  let client: VidscribeClient;
  let stop = async () => {};
  if (o.server) {
    if (!/^https?:\/\//i.test(o.server)) throw new VidscribeError(ErrorCode.BadRequest, `--server must be an http(s) URL, got "${o.server}"`);
    client = new VidscribeClient(o.server, process.env.VIDSCRIBE_TOKEN || undefined, { storeKey: o.server });
  } else {
    const svc = await openServices({ dataDir: o.data ?? defaultLocalDataDir(), maxUploadBytes: maxBytes });
    const app = await buildApp(svc);
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    process.stderr.write(`vidscribe mcp: local engine on ${address} (data in ${svc.config.dataDir})\n`);
    client = new VidscribeClient(address, process.env.VIDSCRIBE_TOKEN || undefined, { storeKey: svc.config.dataDir });
    stop = async () => {
      await app.close();
      await svc.close();
    };
  }
  const server = createMcpServer(client, { localFiles: { maxBytes } });
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((done) => {
    transport.onclose = () => done();
    process.stdin.once('end', () => done());
  });
  await server.connect(transport);
  await closed;
  await server.close();
  await stop();
}
