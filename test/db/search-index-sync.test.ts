import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDatabase, type Database, migrateToLatest } from '../../src/db/create-db.js';

// SQLite only (this folder runs in the SQLite project): the FTS5 tables behind `?q=` are
// external-content tables kept by triggers; after inserts, updates and deletes they must still
// match their tables exactly, or a search would miss or invent rows.

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-fts-sync-'));
let database: Database;
beforeAll(async () => {
  database = createDatabase({ kind: 'sqlite', path: join(dir, 'fts.db') });
  await migrateToLatest(database.db);
});
afterAll(async () => {
  await database.close();
  rmSync(dir, { recursive: true, force: true });
});

it('the triggers keep books_search equal to books through insert, update and delete (FTS5 integrity-check)', async () => {
  const { db } = database;
  const stamp = '2025-01-01T00:00:00.000Z';
  await db
    .insertInto('books')
    .values([
      {
        id: '01900000-0000-7000-8000-0000000000a1',
        title: 'The Quokka Almanac',
        author: 'A. Author',
        created_at: stamp,
        updated_at: stamp,
      },
      { id: '01900000-0000-7000-8000-0000000000a2', title: 'Wombat Days', author: 'B. Author', created_at: stamp, updated_at: stamp },
    ])
    .execute();
  const integrityCheck = () => sql`insert into books_search (books_search, rank) values ('integrity-check', 1)`.execute(db);
  await integrityCheck();
  await db.updateTable('books').set({ title: 'Renamed' }).where('id', '=', '01900000-0000-7000-8000-0000000000a1').execute();
  await integrityCheck();
  await db.deleteFrom('books').where('id', '=', '01900000-0000-7000-8000-0000000000a2').execute();
  await integrityCheck();
  const matches = await sql<{ rowid: number }>`select rowid from books_search where books_search match '"renamed"'`.execute(db);
  expect(matches.rows).toHaveLength(1);
  const gone = await sql<{ rowid: number }>`select rowid from books_search where books_search match '"wombat"'`.execute(db);
  expect(gone.rows).toHaveLength(0);
});
