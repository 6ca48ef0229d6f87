import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database, migrateToLatest, sqliteReadsOf } from '../../src/db/create-db.js';
import type { DB } from '../../src/db/database.js';
import { preparedQuery } from '../../src/db/prepared-query.js';
import { newId } from '../../src/lib/ids.js';
import { findBookById, insertBook } from '../../src/modules/books/books.repository.js';
import { createTestApp, expectProblem, signUp, type TestContext } from '../helpers/app.js';

// The hot reads run directly on better-sqlite3 and share one read transaction between the
// reads of a request (src/db/sqlite-reads.ts). These tests pin down what that may and may not
// change: nothing a request can observe, except that it costs fewer lock syscalls.

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

function bookRow(title: string) {
  const now = new Date().toISOString();
  return {
    id: newId(),
    title,
    author: 'Someone',
    isbn: null,
    published_year: 2001,
    description: null,
    created_by: null,
    created_at: now,
    updated_at: now,
  };
}

describe('direct SQLite reads (repository level)', () => {
  let dir: string;
  let database: Database;
  /** Another connection to the same file: stands for another instance or a CLI command. */
  let other: Kysely<DB>;
  let otherSqlite: SQLite.Database;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-reads-'));
    const path = join(dir, 'reads.db');
    database = createDatabase({ kind: 'sqlite', path });
    await migrateToLatest(database.db);
    otherSqlite = new SQLite(path);
    // The checkpoint probe below must report "busy" at once rather than wait for the reader.
    otherSqlite.pragma('busy_timeout = 0');
    other = new Kysely<DB>({ dialect: new SqliteDialect({ database: otherSqlite }) });
  });
  afterAll(async () => {
    await other.destroy();
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('returns exactly the row Kysely returns', async () => {
    const row = bookRow('Same shape');
    await insertBook(database.db, row);
    database.requestArrived();
    const direct = await findBookById(database.db, row.id);
    const viaKysely = await other.selectFrom('books').selectAll().where('id', '=', row.id).executeTakeFirst();
    expect(direct).toEqual(viaKysely);
    expect(Object.keys(direct ?? {})).toEqual(Object.keys(viaKysely ?? {}));
    expect(await findBookById(database.db, newId())).toBeUndefined();
  });

  it('shares one snapshot between the reads of a request, and a new request sees commits made before it', async () => {
    await nextTurn();
    database.requestArrived();
    const row = bookRow('Committed elsewhere');
    expect(await findBookById(database.db, row.id)).toBeUndefined();
    // Another process commits while this request is running: the request keeps its snapshot
    // (this is the batching at work: one read lock for all its reads)…
    await insertBook(other, row);
    expect(await findBookById(database.db, row.id)).toBeUndefined();
    // …and the next request, which arrived after that commit, sees it, even in the same turn.
    database.requestArrived();
    expect((await findBookById(database.db, row.id))?.title).toBe('Committed elsewhere');
  });

  it('a write through Kysely on the same connection is visible to the next direct read at once', async () => {
    database.requestArrived();
    const row = bookRow('Written here');
    expect(await findBookById(database.db, row.id)).toBeUndefined();
    await insertBook(database.db, row);
    expect((await findBookById(database.db, row.id))?.title).toBe('Written here');
  });

  // A statement that is a request's only read (`alone`, as GET /books/{id}'s session check with
  // its book) runs as a transaction of its own when none is open, and inside the open one if
  // there is one: either way it sees what a request that arrived now must see.
  const titleAlone = preparedQuery((db, id: string) => db.selectFrom('books').select(['id', 'title']).where('id', '=', id), {
    alone: true,
  });

  it.each([
    ['a read sharing the request transaction', (id: string) => findBookById(database.db, id)],
    ['a lone read', (id: string) => titleAlone.first(database.db, id)],
  ])("%s never sees another request's uncommitted rows: it waits for that transaction", async (_name, read) => {
    database.requestArrived();
    const rolledBack = bookRow('Rolled back');
    const committed = bookRow('Committed');
    let duringRolledBack: Promise<unknown> | undefined;
    await database.db
      .transaction()
      .execute(async (trx) => {
        await insertBook(trx, rolledBack);
        // Another request's read while this transaction is open on the same connection.
        duringRolledBack = read(rolledBack.id);
        throw new Error('roll back');
      })
      .catch(() => {});
    expect(await duringRolledBack).toBeUndefined();

    let duringCommitted: Promise<{ title: string } | undefined> | undefined;
    await database.db.transaction().execute(async (trx) => {
      await insertBook(trx, committed);
      duringCommitted = read(committed.id);
    });
    expect((await duringCommitted)?.title).toBe('Committed');
  });

  it('holds no read lock past the end of the event-loop turn (checkpoints are not held up)', async () => {
    await insertBook(other, bookRow('Grows the WAL'));
    database.requestArrived();
    await findBookById(database.db, newId());
    // Within the turn the snapshot is held, so a TRUNCATE checkpoint cannot finish…
    expect(otherSqlite.pragma('wal_checkpoint(TRUNCATE)', { simple: false })).toEqual([
      { busy: 1, log: expect.any(Number), checkpointed: expect.any(Number) },
    ]);
    await nextTurn();
    // …and after it, nothing holds the WAL.
    expect(otherSqlite.pragma('wal_checkpoint(TRUNCATE)', { simple: false })).toEqual([{ busy: 0, log: 0, checkpointed: 0 }]);
  });

  it('a lone read sees commits made before it and holds no lock once it returned, even within the turn', async () => {
    await nextTurn();
    database.requestArrived();
    const row = bookRow('Alone');
    expect(await titleAlone.first(database.db, row.id)).toBeUndefined();
    await insertBook(other, row);
    // No requestArrived() in between, and the same turn: nothing of the first read is held.
    expect((await titleAlone.first(database.db, row.id))?.title).toBe('Alone');
    expect(otherSqlite.pragma('wal_checkpoint(TRUNCATE)', { simple: false })).toEqual([{ busy: 0, log: 0, checkpointed: 0 }]);
  });

  it("a lone read after another read of the request uses that read's snapshot", async () => {
    database.requestArrived();
    const row = bookRow('Alone, later');
    expect(await findBookById(database.db, row.id)).toBeUndefined();
    await insertBook(other, row);
    expect(await titleAlone.first(database.db, row.id)).toBeUndefined();
    database.requestArrived();
    expect((await titleAlone.first(database.db, row.id))?.title).toBe('Alone, later');
  });

  it('keeps labelling columns right after another process changes the schema (explicit columns only)', async () => {
    const row = bookRow('Before the migration');
    await insertBook(database.db, row);
    database.requestArrived();
    expect(await findBookById(database.db, row.id)).toEqual(row);
    // A migration run by another process: SQLite re-prepares statements by itself afterwards,
    // so a `select *` would return more (or reordered) values under the old labels.
    otherSqlite.exec('alter table books add column added_later text');
    otherSqlite.exec("update books set added_later = 'x'");
    database.requestArrived();
    expect(await findBookById(database.db, row.id)).toEqual(row);
    const reads = sqliteReadsOf(database.db);
    expect(reads?.prepare('select * from books')).toBeUndefined();
    expect(reads?.prepare('select id, title from books')).toBeDefined();
  });
});

describe('direct SQLite reads (through HTTP)', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestApp();
  });
  afterAll(async () => ctx.close());

  async function bookUrlAndUser() {
    const user = await signUp(ctx.app);
    const created = await ctx.app.inject({ method: 'POST', url: '/books', headers: user.headers, payload: { title: 'T', author: 'A' } });
    expect(created.statusCode).toBe(201);
    return { user, url: `/books/${created.json().id}` };
  }

  // GET /books/{id} runs only direct reads (session check, book row), so without the
  // onRequest hook its read transaction would still be open when the next request comes.
  it('a session revoked by another process is refused on the very next request, in the same turn', async () => {
    const { user, url } = await bookUrlAndUser();
    expect((await ctx.app.inject({ method: 'GET', url, headers: user.headers })).statusCode).toBe(200);
    // No macrotask in between: the read transaction of the request above may still be open.
    await ctx.db.updateTable('sessions').set({ revoked_at: new Date().toISOString() }).where('user_id', '=', user.id).execute();
    expectProblem(await ctx.app.inject({ method: 'GET', url, headers: user.headers }), 401, 'TOKEN_INVALID');
  });

  it('a user disabled by another process is refused on the very next request, in the same turn', async () => {
    const { user, url } = await bookUrlAndUser();
    expect((await ctx.app.inject({ method: 'GET', url, headers: user.headers })).statusCode).toBe(200);
    await ctx.db.updateTable('users').set({ disabled: 1 }).where('id', '=', user.id).execute();
    expectProblem(await ctx.app.inject({ method: 'GET', url, headers: user.headers }), 401, 'TOKEN_INVALID');
  });
});
