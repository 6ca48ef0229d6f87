#!/usr/bin/env node
// `npm run bench:profile`: where the time of the authenticated read path goes.
// Starts the built server under `--cpu-prof`, drives GET /books/{id} with autocannon for a few
// seconds (loopback only), stops it with SIGTERM (the profile is written on exit) and prints
// the self time per function and per package. Keep the .cpuprofile with --keep to open it in
// Chrome DevTools. Usage: node bench/profile.mjs [--duration 10] [--path /books/{id}] [--keep]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { randomSecret, request, requireBuild, signUp, startServer } from '../scripts/lib/harness.mjs';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    path: { type: 'string', default: '/books/{id}' },
    top: { type: 'string', default: '35' },
    keep: { type: 'boolean', default: false },
  },
});
const ROOT = join(import.meta.dirname, '..');
requireBuild();
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-profile-'));
process.on('exit', () => {
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
});
// The server migrates its database itself; the same V8 flag `npm start` uses.
const server = await startServer(
  // Production needs SMTP_URL or an explicit outbox; the temp folder takes the mails.
  {
    NODE_ENV: 'production',
    JWT_SECRET: randomSecret(),
    KEY_ENCRYPTION_SECRET: randomSecret(),
    DATABASE_URL: `sqlite:${join(dir, 'profile.db')}`,
    LOG_LEVEL: 'warn',
    MAIL_OUTBOX_DIR: join(dir, 'outbox'),
  },
  { nodeArgs: ['--max-semi-space-size=8', '--cpu-prof', '--cpu-prof-dir', dir] },
);
process.on('exit', () => {
  if (server.child.exitCode === null) server.child.kill('SIGKILL');
});
async function api(method, path, body, token) {
  const res = await request(server.base, method, path, { body, token });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}
const { access: token } = await signUp(server.base, 'profile@example.com');
const book = await api('POST', '/books', { title: 'Profiled', author: 'Someone', published_year: 2000 }, token);
const list = await api('POST', '/bucketlists', { name: 'Profiled' }, token);
const path = args.path.replace('{id}', book.id).replace('{list}', list.id);

const result = await autocannon({
  url: `${server.base}${path}`,
  headers: { authorization: `Bearer ${token}` },
  connections: Number(args.connections),
  duration: Number(args.duration),
});
console.log(`${path}: ${Math.round(result.requests.average)} req/s, non-2xx ${result.non2xx}, errors ${result.errors}`);

await server.stop('SIGTERM');
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error('no profile written');
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));

// Self time per node: samples × average interval.
const interval = (profile.endTime - profile.startTime) / profile.samples.length / 1000; // ms
const hits = new Map();
for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
const byFunction = new Map();
const byPackage = new Map();
let total = 0;
for (const node of profile.nodes) {
  const n = hits.get(node.id) ?? 0;
  if (!n) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  if (functionName === '(idle)') continue;
  total += n;
  const where = url.replace(/^file:\/\//, '').replace(`${ROOT}/`, '');
  const key = `${functionName || '(anonymous)'} ${where ? `${where}:${lineNumber + 1}` : ''}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + n);
  const pkg =
    where.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ??
    (where.startsWith('dist/')
      ? 'gatehouse'
      : where.startsWith('node:')
        ? 'node core'
        : functionName.startsWith('(')
          ? functionName
          : 'native/V8');
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + n);
}
const pct = (n) => `${((100 * n) / total).toFixed(1).padStart(5)}%`;
console.log(
  `\nbusy samples: ${total} (${((total * interval) / 1000).toFixed(1)} s); µs per request ≈ ${((total * interval * 1000) / result.requests.total).toFixed(1)}`,
);
console.log('\nself time by package');
for (const [k, n] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${pct(n)}  ${k}`);
console.log('\nself time by function');
for (const [k, n] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top))) console.log(`${pct(n)}  ${k}`);
// Inclusive time (the function and everything it called), counted once per stack even when
// the function recurses: shows which step of the request is expensive, not just which leaf.
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const inclusive = new Map();
for (const [id, n] of hits) {
  if (byId.get(id).callFrame.functionName === '(idle)') continue;
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const { functionName, url, lineNumber } = byId.get(at).callFrame;
    if (!url) continue;
    const key = `${functionName || '(anonymous)'} ${url.replace(/^file:\/\//, '').replace(`${ROOT}/`, '')}:${lineNumber + 1}`;
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + n);
  }
}
console.log('\ninclusive time by function');
for (const [k, n] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top))) console.log(`${pct(n)}  ${k}`);
if (args.keep) console.log(`\nprofile kept: ${join(dir, file)}`);
