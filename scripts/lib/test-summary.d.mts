/** The part of vitest's JSON report (`--reporter=json`) the summary reads. */
export interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests?: number;
  /** Failed files and describe blocks; not counted (see countTests). */
  numFailedTestSuites?: number;
  testResults: { name: string; status: string; message: string; assertionResults: { status: string }[] }[];
}

export interface TestCounts {
  passed: number;
  failed: number;
  skipped: number;
}

export interface Summary extends TestCounts {
  exitCode: 0 | 1;
  /** "N passed, N failed[, N skipped]" */
  line: string;
  /** Why a failure was added that no test reported, else null. */
  note: string | null;
}

/** Counts tests, never suites; a file that failed without a failed test counts as one failure. */
export function countTests(report: VitestReport): TestCounts;

/** The counts, closing line and exit code of a run from its report (null: none) and vitest's exit status. */
export function summarize(report: VitestReport | null, vitestStatus: number | null): Summary;
