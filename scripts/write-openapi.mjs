#!/usr/bin/env node
// `npm run openapi [-- path]`: builds the app (from dist/, so run after `npm run build`) on a
// throwaway SQLite database and writes its OpenAPI 3.1 document to path (default ./openapi.json).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildApp } from '../dist/app.js';
import { loadConfig } from '../dist/config.js';

const output = resolve(process.argv[2] ?? 'openapi.json');
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-openapi-'));
try {
  // An explicit environment: the document must not depend on this machine's .env or variables.
  const config = loadConfig({
    NODE_ENV: 'development',
    DATABASE_URL: `sqlite:${join(dir, 'openapi.db')}`,
    JWT_SECRET: randomBytes(48).toString('base64url'),
    LOG_LEVEL: 'silent',
  });
  const app = await buildApp(config, { logger: false });
  try {
    await app.ready();
    writeFileSync(output, `${JSON.stringify(app.swagger(), null, 2)}\n`);
  } finally {
    await app.close();
  }
  console.log(`wrote ${output}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
