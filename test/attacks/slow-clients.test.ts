import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from '../helpers/processes.js';

// Slowloris and aborted uploads against a real server process (Node's timeouts only exist on a
// real socket). REQUEST_TIMEOUT is 2 s here: every trickle must be cut within 2 + 2 s.

const TIMEOUT_MS = 2_000;
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-slow-'));
let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess({
    NODE_ENV: 'development',
    JWT_SECRET: randomBytes(48).toString('base64url'),
    DATABASE_URL: `sqlite:${join(dir, 'slow.db')}`,
    REQUEST_TIMEOUT: '2s',
    LOG_LEVEL: 'info',
  });
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends `first`, then `drip` every 200 ms until the server closes the connection; resolves with the ms that took. */
function trickle(first: string, drip: string, limitMs = 15_000): Promise<number> {
  const { port } = new URL(server.base);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(first));
    const timer = setInterval(() => {
      if (!socket.destroyed) socket.write(drip);
    }, 200);
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after ${limitMs} ms`));
    }, limitMs);
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(guard);
      resolve(performance.now() - started);
    });
  });
}

describe('slow and aborted clients', () => {
  it('headers trickled one line at a time are cut within REQUEST_TIMEOUT + 2 s', async () => {
    const ms = await trickle('GET /healthz HTTP/1.1\r\nHost: x\r\n', 'X-Drip: 1\r\n');
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    expect(ms).toBeLessThanOrEqual(TIMEOUT_MS + 2_000);
  });

  it('a body trickled one byte at a time is cut within REQUEST_TIMEOUT + 2 s', async () => {
    const ms = await trickle(
      'POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{',
      ' ',
    );
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    expect(ms).toBeLessThanOrEqual(TIMEOUT_MS + 2_000);
  });

  it('an aborted upload is an info line without a stack, not an error', async () => {
    const { port } = new URL(server.base);
    const before = server.logs().length;
    await new Promise<void>((resolve) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        socket.write('POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"email":');
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 200);
      });
    });
    await new Promise((r) => setTimeout(r, 300));
    const lines = server
      .logs()
      .slice(before)
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { level: number; msg: string; err?: unknown });
    expect(lines.some((l) => l.msg === 'client aborted the request' && l.level === 30)).toBe(true);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    expect(JSON.stringify(lines)).not.toContain('stack');
    // And the server still answers.
    expect((await fetch(`${server.base}/healthz`)).status).toBe(200);
  });
});
