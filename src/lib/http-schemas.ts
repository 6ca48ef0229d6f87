import { type TSchema, Type } from '@sinclair/typebox';
import { ERROR_CODES } from '../errors.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination.js';

/** RFC 9457 problem details, as every error answer carries them. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.Union(Object.keys(ERROR_CODES).map((c) => Type.Literal(c))),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details (application/problem+json)' },
);

export const Timestamp = Type.String({ format: 'date-time', description: 'RFC 3339, UTC' });

/**
 * An id in a path. Deliberately a loose string: a value that is not a UUID can name no row,
 * so it answers 404 like any other missing id instead of revealing the id format via 400.
 */
export const IdParam = Type.String({ minLength: 1, maxLength: 200, description: 'UUIDv7' });

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'next_cursor of the previous page' })),
};

/** `{ items, next_cursor }` for a list of the given item schema. */
export function pageOf<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), next_cursor: Type.Union([Type.String(), Type.Null()]) });
}

/** Error responses for a route's OpenAPI document, all problem+json. */
export function problems(...statuses: number[]) {
  return Object.fromEntries(statuses.map((s) => [s, Type.Ref(ProblemSchema)]));
}

/** One problem+json error response with a description for the OpenAPI document (which codes, when). */
export function problem(description: string) {
  return Type.Ref(ProblemSchema, { description });
}
