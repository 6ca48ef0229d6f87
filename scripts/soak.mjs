#!/usr/bin/env node
// Soak: mixed traffic from many users for N minutes against the built server on loopback, with
// GATEHOUSE_DIAGNOSTICS=true so the server reports its own event-loop delay and memory.
// Passes when there are no 5xx, no network errors and no unexpected statuses, memory stays flat
// after the warm-up (least-squares slopes of RSS and of the V8 heap, both measured right after a
// full collection), p99 latency at the end is not worse than at the start, and the event loop
// never stalled beyond the limit.
// Memory is sampled as a breakdown, so a rise can be placed: RSS from /proc/<pid>/status split
// into anonymous (V8 heaps, malloc: SQLite's page cache, worker threads' arenas), file-backed
// (mapped code and files) and shared memory (SQLite's WAL index), beside the V8 heap and the
// memory outside it (external, of which array buffers). The summary prints the curve and the
// slope of each.
//
//   npm run soak -- --minutes 10                        SQLite in a temp folder
//   npm run soak -- --minutes 10 --postgres postgres://postgres@127.0.0.1:5432/test
// The load is paced (--rate requests per second over all connections, 0 = as fast as possible):
// a saturated server measures queueing, not the stalls this looks for.
// Options (defaults): --minutes 1 (fractions allowed), --users 60, --connections 16, --rate 200,
// --sample-seconds 5, --warmup-minutes (a fifth of the run, at least 10 s, at most 10 min),
// --max-rss-slope-mb-per-min 0.25, --max-heap-slope-mb-per-min 0.05 (both judged only when at least
// --min-trend-minutes 20 follow the warm-up), --max-p99-growth 2,
// --max-loop-delay-ms 100, --curve-minutes (1 up to 15 min, else 5: one curve line each),
// --balanced (every user keeps a fixed number of books, lists and items: once there, a create
// becomes a delete, so the rows stop growing and what still grows is not the data),
// --heap-snapshots DIR (the server writes a V8 heap snapshot into DIR at the end of the warm-up
// and at the end of the run; compare them with scripts/heap-diff.mjs. Writing one stalls the
// server for seconds and leaves ~200 MB of native memory with its allocator: judge the heap
// in such a run, not RSS or the event loop),
// --env NAME=VALUE (repeatable: more environment for the server, e.g. MALLOC_ARENA_MAX=2),
// --seed N, --json (one JSON summary line on stdout).
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createPostgresDatabase,
  isbn13,
  percentile,
  randomSecret,
  request,
  requireBuild,
  seededRandom,
  signUp,
  sleep,
  slope,
  startLoopCanary,
  startServer,
} from './lib/harness.mjs';

const { values: opts } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    users: { type: 'string', default: '60' },
    connections: { type: 'string', default: '16' },
    rate: { type: 'string', default: '200' },
    'sample-seconds': { type: 'string', default: '5' },
    'warmup-minutes': { type: 'string' },
    // Measured in 60-minute runs on a quiet machine (README): PostgreSQL RSS 0.028, heap 0.007;
    // SQLite RSS 0.027, heap 0.002 with a 20-minute warm-up (its 16 MB page cache fills first
    // as the data grows: 0.335 MB/min when that fell after a 10-minute warm-up).
    'max-rss-slope-mb-per-min': { type: 'string', default: '0.25' },
    'max-heap-slope-mb-per-min': { type: 'string', default: '0.05' },
    'min-trend-minutes': { type: 'string', default: '20' },
    'curve-minutes': { type: 'string' },
    balanced: { type: 'boolean', default: false },
    'heap-snapshots': { type: 'string' },
    env: { type: 'string', multiple: true, default: [] },
    'max-p99-growth': { type: 'string', default: '2' },
    'max-loop-delay-ms': { type: 'string', default: '100' },
    seed: { type: 'string' },
    postgres: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});
const number = (name, min, max) => {
  const n = Number(opts[name]);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number from ${min} to ${max}`);
  return n;
};
const minutes = number('minutes', 0.05, 24 * 60);
const userCount = Math.round(number('users', 1, 10_000));
const connections = Math.round(number('connections', 1, 512));
const rate = number('rate', 0, 100_000);
const sampleMs = number('sample-seconds', 1, 600) * 1000;
const maxRssSlope = number('max-rss-slope-mb-per-min', 0, 1e6);
const maxHeapSlope = number('max-heap-slope-mb-per-min', 0, 1e6);
const minTrendMinutes = number('min-trend-minutes', 0, 24 * 60);
const warmupMs =
  opts['warmup-minutes'] === undefined
    ? Math.min(600_000, Math.max(10_000, minutes * 60_000 * 0.2))
    : number('warmup-minutes', 0, minutes) * 60_000;
const curveMinutes = opts['curve-minutes'] === undefined ? (minutes <= 15 ? 1 : 5) : number('curve-minutes', 0.05, 24 * 60);
const balanced = opts.balanced;
const maxP99Growth = number('max-p99-growth', 1, 1e6);
const maxLoopDelayMs = number('max-loop-delay-ms', 1, 1e6);
const seed = opts.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(opts.seed);
const random = seededRandom(seed);
const pick = (list) => list[Math.floor(random() * list.length)];
const log = (line) => process.stderr.write(`${line}\n`);

// [name, weight, expected statuses]. Logins (Argon2 on purpose) are rare, as in real traffic.
const OPERATIONS = [
  ['me', 12, [200]],
  ['search books', 12, [200]],
  ['get book', 10, [200, 404]],
  ['create book', 10, [201]],
  ['duplicate isbn', 1, [409]],
  ['patch book', 5, [200]],
  ['delete book', 3, [204]],
  ['create bucketlist', 3, [201]],
  ['list bucketlists', 6, [200]],
  ['get bucketlist', 5, [200]],
  ['delete bucketlist', 1, [204]],
  ['create item', 10, [201]],
  ['list items', 6, [200]],
  ['patch item', 4, [200]],
  ['delete item', 2, [204]],
  ['refresh', 2, [200]],
  ['login', 0.5, [200]],
  ['missing book', 2, [404]],
  ['invalid body', 2, [400]],
  ['no token', 1, [401]],
  ['readyz', 1, [200]],
];
const totalWeight = OPERATIONS.reduce((s, [, w]) => s + w, 0);
/** The operation whose cumulative weight first exceeds `point` (0 ≤ point < totalWeight). */
function chooseOperation(point) {
  let rest = point;
  for (const [name, weight] of OPERATIONS) {
    rest -= weight;
    if (rest < 0) return name;
  }
  return OPERATIONS[0][0];
}
const EXPECTED = new Map(OPERATIONS.map(([name, , statuses]) => [name, statuses]));
const SLOW = new Set(['login']);
const WORDS = ['soak', 'river', 'stone', 'garden', 'night', 'north', 'paper', 'glass'];
const KEEP_IDS = 50;
// [sample key, summary name]. rss_* are from /proc/<pid>/status: anon is malloc and the V8
// heaps of every thread, file the mapped code and files, shmem shared memory such as SQLite's
// WAL index (the -shm file is mapped shared).
const MEMORY_SERIES = [
  ['rss', 'rss'],
  ['anon', 'rss_anon'],
  ['file', 'rss_file'],
  ['shmem', 'rss_shmem'],
  ['heap', 'heap_used'],
  ['heapTotal', 'heap_total'],
  ['external', 'external'],
  ['arrayBuffers', 'array_buffers'],
  ['threads', 'threads'],
];
const CURVE_HEADER = ['minute', ...MEMORY_SERIES.map(([, name]) => name)].join(' ');

// --balanced: what each user keeps at most. Below KEEP_IDS, so no row is ever forgotten by the
// load and left in the database for good.
const BALANCED = { books: 20, lists: 5, items: 20 };

requireBuild();
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-soak-'));
let postgres = null;
let server = null;
let canary = null;
try {
  postgres = opts.postgres ? await createPostgresDatabase(opts.postgres, 'gatehouse_soak') : null;
  const env = {
    NODE_ENV: 'production',
    JWT_SECRET: randomSecret(),
    KEY_ENCRYPTION_SECRET: randomSecret(),
    DATABASE_URL: postgres ? postgres.url : `sqlite:${join(dir, 'soak.db')}`,
    LOG_LEVEL: 'warn',
    // Production needs SMTP_URL or an explicit outbox; sign-up mails land in the temp folder.
    MAIL_OUTBOX_DIR: join(dir, 'outbox'),
    GATEHOUSE_DIAGNOSTICS: 'true',
    // Every user signs up from 127.0.0.1: the per-client sign-up limit (20 an hour) would refuse
    // the 21st. 0 turns that one limit off; the load never signs up again after the start.
    REGISTER_MAX_PER_IP: '0',
    // Lets /_diagnostics?gc=true measure memory after a full collection: what a leak would keep.
    // --heap-snapshots: SIGUSR2 makes the server write a snapshot into that folder.
    NODE_OPTIONS: opts['heap-snapshots']
      ? `--expose-gc --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${opts['heap-snapshots']}`
      : '--expose-gc',
  };
  for (const pair of opts.env) {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`--env needs NAME=VALUE (got "${pair}")`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  // As `npm start` runs it: V8 would otherwise grow its young generation under load to 16 MB
  // semi-spaces (~35 MB of RSS, README), a rise in the first minutes that is not the server's.
  server = await startServer(env, { nodeArgs: ['--max-semi-space-size=8'] });
  const { base } = server;
  log(
    `soak: ${minutes} min, ${userCount} users, ${connections} connections, seed ${seed}, ${postgres ? 'PostgreSQL' : 'SQLite'}, ` +
      `${balanced ? 'balanced creates and deletes, ' : ''}warm-up ${round(warmupMs / 60_000)} min, pid ${server.pid}`,
  );

  // Users sign up four at a time (each is an Argon2 hash); each gets a bucketlist to start with.
  const users = [];
  for (let i = 0; i < userCount; i += 4) {
    const batch = Array.from({ length: Math.min(4, userCount - i) }, (_, j) => signUp(base, `soak-${seed}-${i + j}@example.com`));
    users.push(...(await Promise.all(batch)));
  }
  for (const user of users) {
    user.books = [];
    user.lists = [];
    const res = await request(base, 'POST', '/bucketlists', { token: user.access, body: { name: 'First list' } });
    user.lists.push({ id: res.body.id, items: [] });
  }
  const sharedBooks = [];
  let isbnCounter = seed % 1_000_000;

  // Measure the event loop under the mixed load only, not during the bulk sign-ups above.
  // The canary's own start-up (a node process booting) competes for the CPU: get it done first.
  canary = startLoopCanary(1000);
  await sleep(1000);
  await request(base, 'POST', '/_diagnostics/reset');
  const counts = new Map();
  const statuses = new Map();
  const unexpected = [];
  let unexpectedCount = 0;
  let serverErrors = 0;
  let networkErrors = 0;
  /** {t, ms} of every request that is not deliberately slow, for windowed percentiles. */
  const latencies = [];
  const startedAt = performance.now();
  const endAt = startedAt + minutes * 60_000;
  let scheduled = 0;
  /** Waits for the next slot of the global schedule; a connection that is late goes at once. */
  const paced = async () => {
    if (rate === 0) return;
    const due = startedAt + (scheduled++ * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
  };

  // Resolves with {name, res}; an operation that needs something the user lacks (a book to
  // patch, an item to delete) runs the creating operation instead and reports that name.
  const run = async (user, name) => {
    const outcome = await perform(user, name);
    return 'res' in outcome ? outcome : { name, res: outcome };
  };
  const perform = async (user, name) => {
    const t = user.access;
    const list = user.lists.length ? pick(user.lists) : null;
    switch (name) {
      case 'me':
        return request(base, 'GET', '/auth/me', { token: t });
      case 'search books':
        return request(base, 'GET', `/books?q=${pick(WORDS)}&limit=20`, { token: t });
      case 'get book':
        return request(base, 'GET', `/books/${sharedBooks.length ? pick(sharedBooks) : crypto.randomUUID()}`, { token: t });
      case 'create book': {
        if (balanced && user.books.length >= BALANCED.books) return run(user, 'delete book');
        const body = { title: `The ${pick(WORDS)} of ${pick(WORDS)}`, author: `Author ${Math.floor(random() * 500)}` };
        if (random() < 0.5) body.isbn = isbn13(++isbnCounter);
        const res = await request(base, 'POST', '/books', { token: t, body });
        if (res.status === 201) {
          user.books.push(res.body);
          sharedBooks.push(res.body.id);
          if (user.books.length > KEEP_IDS) user.books.shift();
          if (sharedBooks.length > 1000) sharedBooks.splice(0, 500);
        }
        return res;
      }
      case 'duplicate isbn': {
        const taken = user.books.find((b) => b.isbn);
        if (!taken) return run(user, 'create book');
        return request(base, 'POST', '/books', { token: t, body: { title: 'Duplicate', author: 'Someone', isbn: taken.isbn } });
      }
      case 'patch book': {
        if (!user.books.length) return run(user, 'create book');
        return request(base, 'PATCH', `/books/${pick(user.books).id}`, { token: t, body: { description: `seen ${Date.now()}` } });
      }
      case 'delete book': {
        if (user.books.length < 3) return run(user, 'create book');
        const book = user.books.splice(Math.floor(random() * user.books.length), 1)[0];
        return request(base, 'DELETE', `/books/${book.id}`, { token: t });
      }
      case 'create bucketlist': {
        if (balanced && user.lists.length >= BALANCED.lists) return run(user, 'delete bucketlist');
        const res = await request(base, 'POST', '/bucketlists', { token: t, body: { name: `List ${pick(WORDS)}`, description: 'soak' } });
        if (res.status === 201) {
          user.lists.push({ id: res.body.id, items: [] });
          if (user.lists.length > KEEP_IDS) user.lists.shift();
        }
        return res;
      }
      case 'list bucketlists':
        return request(base, 'GET', '/bucketlists?limit=20', { token: t });
      case 'get bucketlist':
        if (!list) return run(user, 'create bucketlist');
        return request(base, 'GET', `/bucketlists/${list.id}`, { token: t });
      case 'delete bucketlist': {
        if (user.lists.length < 3) return run(user, 'create bucketlist');
        const [gone] = user.lists.splice(0, 1);
        return request(base, 'DELETE', `/bucketlists/${gone.id}`, { token: t });
      }
      case 'create item': {
        if (!list) return run(user, 'create bucketlist');
        if (balanced && list.items.length >= BALANCED.items) {
          // This list, not another one picked at random (which might have none to delete).
          const item = list.items.splice(Math.floor(random() * list.items.length), 1)[0];
          return { name: 'delete item', res: await request(base, 'DELETE', `/bucketlists/${list.id}/items/${item}`, { token: t }) };
        }
        const res = await request(base, 'POST', `/bucketlists/${list.id}/items`, { token: t, body: { title: `Do ${pick(WORDS)}` } });
        if (res.status === 201) {
          list.items.push(res.body.id);
          if (list.items.length > KEEP_IDS) list.items.shift();
        }
        return res;
      }
      case 'list items':
        if (!list) return run(user, 'create bucketlist');
        return request(base, 'GET', `/bucketlists/${list.id}/items?limit=50`, { token: t });
      case 'patch item':
        if (!list?.items.length) return run(user, 'create item');
        return request(base, 'PATCH', `/bucketlists/${list.id}/items/${pick(list.items)}`, { token: t, body: { done: true } });
      case 'delete item': {
        if (!list?.items.length) return run(user, 'create item');
        const item = list.items.splice(Math.floor(random() * list.items.length), 1)[0];
        return request(base, 'DELETE', `/bucketlists/${list.id}/items/${item}`, { token: t });
      }
      case 'refresh': {
        const res = await request(base, 'POST', '/auth/refresh', { body: { refresh_token: user.refresh } });
        if (res.status === 200) {
          user.access = res.body.access_token;
          user.refresh = res.body.refresh_token;
        }
        return res;
      }
      case 'login': {
        const res = await request(base, 'POST', '/auth/login', { body: { email: user.email, password: user.password } });
        if (res.status === 200) {
          user.access = res.body.access_token;
          user.refresh = res.body.refresh_token;
        }
        return res;
      }
      case 'missing book':
        return request(base, 'GET', `/books/${crypto.randomUUID()}`, { token: t });
      case 'invalid body':
        return request(base, 'POST', '/books', { token: t, body: { title: '' } });
      case 'no token':
        return request(base, 'GET', '/auth/me');
      case 'readyz':
        return request(base, 'GET', '/readyz');
    }
    throw new Error(`unknown operation ${name}`);
  };

  // A connection owns its users, so one user's refresh tokens are never rotated concurrently
  // (which the server would rightly treat as reuse and answer by revoking the session).
  const loop = async (c) => {
    const own = users.filter((_, i) => i % connections === c);
    if (own.length === 0) return;
    for (;;) {
      await paced();
      if (performance.now() >= endAt) return;
      const chosen = chooseOperation(random() * totalWeight);
      const user = pick(own);
      const started = performance.now();
      let name;
      let res;
      try {
        ({ name, res } = await run(user, chosen));
      } catch (err) {
        networkErrors++;
        if (unexpected.length < 20) unexpected.push(`${chosen}: no answer (${err.cause?.code ?? err.message})`);
        continue;
      }
      const expected = EXPECTED.get(name);
      const ms = performance.now() - started;
      counts.set(name, (counts.get(name) ?? 0) + 1);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500) serverErrors++;
      if (!expected.includes(res.status)) {
        unexpectedCount++;
        if (unexpected.length < 20) unexpected.push(`${name}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
      }
      if (!SLOW.has(name)) latencies.push({ t: started - startedAt, ms });
    }
  };

  // Linux: how long the server's main thread was runnable but waiting for a CPU (other
  // processes had it). Large values mean the event-loop numbers measure the machine, not us.
  const schedstat = () => {
    try {
      const [onCpu, waiting] = readFileSync(`/proc/${server.pid}/task/${server.pid}/schedstat`, 'utf8').split(' ').map(Number);
      return { onCpu, waiting };
    } catch {
      return null;
    }
  };
  // How big the data is: SQLite's page cache (better-sqlite3's default cache_size, 16 MB) fills
  // as the database grows, a rise in RSS that is the data's, up to that bound.
  const databaseMb = async () => {
    try {
      if (!postgres) {
        const file = join(dir, 'soak.db');
        return mb(statSync(file).size + (statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0));
      }
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: postgres.url });
      await client.connect();
      try {
        return mb(Number((await client.query('select pg_database_size(current_database()) as size')).rows[0].size));
      } finally {
        await client.end();
      }
    } catch {
      return null;
    }
  };
  const databaseMbAtStart = await databaseMb();
  const schedAtStart = schedstat();
  const samples = [];
  const snapshots = [];
  /** Asks for a heap snapshot and waits until the server has written it (it blocks while it does). */
  const heapSnapshot = async () => {
    process.kill(server.pid, 'SIGUSR2');
    await sleep(200);
    await request(base, 'GET', '/healthz');
    snapshots.push(Math.round((performance.now() - startedAt) / 1000));
  };
  const sampler = (async () => {
    let lastCurve = -Infinity;
    while (performance.now() < endAt) {
      await sleep(Math.min(sampleMs, Math.max(0, endAt - performance.now())));
      if (opts['heap-snapshots'] && snapshots.length === 0 && performance.now() - startedAt >= warmupMs) await heapSnapshot();
      const res = await request(base, 'GET', '/_diagnostics?gc=true').catch(() => null);
      if (res?.status !== 200) continue;
      // Read right after the collection, before the load allocates again.
      const status = procStatus(server.pid);
      // Each window gets its own event-loop numbers (so a stall can be placed in time), and the
      // pause of the collection just requested is recorded by the next timer tick, before this
      // reset, so it is never counted as a stall.
      await sleep(100);
      await request(base, 'POST', '/_diagnostics/reset');
      const loop = res.body.event_loop_delay_ms;
      const sample = { t: performance.now() - startedAt, ...memoryOf(res.body, status), loop, gcMax: res.body.gc_pause_ms.max };
      samples.push(sample);
      if (sample.t - lastCurve >= curveMinutes * 60_000 - sampleMs / 2) {
        lastCurve = sample.t;
        log(
          `  ${Math.round(sample.t / 1000)} s: ${latencies.length} requests, ${describeMemory(sample)}, event loop p99 ${loop.p99} ms, max ${loop.max} ms`,
        );
      }
    }
    if (opts['heap-snapshots']) await heapSnapshot();
  })();
  await Promise.all([...Array.from({ length: connections }, (_, c) => loop(c)), sampler]);
  const elapsedMs = performance.now() - startedAt;
  canary.stop();
  const schedAtEnd = schedstat();
  const cpuWait =
    schedAtStart && schedAtEnd
      ? (schedAtEnd.waiting - schedAtStart.waiting) / (schedAtEnd.waiting - schedAtStart.waiting + schedAtEnd.onCpu - schedAtStart.onCpu)
      : null;
  const final = (await request(base, 'GET', '/_diagnostics?gc=true')).body;
  const databaseMbAtEnd = await databaseMb();
  const finalMemory = memoryOf(final, procStatus(server.pid));

  const stopStarted = performance.now();
  const stopped = await server.stop('SIGTERM');
  const stopMs = Math.round(performance.now() - stopStarted);
  server = null;

  // Warm-up (warmupMs): the heap grows to its working size, the JIT settles, SQLite's page cache
  // and the pools fill; trends are measured after it.
  const steady = latencies.filter((l) => l.t >= warmupMs);
  const third = (elapsedMs - warmupMs) / 3;
  const firstThird = steady.filter((l) => l.t < warmupMs + third).map((l) => l.ms);
  const lastThird = steady.filter((l) => l.t >= warmupMs + 2 * third).map((l) => l.ms);
  const p99First = percentile(firstThird, 99);
  const p99Last = percentile(lastThird, 99);
  // Samples are taken right after a full collection, so these trends are what the server keeps.
  const steadySamples = [...samples.filter((s) => s.t >= warmupMs), { t: elapsedMs, ...finalMemory }];
  // Trends are fitted to each window's lowest value of each series (its floor): RSS also holds
  // what is in flight at the moment of a sample, above all the 19 MiB block of each Argon2 hash
  // running in a worker thread, which makes single samples jump by tens of MB. What a leak
  // keeps raises the floor; a transient does not.
  const floorWindowMs = Math.max(3 * sampleMs, Math.min(60_000, (elapsedMs - warmupMs) / 6));
  const steadyFloors = lowestPerWindow(
    steadySamples,
    (t) => Math.floor((t - warmupMs) / floorWindowMs),
    (index) => warmupMs + (index + 0.5) * floorWindowMs,
  );
  const slopeOf = (key) => slope(steadyFloors.map((s) => ({ x: s.t / 60_000, y: s[key] / 2 ** 20 })));
  const rssSlope = slopeOf('rss');
  const heapSlope = slopeOf('heap');
  // A slope of a few hundred KB a minute only stands out of the noise over tens of minutes.
  const steadyMinutes = (elapsedMs - warmupMs) / 60_000;
  const trendMeasured = steadyFloors.length >= 3 && steadyMinutes >= minTrendMinutes;
  const afterWarmup = steadyFloors[0];
  const atEnd = steadyFloors.at(-1);
  const breakdown = Object.fromEntries(
    MEMORY_SERIES.map(([key, name]) => {
      // Threads are a count; every other series is bytes, reported in MB.
      const unit = key === 'threads' ? (n) => n : mb;
      return [
        name,
        {
          start: unit(samples[0]?.[key]),
          after_warmup: unit(afterWarmup[key]),
          end: unit(atEnd[key]),
          max: unit(Math.max(...steadySamples.map((s) => s[key] ?? 0))),
          slope_per_min: round3(slope(steadyFloors.map((s) => ({ x: s.t / 60_000, y: unit(s[key]) ?? 0 })))),
        },
      ];
    }),
  );
  // One point per --curve-minutes: each series' lowest value in that span (as the floors above),
  // labelled with the minute the span ends.
  const curveMs = curveMinutes * 60_000;
  const curve = lowestPerWindow(
    [...samples, { t: elapsedMs, ...finalMemory }],
    (t) => Math.min(Math.floor(t / curveMs), Math.floor((elapsedMs - 1) / curveMs)),
    (index) => Math.min(elapsedMs, (index + 1) * curveMs),
  );
  const windows = [...samples.map((x) => x.loop), final.event_loop_delay_ms].filter((w) => w.samples > 0);
  const loopMax = Math.max(...windows.map((w) => w.max));
  const loopWorstP99 = Math.max(...windows.map((w) => w.p99));
  // On a shared machine the OS also stops the loop to run other processes; the idle canary
  // measured how long, and that much is not the server's fault. On a quiet machine the canary
  // reads ~10 ms (the timer interval) and the limit applies as it is.
  const canaryMax = Math.max(0, ...canary.windows.map((w) => w.max));
  const loopAllowance = maxLoopDelayMs + Math.max(0, canaryMax - 10);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const all = latencies.map((l) => l.ms);

  const checks = [
    [serverErrors === 0, `${serverErrors} answers were 5xx`],
    [networkErrors === 0, `${networkErrors} requests got no answer`],
    [unexpectedCount === 0, `${unexpectedCount} answers had an unexpected status`],
    [!trendMeasured || rssSlope <= maxRssSlope, `RSS grows ${rssSlope.toFixed(3)} MB/min after the warm-up (limit ${maxRssSlope})`],
    [!trendMeasured || heapSlope <= maxHeapSlope, `V8 heap grows ${heapSlope.toFixed(3)} MB/min after the warm-up (limit ${maxHeapSlope})`],
    [
      p99Last <= p99First * maxP99Growth + 5,
      `p99 went from ${p99First.toFixed(1)} ms to ${p99Last.toFixed(1)} ms (limit ×${maxP99Growth} + 5 ms)`,
    ],
    [
      loopMax <= loopAllowance,
      `event-loop delay reached ${loopMax} ms (limit ${maxLoopDelayMs} ms, plus ${round(loopAllowance - maxLoopDelayMs)} ms an idle process beside it also lost)`,
    ],
    [stopped.code === 0, `SIGTERM exit code ${stopped.code ?? stopped.signal}`],
  ];
  const failures = checks.filter(([ok]) => !ok).map(([, message]) => message);
  const summary = {
    ok: failures.length === 0,
    database: postgres ? 'postgres' : 'sqlite',
    seed,
    minutes: Math.round((elapsedMs / 60_000) * 100) / 100,
    users: userCount,
    connections,
    target_rate: rate,
    requests: total,
    requests_per_second: Math.round(total / (elapsedMs / 1000)),
    statuses: Object.fromEntries([...statuses].sort(([a], [b]) => a - b)),
    server_errors: serverErrors,
    network_errors: networkErrors,
    unexpected_statuses: unexpectedCount,
    unexpected_examples: unexpected,
    latency_ms: {
      p50: round(percentile(all, 50)),
      p99: round(percentile(all, 99)),
      p99_first_third: round(p99First),
      p99_last_third: round(p99Last),
      max: round(percentile(all, 100)),
    },
    balanced,
    memory_mb: {
      rss_start: mb(samples[0]?.rss),
      rss_end: mb(finalMemory.rss),
      rss_slope_per_min: round3(rssSlope),
      heap_used_start: mb(samples[0]?.heap),
      heap_used_end: mb(finalMemory.heap),
      heap_used_slope_per_min: round3(heapSlope),
      limits_per_min: { rss: maxRssSlope, heap_used: maxHeapSlope },
      // false when the run after the warm-up was shorter than --min-trend-minutes: the slopes
      // above are then reported but not held to the limits.
      trend_judged: trendMeasured,
      warmup_minutes: round(warmupMs / 60_000),
      measured_after_full_gc: final.after_full_gc,
      samples: samples.length,
      // Each series at the first sample, after the warm-up, at the end, its largest value after
      // the warm-up and its least-squares slope (MB/min) after the warm-up.
      breakdown,
      curve: curve.map((s) => ({
        minute: round(s.t / 60_000),
        ...Object.fromEntries(MEMORY_SERIES.map(([key, name]) => [name, key === 'threads' ? s.threads : mb(s[key])])),
      })),
      database_size: { start: databaseMbAtStart, end: databaseMbAtEnd },
      heap_snapshots_at_seconds: opts['heap-snapshots'] ? snapshots : undefined,
    },
    event_loop_delay_ms: {
      max: loopMax,
      worst_window_p99: loopWorstP99,
      mean: round(windows.reduce((sum, w) => sum + w.mean, 0) / windows.length),
      windows: windows.map((w) => w.max),
      longest_gc_pause: round(Math.max(final.gc_pause_ms.max, ...samples.map((x) => x.gcMax))),
      // The same measurement in an idle process beside it: the share the machine itself caused.
      idle_canary_max: round(canaryMax),
      // Share of the time the main thread wanted a CPU and waited for one (Linux schedstat).
      main_thread_cpu_wait_share: cpuWait === null ? null : Math.round(cpuWait * 1000) / 1000,
      idle_canary_worst_p99: round(Math.max(0, ...canary.windows.map((w) => w.p99))),
    },
    shutdown_ms: stopMs,
    failures,
  };
  if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    process.stdout.write(
      `${summary.ok ? 'PASS' : 'FAIL'}: ${summary.minutes} min, ${total} requests (${summary.requests_per_second}/s) from ${userCount} users; ` +
        `5xx ${serverErrors}; p50 ${summary.latency_ms.p50} ms, p99 ${summary.latency_ms.p99} ms ` +
        `(first third ${summary.latency_ms.p99_first_third}, last third ${summary.latency_ms.p99_last_third}); ` +
        `RSS ${summary.memory_mb.rss_start} → ${summary.memory_mb.rss_end} MB, slope after the ${summary.memory_mb.warmup_minutes}-min warm-up ` +
        `${summary.memory_mb.rss_slope_per_min} MB/min (limit ${maxRssSlope}); V8 heap used ${summary.memory_mb.heap_used_start} → ` +
        `${summary.memory_mb.heap_used_end} MB, slope ${summary.memory_mb.heap_used_slope_per_min} MB/min (limit ${maxHeapSlope}); ` +
        `event loop max ${loopMax} ms (worst window p99 ${loopWorstP99}; an idle process beside it: max ${summary.event_loop_delay_ms.idle_canary_max} ms; ` +
        `main thread waited for a CPU ${cpuWait === null ? '?' : `${Math.round(cpuWait * 100)}%`} of the time); ` +
        `SIGTERM exit in ${stopMs} ms\n`,
    );
    process.stdout.write(
      `memory after the warm-up (MB; lowest in the first → last ${round(floorWindowMs / 60_000)}-min window, highest sample, slope per min of the lows):\n`,
    );
    for (const [name, b] of Object.entries(breakdown)) {
      if (name === 'threads') process.stdout.write(`  threads ${b.after_warmup} → ${b.end} (max ${b.max})\n`);
      else process.stdout.write(`  ${name.padEnd(13)} ${b.after_warmup} → ${b.end}, max ${b.max}, slope ${b.slope_per_min}\n`);
    }
    process.stdout.write(`  database      ${databaseMbAtStart} → ${databaseMbAtEnd} (file size)\n`);
    process.stdout.write(`curve (MB after a full collection, lowest in each ${curveMinutes} min): ${CURVE_HEADER}\n`);
    for (const point of summary.memory_mb.curve) {
      process.stdout.write(
        `  ${[point.minute, ...MEMORY_SERIES.map(([, name]) => point[name])].map((v) => String(v).padStart(7)).join(' ')}\n`,
      );
    }
    if (!trendMeasured) {
      process.stdout.write(
        `  memory trend not judged: ${round(steadyMinutes)} min after the warm-up, fewer than --min-trend-minutes ${minTrendMinutes}\n`,
      );
    }
    for (const f of failures) process.stdout.write(`  - ${f}\n`);
    for (const u of unexpected) process.stdout.write(`  unexpected: ${u}\n`);
  }
  process.exitCode = summary.ok ? 0 : 1;
} catch (err) {
  process.stderr.write(`soak error: ${err.stack ?? err}\n`);
  process.exitCode = 1;
} finally {
  canary?.stop();
  if (server) await server.stop('SIGKILL');
  if (postgres) await postgres.drop().catch((err) => log(`could not drop the test database: ${err.message}`));
  rmSync(dir, { recursive: true, force: true });
}

function round(n) {
  return Number.isFinite(n) ? Math.round(n * 10) / 10 : null;
}

function round3(n) {
  return Number.isFinite(n) ? Math.round(n * 1000) / 1000 : null;
}

function mb(bytes) {
  return round(bytes / 2 ** 20);
}

/**
 * Groups samples into windows (`windowOf(t)` → index) and keeps each series' lowest value per
 * window, with `t` set to `labelOf(index)`; windows in time order.
 */
function lowestPerWindow(list, windowOf, labelOf) {
  const windows = new Map();
  for (const sample of list) {
    const index = windowOf(sample.t);
    if (!windows.has(index)) windows.set(index, { t: labelOf(index) });
    const window = windows.get(index);
    for (const [key] of MEMORY_SERIES) if (sample[key] !== undefined) window[key] = Math.min(window[key] ?? Infinity, sample[key]);
  }
  return [...windows.values()].sort((a, b) => a.t - b.t);
}

/** VmRSS, RssAnon, RssFile, RssShmem (bytes) and Threads of a process (Linux), or {} elsewhere. */
function procStatus(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return {};
  }
  const field = (name) => {
    const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text);
    return match ? Number(match[1]) : undefined;
  };
  const kb = (name) => (field(name) === undefined ? undefined : field(name) * 1024);
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem'), threads: field('Threads') };
}

/** One memory sample from a /_diagnostics answer and the process's /proc status. */
function memoryOf(diagnostics, status) {
  const m = diagnostics.memory_bytes;
  return {
    rss: status.rss ?? m.rss,
    anon: status.anon,
    file: status.file,
    shmem: status.shmem,
    threads: status.threads,
    heap: m.heap_used,
    heapTotal: m.heap_total,
    external: m.external,
    arrayBuffers: m.array_buffers,
  };
}

function describeMemory(s) {
  return (
    `rss ${mb(s.rss)} MB (anon ${mb(s.anon)}, file ${mb(s.file)}, shmem ${mb(s.shmem)}), heap ${mb(s.heap)}/${mb(s.heapTotal)} MB, ` +
    `external ${mb(s.external)} MB (array buffers ${mb(s.arrayBuffers)}), ${s.threads} threads`
  );
}
