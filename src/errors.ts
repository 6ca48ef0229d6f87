/** Every error code the API can answer with, its HTTP status and its problem title. */
export const ERROR_CODES = {
  VALIDATION_FAILED: { status: 400, title: 'Validation failed' },
  MALFORMED_JSON: { status: 400, title: 'Malformed JSON' },
  TOKEN_MISSING: { status: 401, title: 'Token missing' },
  TOKEN_INVALID: { status: 401, title: 'Token invalid' },
  TOKEN_EXPIRED: { status: 401, title: 'Token expired' },
  INVALID_CREDENTIALS: { status: 401, title: 'Invalid credentials' },
  INVALID_CLIENT: { status: 401, title: 'Invalid client' },
  REAUTHENTICATION_REQUIRED: { status: 401, title: 'Reauthentication required' },
  MFA_CODE_INVALID: { status: 401, title: 'Invalid one-time code' },
  MFA_ALREADY_ENABLED: { status: 409, title: 'Two-factor already enabled' },
  MFA_UNAVAILABLE: { status: 409, title: 'Two-factor unavailable' },
  KEY_ROTATION_UNAVAILABLE: { status: 409, title: 'Key rotation unavailable' },
  FORBIDDEN: { status: 403, title: 'Forbidden' },
  EMAIL_NOT_VERIFIED: { status: 403, title: 'Email not verified' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  EMAIL_TAKEN: { status: 409, title: 'Email taken' },
  ISBN_TAKEN: { status: 409, title: 'ISBN taken' },
  LAST_ADMIN: { status: 409, title: 'Last admin' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  INTERNAL: { status: 500, title: 'Internal server error' },
  UNAVAILABLE: { status: 503, title: 'Service unavailable' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface FieldError {
  path: string;
  message: string;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The RFC 9457 body every error answer carries. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  errors?: FieldError[];
}

/** Builds the problem+json body for an error code; `type` is a stable URN per code. */
export function problemFor(code: ErrorCode, detail: string, status: number = ERROR_CODES[code].status, errors?: FieldError[]): Problem {
  const problem: Problem = {
    type: `urn:gatehouse:problem:${code.toLowerCase().replaceAll('_', '-')}`,
    title: ERROR_CODES[code].title,
    status,
    detail,
    code,
  };
  if (errors) problem.errors = errors;
  return problem;
}

/** An error the API answers with on purpose: a stable code, its status and a safe detail. */
export class AppError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    options: { status?: number; errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = 'AppError';
    this.status = options.status ?? ERROR_CODES[code].status;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }

  readonly errors: FieldError[] | undefined;
}

export const notFound = (detail = 'The resource does not exist.') => new AppError('NOT_FOUND', detail);
export const forbidden = (detail = 'You are not allowed to do this.') => new AppError('FORBIDDEN', detail);
export const validationFailed = (detail: string, errors: FieldError[] = []) => new AppError('VALIDATION_FAILED', detail, { errors });

/** A unique constraint failed; repositories raise it so services never see driver errors. */
export class UniqueViolation extends Error {
  constructor(readonly constraint: string) {
    super(`unique constraint violated: ${constraint}`);
    this.name = 'UniqueViolation';
  }
}
