import type { Compilable, CompiledQuery } from 'kysely';
import { postgresReadsOf, sqliteReadsOf } from './create-db.js';
import type { Executor } from './executor.js';
import type { PostgresRead } from './postgres-reads.js';
import type { DirectRead, SqliteReads } from './sqlite-reads.js';

type Slot = { arg: number } | { value: unknown };

/**
 * A query built and compiled by Kysely once per database, then run with new argument values.
 * Kysely otherwise rebuilds and recompiles the same query tree on every call, which was ~13%
 * of an authenticated read in the profile. Only for hot, fixed-shape queries: each argument
 * must map to exactly one bound parameter (no IN lists, no optional clauses). On SQLite the
 * query runs directly on better-sqlite3, in the read transaction of the request, or as its own
 * when it is the request's only read (`alone`; see sqlite-reads.ts); on PostgreSQL directly on
 * the pool, as a named statement (see postgres-reads.ts). A transaction's queries always run
 * through Kysely, on its connection.
 */
export function preparedQuery<A extends string[], R>(
  build: (db: Executor, ...args: A) => Compilable<R>,
  /**
   * The query is the only statement of the requests that run it (an authenticated read whose
   * session check and row are one statement): on SQLite it then needs no shared read
   * transaction (see DirectRead.getAlone). Still correct if the request reads more after it.
   */
  { alone = false }: { alone?: boolean } = {},
) {
  const compiled = new WeakMap<
    Executor,
    { query: CompiledQuery<R>; slots: Slot[]; reads?: SqliteReads; direct?: DirectRead<R>; onPool?: PostgresRead<R> }
  >();

  function prepare(db: Executor, arity: number) {
    // Build with unmistakable marker values and find where each one landed.
    const markers = Array.from({ length: arity }, (_, i) => `\u0000gatehouse-arg-${i}\u0000`) as A;
    const query = build(db, ...markers).compile();
    const slots = query.parameters.map((value): Slot => {
      const index = markers.indexOf(value as string);
      return index >= 0 ? { arg: index } : { value };
    });
    if (new Set(slots.filter((s) => 'arg' in s).map((s) => (s as { arg: number }).arg)).size !== arity) {
      throw new Error(`preparedQuery: every argument must bind exactly one parameter in: ${query.sql}`);
    }
    const reads = sqliteReadsOf(db);
    return { query, slots, reads, direct: reads?.prepare<R>(query.sql), onPool: postgresReadsOf(db)?.prepare<R>(query.sql) };
  }

  return {
    /** Runs the query with these arguments and returns its first row, if any. */
    async first(db: Executor, ...args: A): Promise<R | undefined> {
      let entry = compiled.get(db);
      if (!entry) {
        entry = prepare(db, args.length);
        compiled.set(db, entry);
      }
      const { query, slots, reads, direct, onPool } = entry;
      const parameters = slots.map((slot) => ('arg' in slot ? args[slot.arg] : slot.value));
      if (direct && reads?.available()) return alone ? direct.getAlone(parameters) : direct.get(parameters);
      if (onPool) return onPool.get(parameters);
      return (await db.executeQuery<R>({ ...query, parameters })).rows[0];
    },
  };
}
