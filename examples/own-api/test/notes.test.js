import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildNotesApp } from '../src/app.js';

// Through HTTP (Fastify's inject), as a client would: sign up and sign in with Gatehouse's own
// routes, then use the notes routes with the access token.

const PASSWORD = 'correct horse battery staple';
const dir = mkdtempSync(join(tmpdir(), 'own-api-test-'));
/** @type {import('fastify').FastifyInstance} */
let app;

before(async () => {
  app = await buildNotesApp(
    {
      NODE_ENV: 'test',
      JWT_SECRET: randomBytes(48).toString('base64url'),
      // GATEHOUSE_EXAMPLE_DATABASE_URL runs the same tests on PostgreSQL (an empty database).
      DATABASE_URL: process.env.GATEHOUSE_EXAMPLE_DATABASE_URL ?? `sqlite:${join(dir, 'notes.db')}`,
      MAIL_OUTBOX_DIR: join(dir, 'outbox'),
    },
    { logger: false },
  );
});
after(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
/** A new account, signed in: its id and Authorization header. */
async function signUp() {
  counter += 1;
  const email = `user-${counter}-${randomBytes(3).toString('hex')}@example.com`;
  const registered = await app.inject({ method: 'POST', url: '/auth/register', payload: { email, password: PASSWORD } });
  assert.equal(registered.statusCode, 201, registered.body);
  const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } });
  assert.equal(login.statusCode, 200, login.body);
  const body = login.json();
  return { id: body.user.id, headers: { authorization: `Bearer ${body.access_token}` } };
}

/** @param {{ headers: Record<string, string> }} user @param {{ title: string; body?: string }} note */
async function write(user, note) {
  const res = await app.inject({ method: 'POST', url: '/notes', headers: user.headers, payload: note });
  assert.equal(res.statusCode, 201, res.body);
  return res;
}

describe('notes', () => {
  it('creates a note: 201, Location, the note without its owner', async () => {
    const ada = await signUp();
    const res = await write(ada, { title: 'Groceries', body: 'oat milk' });
    const note = res.json();
    assert.equal(res.headers.location, `/notes/${note.id}`);
    assert.deepEqual(Object.keys(note).sort(), ['body', 'created_at', 'id', 'title']);
    assert.equal(note.title, 'Groceries');
  });

  it("lists only one's own notes, newest first", async () => {
    const ada = await signUp();
    const bob = await signUp();
    await write(ada, { title: 'first' });
    await write(ada, { title: 'second' });
    await write(bob, { title: "bob's" });
    const res = await app.inject({ url: '/notes', headers: ada.headers });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(
      res.json().items.map((/** @type {{ title: string }} */ n) => n.title),
      ['second', 'first'],
    );
  });

  it("reads one's own note; someone else's is a 404, like a missing one", async () => {
    const ada = await signUp();
    const bob = await signUp();
    const note = (await write(ada, { title: 'private' })).json();
    const own = await app.inject({ url: `/notes/${note.id}`, headers: ada.headers });
    assert.equal(own.statusCode, 200);
    assert.deepEqual(own.json(), note);
    const other = await app.inject({ url: `/notes/${note.id}`, headers: bob.headers });
    const missing = await app.inject({ url: '/notes/no-such-note', headers: bob.headers });
    assert.equal(other.statusCode, 404);
    assert.match(String(other.headers['content-type']), /^application\/problem\+json/);
    assert.deepEqual(other.json(), missing.json());
  });

  it("deletes one's own note (204, then 404); never someone else's", async () => {
    const ada = await signUp();
    const bob = await signUp();
    const note = (await write(ada, { title: 'short-lived' })).json();
    const byBob = await app.inject({ method: 'DELETE', url: `/notes/${note.id}`, headers: bob.headers });
    assert.equal(byBob.statusCode, 404);
    const byAda = await app.inject({ method: 'DELETE', url: `/notes/${note.id}`, headers: ada.headers });
    assert.equal(byAda.statusCode, 204);
    assert.equal(byAda.body, '');
    assert.equal((await app.inject({ url: `/notes/${note.id}`, headers: ada.headers })).statusCode, 404);
  });

  it('refuses unknown fields and an empty title: 400 VALIDATION_FAILED', async () => {
    const ada = await signUp();
    for (const payload of [{ title: 'x', owner_id: 'someone' }, { title: '' }]) {
      const res = await app.inject({ method: 'POST', url: '/notes', headers: ada.headers, payload });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().code, 'VALIDATION_FAILED');
    }
  });

  it('needs a token: 401 TOKEN_MISSING, and a logged-out token is refused at once', async () => {
    const none = await app.inject({ url: '/notes' });
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().code, 'TOKEN_MISSING');
    const ada = await signUp();
    assert.equal((await app.inject({ method: 'POST', url: '/auth/logout', headers: ada.headers })).statusCode, 204);
    const after = await app.inject({ url: '/notes', headers: ada.headers });
    assert.equal(after.statusCode, 401);
    assert.equal(after.json().code, 'TOKEN_INVALID');
  });
});

describe('admin summary', () => {
  it('is 403 for a user and answers an admin', async () => {
    const ada = await signUp();
    await write(ada, { title: 'counted' });
    const refused = await app.inject({ url: '/admin/notes/summary', headers: ada.headers });
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.json().code, 'FORBIDDEN');

    const admin = await signUp();
    // As `gatehouse user create --admin` would; the role is read from the database on each request.
    await app.gatehouse.db.updateTable('users').set({ role: 'admin' }).where('id', '=', admin.id).execute();
    const res = await app.inject({ url: '/admin/notes/summary', headers: admin.headers });
    assert.equal(res.statusCode, 200);
    const { notes, owners } = res.json();
    assert.ok(notes >= 1 && owners >= 1 && owners <= notes);
  });
});

describe('built on Gatehouse', () => {
  it('leaves Gatehouse books and bucketlists off', async () => {
    const ada = await signUp();
    assert.equal((await app.inject({ url: '/books', headers: ada.headers })).statusCode, 404);
  });

  it('applied its own migration after Gatehouse ones, in its own table', async () => {
    const rows = await app.gatehouse.db
      .withTables()
      .selectFrom(/** @type {any} */ ('app_migration'))
      .select(/** @type {any} */ ('name'))
      .execute();
    assert.deepEqual(
      rows.map((/** @type {any} */ r) => r.name),
      ['2026-12-01-0001-notes'],
    );
  });

  it('deleting an account deletes its notes (the foreign key to Gatehouse users)', async () => {
    const ada = await signUp();
    await write(ada, { title: 'goes with the account' });
    const deleted = await app.inject({ method: 'DELETE', url: `/users/${ada.id}`, headers: ada.headers });
    assert.equal(deleted.statusCode, 204, deleted.body);
    const left = await app.gatehouse.db
      .withTables()
      .selectFrom(/** @type {any} */ ('notes'))
      .select(/** @type {any} */ ('id'))
      .where(/** @type {any} */ ('owner_id'), '=', ada.id)
      .execute();
    assert.equal(left.length, 0);
  });
});
