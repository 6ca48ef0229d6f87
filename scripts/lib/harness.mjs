// Shared by the reliability scripts (crash-test.mjs, soak.mjs) and bench/profile.mjs: start the built server as a child
// process on a loopback port, talk JSON to it, make fresh PostgreSQL databases. Everything stays
// on 127.0.0.1, and every process started here is ended by its own pid.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
export const SERVER_JS = join(ROOT, 'dist', 'server.js');

/** Fails early with a hint when the TypeScript build is missing. */
export function requireBuild() {
  if (!existsSync(SERVER_JS)) throw new Error(`${SERVER_JS} is missing: run npm run build first`);
}

/** A free loopback port (the OS picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A strong random JWT secret, so the child can run with NODE_ENV=production. */
export const randomSecret = () => randomBytes(48).toString('base64url');

/**
 * Starts `node [nodeArgs] dist/server.js` with `env` on a free loopback port (or `port`) and
 * waits until /healthz answers. Throws if it exits first or is not up within `startTimeoutMs`.
 */
export async function startServer(env, { port, startTimeoutMs = 60_000, nodeArgs = [] } = {}) {
  const listenPort = port ?? (await freePort());
  const child = spawn(process.execPath, [...nodeArgs, SERVER_JS], {
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(listenPort), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stdout.on('data', (d) => {
    logs += d;
  });
  child.stderr.on('data', (d) => {
    logs += d;
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const base = `http://127.0.0.1:${listenPort}`;
  const deadline = performance.now() + startTimeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited during start:\n${logs}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {}
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server not ready after ${startTimeoutMs} ms:\n${logs}`);
    }
    await sleep(25);
  }
  return {
    child,
    pid: child.pid,
    base,
    port: listenPort,
    exited,
    logs: () => logs,
    /** Sends `signal` (if still running) and resolves with the exit {code, signal}. */
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One JSON request. Resolves with {status, body, headers, ms}; rejects only on a network error
 * (refused, reset), which callers treat as "no answer".
 */
export async function request(base, method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const started = performance.now();
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const ms = performance.now() - started;
  let json = null;
  if (text !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
  }
  return { status: res.status, body: json, headers: res.headers, ms };
}

/** Registers and logs in a user; returns {id, email, password, access, refresh}. */
export async function signUp(base, email, password = 'correct horse battery staple') {
  const reg = await request(base, 'POST', '/auth/register', { body: { email, password, name: 'Load' } });
  if (reg.status !== 201) throw new Error(`register ${email}: ${reg.status} ${JSON.stringify(reg.body)}`);
  const login = await request(base, 'POST', '/auth/login', { body: { email, password } });
  if (login.status !== 200) throw new Error(`login ${email}: ${login.status} ${JSON.stringify(login.body)}`);
  return { id: login.body.user.id, email, password, access: login.body.access_token, refresh: login.body.refresh_token };
}

/** The n-th valid ISBN-13 (978 prefix, check digit computed), unique per n below 10^9. */
export function isbn13(n) {
  const digits = `978${String(n).padStart(9, '0')}`;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(digits[i]) * (i % 2 === 0 ? 1 : 3);
  return `${digits}${(10 - (sum % 10)) % 10}`;
}

/** A small seeded PRNG (mulberry32), so a failing run can be repeated with --seed. */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Creates a fresh database on the PostgreSQL server of `adminUrl` (a user allowed to CREATE
 * DATABASE); returns {url, drop()}.
 */
export async function createPostgresDatabase(adminUrl, prefix) {
  const { default: pg } = await import('pg');
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** The p-th percentile (0..100) of a numeric array (sorted copy, nearest rank). */
export function percentile(values, p) {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** Least-squares slope of y over x. */
export function slope(points) {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

// An otherwise idle process measuring its own event-loop delay: on a shared machine the server's
// numbers include time the OS gave to other processes, and this shows how much of that there was.
const CANARY = `
const { monitorEventLoopDelay } = require('node:perf_hooks');
const h = monitorEventLoopDelay({ resolution: 10 });
h.enable();
setInterval(() => {
  process.stdout.write(JSON.stringify({ p99: h.percentile(99) / 1e6, max: h.max / 1e6 }) + '\\n');
  h.reset();
}, Number(process.argv[1]));
`;

/** Starts the idle canary; `windows` collects its {p99, max} (ms) every `intervalMs`. */
export function startLoopCanary(intervalMs) {
  const child = spawn(process.execPath, ['-e', CANARY, String(intervalMs)], { stdio: ['ignore', 'pipe', 'ignore'] });
  const windows = [];
  let buffered = '';
  child.stdout.on('data', (d) => {
    buffered += d;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line) windows.push(JSON.parse(line));
  });
  return {
    windows,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
