// The closing line of `npm test` ("N passed, N failed"), from vitest's JSON report. Kept apart
// from scripts/run-tests.mjs so test/scripts/summary.test.ts can check it against real reports.

/**
 * Counts tests, never suites: vitest's numFailedTestSuites counts every failed describe block and
 * file, so one failing test inside a describe would count three times. A test file that failed
 * without a failed test of its own (it did not load, or a hook threw and its tests were skipped)
 * counts as one failure.
 */
export function countTests(report) {
  const failedFilesWithoutFailedTest = report.testResults.filter(
    (file) => file.status === 'failed' && !file.assertionResults.some((test) => test.status === 'failed'),
  ).length;
  return {
    passed: report.numPassedTests,
    failed: report.numFailedTests + failedFilesWithoutFailedTest,
    skipped: report.numPendingTests + (report.numTodoTests ?? 0),
  };
}

/**
 * The summary of a run from its report (null when vitest wrote none or it did not parse) and
 * vitest's exit status: the counts, the closing line, the exit code, and a note when vitest failed
 * outside any test (an unhandled error, a crashed worker), which is never reported green.
 */
export function summarize(report, vitestStatus) {
  let counts = { passed: 0, failed: 1, skipped: 0 };
  let note = report === null ? 'vitest wrote no readable JSON report' : null;
  if (report !== null) counts = countTests(report);
  if (vitestStatus !== 0 && counts.failed === 0) {
    counts = { ...counts, failed: 1 };
    note = 'vitest exited with an error outside the tests (see "Unhandled Errors" above)';
  }
  const { passed, failed, skipped } = counts;
  return {
    ...counts,
    // No test run at all is not a pass either.
    exitCode: vitestStatus === 0 && failed === 0 && passed > 0 ? 0 : 1,
    line: `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`,
    note,
  };
}
