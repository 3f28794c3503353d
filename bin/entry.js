// Which module the `vidscribe` command starts from: the bundle `npm run setup` builds (dist/cli,
// our sources bundled by esbuild, packages loaded as they are: the command starts in half the
// time, since every module tsx compiles costs a round trip to its loader thread), or the
// TypeScript sources through tsx when there is no bundle or a source file is newer than it
// (someone is editing: the bundle would run old code).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The bundle's entry, relative to the project root. */
export const BUNDLE = join('dist', 'cli', 'main.mjs');

/** The newest modification time of the TypeScript files under `dir`, in ms (0 when none, or no `dir`). */
export function newestSource(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if (e.code === 'ENOENT') return 0; // a copy shipped without its sources runs the bundle
    throw e;
  }
  let newest = 0;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** 'bundle' when `root`'s bundle exists and no source under src/ is newer, else 'sources'. */
export function cliEntry(root) {
  let built;
  try {
    built = statSync(join(root, BUNDLE)).mtimeMs;
  } catch {
    return 'sources';
  }
  return newestSource(join(root, 'src')) <= built ? 'bundle' : 'sources';
}
