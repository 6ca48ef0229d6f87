import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  Kysely,
  type Migration,
  type MigrationResultSet,
  Migrator,
  PostgresDialect,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteStatement,
  sql,
} from 'kysely';
import type PgModule from 'pg';
import type { DatabaseConfig } from '../config.js';
import { loadOptional } from '../lib/optional-dependency.js';
import type { DB, Db } from './database.js';
import { migrationProvider } from './migrations/index.js';
import { PostgresReads } from './postgres-reads.js';
import { SqliteReads } from './sqlite-reads.js';

export interface Database {
  readonly db: Db;
  readonly dialect: 'sqlite' | 'postgres';
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /**
   * Resolves when the database accepts writes; rejects when it is read-only or locked by
   * another process (after the bounded busy wait), so the server can refuse to start.
   */
  assertWritable(): Promise<void>;
  /**
   * Called as each request arrives: reads from here on see every commit made before it. (On
   * SQLite this ends the shared read transaction of the hot reads, see sqlite-reads.ts.)
   */
  requestArrived(): void;
  /** PostgreSQL's connection pool as it is now (read by the metrics at each scrape); SQLite has none. */
  poolStats?(): PoolStats;
  close(): Promise<void>;
}

/** A connection pool's state: connections open, of them idle, queries queued for one, and the size limit. */
export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

// The direct-read batcher of each SQLite Kysely instance built here (see sqlite-reads.ts).
const sqliteReads = new WeakMap<object, SqliteReads>();

/** The direct-read batcher behind a Kysely instance built here, if it is SQLite. */
export function sqliteReadsOf(db: object): SqliteReads | undefined {
  return sqliteReads.get(db);
}

// The direct reads on the pool of each PostgreSQL Kysely instance built here (see postgres-reads.ts).
const postgresReads = new WeakMap<object, PostgresReads>();

/** The direct reads on the pool behind a Kysely instance built here, if it is PostgreSQL. */
export function postgresReadsOf(db: object): PostgresReads | undefined {
  return postgresReads.get(db);
}

/** Opens the database named by config for `fn` (a CLI command, the cluster primary) and closes it after. */
export async function withDatabase<T>(config: DatabaseConfig, fn: (database: Database) => Promise<T>): Promise<T> {
  const database = createDatabase(config);
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}

/** Opens the database named by config: a SQLite file, or a PostgreSQL pool. */
export function createDatabase(config: DatabaseConfig): Database {
  if (config.kind === 'postgres') return createPostgres(config.url, config.poolSize);
  // loadConfig() refuses an explicit DATABASE_URL whose directory is missing, so this only ever
  // creates the default ./data folder of a first start.
  if (config.path !== ':memory:') mkdirSync(dirname(config.path), { recursive: true });
  const sqlite = new SQLite(config.path, { fileMustExist: false });
  // WAL lets readers run beside the single writer; NORMAL sync in WAL mode survives a process
  // crash (SIGKILL) without losing committed transactions, and only an OS crash can roll back
  // the newest ones. busy_timeout makes a second process (CLI, worker) wait, not fail.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const reads = new SqliteReads(sqlite);
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite, reads) }) });
  sqliteReads.set(db, reads);
  // Set when the write probe failed: closing must then not wait on the same lock again.
  let unwritable = false;
  return {
    db,
    dialect: 'sqlite',
    async ping() {
      await sql`select 1`.execute(db);
    },
    async assertWritable() {
      // Opening, reading and even BEGIN IMMEDIATE succeed on a read-only file in WAL mode
      // (SQLite silently falls back to read-only); only a page write reveals it. Rewriting
      // user_version with its own value in a rolled-back transaction writes page 1 and changes
      // nothing. IMMEDIATE takes the write lock first, so a lock held by another process
      // surfaces as SQLITE_BUSY once busy_timeout (5 s) has passed, never as a snapshot race.
      try {
        await db.connection().execute(async (conn) => {
          await sql`begin immediate`.execute(conn);
          try {
            const { rows } = await sql<{ user_version: number }>`pragma user_version`.execute(conn);
            await sql.raw(`pragma user_version = ${Number(rows[0]?.user_version ?? 0)}`).execute(conn);
          } catch (err) {
            // SQLite may already have rolled back; the write error is the one worth reporting.
            await sql`rollback`.execute(conn).catch(() => {});
            throw err;
          }
          await sql`rollback`.execute(conn);
        });
      } catch (err) {
        unwritable = true;
        throw err;
      }
    },
    requestArrived: reads.end,
    async close() {
      if (!sqlite.open) return;
      reads.end();
      if (!unwritable) {
        // Fold the WAL back into the main file, so a clean stop leaves one self-contained file
        // (and no -wal to lose when copying it). The shorter busy wait keeps a reader in
        // another process (a backup) from holding up shutdown; the checkpoint is an
        // optimisation, never required for durability, so a failure is not an error.
        try {
          sqlite.pragma('busy_timeout = 1000');
          sqlite.pragma('wal_checkpoint(TRUNCATE)');
        } catch {}
      }
      await db.destroy();
    },
  };
}

/**
 * Kysely prepares every query anew, and better-sqlite3's prepare() was the largest single cost
 * of an authenticated read in the profile. Queries are built from fixed shapes with bound
 * parameters, so the same few SQL strings repeat: keep their statements (bounded LRU).
 * Safe to share: Kysely runs one query at a time on the connection. Kysely prepares before
 * every statement it runs, which is where a batch of direct reads is ended (sqlite-reads.ts).
 */
function withStatementCache(sqlite: SQLite.Database, reads: SqliteReads, max = 256): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => {
      reads.end();
      sqlite.close();
    },
    prepare(sql: string) {
      reads.end();
      let statement = statements.get(sql);
      if (statement) {
        // Refresh its place in the LRU order.
        statements.delete(sql);
      } else {
        statement = sqlite.prepare(sql);
        if (statements.size >= max) statements.delete(statements.keys().next().value as string);
      }
      statements.set(sql, statement);
      return statement as unknown as SqliteStatement;
    },
  };
}

function createPostgres(url: string, poolSize: number): Database {
  const pg = loadOptional<typeof PgModule>('pg');
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    // Fail fast while the server is unreachable (→ 503) instead of queueing requests forever.
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 10_000,
    query_timeout: 15_000,
  });
  // An idle client dying (server restart, network cut) is reported here; without a listener
  // Node would crash the process. The next query simply gets a fresh connection.
  pool.on('error', () => {});
  // The same for a client that is checked out when its connection dies: its query rejects
  // (→ 503) but the client also emits 'error', which must not become an uncaught exception.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  postgresReads.set(db, new PostgresReads(pool));
  return {
    db,
    dialect: 'postgres',
    async ping() {
      await sql`select 1`.execute(db);
    },
    async assertWritable() {
      // A hot standby (or default_transaction_read_only) accepts connections but no writes.
      const { rows } = await sql<{ read_only: string }>`select current_setting('transaction_read_only') as read_only`.execute(db);
      if (rows[0]?.read_only === 'on') {
        throw Object.assign(new Error('the PostgreSQL server only accepts read-only transactions'), { code: '25006' });
      }
    },
    requestArrived() {},
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: poolSize }),
    async close() {
      await db.destroy();
    },
  };
}

/** Where an app built on Gatehouse records its own migrations, unless it names another table. */
export const OWN_MIGRATION_TABLE = 'app_migration';

/**
 * Applies an app's own pending migrations, in name order, after Gatehouse's (run migrateToLatest
 * first). They are recorded in a table of their own, not Gatehouse's: a Gatehouse upgrade that
 * brings a migration named before one of the app's would otherwise be refused by Kysely as out
 * of order, and the app's names need not follow Gatehouse's date scheme.
 */
export async function migrateOwnToLatest(db: Db, migrations: Record<string, Migration>, table = OWN_MIGRATION_TABLE): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: table,
    migrationLockTableName: `${table}_lock`,
  });
  return report(await migrator.migrateToLatest());
}

/** The names applied, or the one that failed, as an Error. */
function report({ error, results }: MigrationResultSet): string[] {
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    // The driver's error stays as the cause: its code tells start-up what to explain (errors.ts).
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${(error as Error).message ?? error}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Applies every pending migration; throws (so the CLI exits non-zero) if one fails. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  return report(await migrator.migrateToLatest());
}
