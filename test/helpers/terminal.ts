import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DIST = join(import.meta.dirname, '..', '..', 'dist');

/** A step of a terminal session: wait until the output contains `expect`, or type `type`. */
export type TerminalStep = { expect: string } | { type: string };

export interface TerminalRun {
  /** Exit status of the CLI (128 + signal when a signal ended it). */
  status: number;
  /** Everything the terminal showed: stdout and stderr, and the terminal's own echo, if any. */
  screen: string;
}

/** True when python3 (whose pty module drives the terminal) is available. */
export const HAS_PYTHON = spawnSync('python3', ['-c', 'import pty'], { stdio: 'ignore' }).status === 0;

// Runs the command on the slave side of a pseudo-terminal, as if a person sat at it: stdin,
// stdout and stderr are all the terminal, which echoes what is typed unless the program turns
// echo off. Input is only typed after the expected text appeared, so nothing is typed before
// the program is ready for it (a key typed too early would be echoed by the terminal itself).
const DRIVER = `
import json, os, pty, select, sys, time
steps = json.loads(os.environ.pop("TERMINAL_STEPS"))
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
screen = b""
def read(timeout):
    global screen
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return True
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        return False
    screen += chunk
    return chunk != b""
for step in steps:
    if "expect" in step:
        deadline = time.time() + 20
        while step["expect"].encode() not in screen:
            if time.time() > deadline or not read(0.2):
                sys.stdout.buffer.write(screen)
                sys.stderr.write("timed out waiting for " + repr(step["expect"]))
                sys.exit(99)
    else:
        os.write(fd, step["type"].encode())
deadline = time.time() + 60
while time.time() < deadline and read(1):
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(screen)
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
`;

/** Runs the built `gatehouse` CLI in a pseudo-terminal, following `steps`. */
export function runCliInTerminal(args: string[], env: Record<string, string>, steps: TerminalStep[]): TerminalRun {
  const result = spawnSync('python3', ['-c', DRIVER, process.execPath, join(DIST, 'cli.js'), ...args], {
    env: { PATH: process.env.PATH ?? '', ...env, TERMINAL_STEPS: JSON.stringify(steps) },
    encoding: 'utf8',
    cwd: tmpdir(),
    timeout: 90_000,
  });
  if (result.status === 99) throw new Error(`${result.stderr}\nscreen so far:\n${result.stdout}`);
  if (result.status === null) throw new Error(`the terminal session did not finish: ${result.error?.message ?? result.signal}`);
  return { status: result.status, screen: result.stdout };
}
