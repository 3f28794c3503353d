import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
// @ts-expect-error plain JavaScript, run by node before tsx is registered
import { BUNDLE, cliEntry } from '../../bin/entry.js';
import { tempDir } from '../../test/helpers/media.ts';
import { PROJECT_ROOT } from '../asr/models.ts';

test('the command starts from the bundle only while no source file is newer than it', () => {
  const root = tempDir('vidscribe-entry-');
  mkdirSync(join(root, 'src', 'cli'), { recursive: true });
  const source = join(root, 'src', 'cli', 'main.ts');
  writeFileSync(source, '');
  const at = (path: string, seconds: number) => utimesSync(path, seconds, seconds);
  at(source, 1000);
  assert.equal(cliEntry(root), 'sources', 'no bundle');
  mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
  writeFileSync(join(root, BUNDLE), '');
  at(join(root, BUNDLE), 2000);
  assert.equal(cliEntry(root), 'bundle');
  // A file edited after the build, however deep: the sources, so the edit is what runs.
  mkdirSync(join(root, 'src', 'asr', 'worker'), { recursive: true });
  const edited = join(root, 'src', 'asr', 'deep.ts');
  writeFileSync(edited, '');
  at(edited, 3000);
  assert.equal(cliEntry(root), 'sources');
  at(edited, 1500);
  // Only TypeScript counts: the worker's Python is read at run time, not bundled.
  const python = join(root, 'src', 'asr', 'worker', 'worker.py');
  writeFileSync(python, '');
  at(python, 3000);
  assert.equal(cliEntry(root), 'bundle');
  // A copy with the bundle but without its sources runs the bundle.
  const shipped = tempDir('vidscribe-entry-shipped-');
  mkdirSync(join(shipped, 'dist', 'cli'), { recursive: true });
  writeFileSync(join(shipped, BUNDLE), '');
  assert.equal(cliEntry(shipped), 'bundle');
});

test('the bundle setup builds runs the same command as the sources', () => {
  // `npm test` runs the set-up first, which builds the bundle: it must be what the command runs.
  assert.equal(cliEntry(PROJECT_ROOT), 'bundle', 'the bundle is older than a source file: `npm run setup` (which `npm test` runs first) rebuilds it');
  const fromBundle = execFileSync(process.execPath, [join(PROJECT_ROOT, BUNDLE), 'transcribe', '--help'], { encoding: 'utf8' });
  const fromSources = execFileSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'src', 'cli', 'main.ts'), 'transcribe', '--help'], {
    encoding: 'utf8',
  });
  assert.match(fromBundle, /--format <list>/);
  assert.equal(fromBundle, fromSources);
});
