import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouse, gatehouseServerOptions, loadConfig } from '../../src/index.js';
import { findBookWithSessionCheck } from '../../src/modules/books/books.repository.js';
import { ReadWithSession } from '../../src/plugins/auth.js';
import { expectProblem, type SignedIn, signUp, TEST_DB } from '../helpers/app.js';
import { createPostgresDatabase } from '../helpers/postgres.js';
import { decodeToken, forgeToken } from '../helpers/tokens.js';

// ReadWithSession (src/plugins/auth.ts) on routes of an app's own: `request.user` comes from the
// same decision as on every other route (its role from the database on each request, never
// from the token), and a read that declines its params leaves the session check to run alone.

let app: FastifyInstance;
let dir: string;
let drop: (() => Promise<void>) | undefined;
let secret: string;
let user: SignedIn;
let bookId: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-read-with-session-'));
  let databaseUrl = `sqlite:${join(dir, 'own.db')}`;
  if (TEST_DB === 'postgres') {
    const database = await createPostgresDatabase();
    databaseUrl = database.url;
    drop = database.drop;
  }
  secret = randomBytes(48).toString('base64url');
  const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: secret, DATABASE_URL: databaseUrl, MAIL_OUTBOX_DIR: join(dir, 'outbox') });
  app = Fastify(gatehouseServerOptions(config, false));
  await app.register(gatehouse, { config, modules: { books: true } });
  app.register(async (scope) => {
    scope.addHook('onRequest', scope.authenticate);
    const db = scope.gatehouse.db;
    const withBook = new ReadWithSession((request) => {
      const { id } = request.params as { id: string };
      // Declines ids starting with "skip": the session is then checked alone.
      if (id.startsWith('skip')) return undefined;
      return async (sessionId) => {
        const found = await findBookWithSessionCheck(db, sessionId, id);
        return found && { session: found.session, row: found.book };
      };
    });
    scope.get('/whoami/:id', { config: { readWithSession: withBook } }, async (request) => {
      const read = withBook.rowOf(request);
      return { id: request.user.id, role: request.user.role, read: read !== undefined, title: read?.row?.title ?? null };
    });
  });
  await app.ready();
  user = await signUp(app);
  const created = await app.inject({ method: 'POST', url: '/books', headers: user.headers, payload: { title: 'Mine', author: 'Me' } });
  bookId = created.json().id;
});
afterAll(async () => {
  await app?.close();
  await drop?.();
  rmSync(dir, { recursive: true, force: true });
});

const whoami = (authorization: string, id = bookId) => app.inject({ url: `/whoami/${id}`, headers: { authorization } });
const setRole = (role: 'user' | 'admin') => app.gatehouse.db.updateTable('users').set({ role }).where('id', '=', user.id).execute();

describe('ReadWithSession on a route of the app', () => {
  it('gives the handler the row and the caller', async () => {
    const res = await whoami(user.headers.authorization);
    expect(res.json()).toEqual({ id: user.id, role: 'user', read: true, title: 'Mine' });
    const missing = await whoami(user.headers.authorization, '01900000-0000-7000-8000-000000000000');
    expect(missing.json()).toEqual({ id: user.id, role: 'user', read: true, title: null });
  });

  it('takes the role from the database on every request: a promotion and a demotion apply at once', async () => {
    await setRole('admin');
    expect((await whoami(user.headers.authorization)).json()).toMatchObject({ role: 'admin' });
    await setRole('user');
    expect((await whoami(user.headers.authorization)).json()).toMatchObject({ role: 'user' });
  });

  it('ignores a role claim in the token, even one signed with our key', async () => {
    const { header, payload } = decodeToken(user.accessToken);
    const now = Math.floor(Date.now() / 1000);
    const forged = forgeToken(header, { ...payload, role: 'admin', roles: ['admin'], iat: now, exp: now + 600 }, secret);
    expect((await whoami(`Bearer ${forged}`)).json()).toMatchObject({ id: user.id, role: 'user' });
  });

  it('a read that declines its params: the session is checked alone, and no row is kept', async () => {
    expect((await whoami(user.headers.authorization, 'skip-me')).json()).toEqual({ id: user.id, role: 'user', read: false, title: null });
    const other = await signUp(app);
    await app.gatehouse.db.updateTable('users').set({ disabled: 1 }).where('id', '=', other.id).execute();
    for (const id of ['skip-me', bookId]) expectProblem(await whoami(other.headers.authorization, id), 401, 'TOKEN_INVALID');
  });
});
