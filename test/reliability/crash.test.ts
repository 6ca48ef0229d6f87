import { describe, expect, it } from 'vitest';
import { runScript } from '../helpers/processes.js';

// The short CI version of `npm run crash-test` (scripts/crash-test.mjs): the built server is
// killed with SIGKILL at random moments under concurrent writes; every acknowledged row must
// survive intact and the database must pass integrity_check after each crash.

describe('crash test (SQLite)', () => {
  it('no acknowledged write is lost across SIGKILLs; integrity_check ok; a clean stop leaves no WAL', { timeout: 180_000 }, async () => {
    const run = await runScript(
      'crash-test.mjs',
      ['--rounds', '3', '--writers', '6', '--min-ms', '300', '--max-ms', '900', '--json'],
      170_000,
    );
    if (run.code !== 0) console.log(run.stderr, run.stdout);
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
    console.log(
      `crash test: ${summary.rounds} rounds, ${summary.acknowledged?.total} acknowledged writes verified, ` +
        `${summary.in_doubt?.total} in doubt, ${summary.integrity}, ${summary.seconds} s`,
    );
    expect(summary.failures).toEqual([]);
    expect(run.code).toBe(0);
    expect(summary.ok).toBe(true);
    expect(summary.acknowledged.total).toBeGreaterThan(20);
    expect(summary.verified_through_api).toBe(summary.acknowledged.total);
    expect(summary.integrity).toMatch(/integrity_check ok/);
    expect(summary.wal_bytes_after_clean_stop).toBe(0);
  });
});
