import { PostgresAdapter, sql } from 'kysely';
import type { Executor } from './executor.js';

/** True when the query executor talks to PostgreSQL; for the few places where SQL must differ. */
export function isPostgres(db: Executor): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * Lets the current transaction commit without waiting for its WAL flush (PostgreSQL
 * `synchronous_commit = off`, for this transaction only). For writes whose loss in a server
 * crash is harmless, where the flush wait would be observable: a transaction that wrote a row
 * otherwise answers measurably later than one that wrote none. SQLite in WAL mode with
 * synchronous=NORMAL does not flush on commit anyway.
 */
export async function skipCommitFlush(trx: Executor): Promise<void> {
  if (isPostgres(trx)) await sql`set local synchronous_commit = off`.execute(trx);
}
