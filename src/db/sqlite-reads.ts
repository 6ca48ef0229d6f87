import type SQLite from 'better-sqlite3';

/** A fixed read prepared for `SqliteReads`: raw (array) rows, mapped to objects here. */
export interface DirectRead<R> {
  get(parameters: readonly unknown[]): R | undefined;
  /**
   * `get` for a statement that is the only read of its request (`preparedQuery`'s `alone`):
   * inside the request's open read transaction if there is one, else as a transaction of its
   * own (SQLite's autocommit), which takes and releases the read lock once, as the shared
   * transaction would, without running BEGIN and COMMIT or scheduling the setImmediate that
   * ends it (part of the ~12 µs taken off an authenticated read, see README, Performance).
   */
  getAlone(parameters: readonly unknown[]): R | undefined;
}

/**
 * Direct reads on better-sqlite3 for the hot, fixed-shape queries (see prepared-query.ts),
 * sharing one read transaction between the reads of a request.
 *
 * Why: outside a transaction every SQLite statement takes and releases the WAL read lock with
 * two fcntl() calls. Where syscalls are slow (~5 µs each on the VMs measured here) and an
 * authenticated read runs two statements, those locks were a fifth of the request's CPU time.
 * Kysely's connection handling (a mutex, several promise hops) and better-sqlite3's interning
 * of column names for every row added ~8% more. Reads now share one transaction: BEGIN
 * (deferred) before the first, COMMIT when the next request arrives, before any statement
 * Kysely runs, or in a setImmediate scheduled when it began (the check phase of that turn, or
 * of the next one if it began inside a setImmediate callback), whichever is first: one lock
 * pair for the session check and the row the route reads. A statement that is its request's
 * only read (`getAlone`: GET /books/{id} reads the session and the book in one) needs no shared
 * transaction: it joins the open one if there is one, else runs as its own (autocommit), the
 * same one lock pair without BEGIN, COMMIT and the setImmediate.
 *
 * Why this is safe:
 * - No snapshot is older than the request reading it: `Database.requestArrived()` (an
 *   onRequest hook) ends the transaction, so the first read of a request begins a new one,
 *   after the request arrived. A request sent after a commit elsewhere completed (another
 *   instance, a CLI command) sees it: a logout or a role change on one instance still applies
 *   to the next request on every other one.
 * - Nothing else runs inside it: every statement Kysely prepares ends it first (see the
 *   statement cache in create-db.ts), so writes, other reads and Kysely transactions run
 *   exactly as before, and a read after a write sees that write.
 * - While a Kysely transaction is open on the connection (held across awaits by another
 *   request) a direct read would see its uncommitted rows: `available()` is false then, and
 *   the caller queues behind it through Kysely instead.
 */
export class SqliteReads {
  readonly #sqlite: SQLite.Database;
  readonly #begin: SQLite.Statement;
  readonly #commit: SQLite.Statement;
  readonly #rollback: SQLite.Statement;
  #open = false;

  constructor(sqlite: SQLite.Database) {
    this.#sqlite = sqlite;
    this.#begin = sqlite.prepare('begin deferred');
    this.#commit = sqlite.prepare('commit');
    this.#rollback = sqlite.prepare('rollback');
  }

  /**
   * False while another transaction is open on the connection. (A Kysely `.stream()` would
   * not show here: better-sqlite3 refuses every other statement while an iterator is open,
   * so a direct read would fail instead of waiting. Nothing streams on SQLite.)
   */
  available(): boolean {
    return this.#open || !this.#sqlite.inTransaction;
  }

  /** Ends the shared read transaction, if any: on a new request, before any other statement, on close. */
  readonly end = (): void => {
    if (!this.#open) return;
    if (this.#sqlite.open && this.#sqlite.inTransaction) {
      try {
        this.#commit.run();
      } catch {
        // Committing a read-only transaction has nothing to fail on; should it anyway, the
        // connection must not stay inside the transaction. If this throws too, the
        // transaction still counts as open and the next call tries again.
        this.#rollback.run();
      }
    }
    this.#open = false;
  };

  /** `end` from setImmediate: a failure there must not crash the process; the next request or statement retries (and reports) it. */
  readonly #endLater = (): void => {
    try {
      this.end();
    } catch {}
  };

  /**
   * Prepares a fixed read; undefined if the SQL is not a plain read whose columns map to
   * distinct names (the caller then runs it through Kysely). Rows come back as arrays and are
   * labelled with the names read here, once; SQLite re-prepares a statement by itself after a
   * schema change (a migration run by another process), so a `*` could then expand to other
   * columns in another order under the same labels. Only explicit column lists are accepted.
   */
  prepare<R>(sql: string): DirectRead<R> | undefined {
    if (sql.includes('*')) return undefined;
    const statement = this.#sqlite.prepare<unknown[], unknown[]>(sql);
    if (!statement.reader) return undefined;
    statement.raw(true);
    const columns = statement.columns().map((c) => c.name);
    if (new Set(columns).size !== columns.length) return undefined;
    const labelled = (values: unknown[] | undefined): R | undefined => {
      if (values === undefined) return undefined;
      const row: Record<string, unknown> = {};
      for (let i = 0; i < columns.length; i++) row[columns[i] as string] = values[i];
      return row as R;
    };
    return {
      get: (parameters) => {
        this.#enter();
        return labelled(statement.get(parameters));
      },
      // Outside a transaction (`available()` was checked by the caller) a read statement is its
      // own: better-sqlite3's get() steps once and resets it, which releases the lock. The
      // snapshot is taken now, after the request arrived, as the shared one would be.
      getAlone: (parameters) => labelled(statement.get(parameters)),
    };
  }

  #enter(): void {
    if (this.#open) return;
    this.#begin.run();
    this.#open = true;
    setImmediate(this.#endLater);
  }
}
