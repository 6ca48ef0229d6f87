import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import type { DatabaseConfig } from '../config.js';
import type { DB, Db } from './database.js';
import { migrationProvider } from './migrations/index.js';

export interface Database {
  readonly db: Db;
  readonly dialect: 'sqlite' | 'postgres';
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Opens the database named by config (SQLite file for now; PostgreSQL is reserved). */
export function createDatabase(config: DatabaseConfig): Database {
  if (config.kind === 'postgres') {
    throw new Error('DATABASE_URL=postgres:// is not supported yet; use sqlite:<path>');
  }
  if (config.path !== ':memory:') mkdirSync(dirname(config.path), { recursive: true });
  const sqlite = new SQLite(config.path, { fileMustExist: false });
  // WAL lets readers run beside the single writer; NORMAL sync in WAL mode survives a process
  // crash (SIGKILL) without losing committed transactions, and only an OS crash can roll back
  // the newest ones. busy_timeout makes a second process (CLI, worker) wait, not fail.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }) });
  return {
    db,
    dialect: 'sqlite',
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
}

/** Applies every pending migration; throws (so the CLI exits non-zero) if one fails. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${(error as Error).message ?? error}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
