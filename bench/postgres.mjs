// The PostgreSQL side of the benchmarks (`--postgres URL`): a fresh database on that server for
// one run, migrated and seeded through SQL, and dropped after, also when the run fails.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createPostgresDatabase } from '../scripts/lib/harness.mjs';

const DIST = join(import.meta.dirname, '..', 'dist');

/**
 * Creates a fresh database on the server of `adminUrl` (a user allowed to CREATE DATABASE).
 * `drop()` removes it; should the process exit first (an error, Ctrl-C), an exit handler drops
 * it synchronously, through a child process, as exit handlers cannot wait for a promise.
 */
export async function benchPostgres(adminUrl, prefix) {
  const database = await createPostgresDatabase(adminUrl, prefix);
  const name = new URL(database.url).pathname.slice(1);
  let dropped = false;
  const dropNow = () => {
    if (dropped) return;
    dropped = true;
    spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import pg from 'pg';
         const client = new pg.Client({ connectionString: process.env.ADMIN_URL });
         await client.connect();
         await client.query('drop database if exists ${name} with (force)');
         await client.end();`,
      ],
      { cwd: join(import.meta.dirname, '..'), env: { ...process.env, ADMIN_URL: adminUrl }, stdio: 'ignore' },
    );
  };
  process.on('exit', dropNow);
  return {
    url: database.url,
    async drop() {
      if (dropped) return;
      dropped = true;
      process.off('exit', dropNow);
      await database.drop();
    },
  };
}

/** Runs `gatehouse migrate` on `databaseUrl` with the built CLI. */
export function migrate(databaseUrl, env) {
  const result = spawnSync(process.execPath, [join(DIST, 'cli.js'), 'migrate'], {
    env: { PATH: process.env.PATH, NODE_ENV: 'production', ...env, DATABASE_URL: databaseUrl },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(result.stderr);
}

/** Runs `fn(client)` on one connection to `url`, then closes it. */
export async function withPostgres(url, fn) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * The ISO-8601 text Gatehouse stores for a time (`2026-11-30T09:44:39.123Z`), in SQL, from
 * milliseconds since the epoch: the same strings the SQLite seeds write with toISOString().
 */
export const isoFromMillis = (millis) =>
  `to_char(to_timestamp((${millis})::double precision / 1000) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
