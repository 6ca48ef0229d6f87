import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startServerProcess } from '../helpers/processes.js';

// `gatehouse backup <file>` copies the live SQLite database while the server keeps serving;
// restoring is: stop the server, copy the backup over the database file, start it again.

const PASSWORD = 'correct horse battery staple';
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function environment() {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-backup-'));
  dirs.push(dir);
  const path = join(dir, 'gatehouse.db');
  return { dir, path, env: { NODE_ENV: 'test', JWT_SECRET: randomBytes(48).toString('base64url'), DATABASE_URL: `sqlite:${path}` } };
}

async function call(base: string, method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token && { authorization: `Bearer ${token}` }), ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> & { items?: { id: string }[] } };
}

async function logIn(base: string, email: string) {
  const res = await call(base, 'POST', '/auth/login', undefined, { email, password: PASSWORD });
  expect(res.status).toBe(200);
  return res.body.access_token as string;
}

describe('gatehouse backup', () => {
  it('backs up a serving database; a restore brings back exactly the backed-up rows', async () => {
    const { dir, path, env } = environment();
    const server = await startServerProcess(env);
    expect((await call(server.base, 'POST', '/auth/register', undefined, { email: 'keeper@example.com', password: PASSWORD })).status).toBe(
      201,
    );
    const token = await logIn(server.base, 'keeper@example.com');
    const before: string[] = [];
    for (const title of ['Dune', 'Emma', 'Ulysses']) {
      const res = await call(server.base, 'POST', '/books', token, { title, author: 'Someone' });
      expect(res.status).toBe(201);
      before.push(res.body.id as string);
    }
    const list = await call(server.base, 'POST', '/bucketlists', token, { name: 'Kept' });
    const item = await call(server.base, 'POST', `/bucketlists/${list.body.id}/items`, token, { title: 'Restore me' });
    expect(item.status).toBe(201);

    // Online: the server is running (and its newest rows are still in the WAL).
    const backupFile = join(dir, 'backup.db');
    const backup = runCli(['backup', backupFile], env);
    expect(backup.stderr).toBe('');
    expect(backup.status).toBe(0);
    expect(backup.stdout).toMatch(/^backup written to .*backup\.db \(\d+ pages, \d+ bytes, integrity ok\)\n$/);
    expect(existsSync(`${backupFile}.partial`)).toBe(false);
    // A single self-contained file: rollback-journal mode, nothing needed beside it.
    const copy = new SQLite(backupFile, { readonly: true });
    expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    expect((copy.prepare('select count(*) as n from books').get() as { n: number }).n).toBe(3);
    copy.close();

    // Written after the backup: must be gone after the restore.
    const after = await call(server.base, 'POST', '/books', token, { title: 'Written later', author: 'Someone' });
    expect(after.status).toBe(201);
    expect(await server.stop()).toBe(0);

    // Restore: stopped server, copy over, start.
    copyFileSync(backupFile, path);
    const restored = await startServerProcess(env);
    try {
      const again = await logIn(restored.base, 'keeper@example.com');
      const books = await call(restored.base, 'GET', '/books?limit=100', again);
      expect(books.body.items?.map((b) => b.id).sort()).toEqual([...before].sort());
      const items = await call(restored.base, 'GET', `/bucketlists/${list.body.id}/items`, again);
      expect(items.body.items?.map((i) => i.id)).toEqual([item.body.id]);
      expect((await call(restored.base, 'GET', `/books/${after.body.id}`, again)).status).toBe(404);
    } finally {
      expect(await restored.stop()).toBe(0);
    }
    // The restored copy is in WAL mode again, as the server runs it.
    const db = new SQLite(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('never overwrites a file, and refuses a missing database or a PostgreSQL URL (pg_dump) with non-zero exits', () => {
    const { dir, env } = environment();
    const missing = runCli(['backup', join(dir, 'b.db')], env);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/no SQLite database at .*gatehouse\.db/);

    expect(runCli(['migrate'], env).status).toBe(0);
    const target = join(dir, 'b.db');
    expect(runCli(['backup', target], env).status).toBe(0);
    const twice = runCli(['backup', target], env);
    expect(twice.status).toBe(1);
    expect(twice.stderr).toMatch(/already exists/);

    // No file at all is wrong usage (exit 2, like an unknown option).
    expect(runCli(['backup'], env).status).toBe(2);
    const postgres = runCli(['backup', join(dir, 'pg.db')], { ...env, DATABASE_URL: 'postgres://gatehouse@127.0.0.1:5432/gatehouse' });
    expect(postgres.status).toBe(1);
    expect(postgres.stderr).toMatch(/pg_dump/);
    expect(existsSync(join(dir, 'pg.db'))).toBe(false);
  });
});
