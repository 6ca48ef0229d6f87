import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { type Generated, type Kysely, type Migration, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouse, gatehouseServerOptions, loadConfig } from '../../src/index.js';
import { expectProblem, type SignedIn, signUp, TEST_DB } from '../helpers/app.js';
import { createPostgresDatabase } from '../helpers/postgres.js';

// Gatehouse as a plugin of someone else's Fastify app: its routes and guards on the app, the
// app's own table migrated after Gatehouse's, and the app's routes using app.gatehouse.db.

// The app's own migrations; the second depends on the first (order matters).
const migrations: Record<string, Migration> = {
  '0001-notes': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('notes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('body', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0002-notes-pinned': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('notes')
        .addColumn('pinned', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
};

interface NotesTable {
  id: string;
  owner_id: string;
  body: string;
  pinned: Generated<number>;
}

let app: FastifyInstance;
let dir: string;
let drop: (() => Promise<void>) | undefined;
let alice: SignedIn;

async function ownApp(databaseUrl: string, extra: Record<string, unknown> = {}): Promise<FastifyInstance> {
  const env = {
    NODE_ENV: 'test',
    JWT_SECRET: randomBytes(48).toString('base64url'),
    DATABASE_URL: databaseUrl,
    MAIL_OUTBOX_DIR: join(dir, 'outbox'),
  };
  const config = loadConfig(env);
  const instance = Fastify(gatehouseServerOptions(config, false));
  // The environment object works as well as a Config.
  await instance.register(gatehouse, { config: env, migrations, ...extra });
  instance.register(async (scope) => {
    scope.addHook('onRequest', scope.authenticate);
    const notes = scope.gatehouse.db.withTables<{ notes: NotesTable }>();
    scope.post('/notes', async (request, reply) => {
      const { body } = request.body as { body: string };
      await notes.insertInto('notes').values({ id: randomUUID(), owner_id: request.user.id, body }).execute();
      return reply.code(201).send({ ok: true });
    });
    scope.get('/notes', async (request) => ({
      items: await notes.selectFrom('notes').select(['body', 'pinned']).where('owner_id', '=', request.user.id).execute(),
    }));
    scope.get('/admin/notes/count', { onRequest: scope.requireRole('admin') }, async () => {
      const row = await notes
        .selectFrom('notes')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return { count: Number(row.n) };
    });
  });
  await instance.ready();
  return instance;
}

let databaseUrl: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-plugin-'));
  if (TEST_DB === 'postgres') {
    const database = await createPostgresDatabase();
    databaseUrl = database.url;
    drop = database.drop;
  } else {
    databaseUrl = `sqlite:${join(dir, 'own.db')}`;
  }
  app = await ownApp(databaseUrl);
  alice = await signUp(app);
});
afterAll(async () => {
  await app?.close();
  await drop?.();
  rmSync(dir, { recursive: true, force: true });
});

describe('the gatehouse plugin in an app of its own', () => {
  it("serves Gatehouse's routes: sign-up, sign-in, /auth/me", async () => {
    const me = await app.inject({ url: '/auth/me', headers: alice.headers });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: alice.id, email: alice.email });
  });

  it("runs the app's migrations after Gatehouse's, in order, in their own table", async () => {
    const db = app.gatehouse.db as unknown as Kysely<Record<string, Record<string, unknown>>>;
    const own = await db.selectFrom('app_migration').select('name').orderBy('name').execute();
    expect(own.map((r) => r.name)).toEqual(['0001-notes', '0002-notes-pinned']);
    const gatehouseOwn = await db.selectFrom('kysely_migration').select('name').execute();
    expect(gatehouseOwn.map((r) => r.name)).not.toContain('0001-notes');
  });

  it('protects the app routes with app.authenticate; request.user is the signed-in user', async () => {
    expectProblem(await app.inject({ url: '/notes' }), 401, 'TOKEN_MISSING');
    const created = await app.inject({ method: 'POST', url: '/notes', headers: alice.headers, payload: { body: 'hello' } });
    expect(created.statusCode).toBe(201);
    const list = await app.inject({ url: '/notes', headers: alice.headers });
    expect(list.json()).toEqual({ items: [{ body: 'hello', pinned: 0 }] });
  });

  it('app.requireRole denies by default and lets an admin through', async () => {
    expectProblem(await app.inject({ url: '/admin/notes/count', headers: alice.headers }), 403, 'FORBIDDEN');
    const bob = await signUp(app);
    await app.gatehouse.db.updateTable('users').set({ role: 'admin' }).where('id', '=', bob.id).execute();
    const res = await app.inject({ url: '/admin/notes/count', headers: bob.headers });
    expect(res.json()).toEqual({ count: 1 });
  });

  it('leaves books and bucketlists off unless asked', async () => {
    expectProblem(await app.inject({ url: '/books', headers: alice.headers }), 404, 'NOT_FOUND');
    expectProblem(await app.inject({ url: '/bucketlists', headers: alice.headers }), 404, 'NOT_FOUND');
    const paths = Object.keys((await app.inject({ url: '/openapi.json' })).json().paths);
    expect(paths).toContain('/notes');
    expect(paths.filter((p) => p.startsWith('/books') || p.startsWith('/bucketlists'))).toEqual([]);
  });

  it('turns them on with modules, and a restart applies no migration twice', async () => {
    await app.close();
    app = await ownApp(databaseUrl, { modules: { books: true } });
    const books = await app.inject({ url: '/books', headers: (await signUp(app)).headers });
    expect(books.statusCode).toBe(200);
    expectProblem(await app.inject({ url: '/bucketlists', headers: alice.headers }), 404, 'NOT_FOUND');
    const count = await sql<{ n: number }>`select count(*) as n from app_migration`.execute(app.gatehouse.db);
    expect(Number(count.rows[0]?.n)).toBe(2);
  });
});
