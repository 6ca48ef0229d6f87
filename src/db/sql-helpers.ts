import { type RawBuilder, type SelectQueryBuilder, sql } from 'kysely';
import type { Cursor } from '../lib/pagination.js';
import type { DB } from './database.js';
import { isPostgres } from './dialect.js';
import type { Executor } from './executor.js';

/**
 * Keyset condition "after this cursor" on (created_at, id) as a row-value comparison, which
 * SQLite (3.15+) and PostgreSQL both answer from a (…, created_at, id) index without OFFSET.
 */
export function afterCursor(table: string, cursor: Cursor): RawBuilder<boolean> {
  return sql<boolean>`(${sql.ref(`${table}.created_at`)}, ${sql.ref(`${table}.id`)}) > (${cursor.createdAt}, ${cursor.id})`;
}

/**
 * Case-insensitive "contains" on a column, with LIKE wildcards in the term taken literally.
 * lower() on both sides because SQLite's LIKE is case-insensitive only for ASCII and
 * PostgreSQL's not at all.
 */
export function containsInsensitive(column: string, term: string): RawBuilder<boolean> {
  const pattern = `%${term.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return sql<boolean>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`;
}

/** A table searched by `?q=`, with its trigram index (see the search-indexes migration). */
export interface SearchableTable {
  table: string;
  /** The SQLite FTS5 trigram table over `columns`, keyed by the table's rowid. */
  searchTable: string;
  columns: readonly string[];
}

/**
 * When the trigram index finds more candidates than this, the term is common and the ordered
 * (created_at, id) scan reaches `limit + 1` matches sooner than the candidates could be fetched
 * and sorted: with C candidates spread over N rows it reads about (limit + 1) · N / C rows.
 * Below it, fetching and sorting the candidates costs at most this many row lookups.
 */
export const SEARCH_CANDIDATE_LIMIT = 2000;

/** FTS5 trigrams need three characters; shorter terms have none to look up. */
const TRIGRAM = 3;

/** A search condition, and whether it looks rows up by rowid from the trigram candidates. */
export interface TermFilter {
  where: RawBuilder<boolean>;
  /**
   * True when the condition fetches the few trigram candidates by rowid (SQLite): the query's
   * other conditions must then not drive it through their own index (see withoutIndex), or
   * SQLite may walk, say, all of an owner's rows checking each against the candidates.
   */
  byCandidates: boolean;
  /**
   * True when the condition is the plain LIKE on SQLite, tested row by row along the ordered
   * index: a page must then be read in slices (scanInSlices), so that a term matching few or no
   * rows does not hold the event loop for a read of the whole table.
   */
  walksIndex: boolean;
}

/**
 * Rows where any of the columns contains `term`, case-insensitively: exactly
 * containsInsensitive on each column, ORed, on both databases. On PostgreSQL the pg_trgm GIN
 * indexes on lower(column) answer that LIKE directly. On SQLite the FTS5 trigram table narrows
 * the rows first, for terms of at least three characters whose candidates are few (see
 * SEARCH_CANDIDATE_LIMIT); the exact test still decides, because the index folds case more
 * widely than SQLite's ASCII-only lower(). Short or common terms keep the plain LIKE filter on
 * the ordered index walk, which stops after `limit + 1` matches and is read in slices (see
 * scanInSlices).
 */
export async function containsAnyInsensitive(db: Executor, target: SearchableTable, term: string): Promise<TermFilter> {
  const exact = sql<boolean>`(${sql.join(
    target.columns.map((column) => containsInsensitive(`${target.table}.${column}`, term)),
    sql` or `,
  )})`;
  if (isPostgres(db)) return { where: exact, byCandidates: false, walksIndex: false };
  const phrase = trigramPhrase(term);
  if (phrase === null) return { where: exact, byCandidates: false, walksIndex: true };
  const search = sql.table(target.searchTable);
  const candidates = sql`select rowid from ${search} where ${search} match ${phrase}`;
  const { rows } = await sql<{ n: number }>`select count(*) as n from (${candidates} limit ${SEARCH_CANDIDATE_LIMIT + 1})`.execute(db);
  if ((rows[0]?.n ?? 0) > SEARCH_CANDIDATE_LIMIT) return { where: exact, byCandidates: false, walksIndex: true };
  return {
    where: sql<boolean>`(${sql.ref(`${target.table}.rowid`)} in (${candidates}) and ${exact})`,
    byCandidates: true,
    walksIndex: false,
  };
}

/** Keyset condition "at or before this key" on (created_at, id): the upper end of a slice. */
export function throughCursor(table: string, cursor: Cursor): RawBuilder<boolean> {
  return sql<boolean>`(${sql.ref(`${table}.created_at`)}, ${sql.ref(`${table}.id`)}) <= (${cursor.createdAt}, ${cursor.id})`;
}

/** The keyset key of a row, if any. */
export function keyOf(row: { created_at: string; id: string } | undefined): Cursor | undefined {
  return row && { createdAt: row.created_at, id: row.id };
}

/** The keys of a walked search's range, in its order: what `sliceEndAlong` counts along. */
// biome-ignore lint/suspicious/noExplicitAny: any table with (created_at, id); the selection is by name below.
export type OrderedKeys = (after: Cursor | null) => SelectQueryBuilder<DB, any, object>;

/**
 * scanInSlices' `sliceEnd` for a range given as its ordered query: the key `rows` positions
 * after `after` (OFFSET on the index, no row read beyond it), undefined past the end.
 */
export function sliceEndAlong(keys: OrderedKeys): (after: Cursor | null, rows: number) => Promise<Cursor | undefined> {
  return async (after, rows) =>
    keyOf(
      (await keys(after)
        .select([sql<string>`created_at`.as('created_at'), sql<string>`id`.as('id')])
        .offset(rows - 1)
        .limit(1)
        .executeTakeFirst()) as { created_at: string; id: string } | undefined,
    );
}

/** Rows of the ordered index a slice of a walked search reads at first; each next slice twice as many, up to SCAN_SLICE_MAX. */
export const SCAN_SLICE_FIRST = 2_000;
/**
 * At 0.4–0.6 µs per row (the LIKE test plus the walk that finds the slice's end, measured at 1M
 * books on the bench machine), 3–5 ms of event loop per slice.
 */
export const SCAN_SLICE_MAX = 8_000;

/**
 * A keyset page of a search that tests rows along the ordered (…, created_at, id) index
 * (TermFilter.walksIndex), read in slices of that index with the event loop free between them:
 * SQLite runs on it, and a term matching nothing would otherwise hold it for a read of every row
 * (~300 ms at a million). The answer is the same rows in the same order as one query; a slice
 * is an index range, so each costs at most SCAN_SLICE_MAX rows, and a page ends as soon as it
 * has `limit + 1` rows.
 *
 * `sliceEnd(after, rows)` is the key `rows` positions after `after` in the unfiltered order
 * (undefined past the end); `fetch(after, through, want)` is up to `want` matching rows in
 * (after, through], or after `after` when `through` is undefined.
 */
export async function scanInSlices<R>(
  limit: number,
  cursor: Cursor | null,
  sliceEnd: (after: Cursor | null, rows: number) => Promise<Cursor | undefined>,
  fetch: (after: Cursor | null, through: Cursor | undefined, want: number) => Promise<R[]>,
): Promise<R[]> {
  const found: R[] = [];
  let after = cursor;
  for (let rows = SCAN_SLICE_FIRST; ; rows = Math.min(rows * 2, SCAN_SLICE_MAX)) {
    const through = await sliceEnd(after, rows);
    found.push(...(await fetch(after, through, limit + 1 - found.length)));
    if (found.length > limit || through === undefined) return found;
    after = through;
    // Lets the requests that arrived meanwhile run before the next slice.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * The column as an expression SQLite cannot answer from an index (unary +; SQLite only), for
 * the other conditions of a query driven by the trigram candidates (TermFilter.byCandidates).
 */
export function withoutIndex(column: string): RawBuilder<unknown> {
  return sql`+${sql.ref(column)}`;
}

/**
 * The term as one FTS5 string: inside double quotes every character is literal (operators such
 * as AND, NEAR, `*` or `^` included) and a double quote is written twice. Null when the term
 * cannot use the trigram index: fewer than three characters, or a NUL, which would cut the query
 * string short. Lower-cased as the LIKE pattern is, so the index folds the same characters.
 */
function trigramPhrase(term: string): string | null {
  const lowered = term.toLowerCase();
  if ([...lowered].length < TRIGRAM || lowered.includes('\u0000')) return null;
  return `"${lowered.replaceAll('"', '""')}"`;
}
