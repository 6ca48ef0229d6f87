import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import type { DB } from '../../src/db/database.js';
import { ATTACK_LIMITS_ENV, defineConcurrencyAttacks } from '../helpers/concurrency-attacks.js';
import { createPostgresDatabase } from '../helpers/postgres.js';
import { type ServerProcess, startServerProcess } from '../helpers/processes.js';

// The concurrency attacks against two server processes sharing one PostgreSQL database and one
// Redis: every burst is split between the instances, and the counts must still be exact.

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-race-multi-'));
let a: ServerProcess;
let b: ServerProcess;
let db: Kysely<DB>;
let drop: () => Promise<void>;

beforeAll(async () => {
  const database = await createPostgresDatabase();
  drop = database.drop;
  const env = {
    NODE_ENV: 'production',
    JWT_SECRET: randomBytes(48).toString('base64url'),
    KEY_ENCRYPTION_SECRET: randomBytes(48).toString('base64url'),
    DATABASE_URL: database.url,
    REDIS_URL: process.env.GATEHOUSE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `gatehouse-race:${randomBytes(6).toString('hex')}:`,
    MAIL_OUTBOX_DIR: join(dir, 'outbox'),
    ...ATTACK_LIMITS_ENV,
  };
  [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  pool.on('error', () => {});
  db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await db?.destroy();
  await drop?.();
  rmSync(dir, { recursive: true, force: true });
});

defineConcurrencyAttacks(() => ({ bases: [a.base, b.base], db, logs: () => a.logs() + b.logs() }));
