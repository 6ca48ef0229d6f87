import { describe, expect, it } from 'vitest';
import { burnPasswordVerification, hashPassword, passwordProblem, verifyPassword } from '../../src/lib/passwords.js';

describe('password policy', () => {
  it.each([
    ['correct horse battery staple', null],
    ['short', 'must be at least 12 characters'],
    ['x'.repeat(129), 'must be at most 128 characters'],
    ['1q2w3e4r5t6y', 'is too common; choose a less guessable password'],
    ['qwertyuiop12!', 'is too common; choose a less guessable password'],
    ['abababababababab', 'is too repetitive'],
  ])('%j → %j', (password, problem) => {
    expect(passwordProblem(password)).toBe(problem);
  });

  it('refuses a password containing the email name', () => {
    expect(passwordProblem('grace.hopper-rocks-2026', { email: 'grace.hopper@example.com' })).toBe('must not contain your email address');
  });

  it('hashes with Argon2id at OWASP parameters and verifies NFC-equivalent input', async () => {
    const hash = await hashPassword('Caf\u00e9 crème brûlée!');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(hash, 'Cafe\u0301 cre\u0300me bru\u0302le\u0301e!')).toBe(true);
    expect(await verifyPassword(hash, 'Cafe creme brulee!')).toBe(false);
    expect(await verifyPassword('not a hash', 'x')).toBe(false);
    expect(await burnPasswordVerification('anything')).toBe(false);
  });
});
