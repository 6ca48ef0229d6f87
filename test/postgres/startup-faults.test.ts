import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createPostgresDatabase, TEST_POSTGRES_URL } from '../helpers/postgres.js';
import { runServerUntilExit } from '../helpers/processes.js';

// A PostgreSQL database that accepts connections but no writes (a hot standby, or
// default_transaction_read_only) stops the server at start with one clear line, exit 1.

describe('PostgreSQL start-up faults', () => {
  it('a read-only database: one line, exit 1, before any migration is tried', async () => {
    const database = await createPostgresDatabase();
    try {
      const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await admin.connect();
      await admin.query(`alter database ${database.name} set default_transaction_read_only = on`);
      await admin.end();

      const result = await runServerUntilExit({
        NODE_ENV: 'test',
        JWT_SECRET: randomBytes(48).toString('base64url'),
        DATABASE_URL: database.url,
      });
      const lines = result.output.trim().split('\n');
      expect(result.code).toBe(1);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^gatehouse failed to start: PostgreSQL at .* accepts no writes \(a read-only standby\?\) \(25006/);
      expect(result.ms).toBeLessThan(15_000);
    } finally {
      await database.drop();
    }
  });
});

describe('PostgreSQL without pg_trgm', () => {
  it('a role that may not create the extension: one line naming pg_trgm and what to install, exit 1', async () => {
    // Standing in for a server without the contrib modules (their files cannot be removed
    // here): CREATE EXTENSION pg_trgm fails all the same, and start-up must say so plainly.
    const database = await createPostgresDatabase();
    const role = `gatehouse_noext_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL.replace(/\/[^/]*$/, `/${database.name}`) });
    await admin.connect();
    try {
      await admin.query(`create role ${role} login`);
      await admin.query(`revoke create on database ${database.name} from public`);
      await admin.query(`grant create, usage on schema public to ${role}`);
      const url = new URL(database.url);
      url.username = role;
      const result = await runServerUntilExit({
        NODE_ENV: 'test',
        JWT_SECRET: randomBytes(48).toString('base64url'),
        DATABASE_URL: url.toString(),
      });
      const lines = result.output.trim().split('\n');
      expect(result.code).toBe(1);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^gatehouse failed to start: PostgreSQL at .* cannot create the pg_trgm extension the search indexes need \(42501: .*pg_trgm.*\); install the PostgreSQL contrib modules .*CREATE EXTENSION pg_trgm/,
      );
    } finally {
      await admin.end();
      await database.drop();
      const cleanup = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await cleanup.connect();
      await cleanup.query(`drop role if exists ${role}`);
      await cleanup.end();
    }
  });
});
