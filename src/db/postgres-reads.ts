import { createHash } from 'node:crypto';
import type PgModule from 'pg';

/** A fixed read prepared for `PostgresReads`. */
export interface PostgresRead<R> {
  get(parameters: readonly unknown[]): Promise<R | undefined>;
}

/**
 * Direct reads on the pg pool for the hot, fixed-shape queries (see prepared-query.ts), each a
 * named statement: PostgreSQL parses and plans it once per connection, then only binds and
 * executes it.
 *
 * Why: an authenticated GET /books/{id} is one such statement per request, and PostgreSQL
 * shares the machine with the server here. Kysely's path (its connection mutex, a pool checkout
 * wrapped in several promise hops, an unnamed statement parsed and planned anew each time) was
 * measurable against a request that costs one round trip; see README, Performance.
 *
 * Why this is safe:
 * - Only the root Kysely instance built in create-db.ts reads here. A transaction holds its own
 *   connection and is another Executor object, so its queries always run through Kysely, on it.
 * - pool.query checks a connection out for this one statement and back in after, as Kysely
 *   does; errors are pg's own, which errors.ts classifies as before (an outage answers 503).
 * - A name is derived from the SQL text (pg refuses one name for two texts on a connection).
 *   Explicit column lists only: a plan cached on the server keeps its result columns, and a
 *   migration changing the type of a selected column would fail such a statement (0A000) until
 *   the connection is replaced; a `*` would be exposed to any column added, so it is refused.
 */
export class PostgresReads {
  readonly #pool: PgModule.Pool;

  constructor(pool: PgModule.Pool) {
    this.#pool = pool;
  }

  /** Prepares a fixed read; undefined if the SQL is not a plain SELECT with explicit columns. */
  prepare<R>(sql: string): PostgresRead<R> | undefined {
    if (sql.includes('*') || !/^select\s/i.test(sql)) return undefined;
    const name = `gatehouse_${createHash('sha256').update(sql).digest('base64url').slice(0, 22)}`;
    return {
      get: async (parameters) => {
        const result = await this.#pool.query<R & PgModule.QueryResultRow>({ name, text: sql, values: parameters as unknown[] });
        return result.rows[0];
      },
    };
  }
}
