#!/usr/bin/env node
// Crash test: no acknowledged write may be lost.
//
// Writers create books and bucketlist items as fast as the server answers and remember every
// 201. At a random moment the server is killed with SIGKILL (no shutdown code runs), the
// database is checked as the crash left it, and the server is started again for the next round.
// At the end every acknowledged row must be present and byte-for-byte what the 201 returned,
// through the API and in the database, and the database must pass its integrity checks
// (SQLite: PRAGMA integrity_check and foreign_key_check; PostgreSQL: amcheck when installed,
// and the foreign keys). Loopback only, bounded in rounds and time.
//
//   npm run crash-test -- --rounds 10                  SQLite in a temp folder
//   npm run crash-test -- --postgres postgres://postgres@127.0.0.1:5432/test
//                                                      a fresh database there (dropped after)
// Options: --writers N (8), --min-ms/--max-ms (kill 300..1500 ms after the writers start),
// --seed N (repeat a run), --json (one JSON summary line on stdout), --keep (keep the temp folder).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createPostgresDatabase,
  isbn13,
  randomSecret,
  request,
  requireBuild,
  seededRandom,
  signUp,
  sleep,
  startServer,
} from './lib/harness.mjs';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    writers: { type: 'string', default: '8' },
    'min-ms': { type: 'string', default: '300' },
    'max-ms': { type: 'string', default: '1500' },
    seed: { type: 'string' },
    postgres: { type: 'string' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
  strict: true,
});
const rounds = boundedInt('rounds', 1, 1000);
const writerCount = boundedInt('writers', 1, 64);
const minMs = boundedInt('min-ms', 50, 60_000);
const maxMs = Math.max(minMs, boundedInt('max-ms', 50, 60_000));
const seed = opts.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(opts.seed);
const random = seededRandom(seed);
const log = (line) => process.stderr.write(`${line}\n`);

function boundedInt(name, min, max) {
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

requireBuild();
const started = performance.now();
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-crash-'));
const failures = [];
let postgres = null;
let server = null;

/** Every write the server acknowledged with 201: {kind: 'book' | 'item' | 'bucketlist', row}. */
const acknowledged = [];
/** Writes sent but not answered before the kill: they may or may not have been committed. */
const inDoubt = [];
const killDelays = [];

try {
  let databaseUrl;
  let dbPath = null;
  if (opts.postgres) {
    postgres = await createPostgresDatabase(opts.postgres, 'gatehouse_crash');
    databaseUrl = postgres.url;
  } else {
    dbPath = join(dir, 'crash.db');
    databaseUrl = `sqlite:${dbPath}`;
  }
  // Production needs SMTP_URL or an explicit outbox; sign-up mails land in the temp folder.
  const env = {
    NODE_ENV: 'production',
    JWT_SECRET: randomSecret(),
    KEY_ENCRYPTION_SECRET: randomSecret(),
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'warn',
    MAIL_OUTBOX_DIR: join(dir, 'outbox'),
    // Each restart listens on a new port; one public URL (hence one issuer) keeps the tokens
    // issued before a crash valid after it, as behind a real proxy.
    PUBLIC_URL: 'https://gatehouse.crash-test.example',
  };
  log(
    `crash test: ${rounds} rounds, ${writerCount} writers, kill after ${minMs}..${maxMs} ms, seed ${seed}, ${opts.postgres ? 'PostgreSQL' : dbPath}`,
  );

  server = await startServer(env);
  const users = [];
  for (let u = 0; u < 2; u++) users.push(await signUp(server.base, `crash-${u}-${seed}@example.com`));
  for (const user of users) {
    const res = await request(server.base, 'POST', '/bucketlists', { token: user.access, body: { name: `Crash list of ${user.email}` } });
    if (res.status !== 201) throw new Error(`create bucketlist: ${res.status}`);
    user.listId = res.body.id;
    acknowledged.push({ kind: 'bucketlist', row: res.body });
  }

  let sequence = 0;
  for (let round = 1; round <= rounds; round++) {
    if (!server) server = await startServer(env);
    const base = server.base;
    let stop = false;
    const writer = async (w) => {
      const user = users[w % users.length];
      while (!stop) {
        const n = ++sequence;
        const book = n % 2 === 0;
        const path = book ? '/books' : `/bucketlists/${user.listId}/items`;
        const body = book
          ? {
              title: `Crash book ${n} (round ${round}, writer ${w})`,
              author: `Writer ${w}`,
              isbn: isbn13(n),
              published_year: 1900 + (n % 120),
              description: `payload ${n} `.repeat(1 + (n % 7)).trim(),
            }
          : { title: `Crash item ${n} (round ${round}, writer ${w})`, done: n % 3 === 0 };
        let res;
        try {
          res = await request(base, 'POST', path, { token: user.access, body });
        } catch {
          // Killed before (or while) answering: the write may or may not have been committed.
          inDoubt.push({ kind: book ? 'book' : 'item', sent: body, listId: user.listId });
          return;
        }
        if (res.status !== 201 || typeof res.body !== 'object' || res.body === null) {
          failures.push(`round ${round}: POST ${path} answered ${res.status} ${JSON.stringify(res.body)}`);
          return;
        }
        const echoed = Object.entries(body).every(([k, v]) => res.body[k] === v);
        if (!echoed) failures.push(`round ${round}: the 201 for ${path} does not echo what was sent: ${JSON.stringify(res.body)}`);
        acknowledged.push({ kind: book ? 'book' : 'item', row: res.body });
      }
    };
    const writers = Array.from({ length: writerCount }, (_, w) => writer(w));
    const delay = Math.round(minMs + random() * (maxMs - minMs));
    killDelays.push(delay);
    await sleep(delay);
    server.child.kill('SIGKILL');
    const { signal } = await server.exited;
    stop = true;
    await Promise.all(writers);
    server = null;
    if (signal !== 'SIGKILL') failures.push(`round ${round}: the server exited by itself before the kill (${signal})`);
    const checked = await checkCrashedState(dbPath, databaseUrl, `round-${round}`);
    log(
      `round ${round}: killed after ${delay} ms; ${acknowledged.length} acknowledged so far, ${inDoubt.length} in doubt; crashed state: ${checked}`,
    );
  }

  // One more start: the server recovers on its own, and the API must show every acknowledged row.
  server = await startServer(env);
  const viaApi = await verifyThroughApi(server.base, users);
  const stopped = await server.stop('SIGTERM');
  server = null;
  if (stopped.code !== 0) failures.push(`the final clean stop exited with ${stopped.code ?? stopped.signal}`);
  let walAfterCleanStop = null;
  if (dbPath) {
    walAfterCleanStop = existsSync(`${dbPath}-wal`) ? statSync(`${dbPath}-wal`).size : 0;
    if (walAfterCleanStop !== 0) failures.push(`a clean stop left ${walAfterCleanStop} bytes of WAL behind`);
  }
  const finalCheck = await checkCrashedState(dbPath, databaseUrl, 'final', { inPlace: true });
  const committedInDoubt = await countCommittedInDoubt(dbPath, databaseUrl);

  const count = (kind) => acknowledged.filter((a) => a.kind === kind).length;
  const summary = {
    ok: failures.length === 0,
    database: opts.postgres ? 'postgres' : 'sqlite',
    seed,
    rounds,
    writers: writerCount,
    kill_delays_ms: killDelays,
    acknowledged: { total: acknowledged.length, books: count('book'), items: count('item'), bucketlists: count('bucketlist') },
    verified_through_api: viaApi,
    in_doubt: { total: inDoubt.length, committed: committedInDoubt },
    integrity: finalCheck,
    wal_bytes_after_clean_stop: walAfterCleanStop,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    failures: failures.slice(0, 20),
  };
  if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    process.stdout.write(
      `${summary.ok ? 'PASS' : 'FAIL'}: ${rounds} SIGKILL rounds; ${summary.acknowledged.total} acknowledged writes ` +
        `(${summary.acknowledged.books} books, ${summary.acknowledged.items} items, ${summary.acknowledged.bucketlists} bucketlists), ` +
        `${viaApi} verified through the API and all in the database; ${inDoubt.length} in doubt (${committedInDoubt} committed); ` +
        `integrity: ${finalCheck}; ${summary.seconds} s\n`,
    );
    for (const f of summary.failures) process.stdout.write(`  - ${f}\n`);
  }
  process.exitCode = summary.ok ? 0 : 1;
} catch (err) {
  process.stderr.write(`crash test error: ${err.stack ?? err}\n`);
  process.exitCode = 1;
} finally {
  if (server) await server.stop('SIGKILL');
  if (postgres) await postgres.drop().catch((err) => log(`could not drop the test database: ${err.message}`));
  if (opts.keep) log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

/**
 * Checks the database as the crash left it, and that it holds every acknowledged row intact.
 * SQLite: a copy of the file and its WAL is opened (recovering it), so the server's own
 * recovery on the next start still starts from the crashed state; `inPlace` checks the file itself.
 */
async function checkCrashedState(dbPath, databaseUrl, label, { inPlace = false } = {}) {
  if (dbPath) {
    let file = dbPath;
    if (!inPlace) {
      const snapshot = join(dir, label);
      mkdirSync(snapshot);
      file = join(snapshot, 'crash.db');
      copyFileSync(dbPath, file);
      if (existsSync(`${dbPath}-wal`)) copyFileSync(`${dbPath}-wal`, `${file}-wal`);
    }
    const { default: SQLite } = await import('better-sqlite3');
    const db = new SQLite(file, { fileMustExist: true });
    try {
      const integrity = db.pragma('integrity_check', { simple: true });
      if (integrity !== 'ok') failures.push(`${label}: integrity_check says ${integrity}`);
      const orphans = db.pragma('foreign_key_check');
      if (orphans.length > 0) failures.push(`${label}: foreign_key_check found ${orphans.length} violations`);
      const rows = (table, ids) => {
        const found = new Map();
        for (let i = 0; i < ids.length; i += 500) {
          const chunk = ids.slice(i, i + 500);
          const stmt = db.prepare(`select * from ${table} where id in (${chunk.map(() => '?').join(',')})`);
          for (const row of stmt.all(...chunk)) found.set(row.id, row);
        }
        return found;
      };
      compareWithDatabase(label, rows);
      return `integrity_check ${integrity}, foreign keys ok`;
    } finally {
      db.close();
      if (!inPlace) rmSync(join(dir, label), { recursive: true, force: true });
    }
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const orphans = await client.query(
      'select count(*)::int as n from bucketlist_items i left join bucketlists b on b.id = i.bucketlist_id where b.id is null',
    );
    if (orphans.rows[0].n !== 0) failures.push(`${label}: ${orphans.rows[0].n} items without their bucketlist`);
    let amcheck = 'amcheck not installed';
    try {
      await client.query('create extension if not exists amcheck');
      const indexes = await client.query(
        `select c.oid, c.relname from pg_index i join pg_class c on c.oid = i.indexrelid join pg_am am on am.oid = c.relam
         where am.amname = 'btree' and c.relnamespace = 'public'::regnamespace`,
      );
      for (const index of indexes.rows) await client.query('select bt_index_check($1::regclass, true)', [index.oid]);
      amcheck = `amcheck ok on ${indexes.rows.length} indexes`;
    } catch (err) {
      if (/extension "amcheck"|permission denied|could not open extension/i.test(err.message))
        amcheck = `amcheck unavailable (${err.message})`;
      else failures.push(`${label}: amcheck: ${err.message}`);
    }
    const byTable = new Map();
    for (const table of ['books', 'bucketlist_items', 'bucketlists']) {
      const { rows } = await client.query(`select * from ${table}`);
      byTable.set(table, new Map(rows.map((r) => [r.id, r])));
    }
    compareWithDatabase(label, (table, ids) => {
      const all = byTable.get(table);
      return new Map(ids.filter((id) => all.has(id)).map((id) => [id, all.get(id)]));
    });
    return `${amcheck}, foreign keys ok`;
  } finally {
    await client.end();
  }
}

/** Every acknowledged row must be in the database with exactly the values its 201 carried. */
function compareWithDatabase(label, rowsById) {
  const tables = { book: 'books', item: 'bucketlist_items', bucketlist: 'bucketlists' };
  for (const [kind, table] of Object.entries(tables)) {
    const expected = acknowledged.filter((a) => a.kind === kind).map((a) => a.row);
    const found = rowsById(
      table,
      expected.map((r) => r.id),
    );
    for (const row of expected) {
      const stored = found.get(row.id);
      if (!stored) {
        failures.push(`${label}: acknowledged ${kind} ${row.id} is missing`);
        continue;
      }
      for (const [key, value] of Object.entries(row)) {
        if (key === 'item_count') continue;
        const actual = key === 'done' ? stored.done === 1 : stored[key];
        if (actual !== value)
          failures.push(`${label}: ${kind} ${row.id}.${key} is ${JSON.stringify(actual)}, acknowledged ${JSON.stringify(value)}`);
      }
    }
  }
}

/** Reads every book and item back through the API (keyset pages) and compares them with the 201s. */
async function verifyThroughApi(base, users) {
  const pages = async (path, token) => {
    const all = new Map();
    let cursor = null;
    for (let page = 0; page < 100_000; page++) {
      const res = await request(base, 'GET', `${path}?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token });
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
      for (const row of res.body.items) all.set(row.id, row);
      cursor = res.body.next_cursor;
      if (!cursor) return all;
    }
    throw new Error(`GET ${path}: too many pages`);
  };
  const listed = new Map(await pages('/books', users[0].access));
  for (const user of users) for (const [id, row] of await pages(`/bucketlists/${user.listId}/items`, user.access)) listed.set(id, row);
  let verified = 0;
  for (const { kind, row } of acknowledged) {
    if (kind === 'bucketlist') {
      const res = await request(base, 'GET', `/bucketlists/${row.id}`, { token: users.find((u) => u.listId === row.id)?.access });
      if (res.status !== 200 || res.body.name !== row.name || res.body.created_at !== row.created_at) {
        failures.push(`api: acknowledged bucketlist ${row.id} answered ${res.status}`);
      } else verified++;
      continue;
    }
    const got = listed.get(row.id);
    if (!got) failures.push(`api: acknowledged ${kind} ${row.id} is not listed`);
    else if (JSON.stringify(got) !== JSON.stringify(row)) failures.push(`api: ${kind} ${row.id} differs: ${JSON.stringify(got)}`);
    else verified++;
  }
  return verified;
}

/** How many unanswered writes did commit (informative: either outcome is correct). */
async function countCommittedInDoubt(dbPath, databaseUrl) {
  const titles = inDoubt.map((d) => d.sent.title);
  if (titles.length === 0) return 0;
  if (dbPath) {
    const { default: SQLite } = await import('better-sqlite3');
    const db = new SQLite(dbPath, { fileMustExist: true });
    try {
      const stmt = db.prepare(
        'select (select count(*) from books where title = ?) + (select count(*) from bucketlist_items where title = ?) as n',
      );
      return titles.reduce((sum, t) => sum + stmt.get(t, t).n, 0);
    } finally {
      db.close();
    }
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query(
      'select (select count(*) from books where title = any($1)) + (select count(*) from bucketlist_items where title = any($1)) as n',
      [titles],
    );
    return Number(rows[0].n);
  } finally {
    await client.end();
  }
}
