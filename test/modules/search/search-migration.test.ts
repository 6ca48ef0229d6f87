import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../../src/db/create-db.js';
import { migrationProvider } from '../../../src/db/migrations/index.js';
import { listBooks } from '../../../src/modules/books/books.repository.js';
import { listBucketlistsForOwner } from '../../../src/modules/bucketlists/bucketlists.repository.js';
import { listUsers } from '../../../src/modules/users/users.repository.js';
import { TEST_DB } from '../../helpers/app.js';
import { createPostgresDatabase } from '../../helpers/postgres.js';

// A database with rows from before the search indexes: the migration must index them, so an
// upgraded server finds old rows through the new path; and it must undo cleanly.

let database: Database;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  if (TEST_DB === 'postgres') {
    const pg = await createPostgresDatabase();
    database = createDatabase({ kind: 'postgres', url: pg.url, poolSize: 2 });
    cleanup = () => pg.drop();
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-search-migration-'));
    database = createDatabase({ kind: 'sqlite', path: join(dir, 'old.db') });
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  }
});
afterAll(async () => {
  await database.close();
  await cleanup();
});

const SEARCH_MIGRATION = '2026-11-30-0008-search-indexes';

it('indexes the rows that existed before it, and can be undone and redone', async () => {
  const { db } = database;
  const migrator = new Migrator({ db, provider: migrationProvider });
  expect((await migrator.migrateTo('2026-11-30-0007-mfa-and-passkeys')).error).toBeUndefined();

  const stamp = '2025-01-01T00:00:00.000Z';
  const owner = '01900000-0000-7000-8000-000000000001';
  await db
    .insertInto('users')
    .values({
      id: owner,
      email: 'old-quokka@example.com',
      name: 'Old Timer',
      password_hash: 'x',
      role: 'user',
      disabled: 0,
      email_verified: 1,
      credential_version: 0,
      mfa_enabled: 0,
      created_at: stamp,
      updated_at: stamp,
    })
    .execute();
  await db
    .insertInto('books')
    .values({ id: '01900000-0000-7000-8000-000000000002', title: 'The Quokka Almanac', author: 'A', created_at: stamp, updated_at: stamp })
    .execute();
  await db
    .insertInto('bucketlists')
    .values({ id: '01900000-0000-7000-8000-000000000003', name: 'See a quokka', owner_id: owner, created_at: stamp, updated_at: stamp })
    .execute();

  const upgraded = await migrator.migrateToLatest();
  expect(upgraded.error).toBeUndefined();
  expect(upgraded.results?.map((r) => r.migrationName)).toEqual([SEARCH_MIGRATION]);

  const find = async () => ({
    books: (await listBooks(db, { q: 'QUOKKA', limit: 20, cursor: null })).map((r) => r.title),
    users: (await listUsers(db, { q: 'quokka@', limit: 20, cursor: null })).map((r) => r.email),
    lists: (await listBucketlistsForOwner(db, owner, { q: 'quokka', limit: 20, cursor: null })).map((r) => r.name),
  });
  const expected = { books: ['The Quokka Almanac'], users: ['old-quokka@example.com'], lists: ['See a quokka'] };
  expect(await find()).toEqual(expected);
  if (TEST_DB === 'sqlite') {
    // Found through the trigram index, not only by the exact filter.
    const { rows } = await sql<{ n: number }>`select count(*) as n from books_search where books_search match '"quokka"'`.execute(db);
    expect(rows[0]?.n).toBe(1);
  }

  // Down leaves the schema the code before it ran on; then up indexes the rows again.
  expect((await migrator.migrateDown()).error).toBeUndefined();
  expect((await migrator.migrateToLatest()).error).toBeUndefined();
  expect(await find()).toEqual(expected);
});
