import { type TSchema, Type } from '@sinclair/typebox';
import { ERROR_CODES, type ErrorCode, type FieldError, PROBLEM_CONTENT_TYPE, type Problem, problemFor } from '../errors.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination.js';

/** RFC 9457 problem details, as every error answer carries them. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.Unsafe<ErrorCode>({ type: 'string', enum: Object.keys(ERROR_CODES), description: 'stable UPPER_SNAKE error code' }),
    errors: Type.Optional(
      Type.Array(Type.Object({ path: Type.String(), message: Type.String() }), { description: 'which inputs failed validation, and why' }),
    ),
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
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE, description: 'page size' })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'next_cursor of the previous page' })),
};

/** `{ items, next_cursor }` for a list of the given item schema. */
export function pageOf<T extends TSchema>(item: T, description: string) {
  return Type.Object(
    {
      items: Type.Array(item),
      next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as `cursor` for the next page; null on the last page' }),
    },
    { description },
  );
}

/** A 201 answer for the OpenAPI document: the created object, its URL in `Location`. */
export function created<T extends TSchema>(schema: T, description: string): T {
  return { ...schema, description, headers: { location: { type: 'string', description: 'URL of the created resource' } } };
}

/** A 204 answer: no body. */
export function noContent(description: string) {
  return Type.Null({ description });
}

/** A documented error answer: a code at its usual status, or with its own status, detail or explanation. */
export type DocumentedProblem = ErrorCode | { code: ErrorCode; status?: number; detail?: string; when?: string; errors?: FieldError[] };

/** The 401 answers of every route behind `app.authenticate`. */
export const TOKEN_PROBLEMS = ['TOKEN_MISSING', 'TOKEN_INVALID', 'TOKEN_EXPIRED'] as const satisfies readonly ErrorCode[];

/** The 403 of every route behind `app.requireRole('admin')`, documented alike everywhere. */
export const NOT_ADMIN = {
  code: 'FORBIDDEN',
  detail: 'This action needs the admin role.',
  when: 'not an admin',
} as const satisfies DocumentedProblem;

/** What the JSON body parser and a body schema can refuse. */
export const BODY_PROBLEMS = [
  'VALIDATION_FAILED',
  'MALFORMED_JSON',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
] as const satisfies readonly ErrorCode[];

// When each code is answered, and a representative body; the wording follows the contract.
const PROBLEM_EXAMPLES: Record<ErrorCode, { when: string; detail: string; errors?: FieldError[] }> = {
  VALIDATION_FAILED: {
    when: 'the body, query or path fails its schema or a rule (unknown fields are refused, never stripped)',
    detail: 'The request body is invalid.',
    errors: [{ path: '/nickname', message: 'must NOT have additional properties' }],
  },
  MALFORMED_JSON: { when: 'the body is not valid JSON', detail: 'The request body is not valid JSON.' },
  TOKEN_MISSING: {
    when: 'no `Authorization: Bearer` token',
    detail: 'This route needs an Authorization: Bearer <access_token> header.',
  },
  REAUTHENTICATION_REQUIRED: {
    when: 'a sensitive change, and the sign-in behind the token is older than REAUTH_MAX_AGE',
    detail: 'This change needs a recent sign-in: confirm your password with POST /auth/reauthenticate, then retry.',
  },
  MFA_CODE_INVALID: {
    when: 'a wrong, reused or expired one-time code (401 at sign-in, 400 when confirming an enrolment)',
    detail: 'The code is wrong or was already used.',
  },
  MFA_ALREADY_ENABLED: { when: 'TOTP is already on', detail: 'Two-factor sign-in with an authenticator app is already on.' },
  MFA_UNAVAILABLE: {
    when: 'the server has no KEY_ENCRYPTION_SECRET to keep TOTP seeds encrypted (production only)',
    detail: 'Two-factor sign-in with an authenticator app is not available on this server: its operator must set KEY_ENCRYPTION_SECRET.',
  },
  KEY_ROTATION_UNAVAILABLE: {
    when: 'the signing key is fixed by configuration: HS256 (JWT_SECRET) or JWT_PRIVATE_KEY(_FILE)',
    detail: 'HS256 signs with JWT_SECRET; to rotate, use EdDSA/ES256/RS256 with the database key store.',
  },
  TOKEN_INVALID: {
    when: 'bad format, signature, algorithm or claims; revoked session; deleted or disabled user',
    detail: 'The access token is no longer valid.',
  },
  TOKEN_EXPIRED: { when: '`exp` has passed: refresh the tokens', detail: 'The access token has expired; refresh it.' },
  INVALID_CREDENTIALS: {
    when: 'unknown email, wrong password or disabled account (one answer for all)',
    detail: 'The email or password is incorrect.',
  },
  INVALID_CLIENT: {
    when: 'introspection without the HTTP Basic credentials of a client listed in INTROSPECTION_CLIENTS',
    detail: 'Introspection needs the HTTP Basic credentials of a registered client.',
  },
  FORBIDDEN: { when: 'signed in but not allowed (role or ownership)', detail: 'You are not allowed to do this.' },
  EMAIL_NOT_VERIFIED: {
    when: 'REQUIRE_VERIFIED_EMAIL is on and the right password was given for an unverified email (a new link is mailed)',
    detail: 'Verify your email address first; a new verification link has been sent.',
  },
  NOT_FOUND: { when: 'no such resource (or a private one of someone else)', detail: 'The resource does not exist.' },
  METHOD_NOT_ALLOWED: { when: 'the path exists with other methods (see `Allow`)', detail: 'DELETE is not allowed on this resource.' },
  EMAIL_TAKEN: { when: 'the email is already registered', detail: 'That email address is already registered.' },
  ISBN_TAKEN: { when: 'a book with that ISBN exists', detail: 'A book with that ISBN is already in the catalogue.' },
  LAST_ADMIN: {
    when: 'the service would be left without an active admin',
    detail: 'This would leave the service without an active admin.',
  },
  PAYLOAD_TOO_LARGE: {
    when: 'the body is over the size limit (64 KiB by default)',
    detail: 'The request body is larger than the server accepts.',
  },
  UNSUPPORTED_MEDIA_TYPE: { when: 'a body without `Content-Type: application/json`', detail: 'Send the request body as application/json.' },
  RATE_LIMITED: {
    when: 'too many failed attempts; `Retry-After` says when to retry',
    detail: 'Too many failed attempts; try again later.',
  },
  INTERNAL: { when: 'anything unexpected (logged with the request id)', detail: 'An unexpected error occurred; it has been logged.' },
  UNAVAILABLE: { when: 'the database is not answering', detail: 'The service is temporarily unavailable; try again shortly.' },
};

// Headers some statuses always carry (RFC 6750 challenge, retry hint).
const PROBLEM_HEADERS: Record<number, Record<string, { type: 'string'; description: string }>> = {
  401: {
    'www-authenticate': { type: 'string', description: 'Bearer realm="gatehouse" (with error="invalid_token" when a token was sent)' },
  },
  429: { 'retry-after': { type: 'string', description: 'seconds until the window ends' } },
};

const ProblemRef = Type.Ref(ProblemSchema);

/** A list's 400: the query string failed its schema (or the cursor is not one of ours). */
export const QUERY_PROBLEM = {
  code: 'VALIDATION_FAILED',
  when: 'bad `limit` (1..100), `cursor` or filter',
  detail: 'The request querystring is invalid.',
  errors: [{ path: '/query/limit', message: 'must be <= 100' }],
} as const satisfies DocumentedProblem;

interface ProblemExample {
  summary: string;
  value: Problem;
}

/** One documented error status: the Problem schema as problem+json, with an example per code. */
export interface ProblemResponse {
  description: string;
  headers?: Record<string, { type: 'string'; description: string }>;
  content: { [PROBLEM_CONTENT_TYPE]: { schema: typeof ProblemRef; examples: Record<string, ProblemExample> } };
}

/**
 * Error responses for a route's OpenAPI document, grouped by status, all problem+json: each
 * status lists its codes in its description and carries one example body per code. A later
 * entry for the same code and status refines an earlier one (a shared group, then a route's wording).
 */
export function problems(...documented: DocumentedProblem[]): Record<number, ProblemResponse> {
  const byStatus = new Map<number, Map<ErrorCode, { when: string; value: Problem }>>();
  for (const entry of documented) {
    const { code, status, detail, when, errors } = typeof entry === 'string' ? { code: entry } : entry;
    const example = PROBLEM_EXAMPLES[code];
    const value = problemFor(code, detail ?? example.detail, status ?? ERROR_CODES[code].status, errors ?? example.errors);
    const codes = byStatus.get(value.status) ?? new Map();
    codes.set(code, { when: when ?? example.when, value });
    byStatus.set(value.status, codes);
  }
  const responses: Record<number, ProblemResponse> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const entries = [...codes].map(([code, entry]) => ({ code, ...entry }));
    const response: ProblemResponse = {
      description: `Problem details (\`${PROBLEM_CONTENT_TYPE}\`), \`code\`:\n${entries.map((e) => `- \`${e.code}\`: ${e.when}`).join('\n')}`,
      content: {
        [PROBLEM_CONTENT_TYPE]: {
          schema: ProblemRef,
          examples: Object.fromEntries(entries.map((e) => [e.code, { summary: e.when.replaceAll('`', ''), value: e.value }])),
        },
      },
    };
    const headers = PROBLEM_HEADERS[status];
    if (headers) response.headers = headers;
    responses[status] = response;
  }
  return responses;
}
