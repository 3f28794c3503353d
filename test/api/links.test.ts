import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linkExpiry } from '../../src/api/http.ts';

test('a signed link handed out twice a few seconds apart is the same link, and lives at least its TTL', () => {
  const hour = 3600_000;
  const t0 = Date.UTC(2026, 10, 30, 12, 3, 17);
  const a = linkExpiry(t0, hour);
  const b = linkExpiry(t0 + 4000, hour);
  assert.equal(a, b, 'a page polling the state every few seconds gets one src for its player');
  for (const now of [t0, t0 + 4000, t0 + 599_999]) {
    const e = linkExpiry(now, hour);
    assert.ok(e >= now + hour && e < now + hour + 10 * 60_000, `expiry ${e - now} ms after ${now}`);
  }
  assert.ok(linkExpiry(t0, 5000) - t0 < 10_000, 'a short TTL is not stretched to ten minutes');
});
