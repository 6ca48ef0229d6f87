import { randomBytes } from 'node:crypto';
import { dictionary } from '@zxcvbn-ts/language-common';
import { HashWorkerPool } from './hash-workers.js';

/** OWASP Password Storage Cheat Sheet, Argon2id first option: m=19 MiB, t=2, p=1. */
export const ARGON2_OPTIONS = {
  // Algorithm.Argon2id; the package exports it as an ambient const enum, so use its value.
  algorithm: 2,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;

/** NFC so that the same visible password typed on different keyboards hashes the same. */
export function normalizePassword(password: string): string {
  return password.normalize('NFC');
}

let commonPasswords: Set<string> | undefined;
function common(): Set<string> {
  // ~49k entries from zxcvbn-ts's maintained list; built on first use, not at import.
  commonPasswords ??= new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));
  return commonPasswords;
}

/**
 * Why a password is unacceptable, or null. Length is counted in code points after NFC,
 * and a listed password padded with digits or punctuation ("password1234!") counts as listed.
 */
export function passwordProblem(password: string, context: { email?: string } = {}): string | null {
  const normalized = normalizePassword(password);
  const length = [...normalized].length;
  if (length < PASSWORD_MIN_LENGTH) return `must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (length > PASSWORD_MAX_LENGTH) return `must be at most ${PASSWORD_MAX_LENGTH} characters`;
  const lower = normalized.toLowerCase();
  const core = lower.replace(/[\d\W_]+$/u, '').replace(/^[\d\W_]+/u, '');
  const list = common();
  if (list.has(lower) || (core.length >= 4 && list.has(core))) return 'is too common; choose a less guessable password';
  if (new Set(normalized).size < 4) return 'is too repetitive';
  const local = context.email?.toLowerCase().split('@')[0] ?? '';
  if (local.length >= 4 && lower.includes(local)) return 'must not contain your email address';
  return null;
}

// Argon2 runs on low-priority worker threads, never on the event loop (see hash-workers.ts).
const workers = new HashWorkerPool();

/** Argon2id hash in PHC string format. */
export function hashPassword(password: string): Promise<string> {
  return workers.hash(normalizePassword(password), ARGON2_OPTIONS);
}

/** Constant-time check of a password against a stored PHC hash; false for a malformed hash. */
export async function verifyPassword(storedHash: string, password: string): Promise<boolean> {
  try {
    return await workers.verify(storedHash, normalizePassword(password));
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | undefined;

/**
 * Verifies against a throwaway hash made with the same parameters, so a login for an unknown
 * email costs the same time as a wrong password and does not reveal which emails exist.
 */
export async function burnPasswordVerification(password: string): Promise<false> {
  dummyHash ??= hashPassword(randomBytes(32).toString('base64url'));
  await verifyPassword(await dummyHash, password);
  return false;
}
