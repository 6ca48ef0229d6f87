import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { describe, expect, it } from 'vitest';
import { HashWorkerPool } from '../../src/lib/hash-workers.js';
import { ARGON2_OPTIONS } from '../../src/lib/passwords.js';

describe('HashWorkerPool', () => {
  it('hashes and verifies on at most `size` threads, each at the lowest priority', async () => {
    const pool = new HashWorkerPool(2, 19, 60_000);
    const hash = await pool.hash('correct horse battery staple', ARGON2_OPTIONS);
    expect(hash).toMatch(/^\$argon2id\$/);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => pool.verify(hash, i % 2 ? 'correct horse battery staple' : 'wrong')),
    );
    expect(results).toEqual([false, true, false, true, false, true]);
    expect(pool.threadCount).toBe(2);
    // Linux keeps nice per thread: the pool's threads run at 19, the event loop thread at the
    // process's own (0, unless the tests themselves were started under `nice`).
    const niceOf = (task: string) => readFileSync(`/proc/self/task/${task}/stat`, 'utf8').split(') ')[1]?.split(' ')[16];
    const own = getPriority();
    expect(niceOf(String(process.pid))).toBe(String(own));
    const atNineteen = readdirSync('/proc/self/task').filter((task) => niceOf(task) === '19');
    // Started at 19, every thread is there already and the pool's cannot be told apart.
    if (own < 19) expect(atNineteen).toHaveLength(2);
  });

  it('a malformed hash is an error, not a crash, and the pool keeps working', async () => {
    const pool = new HashWorkerPool(1, 19, 60_000);
    await expect(pool.verify('not a hash', 'x')).rejects.toThrow();
    expect(await pool.verify(await pool.hash('another long passphrase', ARGON2_OPTIONS), 'another long passphrase')).toBe(true);
  });

  it('stops idle threads, and starts one again for the next job', async () => {
    const pool = new HashWorkerPool(1, 19, 50);
    const hash = await pool.hash('a third long passphrase', ARGON2_OPTIONS);
    for (let i = 0; i < 100 && pool.threadCount > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(pool.threadCount).toBe(0);
    expect(await pool.verify(hash, 'a third long passphrase')).toBe(true);
  });
});
