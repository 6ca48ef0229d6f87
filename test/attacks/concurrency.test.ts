import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import type { DB } from '../../src/db/database.js';
import { TEST_DB } from '../helpers/app.js';
import { ATTACK_LIMITS_ENV, defineConcurrencyAttacks } from '../helpers/concurrency-attacks.js';
import { createPostgresDatabase } from '../helpers/postgres.js';
import { type ServerProcess, startServerProcess } from '../helpers/processes.js';

// The concurrency attacks against one real server process, on this project's database
// (SQLite, or PostgreSQL in the postgres suite). Two instances sharing Redis:
// test/multi-instance/concurrency-attacks.test.ts.

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-race-'));
let server: ServerProcess;
let db: Kysely<DB>;
let drop: (() => Promise<void>) | undefined;

beforeAll(async () => {
  let url: string;
  if (TEST_DB === 'postgres') {
    const database = await createPostgresDatabase();
    drop = database.drop;
    url = database.url;
  } else {
    url = `sqlite:${join(dir, 'race.db')}`;
  }
  server = await startServerProcess({
    NODE_ENV: 'production',
    JWT_SECRET: randomBytes(48).toString('base64url'),
    KEY_ENCRYPTION_SECRET: randomBytes(48).toString('base64url'),
    DATABASE_URL: url,
    MAIL_OUTBOX_DIR: join(dir, 'outbox'),
    ...ATTACK_LIMITS_ENV,
  });
  if (TEST_DB === 'postgres') {
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    pool.on('error', () => {});
    db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  } else {
    db = new Kysely<DB>({ dialect: new SqliteDialect({ database: new SQLite(join(dir, 'race.db')) }) });
  }
});

afterAll(async () => {
  await server?.stop();
  await db?.destroy();
  await drop?.();
  rmSync(dir, { recursive: true, force: true });
});

defineConcurrencyAttacks(() => ({ bases: [server.base], db, logs: () => server.logs() }));
