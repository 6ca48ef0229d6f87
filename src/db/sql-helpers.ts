import { type RawBuilder, sql } from 'kysely';
import type { Cursor } from '../lib/pagination.js';
import type { Executor } from '../modules/users/users.repository.js';
import { isPostgres } from './dialect.js';

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
}

/**
 * Rows where any of the columns contains `term`, case-insensitively: exactly
 * containsInsensitive on each column, ORed, on both databases. On PostgreSQL the pg_trgm GIN
 * indexes on lower(column) answer that LIKE directly. On SQLite the FTS5 trigram table narrows
 * the rows first, for terms of at least three characters whose candidates are few (see
 * SEARCH_CANDIDATE_LIMIT); the exact test still decides, because the index folds case more
 * widely than SQLite's ASCII-only lower(). Short or common terms keep the plain LIKE filter on
 * the ordered index scan, which stops after `limit + 1` matches.
 */
export async function containsAnyInsensitive(db: Executor, target: SearchableTable, term: string): Promise<TermFilter> {
  const exact = sql<boolean>`(${sql.join(
    target.columns.map((column) => containsInsensitive(`${target.table}.${column}`, term)),
    sql` or `,
  )})`;
  if (isPostgres(db)) return { where: exact, byCandidates: false };
  const phrase = trigramPhrase(term);
  if (phrase === null) return { where: exact, byCandidates: false };
  const search = sql.table(target.searchTable);
  const candidates = sql`select rowid from ${search} where ${search} match ${phrase}`;
  const { rows } = await sql<{ n: number }>`select count(*) as n from (${candidates} limit ${SEARCH_CANDIDATE_LIMIT + 1})`.execute(db);
  if ((rows[0]?.n ?? 0) > SEARCH_CANDIDATE_LIMIT) return { where: exact, byCandidates: false };
  return { where: sql<boolean>`(${sql.ref(`${target.table}.rowid`)} in (${candidates}) and ${exact})`, byCandidates: true };
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
