import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { startServerProcess } from './helpers/processes.js';

// SIGTERM under load, on the built server: requests the server had received finish with 2xx,
// new connections are refused at once, requests arriving on kept-alive connections meanwhile get
// a 503 problem+json, the process exits 0 well within its timeout, and the SQLite WAL has been
// checkpointed into the database file.

const PASSWORD = 'correct horse battery staple';
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000) {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Resolves true once a TCP connect is refused while `alive()` still holds. */
async function refusedWhile(port: number, alive: () => boolean): Promise<boolean> {
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    const aliveBefore = alive();
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
    });
    if (refused) return aliveBefore && alive();
    await sleep(5);
  }
  return false;
}

/** A POST /bucketlists on its own connection that sends half its body now, the rest on finish(). */
function slowUpload(port: number, token: string, payload: unknown) {
  const body = Buffer.from(JSON.stringify(payload));
  const req = request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/bucketlists',
    agent: false,
    headers: { 'content-type': 'application/json', 'content-length': body.length, authorization: `Bearer ${token}` },
  });
  const status = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
  req.flushHeaders();
  req.write(body.subarray(0, 5));
  return { status, finish: () => req.end(body.subarray(5)) };
}

interface LogLine {
  msg: string;
  reqId?: string;
  req?: { method: string; url: string };
  res?: { statusCode: number };
  ms?: number;
}

interface Outcome {
  status?: number;
  code?: string;
  contentType?: string;
  error?: string;
  sentAfterSigterm: boolean;
}

describe('graceful shutdown', () => {
  it('under load: in-flight requests finish 2xx, new connections are refused, exit 0, WAL checkpointed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-shutdown-'));
    dirs.push(dir);
    const path = join(dir, 'gatehouse.db');
    const env = { NODE_ENV: 'test', JWT_SECRET: randomBytes(48).toString('base64url'), DATABASE_URL: `sqlite:${path}` };
    const server = await startServerProcess({ ...env, LOG_LEVEL: 'info', REQUEST_TIMEOUT: '10s' });
    const port = Number(new URL(server.base).port);
    const post = (url: string, body: unknown, token?: string) =>
      fetch(`${server.base}${url}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
        body: JSON.stringify(body),
      });

    expect((await post('/auth/register', { email: 'load@example.com', password: PASSWORD })).status).toBe(201);
    const { access_token: token } = (await (await post('/auth/login', { email: 'load@example.com', password: PASSWORD })).json()) as {
      access_token: string;
    };

    // Background load on kept-alive connections: book creates until the server turns us away.
    let sigtermAt = Number.POSITIVE_INFINITY;
    const outcomes: Outcome[] = [];
    const acknowledged: string[] = [];
    const writer = async (w: number) => {
      for (let n = 0; n < 5_000; n++) {
        const sentAfterSigterm = performance.now() >= sigtermAt;
        try {
          const res = await post('/books', { title: `Shutdown ${w}-${n}`, author: 'Load' }, token);
          const body = (await res.json()) as { id?: string; code?: string };
          outcomes.push({ status: res.status, code: body.code, contentType: res.headers.get('content-type') ?? '', sentAfterSigterm });
          if (res.status === 201 && body.id) acknowledged.push(body.id);
          else return;
        } catch (err) {
          outcomes.push({ error: String((err as { cause?: { code?: string } }).cause?.code ?? err), sentAfterSigterm });
          return;
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    await waitFor(() => acknowledged.length >= 40, 'the load to run');

    // Requests that are surely in flight at the signal: their headers have arrived (the server
    // logged them) but their bodies come in only after SIGTERM, like a slow client upload.
    const uploads = Array.from({ length: 4 }, (_, i) => slowUpload(port, token, { name: `Slow upload ${i}` }));
    let scanned = 0;
    let uploadsReceived = 0;
    // Counted incrementally: re-parsing the whole, growing log on every poll is needlessly slow.
    const received = () => {
      const logs = server.logs();
      const end = logs.lastIndexOf('\n') + 1;
      for (const line of logs.slice(scanned, end).split('\n')) {
        if (line.includes('"incoming request"') && line.includes('"url":"/bucketlists"')) uploadsReceived++;
      }
      scanned = end;
      return uploadsReceived;
    };
    await waitFor(() => received() >= 4, 'the uploads to reach the server');

    sigtermAt = performance.now();
    server.child.kill('SIGTERM');
    expect(await refusedWhile(port, () => server.child.exitCode === null)).toBe(true);
    for (const upload of uploads) upload.finish();
    expect(await Promise.all(uploads.map((u) => u.status))).toEqual([201, 201, 201, 201]);
    expect(await server.exited).toBe(0);
    const exitMs = performance.now() - sigtermAt;
    await Promise.all(writers);

    // Server side: every request received before shutdown began completed with 2xx; the ones
    // arriving during it on kept-alive connections were answered 2xx or 503, never dropped.
    const lines = parse(server.logs());
    const shutdownAt = lines.findIndex((l) => l.msg === 'shutting down: finishing in-flight requests');
    expect(shutdownAt).toBeGreaterThan(0);
    const status = new Map(lines.filter((l) => l.msg === 'request completed').map((l) => [l.reqId, l.res?.statusCode]));
    const arrivals = lines.map((l, i) => ({ l, i })).filter(({ l }) => l.msg === 'incoming request');
    const before = arrivals.filter(({ i }) => i < shutdownAt).map(({ l }) => status.get(l.reqId));
    const during = arrivals.filter(({ i }) => i > shutdownAt).map(({ l }) => status.get(l.reqId));
    expect(before.filter((s) => s === undefined || s < 200 || s >= 300)).toEqual([]);
    expect(during.filter((s) => s === undefined || (s >= 300 && s !== 503))).toEqual([]);
    const inFlight = before.length - lines.slice(0, shutdownAt).filter((l) => l.msg === 'request completed').length;
    expect(inFlight).toBeGreaterThanOrEqual(4);

    // Client side: no 500s; a 503 is problem+json UNAVAILABLE; and every book request the server
    // received got its answer to the client. (A request still on its way when the server closes
    // an idle kept-alive connection is reset unseen: the client cannot know if it was processed,
    // which is why writes carry no guarantee until acknowledged.)
    expect(outcomes.filter((o) => o.status !== undefined && o.status !== 201 && o.status !== 503)).toEqual([]);
    for (const o of outcomes.filter((o) => o.status === 503)) {
      expect(o).toMatchObject({ code: 'UNAVAILABLE', contentType: expect.stringMatching(/^application\/problem\+json/) });
    }
    const booksReceived = arrivals.filter(({ l }) => l.req?.method === 'POST' && l.req.url === '/books').length;
    expect(outcomes.filter((o) => o.status !== undefined)).toHaveLength(booksReceived);

    const complete = lines.find((l) => l.msg === 'shutdown complete');
    console.log(
      `shutdown under load: ${inFlight} requests in flight at SIGTERM, ${acknowledged.length} books acknowledged, ` +
        `exit 0 after ${Math.round(exitMs)} ms (server-side close ${complete?.ms} ms); ` +
        `${outcomes.filter((o) => o.status === 503).length} answered 503, ${outcomes.filter((o) => o.error).length} refused`,
    );
    expect(exitMs).toBeLessThan(15_000);

    // The WAL was checkpointed and truncated: the database file alone holds every write.
    expect(existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0).toBe(0);
    const db = new SQLite(path, { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const ids = new Set((db.prepare('select id from books').all() as { id: string }[]).map((r) => r.id));
      expect(acknowledged.filter((id) => !ids.has(id))).toEqual([]);
    } finally {
      db.close();
    }
  });
});

function parse(logs: string): LogLine[] {
  return logs
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}
