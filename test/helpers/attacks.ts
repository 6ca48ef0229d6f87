import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { type Kysely, sql } from 'kysely';
import { expect } from 'vitest';
import type { DB } from '../../src/db/database.js';
import { expectProblem, type TestContext } from './app.js';

export type DatabaseSnapshot = Record<string, unknown[]>;

/**
 * Every row of every table, in primary-key order. Tables are discovered, not listed, so a table
 * added later cannot silently escape the "nothing changed" assertions.
 */
export async function snapshotDatabase(db: Kysely<DB>): Promise<DatabaseSnapshot> {
  // Kysely's introspection works on SQLite and PostgreSQL alike (migration tables included).
  const tables = (await db.introspection.getTables({ withInternalKyselyTables: true })).map((t) => t.name).sort();
  const snapshot: DatabaseSnapshot = {};
  for (const name of tables) {
    // The security-event log records refusals (login.failed, login.throttled) by design: an
    // audit line, not a change to anything an attack could want.
    if (name === 'security_events') continue;
    snapshot[name] = (await sql`select * from ${sql.table(name)} order by 1`.execute(db)).rows;
  }
  return snapshot;
}

/**
 * Sends one attack and asserts that it was refused with exactly `status` and `code` as
 * problem+json, and that not one row of the database changed.
 */
export async function expectRefused(
  ctx: TestContext,
  request: InjectOptions,
  status: number,
  code: string,
): Promise<{ res: LightMyRequestResponse; body: ReturnType<typeof expectProblem> }> {
  const before = await snapshotDatabase(ctx.db);
  const res = await ctx.app.inject(request);
  const body = expectProblem(res, status, code);
  expect(await snapshotDatabase(ctx.db)).toEqual(before);
  return { res, body };
}

/** The security headers every answer carries (helmet's, or the fixed fallback set). */
export function expectSecurityHeaders(res: LightMyRequestResponse): void {
  const label = `${res.statusCode} ${res.raw.req.method} ${res.raw.req.url}`;
  expect(res.headers['x-content-type-options'], label).toBe('nosniff');
  expect(res.headers['x-frame-options'], label).toBe('SAMEORIGIN');
  expect(String(res.headers['content-security-policy']), label).toContain("default-src 'none'");
  expect(String(res.headers['content-security-policy']), label).toContain("frame-ancestors 'none'");
  expect(res.headers['strict-transport-security'], label).toBe('max-age=31536000; includeSubDomains');
  expect(res.headers['referrer-policy'], label).toBe('no-referrer');
  expect(res.headers['cross-origin-resource-policy'], label).toBe('same-origin');
  expect(res.headers['x-powered-by'], label).toBeUndefined();
  expect(res.headers.server, label).toBeUndefined();
}
