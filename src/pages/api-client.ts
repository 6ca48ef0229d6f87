// The one API client of the pages (/verify-email, /reset-password, /account, /admin): fetch,
// problem+json turned into words, and a signed-in session whose tokens live in this module's
// memory only. Every rule is the API's; this file only carries requests and answers.

/** A problem+json answer (RFC 9457), or one made here for a failure that never reached the API. */
export interface Problem {
  code: string;
  detail: string;
  errors?: { path: string; message: string }[];
}

export type ApiResult<T> =
  | { ok: true; status: number; body: T }
  | { ok: false; status: number; problem: Problem; retryAfter?: string | null };

/** A failed call, whatever it would have answered on success. */
export type ApiFailure = Extract<ApiResult<unknown>, { ok: false }>;

/** The user as the API shows them (`GET /auth/me`, `GET /users/{id}`). */
export interface User {
  id: string;
  email: string;
  name: string | null;
  role: 'user' | 'admin';
  email_verified: boolean;
  mfa_enabled: boolean;
  disabled: boolean;
  created_at: string;
}

/** What sign-in, `POST /auth/mfa/verify`, passkey sign-in, refresh and step-up answer. */
export interface Tokens {
  access_token: string;
  refresh_token: string;
  user?: User;
}

/** `POST /auth/login`: tokens, or the second step when two-factor sign-in is on. */
export type LoginAnswer = Tokens | { mfa_required: true; mfa_token: string };

/** A list answer (`?limit=&cursor=`). */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

function isProblem(value: unknown): value is Problem {
  return typeof value === 'object' && value !== null && typeof (value as Problem).detail === 'string';
}

/**
 * One request. Paths are relative to the page, so they follow it when a proxy serves Gatehouse
 * under a path prefix. Never throws: a network failure is a problem like any other, so every
 * caller has exactly two cases. The access token, when given, goes in the Authorization header
 * only; no cookie is ever sent or set (`credentials: 'omit'`).
 */
export async function callApi<T>(method: string, path: string, body?: unknown, accessToken?: string | null): Promise<ApiResult<T>> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    return {
      ok: false,
      status: 0,
      problem: { code: 'NETWORK', detail: 'Gatehouse could not be reached. Check your connection and try again.' },
    };
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  // The body's shape is the one the API documents for this route (its response schema).
  if (response.ok) return { ok: true, status: response.status, body: parsed as T };
  const problem: Problem = isProblem(parsed)
    ? parsed
    : { code: 'UNEXPECTED', detail: `Gatehouse answered with an unexpected error (HTTP ${response.status}). Try again later.` };
  return { ok: false, status: response.status, problem, retryAfter: response.headers.get('retry-after') };
}

/** What to do next, for the problems a person can act on; the problem's own detail says what happened. */
export const NEXT_STEP: Readonly<Record<string, string>> = {
  TOKEN_INVALID: 'Sign in again.',
  RATE_LIMITED: 'Wait a little before trying again.',
  UNAVAILABLE: 'Try again in a moment.',
  MFA_CODE_INVALID: 'Codes change every 30 seconds and work once: wait for the next one, or use a recovery code.',
  LAST_ADMIN: 'Make another user an admin first, then try again.',
  KEY_ROTATION_UNAVAILABLE: 'Keys can only be rotated by this console when Gatehouse keeps them in its database.',
};

export interface ProblemText {
  summary: string;
  /** One line per invalid field, named by its label. */
  lines: string[];
  /** The JSON pointers of the invalid fields. */
  fields: string[];
}

/**
 * Turns a problem+json answer into what a person reads: the detail, the next step, and for
 * VALIDATION_FAILED one line per field named by its label (`fieldLabels` maps the JSON pointer).
 */
export function describeProblem(
  result: ApiFailure,
  fieldLabels: Readonly<Record<string, string>> = {},
  nextSteps: Readonly<Record<string, string>> = NEXT_STEP,
): ProblemText {
  const { problem } = result;
  const errors = Array.isArray(problem.errors) ? problem.errors : [];
  const lines = errors.map((error) => {
    const label = fieldLabels[error.path];
    return label ? `${label} ${error.message}.` : `${error.path}: ${error.message}.`;
  });
  const parts = [problem.detail];
  const next = nextSteps[problem.code];
  if (problem.code === 'RATE_LIMITED' && /^\d+$/.test(result.retryAfter ?? '')) {
    const minutes = Math.ceil(Number(result.retryAfter) / 60);
    parts.push(`Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`);
  } else if (next) {
    parts.push(next);
  }
  return { summary: parts.join(' '), lines, fields: errors.map((error) => error.path) };
}

/** `{code}` for six digits, else `{recovery_code}`: one field takes either, as the person has it. */
export function secondFactor(value: string): { code: string } | { recovery_code: string } {
  const trimmed = value.trim();
  return /^\d{6}$/.test(trimmed) ? { code: trimmed } : { recovery_code: trimmed };
}

/** The password, and a code or recovery code when two-factor sign-in is on (`POST /auth/reauthenticate`). */
export type Reauthentication = { password: string } & ({ code?: string } | { recovery_code?: string });

export const SESSION_ENDED = 'Your session has ended (signed out here or elsewhere, or the account changed). Sign in again.';

/** A step-up the person cancelled: the change was not made. */
export const STEP_UP_CANCELLED: ApiFailure = {
  ok: false,
  status: 401,
  problem: { code: 'REAUTHENTICATION_CANCELLED', detail: 'Nothing was changed: this change needs your password again.' },
};

const SESSION_OVER = new Set(['TOKEN_INVALID', 'TOKEN_MISSING', 'TOKEN_EXPIRED']);

export interface SessionHooks {
  /** The API no longer takes this session's tokens (signed out elsewhere, disabled, deleted…). */
  onEnded(): void;
  /** Asks the person to confirm it is them (the step-up dialog); true once `session` holds fresh tokens. */
  reauthenticate(session: Session): Promise<boolean>;
}

/**
 * A signed-in person's tokens and the calls made with them. The tokens are in this object only
 * (never localStorage, sessionStorage or a cookie): closing or reloading the tab signs the page
 * out, and no other script can read them.
 */
export class Session {
  #accessToken: string | null = null;
  #refreshToken: string | null = null;
  // Single flights: parallel requests that meet an expired token share one refresh (a second
  // refresh with the same, now used, refresh token would count as reuse and end the session),
  // and parallel step-ups share one dialog.
  #refreshing: Promise<boolean> | null = null;
  #reauthenticating: Promise<boolean> | null = null;
  user: User | null = null;

  constructor(private readonly hooks: SessionHooks) {}

  get signedIn(): boolean {
    return this.#accessToken !== null;
  }

  /** Keeps the tokens of a sign-in, refresh or step-up (and the user, when the answer has it). */
  store(tokens: Tokens): void {
    this.#accessToken = tokens.access_token;
    this.#refreshToken = tokens.refresh_token;
    if (tokens.user) this.user = tokens.user;
  }

  /** Forgets everything; the server's session is untouched (see signOut). */
  forget(): void {
    this.#accessToken = null;
    this.#refreshToken = null;
    this.user = null;
  }

  /**
   * Ends the session on the server (refreshing an expired access token first, so the session
   * does not stay alive behind its refresh token), then forgets it here whatever the answer:
   * signing out never fails.
   */
  async signOut(): Promise<void> {
    if (this.#accessToken) await this.request('POST', 'auth/logout', undefined, { stepUp: false });
    this.forget();
  }

  /**
   * Calls the API as the signed-in person. TOKEN_EXPIRED refreshes the tokens and retries once;
   * REAUTHENTICATION_REQUIRED asks for the password (and a code) through the step-up hook, then
   * retries once, or answers STEP_UP_CANCELLED; a session the API no longer takes ends here too.
   */
  async request<T>(method: string, path: string, body?: unknown, options: { stepUp?: boolean } = {}): Promise<ApiResult<T>> {
    const token = this.#accessToken;
    if (!token) return { ok: false, status: 401, problem: { code: 'TOKEN_MISSING', detail: SESSION_ENDED } };
    let result = await callApi<T>(method, path, body, token);
    const code = !result.ok && result.status === 401 ? result.problem.code : null;
    if (code === 'TOKEN_EXPIRED' && (await this.#refresh(token))) {
      result = await callApi<T>(method, path, body, this.#accessToken);
    } else if (code === 'REAUTHENTICATION_REQUIRED' && options.stepUp !== false) {
      if (!(await this.#stepUp())) return STEP_UP_CANCELLED;
      result = await callApi<T>(method, path, body, this.#accessToken);
    }
    if (!result.ok && result.status === 401 && SESSION_OVER.has(result.problem.code) && this.#accessToken !== null) {
      this.forget();
      this.hooks.onEnded();
    }
    return result;
  }

  /**
   * `POST /auth/reauthenticate` for the step-up dialog: fresh tokens for the same session on
   * success. It refreshes an expired access token first, like any other call, but never asks
   * for a step-up itself.
   */
  async reauthenticate(credentials: Reauthentication): Promise<ApiResult<Tokens>> {
    const result = await this.request<Tokens>('POST', 'auth/reauthenticate', credentials, { stepUp: false });
    if (result.ok) this.store(result.body);
    return result;
  }

  /** Rotates the refresh token once for everyone who saw `expiredToken` expire; true when there are new tokens. */
  #refresh(expiredToken: string): Promise<boolean> {
    if (this.#accessToken !== expiredToken) return Promise.resolve(this.#accessToken !== null);
    this.#refreshing ??= (async () => {
      try {
        const result = await callApi<Tokens>('POST', 'auth/refresh', { refresh_token: this.#refreshToken });
        if (result.ok) this.store(result.body);
        return result.ok;
      } finally {
        this.#refreshing = null;
      }
    })();
    return this.#refreshing;
  }

  /** One step-up dialog at a time; true once the session has fresh tokens. */
  #stepUp(): Promise<boolean> {
    this.#reauthenticating ??= this.hooks.reauthenticate(this).finally(() => {
      this.#reauthenticating = null;
    });
    return this.#reauthenticating;
  }
}
