import assert from 'node:assert/strict';
import { VidscribeError, type ErrorCode } from '../../src/shared/errors.ts';

/** Awaits `p` and insists it fails with a VidscribeError of this code (and message, if given). */
export async function rejectsWith(p: Promise<unknown>, code: ErrorCode, messagePart?: RegExp): Promise<VidscribeError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof VidscribeError, `expected a VidscribeError, got ${String(e)}`);
    assert.equal(e.code, code, `expected code ${code}, got ${e.code}: ${e.message}`);
    if (messagePart) assert.match(e.message, messagePart);
    return e;
  }
  assert.fail(`expected error ${code}, but it resolved`);
}
