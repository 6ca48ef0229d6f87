import { createRequire } from 'node:module';
import SQLite from 'better-sqlite3';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, expectProblem, logIn, type SignedIn, signUp, TEST_DB, type TestContext } from '../../helpers/app.js';
import { decodeToken, forgeToken } from '../../helpers/tokens.js';

// GET /books/{id} reads the session check and the book in one statement (ReadWithSession in
// src/plugins/auth.ts): one round trip on PostgreSQL. Here: that it is one, and that every check
// of `authenticate` still holds on this path, before anything about the book is known.

let ctx: TestContext;
let reader: SignedIn;
let bookId: string;
const MISSING = '01900000-0000-7000-8000-000000000000';

beforeAll(async () => {
  ctx = await createTestApp();
  reader = await signUp(ctx.app);
  const created = await ctx.app.inject({
    method: 'POST',
    url: '/books',
    headers: reader.headers,
    payload: { title: 'Read me', author: 'A' },
  });
  bookId = created.json().id;
});
afterAll(async () => ctx.close());
afterEach(() => {
  vi.restoreAllMocks();
});

const read = (authorization: string, id = bookId) => ctx.app.inject({ url: `/books/${id}`, headers: { authorization } });

/**
 * The statements the app's database driver runs while `fn` does: every query sent through a
 * pg Client (Kysely's pool and any direct use alike), or every read run on a better-sqlite3
 * statement (BEGIN and COMMIT of the shared read transaction are writes of no row and not
 * counted). The test's own connection is idle meanwhile.
 */
async function statementsDuring(fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  if (TEST_DB === 'postgres') {
    // The same module instance the app loads (src/lib/optional-dependency.ts requires it).
    const { Client } = createRequire(import.meta.url)('pg') as typeof pg;
    const query = Client.prototype.query;
    vi.spyOn(Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
      const config = args[0] as string | { text: string };
      seen.push(typeof config === 'string' ? config : config.text);
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query);
  } else {
    const probe = new SQLite(':memory:');
    const Statement = Object.getPrototypeOf(probe.prepare('select 1')) as SQLite.Statement;
    probe.close();
    for (const method of ['get', 'all', 'iterate'] as const) {
      const original = Statement[method];
      vi.spyOn(Statement, method).mockImplementation(function (this: SQLite.Statement, ...args: unknown[]) {
        seen.push(this.source);
        return (original as (...a: unknown[]) => unknown).apply(this, args);
      } as typeof original);
    }
  }
  await fn();
  return seen;
}

describe('GET /books/{id}: one statement for the session check and the book', () => {
  it('an authenticated read of a book runs exactly one statement, on both databases', async () => {
    // Warm: nothing prepared on the first request is counted against the steady state.
    expect((await read(reader.headers.authorization)).statusCode).toBe(200);
    let res: Awaited<ReturnType<typeof read>> | undefined;
    const statements = await statementsDuring(async () => {
      res = await read(reader.headers.authorization);
    });
    expect(res?.statusCode).toBe(200);
    expect(res?.json()).toMatchObject({ id: bookId, title: 'Read me' });
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/sessions/);
    expect(statements[0]).toMatch(/books/);
  });

  it('a missing book is one statement too, and 404', async () => {
    let status = 0;
    const statements = await statementsDuring(async () => {
      status = (await read(reader.headers.authorization, MISSING)).statusCode;
    });
    expect(status).toBe(404);
    expect(statements).toHaveLength(1);
  });

  it('a token refused on its signature costs no statement', async () => {
    const [h, p] = reader.accessToken.split('.');
    let res: Awaited<ReturnType<typeof read>> | undefined;
    const statements = await statementsDuring(async () => {
      res = await read(`Bearer ${h}.${p}.${'A'.repeat(43)}`);
    });
    expectProblem(res as NonNullable<typeof res>, 401, 'TOKEN_INVALID');
    expect(statements).toEqual([]);
  });

  it('an id that validation refuses (a NUL) is not sent to the database: the session is checked alone, then 400', async () => {
    let status = 0;
    const statements = await statementsDuring(async () => {
      status = (await read(reader.headers.authorization, `${bookId}%00`)).statusCode;
    });
    expect(status).toBe(400);
    expect(statements).toHaveLength(1);
    expect(statements[0]).not.toMatch(/books/);
    // Without a token it is 401, as on every route: authentication comes before validation.
    expectProblem(await ctx.app.inject({ url: `/books/${bookId}%00` }), 401, 'TOKEN_MISSING');
  });
});

describe('GET /books/{id}: every session check holds, and comes before the book (401, never 404)', () => {
  /** A fresh signed-in user whose book read works (control), for one check to break. */
  async function freshReader(): Promise<SignedIn> {
    const user = await signUp(ctx.app);
    expect((await read(user.headers.authorization)).statusCode).toBe(200);
    return user;
  }
  /** The read of the existing book and of a missing one are both 401 TOKEN_INVALID. */
  async function expectRefused(authorization: string) {
    for (const id of [bookId, MISSING]) {
      const res = await read(authorization, id);
      expectProblem(res, 401, 'TOKEN_INVALID');
      expect(res.headers['www-authenticate']).toBe('Bearer realm="gatehouse", error="invalid_token"');
    }
  }
  const sid = (user: SignedIn) => decodeToken(user.accessToken).payload.sid as string;

  it('a session ended by logout', async () => {
    const user = await freshReader();
    expect((await ctx.app.inject({ method: 'POST', url: '/auth/logout', headers: user.headers })).statusCode).toBe(204);
    await expectRefused(user.headers.authorization);
  });

  it('a session ended from another device (DELETE /auth/sessions/{id})', async () => {
    const user = await freshReader();
    const other = await logIn(ctx.app, user.email, user.password);
    const ended = await ctx.app.inject({ method: 'DELETE', url: `/auth/sessions/${sid(user)}`, headers: other.headers });
    expect(ended.statusCode).toBe(204);
    await expectRefused(user.headers.authorization);
    expect((await read(other.headers.authorization)).statusCode).toBe(200);
  });

  it('an expired session (its access token still within its own lifetime)', async () => {
    const user = await freshReader();
    await ctx.db
      .updateTable('sessions')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', sid(user))
      .execute();
    await expectRefused(user.headers.authorization);
  });

  it("a changed credential version (a password change or reset elsewhere bumps the user's)", async () => {
    const user = await freshReader();
    await ctx.db
      .updateTable('users')
      .set((eb) => ({ credential_version: eb('credential_version', '+', 1) }))
      .where('id', '=', user.id)
      .execute();
    await expectRefused(user.headers.authorization);
  });

  it('a password change through the API ends the other sessions', async () => {
    const user = await freshReader();
    const owner = await logIn(ctx.app, user.email, user.password);
    const changed = await ctx.app.inject({
      method: 'PUT',
      url: '/auth/password',
      headers: owner.headers,
      payload: { current_password: user.password, new_password: 'a brand new passphrase 2026' },
    });
    expect(changed.statusCode).toBe(204);
    await expectRefused(user.headers.authorization);
  });

  it('a disabled user, on the very next request', async () => {
    const user = await freshReader();
    await ctx.db.updateTable('users').set({ disabled: 1 }).where('id', '=', user.id).execute();
    await expectRefused(user.headers.authorization);
  });

  it('a deleted user', async () => {
    const user = await freshReader();
    await ctx.db.deleteFrom('users').where('id', '=', user.id).execute();
    await expectRefused(user.headers.authorization);
  });

  it("a valid signature over our claims with another user's sid (sid and sub must match)", async () => {
    const victim = await freshReader();
    const { header, payload } = decodeToken(reader.accessToken);
    const now = Math.floor(Date.now() / 1000);
    const forged = forgeToken(header, { ...payload, sid: sid(victim), iat: now, exp: now + 600 }, ctx.config.jwt.secret);
    await expectRefused(`Bearer ${forged}`);
  });

  it('an unknown sid, signed with our key', async () => {
    const { header, payload } = decodeToken(reader.accessToken);
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(`Bearer ${forgeToken(header, { ...payload, sid: MISSING, iat: now, exp: now + 600 }, ctx.config.jwt.secret)}`);
  });

  it('a tampered signature or an expired token: refused before any read (401, not 404)', async () => {
    const [h, p, s] = reader.accessToken.split('.') as [string, string, string];
    const flipped = `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BA' : 'AA'}`;
    await expectRefused(`Bearer ${flipped}`);
    const { header, payload } = decodeToken(reader.accessToken);
    const now = Math.floor(Date.now() / 1000);
    const expired = forgeToken(header, { ...payload, iat: now - 1000, exp: now - 100 }, ctx.config.jwt.secret);
    for (const id of [bookId, MISSING]) expectProblem(await read(`Bearer ${expired}`, id), 401, 'TOKEN_EXPIRED');
  });
});
