#!/usr/bin/env node
// Starts the CLI from its bundle when it is up to date, else from the TypeScript sources through
// tsx (bin/entry.js says which and why).
import { fileURLToPath } from 'node:url';
import { cliEntry } from './entry.js';

if (cliEntry(fileURLToPath(new URL('..', import.meta.url))) === 'bundle') {
  await import('../dist/cli/main.mjs');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
