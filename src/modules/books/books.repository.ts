import { type Insertable, sql, type Updateable } from 'kysely';
import type { BooksTable } from '../../db/database.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { Executor } from '../../db/executor.js';
import { preparedQuery } from '../../db/prepared-query.js';
import {
  afterCursor,
  containsAnyInsensitive,
  type SearchableTable,
  scanInSlices,
  sliceEndAlong,
  throughCursor,
  withoutIndex,
} from '../../db/sql-helpers.js';
import { UniqueViolation } from '../../errors.js';
import type { Cursor } from '../../lib/pagination.js';

export type BookRow = BooksTable;

/** Finds a book by id. */
export function findBookById(db: Executor, id: string): Promise<BookRow | undefined> {
  return bookById.first(db, id);
}

const BOOK_COLUMNS = [
  'id',
  'title',
  'author',
  'isbn',
  'published_year',
  'description',
  'created_by',
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof BooksTable)[];

// The catalogue's hottest read: compiled once, not per call. Explicit columns, not `*`: it
// runs directly on SQLite, which needs a fixed column list (see sqlite-reads.ts).
const bookById = preparedQuery((db, id: string) => db.selectFrom('books').select(BOOK_COLUMNS).where('id', '=', id));

/** Inserts a book; a taken ISBN raises UniqueViolation('books.isbn'). */
export async function insertBook(db: Executor, row: Insertable<BooksTable>): Promise<void> {
  try {
    await db.insertInto('books').values(row).execute();
  } catch (err) {
    if (isUniqueViolation(err)) throw new UniqueViolation('books.isbn');
    throw err;
  }
}

/** Updates a book; a taken ISBN raises UniqueViolation('books.isbn'). */
export async function updateBook(db: Executor, id: string, patch: Updateable<BooksTable>): Promise<void> {
  try {
    await db.updateTable('books').set(patch).where('id', '=', id).execute();
  } catch (err) {
    if (isUniqueViolation(err)) throw new UniqueViolation('books.isbn');
    throw err;
  }
}

/** Deletes a book by id. */
export async function deleteBook(db: Executor, id: string): Promise<void> {
  await db.deleteFrom('books').where('id', '=', id).execute();
}

const BOOKS_SEARCH: SearchableTable = { table: 'books', searchTable: 'books_search', columns: ['title', 'author'] };

/** A keyset page of the catalogue; `q` matches title or author (contains, case-insensitive); `limit + 1` rows signal a next page. */
export async function listBooks(
  db: Executor,
  options: { q?: string; author?: string; limit: number; cursor: Cursor | null },
): Promise<BookRow[]> {
  const search = options.q ? await containsAnyInsensitive(db, BOOKS_SEARCH, options.q) : null;
  // The page's conditions but the search, between two keys.
  const range = (after: Cursor | null, through?: Cursor) => {
    let query = db.selectFrom('books');
    if (options.author !== undefined) {
      query = query.where(search?.byCandidates ? withoutIndex('books.author') : sql.ref('books.author'), '=', options.author);
    }
    if (after) query = query.where(afterCursor('books', after));
    if (through) query = query.where(throughCursor('books', through));
    return query.orderBy('created_at').orderBy('id');
  };
  const page = (after: Cursor | null, through: Cursor | undefined, want: number) => {
    const query = range(after, through).selectAll();
    return (search ? query.where(search.where) : query).limit(want).execute();
  };
  if (!search?.walksIndex) return page(options.cursor, undefined, options.limit + 1);
  return scanInSlices(options.limit, options.cursor, sliceEndAlong(range), page);
}
