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
import { type SessionCheckRow, sessionCheckQuery } from '../auth/auth.repository.js';

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

/**
 * The per-request session check and a book, in one statement: an authenticated GET /books/{id}
 * is one round trip (PostgreSQL) or one statement (SQLite). No row when the session or its user
 * does not exist; `book` undefined when the book does not. The caller decides the session
 * (liveSessionActor) before it looks at the book.
 */
export async function findBookWithSessionCheck(
  db: Executor,
  sessionId: string,
  id: string,
): Promise<{ session: SessionCheckRow; book: BookRow | undefined } | undefined> {
  const found = await bookWithSessionCheck.first(db, sessionId, id);
  if (!found) return undefined;
  // Spelled out, not destructured with a rest: a rest over this row cost ~0.8 µs a request.
  const session: SessionCheckRow = {
    user_id: found.user_id,
    revoked_at: found.revoked_at,
    expires_at: found.expires_at,
    credential_version: found.credential_version,
    email: found.email,
    role: found.role,
    disabled: found.disabled,
    user_credential_version: found.user_credential_version,
  };
  // id is the primary key: null only when the left join found no book.
  const book =
    found.book_id === null
      ? undefined
      : {
          id: found.book_id,
          title: found.book_title as string,
          author: found.book_author as string,
          isbn: found.book_isbn,
          published_year: found.book_published_year,
          description: found.book_description,
          created_by: found.book_created_by,
          created_at: found.book_created_at as string,
          updated_at: found.book_updated_at as string,
        };
  return { session, book };
}

// Compiled once. The book is a left join on its own key, so the session's row comes back
// whether or not the book exists; its columns are prefixed, as the session check's are distinct
// names (a direct read on SQLite needs distinct names, see sqlite-reads.ts).
// The one statement of an authenticated GET /books/{id}.
const bookWithSessionCheck = preparedQuery(bookWithSessionCheckQuery, { alone: true });

/** The statement of findBookWithSessionCheck (exported for its query plan test). */
export function bookWithSessionCheckQuery(db: Executor, sessionId: string, id: string) {
  return sessionCheckQuery(db, sessionId)
    .leftJoin('books', (join) => join.on('books.id', '=', id))
    .select([
      'books.id as book_id',
      'books.title as book_title',
      'books.author as book_author',
      'books.isbn as book_isbn',
      'books.published_year as book_published_year',
      'books.description as book_description',
      'books.created_by as book_created_by',
      'books.created_at as book_created_at',
      'books.updated_at as book_updated_at',
    ]);
}

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
