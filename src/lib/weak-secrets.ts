import { readFileSync } from 'node:fs';

let weakSecrets: Set<string> | undefined;
let squashedWeakSecrets: Set<string> | undefined;
let sortedSquashedWeakSecrets: string[] | undefined;

/**
 * Drops word separators, so "super-secret-string", "SuperSecretString" and "super secret string"
 * compare equal: without this, camel-case and run-together spellings of listed secrets passed.
 */
function squash(value: string): string {
  return value.replace(/[\s_\-.]+/g, '');
}

/** The listed secrets with separators dropped. */
function squashedList(): Set<string> {
  squashedWeakSecrets ??= new Set([...loadWeakJwtSecrets()].map(squash).filter((word) => word !== ''));
  return squashedWeakSecrets;
}

function longestFirst(list: Set<string>): string[] {
  sortedSquashedWeakSecrets ??= [...list].sort((a, b) => b.length - a.length);
  return sortedSquashedWeakSecrets;
}

/** The bundled list of well-known JWT secrets (tutorial defaults, wordlist favourites), lower-cased. */
export function loadWeakJwtSecrets(): Set<string> {
  if (!weakSecrets) {
    const text = readFileSync(new URL('../../resources/weak-jwt-secrets.txt', import.meta.url), 'utf8');
    weakSecrets = new Set(
      text
        .split('\n')
        .map((line) => line.trim().toLowerCase())
        .filter((line) => line !== '' && !line.startsWith('#')),
    );
  }
  return weakSecrets;
}

// Words that only appear in secrets someone forgot to replace. "todo" must stand alone and "x"
// must run 6+ times: as bare "todo"/"xxxx" they matched about 1 in 8,600 random base64 secrets
// (`openssl rand -base64 48`), refusing a good secret at start-up.
const PLACEHOLDER =
  /change[-_ ]?(me|it|this)|replace[-_ ]?me|placeholder|example|your[-_ ]?(own[-_ ]?)?(jwt[-_ ]?)?(secret|key)|insecure|not[-_ ]?secure|(?<![a-z\d])todo(?![a-z\d])|x{6,}|<|>/i;

/**
 * True for a secret that an attacker would try first: a listed one, a listed one repeated or
 * padded with digits, a placeholder, or one with so few distinct characters it cannot be random.
 */
export function isWeakJwtSecret(secret: string): boolean {
  const lower = secret.trim().toLowerCase();
  const list = loadWeakJwtSecrets();
  if (list.has(lower)) return true;
  // "secretsecretsecret…" or "mysecretkey1234567890…": a listed word with filler around it.
  const stripped = lower.replace(/[\d\s_\-.!]+$/g, '').replace(/^[\d\s_\-.!]+/g, '');
  if (list.has(stripped)) return true;
  const squashedWords = squashedList();
  if (squashedWords.has(squash(stripped))) return true;
  // Remove every listed word (longest first, separators dropped); if only digits and punctuation
  // remain, the secret is listed words glued together ("super-secret-string-SuperSecretString").
  let rest = squash(lower);
  for (const word of longestFirst(squashedWords)) if (word.length >= 6) rest = rest.replaceAll(word, '');
  if (rest.replace(/[\d\W_]/g, '') === '') return true;
  if (PLACEHOLDER.test(secret)) return true;
  return new Set(secret).size < 10;
}
