import { describe, expect, it } from 'vitest';
import { TEST_POSTGRES_URL } from '../helpers/postgres.js';
import { runScript } from '../helpers/processes.js';

// scripts/crash-test.mjs on PostgreSQL (a fresh database it creates and drops): a 201 is only
// sent after the commit, so every acknowledged row survives the server being SIGKILLed; the
// indexes pass amcheck where the extension is available.

describe('crash test (PostgreSQL)', () => {
  it('no acknowledged write is lost across SIGKILLs', { timeout: 180_000 }, async () => {
    const run = await runScript(
      'crash-test.mjs',
      ['--rounds', '2', '--writers', '6', '--max-ms', '900', '--postgres', TEST_POSTGRES_URL, '--json'],
      170_000,
    );
    if (run.code !== 0) console.log(run.stderr, run.stdout);
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(summary.failures).toEqual([]);
    expect(run.code).toBe(0);
    expect(summary.database).toBe('postgres');
    expect(summary.acknowledged.total).toBeGreaterThan(20);
    expect(summary.verified_through_api).toBe(summary.acknowledged.total);
  });
});
