import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { buildApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { DB } from '../../src/db/database.js';
import { createPostgresDatabase } from './postgres.js';
import { decodeToken } from './tokens.js';

export const STRONG_PASSWORD = 'correct horse battery staple';

export interface TestContext {
  app: FastifyInstance;
  config: Config;
  /** A second connection to the same SQLite file, to assert database state. */
  db: Kysely<DB>;
  close(): Promise<void>;
}

/** Which database this run's route tests use: the vitest project sets it (sqlite | postgres). */
export const TEST_DB = process.env.GATEHOUSE_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';

/**
 * A real app on a fresh database (a SQLite file in a temp folder, or a new PostgreSQL
 * database), configured through loadConfig() like production.
 */
export async function createTestApp(env: Record<string, string> = {}): Promise<TestContext> {
  const cleanups: (() => Promise<void> | void)[] = [];
  let databaseUrl: string;
  let db: Kysely<DB>;
  // Local state (the SQLite file, the development mail outbox) lives in a temp folder per app.
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  if (TEST_DB === 'postgres') {
    const database = await createPostgresDatabase();
    cleanups.push(() => database.drop());
    databaseUrl = database.url;
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    // pool.end() resolves before its clients' connections are closed; the DROP DATABASE … (FORCE)
    // that follows can then terminate one (57P01), which without a listener is an uncaught error.
    pool.on('error', () => {});
    db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  } else {
    const dbPath = join(dir, 'test.db');
    databaseUrl = `sqlite:${dbPath}`;
    db = new Kysely<DB>({ dialect: new SqliteDialect({ database: new SQLite(dbPath) }) });
  }
  const config = loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: randomBytes(48).toString('base64url'),
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'silent',
    MAIL_OUTBOX_DIR: join(dir, 'outbox'),
    ...env,
  });
  const app = await buildApp(config, { logger: false });
  await app.ready();
  return {
    app,
    config,
    db,
    async close() {
      await app.close();
      await db.destroy();
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
  };
}

let counter = 0;
/** A unique email per call, so tests in one file never collide. */
export function uniqueEmail(prefix = 'user'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${randomBytes(3).toString('hex')}@example.com`;
}

export interface SignedIn {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  headers: { authorization: string };
}

/** Registers and logs in through the real routes. */
export async function signUp(
  app: FastifyInstance,
  options: { email?: string; password?: string; name?: string; ip?: string } = {},
): Promise<SignedIn> {
  const email = options.email ?? uniqueEmail();
  const password = options.password ?? STRONG_PASSWORD;
  // Each sign-up from its own address: sign-ups are limited per client IP (REGISTER_MAX_PER_IP),
  // and a test making many accounts is not one client making many.
  const reg = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email, password, name: options.name ?? 'Test User' },
    remoteAddress: testClientIp(),
  });
  if (reg.statusCode !== 201) throw new Error(`register failed: ${reg.statusCode} ${reg.body}`);
  return logIn(app, email, password, options.ip);
}

/** A random address in 198.18.0.0/15 (set aside for benchmarks and tests, RFC 2544). */
export function testClientIp(): string {
  const b = randomBytes(3);
  return `198.${18 + ((b[0] as number) & 1)}.${b[1]}.${b[2]}`;
}

/** Logs in through POST /auth/login. */
export async function logIn(app: FastifyInstance, email: string, password: string, ip?: string): Promise<SignedIn> {
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password }, ...(ip && { remoteAddress: ip }) });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  const body = res.json();
  return {
    id: body.user.id,
    email,
    password,
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    headers: { authorization: `Bearer ${body.access_token}` },
  };
}

/** Signs up a user and promotes them in the database (as the CLI would for the first admin). */
export async function signUpAdmin(ctx: TestContext): Promise<SignedIn> {
  const user = await signUp(ctx.app, { email: uniqueEmail('admin') });
  await ctx.db.updateTable('users').set({ role: 'admin' }).where('id', '=', user.id).execute();
  return user;
}

/** Asserts a problem+json answer with the given status and code, and returns its body. */
export function expectProblem(res: LightMyRequestResponse, status: number, code: string) {
  const body = res.json();
  if (res.statusCode !== status || body.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${res.statusCode} ${res.body}`);
  }
  if (!String(res.headers['content-type']).startsWith('application/problem+json')) {
    throw new Error(`expected problem+json, got ${res.headers['content-type']}`);
  }
  for (const key of ['type', 'title', 'status', 'detail', 'code']) {
    if (!(key in body)) throw new Error(`problem body lacks ${key}: ${res.body}`);
  }
  return body as {
    type: string;
    title: string;
    status: number;
    detail: string;
    code: string;
    errors?: { path: string; message: string }[];
  };
}

/** The session row behind an access token (its `sid` claim), read through the test connection. */
export async function sessionOf(ctx: TestContext, accessToken: string) {
  const sid = decodeToken(accessToken).payload.sid as string;
  return ctx.db.selectFrom('sessions').selectAll().where('id', '=', sid).executeTakeFirstOrThrow();
}
