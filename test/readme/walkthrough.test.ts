import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from '../helpers/processes.js';

// The README's walkthrough is run as written, so it cannot drift from the server: every ```sh
// block from the "## Walkthrough" heading to the next "## " heading (the account lifecycle
// subsection included), joined into one bash script with `set -euo pipefail`, against the built
// server started as a real process. The script runs twice in a row in the same folder against the
// same server, as a reader who runs it again would. The blocks assume `npm start` in the folder
// they are pasted into: port 3000 (replaced here by the test server's port) and the outbox in
// ./data/outbox (MAIL_OUTBOX_DIR points the test server there).

const README = join(import.meta.dirname, '..', '..', 'README.md');

/** The ```sh blocks of the "## Walkthrough" section, up to the next level-2 heading. */
function walkthroughBlocks(markdown: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.startsWith('## Walkthrough'));
  if (start === -1) throw new Error('README.md has no "## Walkthrough" section');
  const next = lines.findIndex((line, i) => i > start && line.startsWith('## '));
  const section = lines.slice(start + 1, next === -1 ? undefined : next);
  const blocks: string[] = [];
  let block: string[] | null = null;
  for (const line of section) {
    if (block === null) {
      if (line.trim() === '```sh') block = [];
    } else if (line.trim() === '```') {
      blocks.push(block.join('\n'));
      block = null;
    } else {
      block.push(line);
    }
  }
  if (block !== null) throw new Error('an unclosed ```sh block in the walkthrough');
  return blocks;
}

/** The code of a shell line without its trailing comment (a `#` after whitespace). */
const withoutComment = (line: string) => line.replace(/(^|\s)#.*$/, '');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runBash(script: string, cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    // HOME is the empty folder too, so no ~/.curlrc changes what curl does.
    const child = spawn('bash', ['-c', script], { cwd, env: { PATH: process.env.PATH ?? '', HOME: cwd } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Asserts that `patterns` match `output` one after another, each after the previous match: the
 * outputs of the walkthrough's commands in the order the README shows them.
 */
function expectInOrder(output: string, patterns: RegExp[]) {
  let from = 0;
  for (const pattern of patterns) {
    const found = new RegExp(pattern.source, pattern.flags.replace('g', '')).exec(output.slice(from));
    if (!found) expect.fail(`${pattern} not found after offset ${from} in the walkthrough's output:\n${output}`);
    from += found.index + found[0].length;
  }
}

const EXPECTED_OUTPUT = [
  // sign up, then /auth/me
  /"email":"ada-\d*@example\.com"/,
  /"email_verified":false/,
  // logout, then the same access token
  /\b204$/m,
  /"status":401,[^{}]*"code":"TOKEN_INVALID"\}\n401$/m,
  // the book search, the list with its item
  /"items":\[\{[^\]]*"title":"The Pragmatic Programmer"[^\]]*\],"next_cursor":null/,
  /"title":"See the northern lights"/,
  /\{[^{}]*"name":"Before 40"[^{}]*"item_count":1\}/,
  // two pages of one list each: the second read with the first one's cursor
  /"items":\[\{[^\]]*"name":"Before 40"[^\]]*\],"next_cursor":"[\w-]+"/,
  /"items":\[\{[^\]]*"name":"Someday"[^\]]*\],"next_cursor":null/,
  // the book deleted
  /\b204$/m,
  // the verification mail, the link used, the email verified
  /verify-email\?token=[\w-]+/,
  /\b204$/m,
  /"email_verified":true/,
  // resend and forgot-password
  / 202$/m,
  / 202$/m,
  // the reset, then the same token again
  /\b204$/m,
  /"status":400,[^{}]*"code":"TOKEN_INVALID"\}\n400$/m,
  // signed in with the new password, the account deleted
  /\b204$/m,
];

describe('README walkthrough', () => {
  const dirs: string[] = [];
  let server: ServerProcess;
  let serverDir: string;
  let workDir: string;
  let script: string;

  beforeAll(async () => {
    serverDir = mkdtempSync(join(tmpdir(), 'gatehouse-walkthrough-server-'));
    workDir = mkdtempSync(join(tmpdir(), 'gatehouse-walkthrough-'));
    dirs.push(serverDir, workDir);
    server = await startServerProcess({
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      DATABASE_URL: `sqlite:${join(serverDir, 'gatehouse.db')}`,
      MAIL_OUTBOX_DIR: join(workDir, 'data', 'outbox'),
    });
    const blocks = walkthroughBlocks(readFileSync(README, 'utf8'));
    const host = new URL(server.base).host;
    script = ['set -euo pipefail', ...blocks].join('\n').replaceAll('localhost:3000', host);
  });

  afterAll(async () => {
    await server?.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('is made of shell blocks that only talk to localhost:3000', () => {
    const blocks = walkthroughBlocks(readFileSync(README, 'utf8'));
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    // A request to any other address would miss the test server (or hit something else on :3000).
    for (const line of script.split('\n')) expect(withoutComment(line)).not.toMatch(/:3000\b/);
  });

  it('runs twice in a row against the same server, in a folder that starts empty', async () => {
    expect(readdirSync(workDir)).toEqual([]);
    for (const round of [1, 2]) {
      const run = await runBash(script, workDir);
      expect(run, `round ${round} failed (exit ${run.code}):\n${run.stderr}\n${run.stdout}\nserver:\n${server.logs()}`).toMatchObject({
        code: 0,
        stderr: '',
      });
      expectInOrder(run.stdout, EXPECTED_OUTPUT);
    }

    // Each run cleans up after itself: the account (with its sessions and bucketlists) and the
    // book are gone, so nothing piles up in the shared catalogue or trips a limit on a third run.
    const db = new SQLite(join(serverDir, 'gatehouse.db'), { readonly: true });
    try {
      for (const table of ['users', 'sessions', 'refresh_tokens', 'books', 'bucketlists', 'bucketlist_items']) {
        expect(db.prepare(`select count(*) as n from ${table}`).get(), table).toEqual({ n: 0 });
      }
    } finally {
      db.close();
    }
  });
});
