import { type RawBuilder, sql } from 'kysely';
import type { Cursor } from '../lib/pagination.js';

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
