#!/usr/bin/env node
// `npm run bench`: Gatehouse against two baselines measured in the same run on the same machine.
//   (a) a raw node:http server answering a small JSON: the ceiling;
//   (b) the typical tutorial port: Express + jsonwebtoken, signature check only, no database.
// References, measured in the same rounds: (c) bare Fastify, (d) node:http doing the read's
// checks by hand, (e) (d) inside Fastify with Gatehouse's options, hooks and schemas.
// Every figure is the median of N runs and is printed as a ratio to (a), with each server's CPU
// time per request where /proc tells it. Machines are noisy: only ratios from one run mean
// anything. Exits 1 if a target is missed. Loopback only.
// --postgres URL: the read again against Gatehouse on a fresh database of that PostgreSQL server
// (seeded alike, dropped after), in the same rounds, with a target of ≥ 0.5× the SQLite read.
import { fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hash, verify } from '@node-rs/argon2';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { uuidv7 } from 'uuidv7';
import { freePort } from '../scripts/lib/harness.mjs';
import { benchPostgres, isoFromMillis, migrate, withPostgres } from './postgres.mjs';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    runs: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    books: { type: 'string', default: '100000' },
    'rss-requests': { type: 'string', default: '1000000' },
    only: { type: 'string' },
    workers: { type: 'string', default: '1' },
    postgres: { type: 'string' },
  },
});
const DURATION = Number(args.duration);
const RUNS = Number(args.runs);
const CONNECTIONS = Number(args.connections);
const BOOKS = Number(args.books);
const RSS_REQUESTS = Number(args['rss-requests']);
const only = args.only ? new Set(args.only.split(',')) : null;
const wants = (name) => !only || only.has(name);

const ROOT = join(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');
if (!existsSync(join(DIST, 'server.js'))) {
  console.error('bench: build first (npm run build)');
  process.exit(2);
}
const PASSWORD = 'correct horse battery staple';
const SECRET = randomBytes(48).toString('base64url');
// A URL, as Gatehouse requires; shared with the checks-floor baseline, which verifies `iss` too.
const ISSUER = 'https://gatehouse.bench.example';
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
const DATABASE_URL = `sqlite:${join(dir, 'bench.db')}`;
// Production needs SMTP_URL or an explicit outbox; the temp folder takes the sign-up mails.
const MAIL_OUTBOX_DIR = join(dir, 'outbox');
const children = [];

function cleanup() {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
// Created before anything else, so its exit handler is in place whatever fails later.
const postgres = args.postgres ? await benchPostgres(args.postgres, 'gatehouse_bench') : null;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function waitHealthy(url) {
  // Up to a minute: a server starting while the machine is loaded (other benchmarks) takes a while.
  for (let i = 0; i < 2400; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`not healthy: ${url}`);
}

async function startBaseline(file, env) {
  // A port the OS just handed out: a random one collided with other servers on shared machines.
  const p = await freePort();
  const child = fork(join(import.meta.dirname, 'servers', file), { env: { ...process.env, ...env, PORT: String(p) }, stdio: 'ignore' });
  children.push(child);
  return new Promise((resolve) => child.on('message', () => resolve({ child, base: `http://127.0.0.1:${p}` })));
}

async function startGatehouse(extraEnv = {}) {
  const p = await freePort();
  const env = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    JWT_SECRET: SECRET,
    KEY_ENCRYPTION_SECRET: SECRET,
    JWT_ISSUER: ISSUER,
    DATABASE_URL,
    MAIL_OUTBOX_DIR,
    PORT: String(p),
    // Request logging off for the load (warn and above still logged); see README.
    LOG_LEVEL: 'warn',
    // The bench logs in, and signs up, from one IP far more often than any person would.
    LOGIN_MAX_FAILURES_PER_IP: '100000',
    REGISTER_MAX_PER_IP: '0',
    ...extraEnv,
  };
  // The same V8 flag `npm start` uses (see README, Performance).
  const argv = [
    '--max-semi-space-size=8',
    ...(Number(args.workers) > 1 ? [join(DIST, 'cli.js'), 'serve', '--workers', args.workers] : [join(DIST, 'server.js')]),
  ];
  const child = spawn(process.execPath, argv, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  const base = `http://127.0.0.1:${p}`;
  await waitHealthy(`${base}/healthz`);
  return { child, base };
}

async function api(base, method, path, body, token) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body && { 'content-type': 'application/json' }), ...(token && { authorization: `Bearer ${token}` }) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** CPU time (user + system) a process has used so far, in µs; null where /proc cannot tell. */
function cpuMicros(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // utime and stime, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return null;
  }
}

/**
 * One autocannon run → { rps, p50, p99, errors, non2xx, cpuUs }. With `pid`, cpuUs is that
 * server's CPU time per request: unlike req/s, it hardly moves when other processes take the
 * cores, so it shows the cost of a request on a busy machine too.
 */
function load({ pid, ...opts }) {
  const cpuBefore = pid ? cpuMicros(pid) : null;
  return new Promise((resolve, reject) => {
    autocannon({ connections: CONNECTIONS, duration: DURATION, ...opts }, (err, result) => {
      if (err) return reject(err);
      const cpuAfter = pid ? cpuMicros(pid) : null;
      resolve({
        rps: result.requests.average,
        p50: result.latency.p50,
        p99: result.latency.p99,
        errors: result.errors + result.timeouts,
        non2xx: result.non2xx,
        total: result.requests.total,
        cpuUs: cpuBefore !== null && cpuAfter !== null && result.requests.total > 0 ? (cpuAfter - cpuBefore) / result.requests.total : null,
      });
    });
  });
}

/** Median of RUNS runs of one scenario. */
async function measure(name, opts) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await load(typeof opts === 'function' ? await opts() : opts));
  return summarise(name, runs);
}

function summarise(name, runs) {
  const result = {
    name,
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    errors: runs.reduce((n, r) => n + r.errors + r.non2xx, 0),
    cpuUs: runs.every((r) => r.cpuUs != null) ? median(runs.map((r) => r.cpuUs)) : null,
    runs,
  };
  const cpu = result.cpuUs != null ? `, ${result.cpuUs.toFixed(0)} µs CPU/request` : '';
  process.stderr.write(`  ${name}: ${Math.round(result.rps)} req/s p50 ${result.p50} ms p99 ${result.p99} ms${cpu}\n`);
  return result;
}

/**
 * RUNS rounds, each running every scenario once, in turn: the machine's drift (it is shared
 * and noisy) then hits all of them alike, and a ratio is taken within each round.
 */
async function measureInterleaved(scenarios) {
  const runs = Object.fromEntries(Object.keys(scenarios).map((key) => [key, []]));
  for (let i = 0; i < RUNS; i++) {
    for (const [key, { opts }] of Object.entries(scenarios)) runs[key].push(await load(opts));
  }
  return Object.fromEntries(Object.entries(scenarios).map(([key, { name }]) => [key, summarise(name, runs[key])]));
}

/** Median over the rounds of a ÷ b, both measured in the same round. */
const roundRatio = (a, b) => median(a.runs.map((r, i) => r.rps / (b.runs[i]?.rps ?? Number.NaN)));

// ---------------------------------------------------------------- seed
process.stderr.write(`seeding ${BOOKS} books…\n`);
migrate(DATABASE_URL, { JWT_SECRET: SECRET, KEY_ENCRYPTION_SECRET: SECRET, MAIL_OUTBOX_DIR });
{
  const db = new Database(DATABASE_URL.slice('sqlite:'.length));
  const insert = db.prepare(
    'insert into books (id, title, author, isbn, published_year, description, created_by, created_at, updated_at) values (?, ?, ?, null, ?, ?, null, ?, ?)',
  );
  const start = Date.now() - BOOKS;
  db.transaction(() => {
    for (let i = 0; i < BOOKS; i++) {
      const at = new Date(start + i).toISOString();
      insert.run(uuidv7(), `Book ${i}`, `Author ${i % 1000}`, 1900 + (i % 120), 'A seeded book.', at, at);
    }
  })();
  db.close();
}
if (postgres) {
  migrate(postgres.url, { JWT_SECRET: SECRET, KEY_ENCRYPTION_SECRET: SECRET, MAIL_OUTBOX_DIR });
  // The same rows as on SQLite (ids are random UUIDs; v7 or v4 makes no difference to the
  // primary-key lookup measured), in one statement.
  await withPostgres(postgres.url, async (client) => {
    await client.query(
      `insert into books (id, title, author, isbn, published_year, description, created_by, created_at, updated_at)
       select gen_random_uuid()::text, 'Book ' || i, 'Author ' || (i % 1000), null, 1900 + (i % 120), 'A seeded book.', null, at, at
       from generate_series(0, $1::int - 1) as i, lateral (select ${isoFromMillis('$2::bigint + i')} as at) as t`,
      [BOOKS, Date.now() - BOOKS],
    );
    await client.query('analyze');
  });
}

/** Signs the bench user up on a Gatehouse and adds the book it reads: its token and the book. */
async function prepareReads(base) {
  await api(base, 'POST', '/auth/register', { email: 'bench@example.com', password: PASSWORD });
  const { access_token } = await api(base, 'POST', '/auth/login', { email: 'bench@example.com', password: PASSWORD });
  const added = await api(
    base,
    'POST',
    '/books',
    { title: 'The Pragmatic Programmer', author: 'Andrew Hunt', published_year: 1999 },
    access_token,
  );
  return { headers: { authorization: `Bearer ${access_token}` }, url: `${base}/books/${added.id}` };
}
const onPostgres = postgres && (await startGatehouse({ DATABASE_URL: postgres.url }));
const postgresRead = onPostgres && (await prepareReads(onPostgres.base));

const gatehouse = await startGatehouse();
const G = gatehouse.base;
await api(G, 'POST', '/auth/register', { email: 'bench@example.com', password: PASSWORD });
const session = await api(G, 'POST', '/auth/login', { email: 'bench@example.com', password: PASSWORD });
const token = session.access_token;
const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
const book = await api(G, 'POST', '/books', { title: 'The Pragmatic Programmer', author: 'Andrew Hunt', published_year: 1999 }, token);
const list = await api(G, 'POST', '/bucketlists', { name: 'Bench list' }, token);
for (let i = 0; i < 10; i++) await api(G, 'POST', `/bucketlists/${list.id}/items`, { title: `Item ${i}` }, token);
const bookBody = JSON.stringify(book);

const raw = await startBaseline('raw-http.mjs', { BENCH_BODY: bookBody });
const tutorial = await startBaseline('express-tutorial.mjs', { BENCH_BODY: bookBody, JWT_SECRET: SECRET });
const bareFastify = await startBaseline('fastify-bare.mjs', { BENCH_BODY: bookBody });
// The tutorial port accepts our HS256 token: the same work on the wire, none of the checks.
const floor = await startBaseline('checks-floor.mjs', {
  DB_PATH: DATABASE_URL.slice('sqlite:'.length),
  JWT_SECRET: SECRET,
  JWT_ISSUER: ISSUER,
});
// (e): (d)'s work by hand inside Fastify with Gatehouse's options, hooks and schemas (see the
// file): what is left between (e) and Gatehouse is Gatehouse's own code on the read path.
const ladder = await startBaseline('fastify-ladder.mjs', {
  DB_PATH: DATABASE_URL.slice('sqlite:'.length),
  JWT_SECRET: SECRET,
  JWT_ISSUER: ISSUER,
  LAYERS: 'options,hooks,schema,split',
});
// CPU per request needs the pid of the process that answers: not the primary of --workers.
const gatehousePid = Number(args.workers) > 1 ? undefined : gatehouse.child.pid;

const results = {};
const targets = [];
const target = (label, ok, detail) => targets.push({ label, ok, detail });

process.stderr.write(`\nload: ${CONNECTIONS} connections, ${DURATION}s × ${RUNS} runs each (median)\n`);
const url = (base) => `${base}/books/${book.id}`;
Object.assign(
  results,
  await measureInterleaved({
    raw: { name: '(a) raw node:http', opts: { url: url(raw.base), pid: raw.child.pid } },
    express: { name: '(b) express + jsonwebtoken', opts: { url: url(tutorial.base), headers: auth, pid: tutorial.child.pid } },
    // Not targets: how far a framework with no checks gets from the ceiling on this machine,
    // and how far a server doing only the checks, by hand, gets from it.
    fastify: { name: '(c) bare fastify, no checks', opts: { url: url(bareFastify.base), pid: bareFastify.child.pid } },
    floor: { name: '(d) node:http + the same checks by hand', opts: { url: url(floor.base), headers: auth, pid: floor.child.pid } },
    ladder: {
      name: "(e) (d) inside fastify with Gatehouse's options, hooks, schemas",
      opts: { url: url(ladder.base), headers: auth, pid: ladder.child.pid },
    },
    ...(wants('read') && { read: { name: 'GET /books/{id} (all checks)', opts: { url: url(G), headers: auth, pid: gatehousePid } } }),
    ...(wants('read') &&
      postgresRead && {
        readPostgres: {
          name: 'GET /books/{id} on PostgreSQL (all checks)',
          opts: { ...postgresRead, pid: Number(args.workers) > 1 ? undefined : onPostgres.child.pid },
        },
      }),
  }),
);

if (wants('read')) {
  const vsExpress = roundRatio(results.read, results.express);
  const vsRaw = roundRatio(results.read, results.raw);
  target('GET /books/{id} ≥ 1.0× express port (b)', vsExpress >= 1, vsExpress.toFixed(2));
  target(
    'GET /books/{id} ≥ 0.5× raw ceiling (a)',
    vsRaw >= 0.5,
    `${vsRaw.toFixed(2)} (the checks by hand, (d): ${roundRatio(results.floor, results.raw).toFixed(2)})`,
  );
  const vsFloor = roundRatio(results.read, results.floor);
  const cpu = (r) => (r.cpuUs != null ? `${r.cpuUs.toFixed(0)}` : '?');
  target(
    'GET /books/{id} ≥ 0.9× the checks by hand (d)',
    vsFloor >= 0.9,
    // (e) ÷ (d) is what Fastify with Gatehouse's options, hooks and schemas leaves of (d) before
    // any of Gatehouse's own code runs; Gatehouse ÷ (e) is what its own code costs on top.
    `${vsFloor.toFixed(2)} ((e) ÷ (d) ${roundRatio(results.ladder, results.floor).toFixed(2)}, Gatehouse ÷ (e) ${roundRatio(results.read, results.ladder).toFixed(2)}; CPU µs/request: Gatehouse ${cpu(results.read)}, (d) ${cpu(results.floor)}, (e) ${cpu(results.ladder)}, (c) ${cpu(results.fastify)}, (a) ${cpu(results.raw)})`,
  );
  if (results.readPostgres) {
    const vsSqlite = roundRatio(results.readPostgres, results.read);
    const perRound = results.readPostgres.runs.map((r, i) => (r.rps / (results.read.runs[i]?.rps ?? Number.NaN)).toFixed(2));
    target(
      'GET /books/{id} on PostgreSQL ≥ 0.5× on SQLite',
      vsSqlite >= 0.5,
      `${vsSqlite.toFixed(2)} (rounds: ${perRound.join(', ')}; Gatehouse CPU µs/request: PostgreSQL ${cpu(results.readPostgres)}, SQLite ${cpu(results.read)}, not counting PostgreSQL's own)`,
    );
  }
}
if (wants('metrics') && Number(args.workers) > 1) {
  process.stderr.write('  metrics: skipped (METRICS_PORT needs a single process; run without --workers)\n');
} else if (wants('metrics')) {
  // The cost of METRICS_PORT on the read path: two fresh servers on the same database, the same
  // environment but for METRICS_PORT, loaded in turn (the order alternating by round), while a
  // process of its own (as Prometheus would be; not this one, which drives the load) scrapes the
  // metrics one every second (Prometheus' default is every 15 s: this is the pessimistic end). The target is the server's CPU time per request (utime + stime from
  // /proc): on a shared machine throughput swings with whatever else runs, CPU per request far
  // less. Both are printed, each as the median of the per-round ratios on ÷ off.
  const clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  const cpuSeconds = (pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  };
  const metricsPort = port();
  const metricsOff = await startGatehouse();
  const metricsOn = await startGatehouse({ METRICS_PORT: String(metricsPort) });
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const scrapedReads = async () => {
    const text = await (await fetch(metricsUrl)).text();
    const line = text.split('\n').find((l) => l.startsWith('gatehouse_http_requests_total{method="GET",route="/books/:id",status="200"}'));
    return Number(line?.split(' ')[1] ?? 0);
  };
  const readOpts = (base) => ({ url: url(base), headers: auth });
  // JIT warm-up of both, not measured (a first round measured cold read 40% more CPU per request).
  for (const server of [metricsOff, metricsOn]) await load(readOpts(server.base));
  const miscounted = [];
  const measured = async (server) => {
    const cpuBefore = cpuSeconds(server.child.pid);
    const run = await load(readOpts(server.base));
    return { ...run, cpuUsPerRequest: ((cpuSeconds(server.child.pid) - cpuBefore) * 1e6) / run.total };
  };
  const scraper = spawn(
    process.execPath,
    ['-e', `setInterval(() => fetch(${JSON.stringify(metricsUrl)}).then((r) => r.text()).catch(() => {}), 1000)`],
    { stdio: 'ignore' },
  );
  children.push(scraper);
  const measuredWithScrapes = async () => {
    const before = await scrapedReads();
    const run = await measured(metricsOn);
    // Every answered read is counted: autocannon's total, plus at most the requests in flight when it stopped.
    const counted = (await scrapedReads()) - before;
    if (counted < run.total || counted > run.total + CONNECTIONS) miscounted.push(`${counted} counted for ${run.total} answered`);
    return run;
  };
  const off = [];
  const on = [];
  for (let i = 0; i < RUNS; i++) {
    if (i % 2 === 0) {
      off.push(await measured(metricsOff));
      on.push(await measuredWithScrapes());
    } else {
      on.push(await measuredWithScrapes());
      off.push(await measured(metricsOff));
    }
  }
  results.metricsOff = summarise('GET /books/{id}, metrics off', off);
  results.metricsOn = summarise('GET /books/{id}, METRICS_PORT set, scraped 1/s', on);
  const cpuRatios = on.map((r, i) => r.cpuUsPerRequest / (off[i]?.cpuUsPerRequest ?? Number.NaN));
  const rpsRatios = on.map((r, i) => r.rps / (off[i]?.rps ?? Number.NaN));
  const spread = (xs) => `${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}`;
  process.stderr.write(
    `  CPU µs per request, off: ${off.map((r) => r.cpuUsPerRequest.toFixed(1)).join(' ')}\n` +
      `  CPU µs per request, on:  ${on.map((r) => r.cpuUsPerRequest.toFixed(1)).join(' ')}\n` +
      `  on ÷ off per round, CPU per request: ${cpuRatios.map((r) => r.toFixed(3)).join(' ')}\n` +
      `  on ÷ off per round, req/s: ${rpsRatios.map((r) => r.toFixed(3)).join(' ')}\n`,
  );
  const cpuRatio = median(cpuRatios);
  target(
    'GET /books/{id} with metrics: CPU per request ≤ 1.05× without',
    cpuRatio <= 1.05,
    `${cpuRatio.toFixed(3)}× (rounds ${spread(cpuRatios)}; req/s on ÷ off ${median(rpsRatios).toFixed(3)}, rounds ${spread(rpsRatios)})`,
  );
  target('metrics count every answered read', miscounted.length === 0, miscounted.join('; ') || 'yes');
  scraper.kill('SIGTERM');
  metricsOff.child.kill('SIGTERM');
  metricsOn.child.kill('SIGTERM');
}
if (wants('list')) results.list = await measure('GET /books?limit=20', { url: `${G}/books?limit=20`, headers: auth });
if (wants('bucketlist')) {
  results.bucketlist = await measure('GET /bucketlists/{id} (item_count)', { url: `${G}/bucketlists/${list.id}`, headers: auth });
  results.items = await measure('GET /bucketlists/{id}/items', { url: `${G}/bucketlists/${list.id}/items`, headers: auth });
}
if (wants('mixed')) {
  results.mixed = await measure('mixed 80% read / 20% write', {
    url: G,
    headers: auth,
    requests: [
      { method: 'GET', path: `/books/${book.id}` },
      { method: 'GET', path: '/books?limit=20' },
      { method: 'GET', path: `/bucketlists/${list.id}` },
      { method: 'GET', path: `/bucketlists/${list.id}/items?limit=5` },
      { method: 'POST', path: `/bucketlists/${list.id}/items`, body: JSON.stringify({ title: 'written under load' }) },
    ],
  });
}

if (wants('pagination')) {
  // Walk to page 1000 through the API (cursor by cursor), then time page 1 against page 1000.
  let cursor = null;
  for (let page = 1; page < 1000; page++) {
    cursor = (await api(G, 'GET', `/books?limit=20${cursor ? `&cursor=${cursor}` : ''}`, undefined, token)).next_cursor;
  }
  const page1 = await measure('page 1 of GET /books?limit=20', { url: `${G}/books?limit=20`, headers: auth, connections: 4 });
  const page1000 = await measure('page 1000 of GET /books?limit=20', {
    url: `${G}/books?limit=20&cursor=${cursor}`,
    headers: auth,
    connections: 4,
  });
  results.page1 = page1;
  results.page1000 = page1000;
  // Mean latency from Little's law (closed loop: connections ÷ throughput). autocannon's
  // latencies have millisecond resolution, and both pages answer well under 1 ms.
  const meanMs = (r) => (4 / r.rps) * 1000;
  target(
    'page 1000 latency ≤ 1.5× page 1 (mean)',
    meanMs(page1000) <= 1.5 * meanMs(page1),
    `${meanMs(page1000).toFixed(3)} ms vs ${meanMs(page1).toFixed(3)} ms (${(meanMs(page1000) / meanMs(page1)).toFixed(2)}×)`,
  );
}

if (wants('login')) {
  // What the hash cost allows: cores ÷ single-hash time, measured here and now.
  const phc = await hash(PASSWORD, { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
  const times = [];
  for (let i = 0; i < 15; i++) {
    const t = performance.now();
    await verify(phc, PASSWORD);
    times.push(performance.now() - t);
  }
  const hashMs = median(times);
  const capacity = availableParallelism() / (hashMs / 1000);
  results.hash = { hashMs, capacity };
  process.stderr.write(
    `  argon2id verify: ${hashMs.toFixed(1)} ms → capacity ${capacity.toFixed(0)} logins/s on ${availableParallelism()} cores\n`,
  );
  // One account per concurrent login at the most: the per-email limit counts attempts in flight
  // (reserved before the hash is checked), so 8 simultaneous sign-ins of one account would be
  // refused past the 5th, as a burst of guesses is.
  const LOGIN_ACCOUNTS = 16;
  for (let i = 0; i < LOGIN_ACCOUNTS; i++) await api(G, 'POST', '/auth/register', { email: `login-${i}@example.com`, password: PASSWORD });
  let nextAccount = 0;
  const loginOpts = {
    url: `${G}/auth/login`,
    connections: availableParallelism() * 4,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({ email: `login-${nextAccount++ % LOGIN_ACCOUNTS}@example.com`, password: PASSWORD }),
        }),
      },
    ],
  };
  results.login = await measure('POST /auth/login', loginOpts);
  target(
    'login ≥ 0.8× hash capacity',
    results.login.rps >= 0.8 * capacity,
    `${(results.login.rps / capacity).toFixed(2)} (${Math.round(results.login.rps)}/${Math.round(capacity)})`,
  );

  // Reads while logins flood the hash pool: hashing must never block the event loop.
  const readOpts = { url: `${G}/books/${book.id}`, headers: auth, connections: 8 };
  const calm = await measure('GET /books/{id}, no flood', readOpts);
  const flooded = [];
  for (let i = 0; i < RUNS; i++) {
    const [reads] = await Promise.all([load(readOpts), load(loginOpts)]);
    flooded.push(reads);
  }
  results.flood = { calmP99: calm.p99, floodP99: median(flooded.map((r) => r.p99)) };
  process.stderr.write(`  GET /books/{id} during login flood: p99 ${results.flood.floodP99} ms\n`);
  target(
    'read p99 during login flood ≤ 3× without',
    results.flood.floodP99 <= 3 * Math.max(calm.p99, 1),
    `${results.flood.floodP99} ms vs ${calm.p99} ms`,
  );
}

if (wants('refresh')) {
  // Every request presents a live refresh token and hands its successor back to the queue, so
  // the sessions rotate in chains. (autocannon resets a connection's context after each pass
  // over `requests`, so the tokens live here, not in the context.)
  const live = [];
  results.refresh = await measure('POST /auth/refresh (rotation)', async () => {
    // Tokens in flight when a run stops are lost with it: top the queue up before every run.
    while (live.length < CONNECTIONS * 2) {
      live.push((await api(G, 'POST', '/auth/login', { email: 'bench@example.com', password: PASSWORD })).refresh_token);
    }
    return {
      url: G,
      requests: [
        {
          method: 'POST',
          path: '/auth/refresh',
          headers: { 'content-type': 'application/json' },
          setupRequest: (req) => ({ ...req, body: JSON.stringify({ refresh_token: live.shift() }) }),
          onResponse: (status, body) => {
            if (status === 200) live.push(JSON.parse(body).refresh_token);
          },
        },
      ],
    };
  });
}

if (wants('rss')) {
  // Memory under a long run: sample the server's RSS while it answers RSS_REQUESTS reads.
  const pid = gatehouse.child.pid;
  const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  const samples = [];
  const timer = setInterval(() => samples.push(rssMb()), 1000);
  process.stderr.write(`  RSS run: ${RSS_REQUESTS} requests…\n`);
  // `amount` makes autocannon ignore load()'s duration.
  const run = await load({ url: `${G}/books/${book.id}`, headers: auth, amount: RSS_REQUESTS });
  clearInterval(timer);
  const final = rssMb();
  const half = samples.slice(Math.floor(samples.length / 2));
  const growth = half.length > 1 ? (half[half.length - 1] ?? 0) - (half[0] ?? 0) : 0;
  results.rss = {
    requests: run.total,
    non2xx: run.non2xx,
    finalMb: final,
    secondHalfGrowthMb: growth,
    peakMb: Math.max(...samples, final),
  };
  target('RSS after the run ≤ 150 MB', final <= 150, `${final.toFixed(0)} MB after ${run.total} requests`);
  target('RSS not growing in the second half (≤ 5 MB)', growth <= 5, `${growth.toFixed(1)} MB`);
}

// ---------------------------------------------------------------- report
const ceiling = results.raw.rps;
const rows = Object.entries(results).filter(([, r]) => r && typeof r.rps === 'number');
console.log('\n| scenario | req/s | × raw (a) | × express (b) | p50 ms | p99 ms | CPU µs/req | errors |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const [, r] of rows) {
  console.log(
    `| ${r.name} | ${Math.round(r.rps)} | ${(r.rps / ceiling).toFixed(2)} | ${(r.rps / results.express.rps).toFixed(2)} | ${r.p50} | ${r.p99} | ${r.cpuUs != null ? r.cpuUs.toFixed(0) : ''} | ${r.errors} |`,
  );
}
if (results.rss)
  console.log(
    `\nRSS: final ${results.rss.finalMb.toFixed(0)} MB, peak ${results.rss.peakMb.toFixed(0)} MB, second-half growth ${results.rss.secondHalfGrowthMb.toFixed(1)} MB over ${results.rss.requests} requests (${results.rss.non2xx} non-2xx)`,
  );
console.log('\n| target | result | measured |');
console.log('|---|---|---|');
for (const t of targets) console.log(`| ${t.label} | ${t.ok ? 'met' : 'MISSED'} | ${t.detail} |`);
const errors = rows.reduce((n, [, r]) => n + r.errors, 0);
if (errors > 0) console.log(`\n${errors} failed or non-2xx responses during the load (see the table)`);
process.exitCode = targets.every((t) => t.ok) && errors === 0 ? 0 : 1;
for (const child of children) child.kill('SIGTERM');
// Its pool closes before the database is dropped (a forced drop would cut it mid-shutdown).
if (onPostgres && onPostgres.child.exitCode === null) await new Promise((resolve) => onPostgres.child.once('exit', resolve));
await postgres?.drop();
// The forked baselines keep an IPC channel open; do not wait on a slow one to exit.
setTimeout(() => process.exit(), 3_000).unref();
