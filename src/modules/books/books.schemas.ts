import { type Static, Type } from '@sinclair/typebox';
import { IdParam, PageQuery, pageOf, Timestamp } from '../../lib/http-schemas.js';

export const TitleSchema = Type.String({ minLength: 1, maxLength: 200, description: 'trimmed' });
export const DescriptionSchema = Type.String({ maxLength: 2000 });
const IsbnSchema = Type.String({
  minLength: 10,
  maxLength: 17,
  description: 'ISBN-10 or ISBN-13 with a valid check digit; stored without hyphens',
});
// Clay tablets to next year's catalogue; anything outside is a typo.
const YearSchema = Type.Integer({ minimum: -3000, maximum: new Date().getUTCFullYear() + 1 });

export const BookSchema = Type.Object(
  {
    id: Type.String(),
    title: Type.String(),
    author: Type.String(),
    isbn: Type.Union([Type.String(), Type.Null()]),
    published_year: Type.Union([Type.Integer(), Type.Null()]),
    description: Type.Union([Type.String(), Type.Null()]),
    created_by: Type.Union([Type.String(), Type.Null()], { description: 'creator user id; null once that user is deleted' }),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Book' },
);
export type Book = Static<typeof BookSchema>;

export const BookIdParams = Type.Object({ id: IdParam }, { additionalProperties: false });

export const ListBooksQuery = Type.Object(
  {
    ...PageQuery,
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'title or author contains, case-insensitive' })),
    author: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'exact author' })),
  },
  { additionalProperties: false },
);
export type ListBooksQuery = Static<typeof ListBooksQuery>;

export const BookPage = pageOf(Type.Ref(BookSchema), 'A page of books, oldest first');

export const CreateBookBody = Type.Object(
  {
    title: TitleSchema,
    author: TitleSchema,
    isbn: Type.Optional(Type.Union([IsbnSchema, Type.Null()])),
    published_year: Type.Optional(Type.Union([YearSchema, Type.Null()])),
    description: Type.Optional(Type.Union([DescriptionSchema, Type.Null()])),
  },
  {
    additionalProperties: false,
    examples: [{ title: 'The Pragmatic Programmer', author: 'Andrew Hunt', isbn: '978-0-201-61622-4', published_year: 1999 }],
  },
);
export type CreateBookBody = Static<typeof CreateBookBody>;

export const PatchBookBody = Type.Partial(CreateBookBody, {
  additionalProperties: false,
  minProperties: 1,
  examples: [{ published_year: 2019 }],
});
export type PatchBookBody = Static<typeof PatchBookBody>;
