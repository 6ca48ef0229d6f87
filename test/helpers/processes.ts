import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server.js';

const DIST = join(import.meta.dirname, '..', '..', 'dist');

/** Runs the built `gatehouse` CLI synchronously with the given environment. */
export function runCli(args: string[], env: Record<string, string>, input?: string) {
  return spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    input,
    encoding: 'utf8',
    cwd: tmpdir(),
  });
}

export interface ServerProcess {
  child: ChildProcess;
  base: string;
  logs(): string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** True when the tests run as root, for whom file permissions do not apply. */
export const RUNNING_AS_ROOT = process.getuid?.() === 0;

export interface ExitedServer {
  code: number | null;
  output: string;
  /** From spawn to exit. */
  ms: number;
  timedOut: boolean;
}

/**
 * Runs `node dist/server.js` expecting it to stop by itself (a start-up fault), and kills it
 * after `timeoutMs`. `unprivileged` runs it as nobody when the tests run as root, so that
 * read-only files really are read-only to it.
 */
export async function runServerUntilExit(
  env: Record<string, string>,
  options: { timeoutMs?: number; unprivileged?: boolean } = {},
): Promise<ExitedServer> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [join(DIST, 'server.js')], {
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port), HOST: '127.0.0.1' },
    cwd: tmpdir(),
    ...(options.unprivileged && RUNNING_AS_ROOT ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs ?? 30_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output, ms: performance.now() - started, timedOut };
}

const NOBODY = 65_534;

/** Starts `node dist/server.js` (or other `args`) on a free loopback port and waits for /healthz. */
export async function startServerProcess(env: Record<string, string>, args: string[] = [join(DIST, 'server.js')]): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port), HOST: '127.0.0.1' },
    cwd: tmpdir(),
  });
  let logs = '';
  child.stdout?.on('data', (d) => {
    logs += d;
  });
  child.stderr?.on('data', (d) => {
    logs += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 400; i++) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${logs}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return {
    child,
    base,
    logs: () => logs,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs one of the reliability scripts (scripts/*.mjs) and resolves with its exit code and output. */
export async function runScript(
  script: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(import.meta.dirname, '..', '..', 'scripts', script), ...args], {
    env: { PATH: process.env.PATH ?? '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}
