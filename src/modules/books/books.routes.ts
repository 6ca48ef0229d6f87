import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { problems } from '../../lib/http-schemas.js';
import { normalizeBodyFields } from '../../lib/normalize-body.js';
import { BookIdParams, BookPage, BookSchema, CreateBookBody, ListBooksQuery, PatchBookBody } from './books.schemas.js';
import type { BooksService } from './books.service.js';

const security = [{ bearerAuth: [] }];
const tags = ['Books'];
const trimmed = ['title', 'author', 'isbn'] as const;

/** /books: the shared catalogue. Every route needs a token. */
export const booksRoutes: FastifyPluginAsyncTypebox<{ books: BooksService }> = async (app, { books }) => {
  app.addHook('onRequest', app.authenticate);

  app.get(
    '/books',
    {
      schema: {
        tags,
        summary: 'List books',
        description: 'Ordered by creation; `q` matches title or author (case-insensitive), `author` is exact.',
        security,
        querystring: ListBooksQuery,
        response: { 200: BookPage, ...problems(400, 401) },
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
        security,
        body: CreateBookBody,
        response: { 201: Type.Ref(BookSchema), ...problems(400, 401, 409, 413, 415) },
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
      schema: {
        tags,
        summary: 'Get a book',
        security,
        params: BookIdParams,
        response: { 200: Type.Ref(BookSchema), ...problems(401, 404) },
      },
    },
    async (request) => books.getBook(request.params.id),
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
        response: { 200: Type.Ref(BookSchema), ...problems(400, 401, 403, 404, 409, 413, 415) },
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
        response: { 204: Type.Null(), ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await books.deleteBook(request.user, request.params.id);
      return reply.code(204).send(null);
    },
  );
};
