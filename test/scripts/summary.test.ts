import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countTests, summarize, type VitestReport } from '../../scripts/lib/test-summary.mjs';

// The fixtures are real vitest JSON reports (absolute paths replaced by /repo), one per shape of
// run: all green with a skip and a todo; one failing test inside nested describes; a file that
// throws while loading; a describe whose beforeAll throws; and all four files in one run.
const fixture = (name: string): VitestReport =>
  JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', `vitest-report-${name}.json`), 'utf8'));

describe('countTests', () => {
  it('counts a passing run, with skipped and todo tests as skipped', () => {
    expect(countTests(fixture('pass'))).toEqual({ passed: 2, failed: 0, skipped: 2 });
  });

  it('counts one failing test once, not again for its describe blocks and its file', () => {
    const report = fixture('failing');
    expect(report.numFailedTestSuites).toBe(3); // what the old summary added on top
    expect(countTests(report)).toEqual({ passed: 1, failed: 1, skipped: 0 });
  });

  it('counts a file that failed to load as one failure', () => {
    expect(countTests(fixture('load'))).toEqual({ passed: 0, failed: 1, skipped: 0 });
  });

  it('counts a file whose hook threw as one failure, its skipped tests as skipped', () => {
    expect(countTests(fixture('hook'))).toEqual({ passed: 0, failed: 1, skipped: 2 });
  });

  it('adds the shapes up in one run', () => {
    // vitest's own summary for this run: "Tests 1 failed | 3 passed | 3 skipped | 1 todo", 3 of 4 files failed
    expect(countTests(fixture('all'))).toEqual({ passed: 3, failed: 3, skipped: 4 });
  });
});

describe('summarize', () => {
  it('is green only with tests passed, none failed and vitest exiting 0', () => {
    expect(summarize(fixture('pass'), 0)).toEqual({
      passed: 2,
      failed: 0,
      skipped: 2,
      exitCode: 0,
      line: '2 passed, 0 failed, 2 skipped',
      note: null,
    });
  });

  it('prints the counted failures and exits 1', () => {
    expect(summarize(fixture('failing'), 1)).toMatchObject({ line: '1 passed, 1 failed', exitCode: 1, note: null });
  });

  it('never reports green when vitest failed outside any test', () => {
    expect(summarize(fixture('pass'), 1)).toMatchObject({
      line: '2 passed, 1 failed, 2 skipped',
      exitCode: 1,
      note: 'vitest exited with an error outside the tests (see "Unhandled Errors" above)',
    });
  });

  it('counts a missing report as a failure', () => {
    expect(summarize(null, 1)).toMatchObject({ line: '0 passed, 1 failed', exitCode: 1, note: 'vitest wrote no readable JSON report' });
  });

  it('does not call a run without tests green', () => {
    const empty: VitestReport = { numPassedTests: 0, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0, testResults: [] };
    expect(summarize(empty, 0)).toMatchObject({ line: '0 passed, 0 failed', exitCode: 1 });
  });
});
