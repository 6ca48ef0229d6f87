import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../../src/errors.js';
import { newId } from '../../src/lib/ids.js';
import { hashOpaqueToken } from '../../src/lib/opaque-tokens.js';
import { createTestApp, STRONG_PASSWORD, signUp } from '../helpers/app.js';
import { decodeToken, forgeToken } from '../helpers/tokens.js';
import { bodyText, type JsonSchema, type SchemaArbitraryOptions, validValue } from './json-schema-arbitrary.js';

// Property-based fuzzing driven by the app's own OpenAPI document: for every documented
// operation, random valid and invalid path values, query strings, bodies, content types and
// credentials (none, garbage, forged, expired, and valid tokens of a user, another user and an
// admin). Invariants, checked on every answer:
//   - never a 5xx;
//   - every error is problem+json with a known `code`, its status, and the RFC headers
//     (WWW-Authenticate on 401, Allow on 405);
//   - no answer contains a password hash, a stored refresh-token hash or the JWT secret, or
//     echoes the password it was sent;
//   - on a protected route, a request without a valid token is 401 and changes nothing in the
//     database, and a valid token is never refused with 401;
//   - nobody but an admin ever increases the number of admins.
//
// Seeded and bounded for CI (FUZZ_RUNS per operation, default 25; FUZZ_SEED). A longer run:
//   npm run fuzz -- --runs 500 [--seed 42]
// Inputs are reproducible from the seed; the database evolves with them, as real state would.

const RUNS = Number(process.env.FUZZ_RUNS ?? 25);
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_123);
// Per-operation time budget: generous for Argon2-heavy routes on a loaded 2-core machine.
const TIMEOUT_MS = Math.max(60_000, RUNS * 1_500);

const ctx = await createTestApp({ LOGIN_MAX_FAILURES_PER_IP: '100000' });
const secret = ctx.config.jwt.secret;

// Answers per operation and status, printed with FUZZ_REPORT=1 (npm run fuzz sets it) to show the
// runs reach the success paths too, not only the refusals.
const statusCounts = new Map<string, Map<number, number>>();
function countStatus(label: string, status: number): void {
  const counts = statusCounts.get(label) ?? new Map<number, number>();
  counts.set(status, (counts.get(status) ?? 0) + 1);
  statusCounts.set(label, counts);
}
afterAll(async () => {
  if (process.env.FUZZ_REPORT) {
    const lines = [...statusCounts].map(
      ([label, counts]) =>
        `${label.padEnd(45)} ${[...counts]
          .sort(([a], [b]) => a - b)
          .map(([status, n]) => `${status}×${n}`)
          .join(' ')}`,
    );
    console.info(`fuzz: ${RUNS} runs per operation, seed ${SEED}\n${lines.join('\n')}`);
  }
  await ctx.close();
});

// ── The principals: kept alive (and their role, password and email restored) before every run,
//    because the fuzzer may delete, disable, demote or rename them.
type PrincipalName = 'user' | 'other' | 'admin';
interface Principal {
  row: {
    id: string;
    email: string;
    name: string | null;
    password_hash: string;
    role: 'user' | 'admin';
    created_at: string;
    updated_at: string;
  };
}
const principals = {} as Record<PrincipalName, Principal>;
for (const name of ['user', 'other', 'admin'] as const) {
  const signedIn = await signUp(ctx.app, { email: `fuzz-${name}-${randomBytes(6).toString('hex')}@principals.example.com` });
  const row = await ctx.db.selectFrom('users').selectAll().where('id', '=', signedIn.id).executeTakeFirstOrThrow();
  principals[name] = { row: { ...row, role: name === 'admin' ? 'admin' : 'user' } };
}
const { header: TOKEN_HEADER, payload: TOKEN_CLAIMS } = decodeToken(
  (
    await ctx.app.inject({ method: 'POST', url: '/auth/login', payload: { email: principals.user.row.email, password: STRONG_PASSWORD } })
  ).json().access_token,
);

async function restorePrincipals(): Promise<void> {
  for (const { row } of Object.values(principals)) {
    await ctx.db
      .insertInto('users')
      .values({ email_verified: 0, mfa_enabled: 0, ...row, disabled: 0, credential_version: 0 })
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet({ email: row.email, role: row.role, disabled: 0, password_hash: row.password_hash, credential_version: 0 }),
      )
      .execute();
  }
}

/** A live session and a valid access token for a principal, without an Argon2 login per run. */
async function mintAccessToken(name: PrincipalName): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const sessionId = newId();
  const iso = new Date().toISOString();
  await ctx.db
    .insertInto('sessions')
    .values({
      id: sessionId,
      user_id: principals[name].row.id,
      created_at: iso,
      expires_at: new Date(Date.now() + 86_400_000).toISOString(),
      revoked_at: null,
      revoked_reason: null,
      credential_version: 0,
      last_used_at: iso,
      ip: null,
      user_agent: null,
      auth_time: iso,
      amr: '["pwd"]',
    })
    .execute();
  const claims = {
    ...TOKEN_CLAIMS,
    sub: principals[name].row.id,
    sid: sessionId,
    jti: newId(),
    iat: now,
    exp: now + ctx.config.jwt.accessTokenTtlSeconds,
  };
  return forgeToken(TOKEN_HEADER, claims, secret);
}

/** A live refresh token of the user principal, stored hashed as the service stores it. */
async function mintRefreshToken(): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  const sessionId = newId();
  const iso = new Date().toISOString();
  const expires = new Date(Date.now() + 86_400_000).toISOString();
  await ctx.db
    .insertInto('sessions')
    .values({
      id: sessionId,
      user_id: principals.user.row.id,
      created_at: iso,
      expires_at: expires,
      revoked_at: null,
      revoked_reason: null,
      credential_version: 0,
      last_used_at: iso,
      ip: null,
      user_agent: null,
      auth_time: iso,
      amr: '["pwd"]',
    })
    .execute();
  await ctx.db
    .insertInto('refresh_tokens')
    .values({ token_hash: hashOpaqueToken(token), session_id: sessionId, created_at: iso, expires_at: expires, used_at: null })
    .execute();
  return token;
}

// Some rows for the real-id path values to point at, owned by different principals.
for (const name of ['user', 'other', 'admin'] as const) {
  const headers = { authorization: `Bearer ${await mintAccessToken(name)}` };
  const list = (await ctx.app.inject({ method: 'POST', url: '/bucketlists', headers, payload: { name: `${name} list` } })).json();
  await ctx.app.inject({ method: 'POST', url: `/bucketlists/${list.id}/items`, headers, payload: { title: `${name} item` } });
  await ctx.app.inject({ method: 'POST', url: '/books', headers, payload: { title: `${name} book`, author: name } });
}

// ── The operations, from the generated OpenAPI document.
interface Parameter {
  name: string;
  in: 'path' | 'query';
  required?: boolean;
  schema: JsonSchema;
}
interface Operation {
  method: string;
  path: string;
  secured: boolean;
  parameters: Parameter[];
  body?: JsonSchema;
}
const openapi = (await ctx.app.inject({ url: '/openapi.json' })).json() as {
  paths: Record<
    string,
    Record<string, { security?: unknown[]; parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: JsonSchema }> } }>
  >;
  components: { schemas: Record<string, JsonSchema> };
};
const OPERATIONS: Operation[] = Object.entries(openapi.paths).flatMap(([path, ops]) =>
  Object.entries(ops).map(([method, op]) => ({
    method: method.toUpperCase(),
    path,
    // Bearer-protected; introspection's Basic client credentials are not something a user token answers.
    secured: (op.security ?? []).some((s) => typeof s === 'object' && s !== null && 'bearerAuth' in s),
    parameters: op.parameters ?? [],
    body: op.requestBody?.content['application/json']?.schema,
  })),
);

function resolve(schema: JsonSchema): JsonSchema {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  const target = openapi.components.schemas[ref.replace('#/components/schemas/', '')];
  if (!target) throw new Error(`unresolvable $ref ${ref}`);
  return resolve(target);
}
const SCHEMA_OPTIONS: SchemaArbitraryOptions = {
  resolve,
  hints: {
    email: fc.constantFrom(...Object.values(principals).map((p) => p.row.email)),
    password: fc.constant(STRONG_PASSWORD),
    current_password: fc.constant(STRONG_PASSWORD),
    // Replaced at request time by a freshly minted, live refresh token.
    refresh_token: fc.constant('@refresh'),
    // Well-formed keyset cursors (base64url of [created_at, id]), so pages past the first are reached.
    cursor: fc
      .tuple(
        fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }),
        fc.uuid({ version: 7 }),
      )
      .map(([date, id]) => Buffer.from(JSON.stringify([date.toISOString(), id])).toString('base64url')),
  },
};

// ── Request generation.
type Auth = { kind: 'none' | 'expired' | 'alg-none' | 'basic' | 'refresh-as-access' | PrincipalName } | { kind: 'garbage'; value: string };
const VALID_AUTH = new Set(['user', 'other', 'admin']);
const AUTH: fc.Arbitrary<Auth> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom<Auth>({ kind: 'user' }, { kind: 'other' }, { kind: 'admin' }) },
  {
    weight: 4,
    arbitrary: fc.constantFrom<Auth>(
      { kind: 'none' },
      { kind: 'expired' },
      { kind: 'alg-none' },
      { kind: 'basic' },
      { kind: 'refresh-as-access' },
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((value): Auth => ({ kind: 'garbage', value })) },
);

async function authorization(auth: Auth): Promise<string | undefined> {
  const now = Math.floor(Date.now() / 1000);
  const claims = { ...TOKEN_CLAIMS, iat: now, exp: now + 600 };
  switch (auth.kind) {
    case 'none':
      return undefined;
    case 'garbage':
      return `Bearer ${auth.value}`;
    case 'basic':
      return `Basic ${Buffer.from(`${principals.user.row.email}:${STRONG_PASSWORD}`).toString('base64')}`;
    case 'expired':
      return `Bearer ${forgeToken(TOKEN_HEADER, { ...claims, iat: now - 1000, exp: now - 100 }, secret)}`;
    case 'alg-none':
      return `Bearer ${forgeToken({ ...TOKEN_HEADER, alg: 'none' }, claims, null)}`;
    case 'refresh-as-access':
      return `Bearer ${await mintRefreshToken()}`;
    default:
      return `Bearer ${await mintAccessToken(auth.kind)}`;
  }
}

/** A path segment: a real row id (resolved at request time), a random value, or a hostile one. */
type RowTable = 'users' | 'books' | 'bucketlists' | 'bucketlist_items';
type Segment = { row: RowTable; n: number } | { raw: string };
const DOT_SEGMENT = /^\.{1,2}$/;
const HOSTILE_SEGMENTS = [
  '..',
  '%2e%2e',
  '..%2F..%2Fusers',
  '%00',
  '%ZZ',
  'x'.repeat(201),
  '%C0%AE',
  "1'%20OR%20'1'%3D'1",
  '%252e',
  '%E2%80%AE',
  '.',
  '*',
];

function tableFor(path: string, param: string): RowTable {
  if (param === 'item_id') return 'bucketlist_items';
  if (path.startsWith('/users')) return 'users';
  if (path.startsWith('/books')) return 'books';
  return 'bucketlists';
}

function segmentArb(op: Operation, param: Parameter): fc.Arbitrary<Segment> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.nat().map((n): Segment => ({ row: tableFor(op.path, param.name), n })) },
    { weight: 2, arbitrary: validValue(param.schema, SCHEMA_OPTIONS).map((v): Segment => ({ raw: encodeURIComponent(String(v)) })) },
    { weight: 1, arbitrary: fc.uuid({ version: 7 }).map((raw): Segment => ({ raw })) },
    { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS).map((raw): Segment => ({ raw })) },
    {
      weight: 1,
      arbitrary: fc
        .webSegment()
        .filter((s) => s !== '')
        .map((raw): Segment => ({ raw })),
    },
  );
}

interface Generated {
  auth: Auth;
  segments: Record<string, Segment>;
  /** For item routes: take the bucketlist and the item from one real item row. */
  itemPair: number | null;
  query: string;
  body: string | undefined;
  contentType: string;
  ip: string;
}

function queryArb(op: Operation): fc.Arbitrary<string> {
  const params = op.parameters.filter((p) => p.in === 'query');
  if (params.length === 0) return fc.constantFrom('', '', '', 'unknown=1', '__proto__[x]=1');
  const value = (p: Parameter) =>
    fc.oneof(
      { weight: 6, arbitrary: validValue(p.schema, SCHEMA_OPTIONS, p.name).map(String) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
      { weight: 1, arbitrary: fc.constantFrom('0', '-1', '101', '1e3', 'null', '%', "' OR 1=1 --", 'x'.repeat(201)) },
    );
  return fc
    .tuple(
      fc.record(Object.fromEntries(params.map((p) => [p.name, value(p)])), { requiredKeys: [] }),
      fc.oneof(
        { weight: 4, arbitrary: fc.constant('') },
        { weight: 1, arbitrary: fc.constantFrom('unknown=1', 'limit=1&limit=2', 'q[a]=b', 'role=admin') },
      ),
    )
    .map(([values, extra]) => [new URLSearchParams(values as Record<string, string>).toString(), extra ?? ''].filter(Boolean).join('&'));
}

function requestArb(op: Operation): fc.Arbitrary<Generated> {
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const hasBodyMethod = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(op.method);
  return fc.record({
    auth: AUTH,
    segments: fc.record(Object.fromEntries(pathParams.map((p) => [p.name, segmentArb(op, p)]))) as fc.Arbitrary<Record<string, Segment>>,
    itemPair: pathParams.some((p) => p.name === 'item_id') ? fc.option(fc.nat(), { freq: 2 }) : fc.constant(null),
    query: queryArb(op),
    body: op.body
      ? fc.option(bodyText(op.body, SCHEMA_OPTIONS), { freq: 12 }).map((b) => b ?? undefined)
      : hasBodyMethod
        ? fc.option(
            fc.jsonValue().map((v) => JSON.stringify(v)),
            { freq: 2, nil: undefined },
          )
        : fc.constant(undefined),
    contentType: fc.oneof(
      { weight: 12, arbitrary: fc.constant('application/json') },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          'application/json; charset=utf-8',
          'text/plain',
          'application/x-www-form-urlencoded',
          'application/jsonp',
          '',
        ),
      },
    ),
    ip: fc.ipV4(),
  });
}

async function rowId(table: string, n: number, column = 'id'): Promise<string | undefined> {
  const count = Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(ctx.db)).rows[0]?.n ?? 0);
  if (count === 0) return undefined;
  const row = await sql<
    Record<string, string>
  >`select ${sql.ref(column)} as v from ${sql.table(table)} order by rowid limit 1 offset ${n % count}`.execute(ctx.db);
  return row.rows[0]?.v;
}

/** Turns a generated request into inject options; also says whether the router can match it. */
async function materialise(op: Operation, g: Generated): Promise<{ request: InjectOptions; routable: boolean; sentPasswords: string[] }> {
  const values: Record<string, string> = {};
  for (const [name, segment] of Object.entries(g.segments)) {
    values[name] = 'raw' in segment ? segment.raw : ((await rowId(segment.row, segment.n)) ?? newId());
  }
  if (g.itemPair !== null) {
    const itemId = await rowId('bucketlist_items', g.itemPair);
    const listId = await rowId('bucketlist_items', g.itemPair, 'bucketlist_id');
    if (itemId && listId) Object.assign(values, { id: listId, item_id: itemId });
  }
  // The router answers before any hook when a segment does not decode or exceeds 200 characters;
  // a dot segment ("..", "%2e%2e") is navigation, resolved to the parent path (whose own route
  // then applies) by the URL parser before routing.
  const routable = Object.values(values).every((v) => {
    try {
      return v.length <= 200 && !DOT_SEGMENT.test(decodeURIComponent(v));
    } catch {
      return false;
    }
  });
  const path = op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => values[name] ?? 'missing');
  let body = g.body;
  if (body?.includes('"@refresh"')) body = body.replaceAll('"@refresh"', JSON.stringify(await mintRefreshToken()));
  const auth = await authorization(g.auth);
  const headers: Record<string, string> = {};
  if (auth !== undefined) headers.authorization = auth;
  if (body !== undefined && g.contentType !== '') headers['content-type'] = g.contentType;
  const sentPasswords: string[] = [];
  if (body !== undefined) {
    try {
      const parsed = JSON.parse(body) as Record<string, unknown>;
      for (const key of ['password', 'current_password', 'new_password']) {
        const value = parsed?.[key];
        if (typeof value === 'string' && value.length >= 12) sentPasswords.push(value);
      }
    } catch {
      // not JSON: no password to look for
    }
  }
  return {
    request: {
      method: op.method as InjectOptions['method'],
      url: g.query === '' ? path : `${path}?${g.query}`,
      headers,
      remoteAddress: g.ip,
      ...(body !== undefined && { payload: body }),
    },
    routable,
    sentPasswords,
  };
}

// ── Invariants.
const KNOWN_CODES = new Set(Object.keys(ERROR_CODES));
// The one documented status other than a code's default: PUT /auth/password, wrong current password.
// Mailed reset/verification tokens that fail are a 400 (the request, not the caller's session, is bad).
const EXTRA_STATUSES: Partial<Record<ErrorCode, number[]>> = { INVALID_CREDENTIALS: [403], TOKEN_INVALID: [400] };

const dataVersion = async () => Number((await sql<{ data_version: number }>`pragma data_version`.execute(ctx.db)).rows[0]?.data_version);
const adminCount = async () =>
  Number(
    (
      await ctx.db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('role', '=', 'admin')
        .executeTakeFirstOrThrow()
    ).n,
  );

/** Every object key in a JSON value, at any depth. */
function keysOf(value: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) for (const v of value) keysOf(v, into);
  else if (value !== null && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      into.add(key);
      keysOf(v, into);
    }
  }
  return into;
}

async function checkNoSecrets(res: LightMyRequestResponse, sentPasswords: string[]): Promise<void> {
  const text = `${JSON.stringify(res.headers)}\n${res.body}`;
  // A PHC Argon2 hash, whatever field it would hide in.
  expect(text).not.toContain('$argon2');
  expect(text).not.toContain(secret);
  // No hash-bearing field in a JSON answer (an error may name one the client sent: a path, not a key).
  // The OpenAPI document names these fields (it describes the request bodies); it holds no values.
  const isSchemaDocument = (res.raw.req.url ?? '').split('?')[0] === '/openapi.json';
  if (String(res.headers['content-type']).includes('json') && res.body !== '' && !isSchemaDocument) {
    const keys = keysOf(JSON.parse(res.body));
    for (const forbidden of ['password_hash', 'token_hash', 'password', 'refresh_token_hash'])
      expect(keys.has(forbidden), forbidden).toBe(false);
  }
  for (const password of sentPasswords) expect(res.body, 'a password was echoed').not.toContain(password);
  // Refresh tokens are stored as SHA-256 hex: no 64-hex run of an answer may be one of them.
  const hexRuns = text.match(/[0-9a-f]{64}/g) ?? [];
  if (hexRuns.length > 0) {
    const leaked = await ctx.db.selectFrom('refresh_tokens').select('token_hash').where('token_hash', 'in', hexRuns).execute();
    expect(leaked, 'a refresh-token hash was answered').toEqual([]);
  }
}

function checkProblem(res: LightMyRequestResponse): void {
  const where = `${res.raw.req.method} ${res.raw.req.url} → ${res.statusCode} ${res.body.slice(0, 300)}`;
  expect(res.statusCode, where).toBeLessThan(500);
  if (res.statusCode < 400) return;
  expect(String(res.headers['content-type']), where).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.body) as { code: ErrorCode; status: number; type: string; title: string; detail: string };
  expect(KNOWN_CODES.has(body.code), where).toBe(true);
  expect(body.status, where).toBe(res.statusCode);
  expect([ERROR_CODES[body.code].status, ...(EXTRA_STATUSES[body.code] ?? [])], where).toContain(res.statusCode);
  for (const key of ['type', 'title', 'detail'] as const) expect(typeof body[key], where).toBe('string');
  // Every 401 carries a challenge: Bearer, or Basic for introspection's client credentials (RFC 7662 §2.1).
  if (res.statusCode === 401) {
    const scheme = body.code === 'INVALID_CLIENT' ? 'Basic' : 'Bearer';
    expect(res.headers['www-authenticate'], where).toMatch(new RegExp(`^${scheme} realm="gatehouse"`));
  }
  if (res.statusCode === 405) expect(res.headers.allow, where).toBeTruthy();
  if (res.statusCode === 429) expect(Number(res.headers['retry-after']), where).toBeGreaterThan(0);
}

async function exercise(op: Operation, g: Generated): Promise<void> {
  await restorePrincipals();
  const { request, routable, sentPasswords } = await materialise(op, g);
  const versionBefore = await dataVersion();
  const adminsBefore = await adminCount();
  const res = await ctx.app.inject(request);
  countStatus(`${op.method} ${op.path}`, res.statusCode);

  checkProblem(res);
  await checkNoSecrets(res, sentPasswords);

  const where = `${request.method} ${request.url} (${g.auth.kind}) → ${res.statusCode} ${res.body.slice(0, 200)}`;
  if (op.secured && routable) {
    if (VALID_AUTH.has(g.auth.kind)) {
      // A 401 about the password or code in the body (reauthentication), or about introspection's
      // HTTP Basic client credentials, is not a refused token.
      const credentialAnswer =
        res.statusCode === 401 && ['INVALID_CREDENTIALS', 'MFA_CODE_INVALID', 'INVALID_CLIENT'].includes(String(res.json().code));
      if (!credentialAnswer) expect(res.statusCode, `a valid token was refused: ${where}`).not.toBe(401);
    } else {
      expect(res.statusCode, `no valid token, yet: ${where}`).toBe(401);
      expect(await dataVersion(), `the database changed without a valid token: ${where}`).toBe(versionBefore);
    }
  }
  if (g.auth.kind !== 'admin') expect(await adminCount(), `admin count grew: ${where}`).toBeLessThanOrEqual(adminsBefore);
}

describe('OpenAPI-driven fuzzing', () => {
  it('the document lists every route, and the probes see the database change', async () => {
    expect(OPERATIONS.length).toBe(59);
    // The "nothing changed" invariant relies on PRAGMA data_version seeing the app's commits.
    const before = await dataVersion();
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/bucketlists',
      headers: { authorization: `Bearer ${await mintAccessToken('user')}` },
      payload: { name: 'probe' },
    });
    expect(res.statusCode).toBe(201);
    expect(await dataVersion()).not.toBe(before);
  });

  it.each(OPERATIONS.map((op, index) => [`${op.method} ${op.path}`, op, index] as const))(
    '%s: never a 5xx, problem+json with a known code, no secrets, auth first',
    async (_label, op, index) => {
      await fc.assert(
        fc.asyncProperty(requestArb(op), (g) => exercise(op, g)),
        { numRuns: RUNS, seed: SEED + index },
      );
    },
    TIMEOUT_MS,
  );

  it(
    'random paths and methods: never a 5xx, every error problem+json with a known code',
    async () => {
      const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND', 'SEARCH');
      const path = fc.array(fc.oneof(fc.webSegment(), fc.constantFrom('users', 'books', 'bucketlists', 'items', 'auth', '..', '%2e')), {
        minLength: 1,
        maxLength: 5,
      });
      await fc.assert(
        fc.asyncProperty(method, path, AUTH, async (m, segments, auth) => {
          const authHeader = await authorization(auth);
          const res = await ctx.app.inject({
            method: m as InjectOptions['method'],
            url: `/${segments.join('/')}`,
            headers: authHeader === undefined ? {} : { authorization: authHeader },
          });
          countStatus('(random paths and methods)', res.statusCode);
          checkProblem(res);
          await checkNoSecrets(res, []);
        }),
        { numRuns: RUNS * 4, seed: SEED - 1 },
      );
    },
    TIMEOUT_MS,
  );
});
