import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../helpers/postgres.js';

// examples/own-api as its users get it: the repository packed by `npm pack`, the tarball
// installed into a copy of the example with npm, offline, and the example's own tests run there.
// Offline works because `npm ci` of this repository put every tarball the package needs in the
// npm cache; a lock file derived from ours (below) lets npm find them without the registry.

const ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLE = join(ROOT, 'examples', 'own-api');
const INSTALL_TIMEOUT_MS = 540_000; // better-sqlite3 is compiled from source (no prebuilt offline)

let dir: string;
let app: string;
let tarball: string;

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}, timeout = 120_000): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, ...env } });
}

const output = (result: SpawnSyncReturns<string>) => `${result.stdout}\n${result.stderr}`;

interface LockEntry {
  version?: string;
  resolved?: string;
  dev?: boolean;
  name?: string;
  [key: string]: unknown;
}

/**
 * A package-lock.json for the example: its own dependencies at the root, the tarball as
 * `gatehouse`, and every non-development package of this repository's lock file, at the same
 * place in the tree and with registry URLs spelled out (our lock file omits them, and without
 * them npm asks the registry where each tarball lives, which offline it cannot).
 */
function exampleLock(manifest: { name: string; dependencies: Record<string, string> }, tarballFile: string) {
  const root = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const gatehouse = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  const packages: Record<string, LockEntry> = {
    '': { name: manifest.name, dependencies: manifest.dependencies },
    'node_modules/gatehouse': {
      version: gatehouse.version as string,
      resolved: `file:${tarballFile}`,
      integrity: `sha512-${createHash('sha512')
        .update(readFileSync(join(app, tarballFile)))
        .digest('base64')}`,
      license: gatehouse.license,
      dependencies: gatehouse.dependencies,
      bin: gatehouse.bin,
      engines: gatehouse.engines,
    },
  };
  for (const [path, entry] of Object.entries(root.packages)) {
    if (path === '' || entry.dev) continue;
    const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const file = `${name.split('/').pop()}-${entry.version}.tgz`;
    packages[path] = { ...entry, resolved: entry.resolved ?? `https://registry.npmjs.org/${name}/-/${file}` };
  }
  return { name: manifest.name, lockfileVersion: 3, requires: true, packages };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-own-api-'));
  // --ignore-scripts: `prepare` would rebuild dist/ while other test files run the built CLI;
  // `npm test` has just built it (checked here).
  expect(existsSync(join(ROOT, 'dist', 'index.js')), 'build first: npm run build').toBe(true);
  const pack = run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], ROOT);
  expect(pack.status, output(pack)).toBe(0);
  tarball = join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz')) ?? 'missing.tgz');

  app = join(dir, 'own-api');
  cpSync(EXAMPLE, app, { recursive: true, filter: (src) => !/[\\/](node_modules|data)$|gatehouse\.tgz$|package-lock\.json$/.test(src) });
  // The path examples/own-api/package.json names: "gatehouse": "file:gatehouse.tgz".
  cpSync(tarball, join(app, 'gatehouse.tgz'));
  const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
  expect(manifest.dependencies.gatehouse).toBe('file:gatehouse.tgz');
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify(exampleLock(manifest, 'gatehouse.tgz'), null, 2));
  const install = run('npm', ['install', '--offline', '--no-audit', '--no-fund'], app, {}, INSTALL_TIMEOUT_MS);
  expect(install.status, output(install)).toBe(0);
}, INSTALL_TIMEOUT_MS + 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('examples/own-api on the packed gatehouse', () => {
  it('the package holds the build, its types and run-time resources; no sources, tests or maps', () => {
    const installed = join(app, 'node_modules', 'gatehouse');
    for (const file of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli.js',
      'dist/db/migrations/index.js',
      'resources/weak-jwt-secrets.txt',
    ]) {
      expect(existsSync(join(installed, file)), file).toBe(true);
    }
    // The pages' compiled scripts and their stylesheet: the package serves /account and /admin.
    for (const file of [
      'dist/pages/account.js',
      'dist/pages/admin-console.js',
      'dist/pages/api-client.js',
      'resources/account-pages/account-pages.css',
    ])
      expect(existsSync(join(installed, file)), file).toBe(true);
    for (const absent of ['src', 'test', 'bench', 'scripts', 'dist/index.js.map'])
      expect(existsSync(join(installed, absent)), absent).toBe(false);
  });

  it('installs the gatehouse command, which runs from the package', () => {
    const version = run(join(app, 'node_modules', '.bin', 'gatehouse'), ['--version'], app);
    expect(version.status, output(version)).toBe(0);
    expect(version.stdout.trim()).toContain(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  it("passes the example's own tests (npm test) on SQLite", () => {
    const test = run('npm', ['test'], app);
    expect(test.status, output(test)).toBe(0);
    expect(test.stdout).toMatch(/# fail 0/);
    expect(test.stdout).toMatch(/# pass [1-9]/);
  });

  // Runs whenever the PostgreSQL suite runs (scripts/run-tests.mjs found a server; always in CI).
  it.skipIf(!(process.env.GATEHOUSE_TEST_SERVICES ?? '').split(',').includes('postgres'))('passes them on PostgreSQL too', async () => {
    const database = await createPostgresDatabase();
    try {
      const test = run('npm', ['test'], app, { GATEHOUSE_EXAMPLE_DATABASE_URL: database.url });
      expect(test.status, output(test)).toBe(0);
      expect(test.stdout).toMatch(/# fail 0/);
    } finally {
      await database.drop();
    }
  });
});
