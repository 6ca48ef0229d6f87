import type { Kysely } from 'kysely';
import type { DB } from '../../db/database.js';
import { AppError, forbidden, notFound, UniqueViolation, validationFailed } from '../../errors.js';
import { newId, nowIso } from '../../lib/ids.js';
import { normalizeIsbn } from '../../lib/isbn.js';
import { DEFAULT_PAGE_SIZE, decodeCursor, type Page, toPage } from '../../lib/pagination.js';
import type { SessionRead } from '../auth/session-check.js';
import type { Actor } from '../users/users.service.js';
import * as repo from './books.repository.js';
import type { Book, CreateBookBody, ListBooksQuery, PatchBookBody } from './books.schemas.js';

/** The public view of a book row. */
export function toBook(row: repo.BookRow): Book {
  return {
    id: row.id,
    title: row.title,
    author: row.author,
    isbn: row.isbn,
    published_year: row.published_year,
    description: row.description,
    created_by: row.created_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

const isbnTaken = () => new AppError('ISBN_TAKEN', 'A book with that ISBN is already in the catalogue.');

function checkedIsbn(raw: string | null | undefined): string | null | undefined {
  if (raw === undefined || raw === null) return raw;
  const isbn = normalizeIsbn(raw);
  if (!isbn)
    throw validationFailed('The ISBN is not valid.', [
      { path: '/isbn', message: 'must be an ISBN-10 or ISBN-13 with a valid check digit' },
    ]);
  return isbn;
}

/** The shared catalogue: every signed-in user reads and adds; the creator or an admin changes. */
export function createBooksService(db: Kysely<DB>) {
  async function listBooks(query: ListBooksQuery): Promise<Page<Book>> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const rows = await repo.listBooks(db, { q: query.q, author: query.author, limit, cursor: decodeCursor(query.cursor) });
    return toPage(rows, limit, toBook);
  }

  async function getBook(id: string): Promise<Book> {
    return foundBook(await repo.findBookById(db, id));
  }

  /** The book as read with the session check (readBookWithSession): 404 if there was none. */
  function foundBook(row: repo.BookRow | undefined): Book {
    if (!row) throw notFound('No such book.');
    return toBook(row);
  }

  /** The session check and the book `id`, in one statement (see ReadWithSession in plugins/auth.ts). */
  function readBookWithSession(id: string): SessionRead<repo.BookRow | undefined> {
    return async (sessionId) => {
      const found = await repo.findBookWithSessionCheck(db, sessionId, id);
      return found && { session: found.session, row: found.book };
    };
  }

  async function createBook(actor: Actor, input: CreateBookBody): Promise<Book> {
    const now = nowIso();
    const row: repo.BookRow = {
      id: newId(),
      title: input.title,
      author: input.author,
      isbn: checkedIsbn(input.isbn) ?? null,
      published_year: input.published_year ?? null,
      description: input.description ?? null,
      created_by: actor.id,
      created_at: now,
      updated_at: now,
    };
    try {
      await repo.insertBook(db, row);
    } catch (err) {
      if (err instanceof UniqueViolation) throw isbnTaken();
      throw err;
    }
    return toBook(row);
  }

  /** Loads a book the actor may change: 404 if missing, 403 if neither creator nor admin. */
  async function findChangeable(actor: Actor, id: string): Promise<repo.BookRow> {
    const row = await repo.findBookById(db, id);
    if (!row) throw notFound('No such book.');
    if (actor.role !== 'admin' && row.created_by !== actor.id) throw forbidden('Only the creator of a book or an admin can change it.');
    return row;
  }

  async function updateBook(actor: Actor, id: string, patch: PatchBookBody): Promise<Book> {
    const current = await findChangeable(actor, id);
    const isbn = checkedIsbn(patch.isbn);
    const changes = {
      ...(patch.title !== undefined && { title: patch.title }),
      ...(patch.author !== undefined && { author: patch.author }),
      ...(isbn !== undefined && { isbn }),
      ...(patch.published_year !== undefined && { published_year: patch.published_year }),
      ...(patch.description !== undefined && { description: patch.description }),
      updated_at: nowIso(),
    };
    try {
      await repo.updateBook(db, id, changes);
    } catch (err) {
      if (err instanceof UniqueViolation) throw isbnTaken();
      throw err;
    }
    return toBook({ ...current, ...changes });
  }

  async function deleteBook(actor: Actor, id: string): Promise<void> {
    await findChangeable(actor, id);
    await repo.deleteBook(db, id);
  }

  return { listBooks, getBook, foundBook, readBookWithSession, createBook, updateBook, deleteBook };
}

export type BooksService = ReturnType<typeof createBooksService>;
