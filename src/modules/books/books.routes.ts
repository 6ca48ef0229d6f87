import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { FastifyRequest } from 'fastify';
import { BODY_PROBLEMS, created, IdParam, noContent, problems, QUERY_PROBLEM, TOKEN_PROBLEMS } from '../../lib/http-schemas.js';
import { normalizeBodyFields } from '../../lib/normalize-body.js';
import { ReadWithSession } from '../../plugins/auth.js';
import { BookIdParams, BookPage, BookSchema, CreateBookBody, ListBooksQuery, PatchBookBody } from './books.schemas.js';
import type { BooksService } from './books.service.js';

const security = [{ bearerAuth: [] }];
const tags = ['Books'];
const trimmed = ['title', 'author', 'isbn'] as const;
const NO_SUCH_BOOK = { code: 'NOT_FOUND', detail: 'No such book.', when: 'no such book' } as const;
const NOT_CREATOR = {
  code: 'FORBIDDEN',
  detail: 'Only the creator of a book or an admin can change it.',
  when: 'neither the creator of the book nor an admin',
} as const;
const INVALID_BOOK = {
  code: 'VALIDATION_FAILED',
  when: 'the body fails its schema, or the ISBN check digit is wrong',
} as const;

/**
 * The id of GET /books/{id} as validation will accept it, or undefined. The book is read during
 * authentication (ReadWithSession), before validation: an id that cannot pass it is not sent to
 * the database (a NUL is an encoding error on PostgreSQL); validation answers 400 after the
 * token was checked, as on every route.
 */
function acceptableId(request: FastifyRequest): string | undefined {
  const { id } = request.params as { id?: unknown };
  return Value.Check(IdParam, id) && !id.includes('\u0000') ? id : undefined;
}

/** /books: the shared catalogue. Every route needs a token. */
export const booksRoutes: FastifyPluginAsyncTypebox<{ books: BooksService }> = async (app, { books }) => {
  app.addHook('onRequest', app.authenticate);
  // The catalogue's hottest read: the session check and the book in one statement.
  const bookWithSession = new ReadWithSession((request) => {
    const id = acceptableId(request);
    return id === undefined ? undefined : books.readBookWithSession(id);
  });

  app.get(
    '/books',
    {
      schema: {
        tags,
        summary: 'List books',
        description: 'Ordered by creation; `q` matches title or author (case-insensitive), `author` is exact.',
        security,
        querystring: ListBooksQuery,
        response: { 200: BookPage, ...problems(QUERY_PROBLEM, ...TOKEN_PROBLEMS) },
      },
    },
    async (request) => books.listBooks(request.query),
  );

  app.post(
    '/books',
    {
      preValidation: async (request) => normalizeBodyFields(request.body, trimmed),
      schema: {
        tags,
        summary: 'Add a book to the catalogue',
        description: 'The ISBN (ISBN-10 or ISBN-13, hyphens allowed) needs a valid check digit and is stored without hyphens.',
        security,
        body: CreateBookBody,
        response: {
          201: created(Type.Ref(BookSchema), 'The new book'),
          ...problems(...BODY_PROBLEMS, INVALID_BOOK, ...TOKEN_PROBLEMS, 'ISBN_TAKEN'),
        },
      },
    },
    async (request, reply) => {
      const book = await books.createBook(request.user, request.body);
      return reply.code(201).header('location', `/books/${book.id}`).send(book);
    },
  );

  app.get(
    '/books/:id',
    {
      config: { readWithSession: bookWithSession },
      schema: {
        tags,
        summary: 'Get a book',
        security,
        params: BookIdParams,
        response: { 200: Type.Ref(BookSchema, { description: 'The book' }), ...problems(...TOKEN_PROBLEMS, NO_SUCH_BOOK) },
      },
    },
    async (request) => {
      const read = bookWithSession.rowOf(request);
      return read ? books.foundBook(read.row) : books.getBook(request.params.id);
    },
  );

  app.patch(
    '/books/:id',
    {
      preValidation: async (request) => normalizeBodyFields(request.body, trimmed),
      schema: {
        tags,
        summary: 'Update a book (creator or admin)',
        security,
        params: BookIdParams,
        body: PatchBookBody,
        response: {
          200: Type.Ref(BookSchema, { description: 'The updated book' }),
          ...problems(...BODY_PROBLEMS, INVALID_BOOK, ...TOKEN_PROBLEMS, NOT_CREATOR, NO_SUCH_BOOK, 'ISBN_TAKEN'),
        },
      },
    },
    async (request) => books.updateBook(request.user, request.params.id, request.body),
  );

  app.delete(
    '/books/:id',
    {
      schema: {
        tags,
        summary: 'Delete a book (creator or admin)',
        security,
        params: BookIdParams,
        response: { 204: noContent('Book deleted'), ...problems(...TOKEN_PROBLEMS, NOT_CREATOR, NO_SUCH_BOOK) },
      },
    },
    async (request, reply) => {
      await books.deleteBook(request.user, request.params.id);
      return reply.code(204).send(null);
    },
  );
};
