import { PostgresAdapter } from 'kysely';
import type { Executor } from '../modules/users/users.repository.js';

/** True when the query executor talks to PostgreSQL; for the few places where SQL must differ. */
export function isPostgres(db: Executor): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}
