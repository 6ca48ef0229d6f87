#!/usr/bin/env node
// `npm test`: builds (the CLI tests run the built binary, the pages serve the built scripts), probes PostgreSQL and Redis, runs
// vitest (the SQLite suite always; the PostgreSQL, Redis and multi-instance suites when their
// services answer), and prints the closing line "N passed, N failed" (tests, not suites) from
// vitest's JSON report, which it keeps in node_modules/.cache/gatehouse/vitest-report.json.
// With CI=true a missing service is a failure, never a silent skip.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { summarize } from './lib/test-summary.mjs';

const extraArgs = process.argv.slice(2);
// `npm run build`: the server and the page scripts (src/pages → dist/pages, which the pages serve).
const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
if (build.status !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const postgresUrl = process.env.GATEHOUSE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.GATEHOUSE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function probePostgres() {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function probeRedis() {
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

const services = [];
const skipped = [];
if (await probePostgres()) services.push('postgres');
else skipped.push(`PostgreSQL suite and multi-instance suite (no PostgreSQL at ${postgresUrl}; set GATEHOUSE_TEST_POSTGRES_URL)`);
if (await probeRedis()) services.push('redis');
else
  skipped.push(
    `Redis suite${services.includes('postgres') ? ' and multi-instance suite' : ''} (no Redis at ${redisUrl}; set GATEHOUSE_TEST_REDIS_URL)`,
  );
for (const line of skipped) console.log(`SKIPPED: ${line}`);
if (process.env.CI === 'true' && skipped.length > 0) {
  console.log('CI must run every suite: start PostgreSQL and Redis (see README).');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
console.log(`Suites: sqlite${services.map((s) => `, ${s}`).join('')}${services.length === 2 ? ', multi-instance' : ''}`);

// The report stays after the run (vitest says where it wrote it); the previous one is removed
// first, so a run that writes none is never summarised from an old file.
const reportDir = join(import.meta.dirname, '..', 'node_modules', '.cache', 'gatehouse');
const report = join(reportDir, 'vitest-report.json');
mkdirSync(reportDir, { recursive: true });
rmSync(report, { force: true });
const run = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...extraArgs], {
  stdio: 'inherit',
  env: {
    ...process.env,
    GATEHOUSE_TEST_SERVICES: services.join(','),
    GATEHOUSE_TEST_POSTGRES_URL: postgresUrl,
    GATEHOUSE_TEST_REDIS_URL: redisUrl,
  },
});

let result = null;
try {
  result = JSON.parse(readFileSync(report, 'utf8'));
} catch {
  // summarize() counts a missing or unreadable report as a failure
}
const summary = summarize(result, run.status);
if (summary.note) console.log(summary.note);
for (const line of skipped) console.log(`SKIPPED: ${line}`);
if (process.env.GATEHOUSE_SUMMARY_FILE) writeFileSync(process.env.GATEHOUSE_SUMMARY_FILE, `${summary.line}\n`);
console.log(summary.line);
process.exit(summary.exitCode);
