/**
 * The web app at `/`: the files Vite built into dist/web, served by this same server (same origin
 * as the API, nothing from outside, so the helmet CSP's "scripts from self" holds). index.html is
 * revalidated on every load (`no-cache`) so a new build is picked up at once; the files under
 * /assets/ carry a content hash in their names and are cached for a year as immutable.
 */
import { existsSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { PROJECT_ROOT } from '../asr/models.ts';

/** Where `npm run build:web` (run by the set-up script) puts the app. */
export const DEFAULT_WEB_ROOT = join(PROJECT_ROOT, 'dist', 'web');

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vidscribe</title></head>
<body><h1>The web app has not been built</h1>
<p>Run <code>npm run build:web</code> (or <code>npm run setup</code>) in the vidscribe folder, then reload this page.
The API works without it: see <a href="/docs">/docs</a>.</p></body></html>
`;

export async function registerWebRoutes(app: FastifyInstance, root = DEFAULT_WEB_ROOT): Promise<void> {
  const dir = resolve(root);
  if (!existsSync(join(dir, 'index.html'))) {
    app.get('/', { schema: { hide: true } }, async (_req, reply) =>
      reply.code(503).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(NOT_BUILT),
    );
    return;
  }
  const assets = join(dir, 'assets') + sep;
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    // One route per built file (the build happens before the server starts): unknown paths fall
    // through to the API's own 404 envelope instead of a catch-all.
    wildcard: false,
    // Directory listings and dotfiles are never served.
    list: false,
    dotfiles: 'deny',
    cacheControl: false,
    schemaHide: true,
    setHeaders: (reply, path) => {
      reply.header('cache-control', path.startsWith(assets) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
