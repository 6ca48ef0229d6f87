import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { isWeakJwtSecret } from '../../src/lib/weak-secrets.js';

// A production start must refuse every secret of the public list in resources/weak-jwt-secrets.txt
// (tutorial defaults, library examples, the top of JWT-cracking wordlists) and the simple
// variants people make of them to get past a length check: upper case, repeated to 32+ bytes,
// camel case, glued with separators, padded with digits. Found this way: camel-case and
// run-together spellings of multi-word entries ("SuperSecretStringSuperSecretString") passed,
// and a random base64 secret containing "todo" or "xxxx" was refused as a placeholder.

const WORDLIST = readFileSync(new URL('../../resources/weak-jwt-secrets.txt', import.meta.url), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

// Only resolved, never written: loadConfig() creates no outbox.
const OUTBOX = join(tmpdir(), 'gatehouse-weak-secrets-outbox');

/** Repeats `word` (joined by `separator`) until it is at least 32 bytes, the length minimum. */
function toMinimumLength(word: string, separator = ''): string {
  let secret = word;
  while (Buffer.byteLength(secret, 'utf8') < 32) secret += separator + word;
  return secret;
}
const titleCase = (word: string) => word.replace(/(^|[\s_-])(\w)/g, (_m, sep: string, c: string) => sep + c.toUpperCase());

const VARIANTS: Record<string, (word: string) => string> = {
  'as listed': (w) => w,
  'upper case': (w) => w.toUpperCase(),
  'repeated to 32+ bytes': (w) => toMinimumLength(w),
  'upper case, repeated': (w) => toMinimumLength(w.toUpperCase()),
  'title case, repeated': (w) => toMinimumLength(titleCase(w)),
  'camel case, repeated': (w) => toMinimumLength(titleCase(w).replace(/[\s_-]/g, '')),
  'separators dropped, repeated': (w) => toMinimumLength(w.replace(/[\s_-]/g, '')),
  'repeated with "-"': (w) => toMinimumLength(w, '-'),
  'repeated with "_"': (w) => toMinimumLength(w, '_'),
  'repeated with " "': (w) => toMinimumLength(w, ' '),
  'padded with digits': (w) => (w + '1234567890'.repeat(4)).slice(0, Math.max(32, w.length)),
  'with a year, repeated': (w) => toMinimumLength(`${w}2024`),
  'with "!", repeated': (w) => toMinimumLength(`${w}!`),
  'surrounded by spaces': (w) => `  ${toMinimumLength(w)}  `,
};

function refusal(secret: string): string[] {
  try {
    // MAIL_OUTBOX_DIR: production needs a mail route, and only the secret is under test here.
    loadConfig({ NODE_ENV: 'production', JWT_SECRET: secret, DATABASE_URL: 'sqlite::memory:', MAIL_OUTBOX_DIR: OUTBOX });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('weak JWT secrets are refused at a production start', () => {
  it('the list is the bundled public one', () => {
    expect(WORDLIST.length).toBeGreaterThanOrEqual(120);
    expect(WORDLIST).toContain('your-256-bit-secret');
  });

  it.each(Object.entries(VARIANTS))('every listed secret, %s, is refused', (_variant, make) => {
    const accepted: string[] = [];
    for (const word of WORDLIST) {
      const secret = make(word);
      const problems = refusal(secret);
      if (problems.length === 0) {
        accepted.push(secret);
        continue;
      }
      expect(problems).toHaveLength(1);
      // At 32+ bytes the length rule cannot be what refused it: the weak-secret check must.
      if (Buffer.byteLength(secret, 'utf8') >= 32) {
        expect(problems[0]).toMatch(/placeholder or a well-known weak secret/);
        // The message never echoes the secret (it ends up in logs).
        expect(problems[0]).not.toContain(secret.trim());
      } else {
        expect(problems[0]).toMatch(/at least 32 bytes/);
      }
    }
    expect(accepted).toEqual([]);
  });

  it('the refusal comes from isWeakJwtSecret for every 32+ byte variant (not only the length rule)', () => {
    for (const word of WORDLIST) {
      for (const make of Object.values(VARIANTS)) {
        const secret = make(word);
        if (Buffer.byteLength(secret, 'utf8') >= 32) expect(isWeakJwtSecret(secret), secret).toBe(true);
      }
    }
  });

  it('random secrets in every usual encoding are accepted (no false positives in 30,000)', () => {
    const refused: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      for (const secret of [randomBytes(48).toString('base64url'), randomBytes(48).toString('base64'), randomBytes(32).toString('hex')]) {
        if (isWeakJwtSecret(secret)) refused.push(secret);
      }
    }
    expect(refused).toEqual([]);
  });

  it('random base64 containing "todo" or "xxxx" is not a placeholder; real placeholders still are', () => {
    expect(isWeakJwtSecret('k8Jd92hfP0qLm3nBv7Xc1ZtodoRq4Wn8Yp2Ls6Te')).toBe(false);
    expect(isWeakJwtSecret('k8Jd92hfP0qLm3nBv7XxxxxRq4Wn8Yp2Ls6TeGh1')).toBe(false);
    for (const placeholder of [
      'TODO: put the real secret here please',
      'jwt-todo-k8Jd92hfP0qLm3nBv7Xc1ZRq4Wn8',
      'xxxxxxxx-k8Jd92hfP0qLm3nBv7Xc1ZRq4Wn8',
    ]) {
      expect(isWeakJwtSecret(placeholder), placeholder).toBe(true);
    }
  });
});
