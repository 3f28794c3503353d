/**
 * Email and password rules, and password hashing. Every check here is a single pass over a
 * bounded string (no backtracking regex): a hostile request must never cost more than its length.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';

/** RFC 5321's limit on a forward path; the route schema refuses longer bodies before parsing them. */
export const EMAIL_MAX = 254;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 1024;
/** Account ids we hand out are about 40 characters. */
export const BIND_MAX = 128;

/** C0 controls, DEL and C1 controls: never part of an address or a password a person types. */
const isControl = (c: number) => c < 0x20 || (c >= 0x7f && c <= 0x9f);
/** Whitespace as `\s` knows it (ASCII and Unicode spaces, line separators, BOM). */
const isSpace = (ch: string) => ch.trim() === '';

/** The address, trimmed and lower-cased, or 400: one `@`, a non-empty local part, a dotted domain. */
export function normalizeEmail(input: string): string {
  const email = input.trim().toLowerCase();
  const bad = (why: string) => new VidscribeError(ErrorCode.BadRequest, `email must be an email address (${why})`);
  if (email.length === 0) throw bad('it is empty');
  if (email.length > EMAIL_MAX) throw bad(`at most ${EMAIL_MAX} characters`);
  for (const ch of email) {
    if (isControl(ch.codePointAt(0)!) || isSpace(ch)) throw bad('no spaces or control characters');
  }
  const parts = email.split('@');
  if (parts.length !== 2) throw bad('exactly one @');
  const [local, domain] = parts as [string, string];
  if (local.length === 0 || local.length > 64) throw bad('1 to 64 characters before the @');
  const labels = domain.split('.');
  if (labels.length < 2 || labels.some((l) => l.length === 0 || l.length > 63)) throw bad('a domain such as example.org after the @');
  return email;
}

/** The rule for a new password: 8 to 1024 characters, not only spaces, no NUL or other control characters. */
export function checkNewPassword(password: string): void {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    throw new VidscribeError(ErrorCode.BadRequest, `password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`);
  }
  let onlySpaces = true;
  for (const ch of password) {
    if (isControl(ch.codePointAt(0)!)) throw new VidscribeError(ErrorCode.BadRequest, 'password must not contain NUL or other control characters');
    if (onlySpaces && !isSpace(ch)) onlySpaces = false;
  }
  if (onlySpaces) throw new VidscribeError(ErrorCode.BadRequest, 'password must not be only spaces');
}

const scryptAsync = promisify(scrypt) as (pw: string, salt: Buffer, len: number) => Promise<Buffer>;
const KEY_LEN = 32;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, KEY_LEN);
  return `scrypt$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Constant-time comparison against a stored `scrypt$salt$key`; a malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length || KEY_LEN);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
