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
