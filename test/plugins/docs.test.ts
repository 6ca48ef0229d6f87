import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCS_CSP } from '../../src/plugins/docs.js';
import { createTestApp, expectProblem, type TestContext } from '../helpers/app.js';
import {
  contractRoutes,
  type DocumentedOperation,
  firstExample,
  type OpenApiDocument,
  operationsOf,
  readContract,
  schemaCompiler,
} from '../helpers/openapi.js';

const TAGS = ['Auth', 'Users', 'Two-factor', 'Passkeys', 'Sessions', 'Security events', 'Books', 'Bucketlists', 'Operations'];
const TOKEN_CODES = ['TOKEN_MISSING', 'TOKEN_INVALID', 'TOKEN_EXPIRED'];
// Actions whose request is the token alone: no body to describe.
const BODYLESS = new Set([
  'POST /auth/logout',
  'POST /auth/logout-all',
  'POST /auth/logout-others',
  'POST /auth/verify-email/resend',
  'POST /auth/mfa/totp',
  'POST /auth/mfa/recovery-codes',
  'POST /auth/passkeys/registration/options',
  'POST /auth/passkeys/authentication/options',
  'POST /admin/keys/rotate',
]);
// HTML pages (the one that renders this document, the hosted account pages) are not API operations.
const NOT_IN_DOCUMENT = new Set(['GET /docs', 'GET /verify-email', 'GET /reset-password', 'GET /account', 'GET /admin']);
// Documented additions beyond the contract (none today: every route is in docs/api-contract.md).
const BEYOND_CONTRACT = new Set<string>([]);

// JSON everywhere, except token introspection (RFC 7662), which takes a form.
const REQUEST_MEDIA_TYPES = ['application/json', 'application/x-www-form-urlencoded'];
const requestMedia = (operation: DocumentedOperation['operation']) =>
  REQUEST_MEDIA_TYPES.map((type) => operation.requestBody?.content[type]).find((media) => media !== undefined);

let ctx: TestContext;
let doc: OpenApiDocument;
let operations: DocumentedOperation[];
beforeAll(async () => {
  ctx = await createTestApp();
  doc = (await ctx.app.inject({ url: '/openapi.json' })).json();
  operations = operationsOf(doc);
});
afterAll(async () => ctx.close());

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document with the Bearer scheme and the nine tags, each used', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('Gatehouse');
    expect(doc.info.description).toMatch(/Authorize/);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(doc.tags?.map((t) => t.name)).toEqual(TAGS);
    for (const tag of doc.tags ?? []) expect(tag.description, tag.name).toBeTruthy();
    const used = new Set(operations.flatMap((o) => o.operation.tags ?? []));
    expect([...used].sort()).toEqual([...TAGS].sort());
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['Problem', 'User', 'TokenResponse', 'Book', 'Bucketlist', 'BucketlistItem']),
    );
  });

  it('documents every route of docs/api-contract.md, and nothing the contract lacks', () => {
    const contract = contractRoutes(readContract());
    // Guards the markdown parsing itself: a table reformatted into nothing must not pass.
    expect(contract).toEqual(expect.arrayContaining(['POST /auth/register', 'DELETE /bucketlists/{id}/items/{item_id}', 'GET /healthz']));
    expect(contract.length).toBeGreaterThanOrEqual(30);
    const documented = operations.map((o) => o.route);
    const missing = contract.filter((route) => !NOT_IN_DOCUMENT.has(route) && !documented.includes(route));
    expect(missing, 'contract routes missing from the OpenAPI document').toEqual([]);
    const extra = documented.filter((route) => !contract.includes(route) && !BEYOND_CONTRACT.has(route));
    expect(extra, 'documented routes the contract does not list').toEqual([]);
  });

  it('gives every operation one tag, a summary and a request schema for each input it takes', () => {
    const problems: string[] = [];
    for (const { route, method, path, operation } of operations) {
      if (operation.tags?.length !== 1 || !TAGS.includes(operation.tags[0] ?? '')) problems.push(`${route}: one known tag`);
      if (!operation.summary) problems.push(`${route}: summary`);
      for (const name of path.match(/(?<=\{)[^}]+(?=\})/g) ?? []) {
        const param = operation.parameters?.find((p) => p.in === 'path' && p.name === name);
        if (!param?.schema || !param.required) problems.push(`${route}: path parameter ${name} schema`);
      }
      const takesBody = ['POST', 'PUT', 'PATCH'].includes(method) && !BODYLESS.has(route);
      const media = requestMedia(operation);
      if (takesBody && !media?.schema) problems.push(`${route}: request body schema`);
      if (takesBody && firstExample(media) === undefined) problems.push(`${route}: request body example`);
      if (!takesBody && operation.requestBody) problems.push(`${route}: unexpected request body`);
      const success = operation.responses['200'] ?? operation.responses['201'];
      const isPage = JSON.stringify(success?.content?.['application/json']?.schema ?? {}).includes('next_cursor');
      for (const name of isPage ? ['limit', 'cursor'] : []) {
        if (!operation.parameters?.some((p) => p.in === 'query' && p.name === name && p.schema)) problems.push(`${route}: query ${name}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('gives every operation described responses: a JSON schema per success, problem+json with an example per error code', () => {
    const compile = schemaCompiler(doc);
    const problems: string[] = [];
    for (const { route, operation } of operations) {
      const statuses = Object.keys(operation.responses);
      if (!statuses.some((s) => s.startsWith('2'))) problems.push(`${route}: no success response`);
      for (const [status, response] of Object.entries(operation.responses)) {
        const where = `${route} ${status}`;
        if (!response.description || response.description === 'Default Response') problems.push(`${where}: description`);
        if (status === '204') {
          if (response.content) problems.push(`${where}: 204 has a body`);
          continue;
        }
        if (Number(status) < 400) {
          if (!response.content?.['application/json']?.schema) problems.push(`${where}: JSON schema`);
          continue;
        }
        const media = response.content?.['application/problem+json'];
        if (Object.keys(response.content ?? {}).length !== 1 || !media) problems.push(`${where}: only application/problem+json`);
        if (media?.schema?.$ref !== '#/components/schemas/Problem') problems.push(`${where}: Problem schema`);
        const examples = Object.entries(media?.examples ?? {});
        if (examples.length === 0) problems.push(`${where}: examples`);
        const validate = compile(media?.schema ?? {});
        for (const [name, example] of examples) {
          const value = example.value as { code?: string; status?: number };
          if (!validate(value)) problems.push(`${where} ${name}: example is not a Problem: ${JSON.stringify(validate.errors)}`);
          if (value.code !== name || value.status !== Number(status)) problems.push(`${where} ${name}: example code/status`);
          if (!response.description.includes(`\`${name}\``)) problems.push(`${where} ${name}: not explained in the description`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('marks exactly the token-protected operations with bearerAuth, each documenting the three token failures', () => {
    for (const { route, operation } of operations) {
      const secured = operation.security?.some((s) => 'bearerAuth' in s) ?? false;
      const codes = Object.keys(operation.responses['401']?.content?.['application/problem+json']?.examples ?? {});
      if (secured) {
        expect(codes, route).toEqual(expect.arrayContaining(TOKEN_CODES));
        expect(operation.responses['401']?.headers, route).toHaveProperty('www-authenticate');
      } else {
        expect(
          codes.filter((c) => TOKEN_CODES.includes(c) && c !== 'TOKEN_INVALID'),
          route,
        ).toEqual([]);
      }
    }
    const publicRoutes = operations.filter((o) => !o.operation.security).map((o) => o.route);
    expect(publicRoutes.sort()).toEqual(
      [
        'GET /.well-known/jwks.json',
        'GET /.well-known/oauth-authorization-server',
        'GET /.well-known/openid-configuration',
        'GET /healthz',
        'GET /openapi.json',
        'GET /readyz',
        'POST /auth/login',
        'POST /auth/mfa/verify',
        'POST /auth/passkeys/authentication',
        'POST /auth/passkeys/authentication/options',
        'POST /auth/password/forgot',
        'POST /auth/password/reset',
        'POST /auth/refresh',
        'POST /auth/register',
        'POST /auth/verify-email',
      ].sort(),
    );
  });

  it('has request body examples that the request schemas accept', () => {
    const compile = schemaCompiler(doc);
    for (const { route, operation } of operations) {
      const media = requestMedia(operation);
      if (!media?.schema) continue;
      const examples = media.example !== undefined ? [media.example] : Object.values(media.examples ?? {}).map((e) => e.value);
      const validate = compile(media.schema);
      for (const example of examples) expect(validate(example), `${route}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('keeps the strict API Content-Security-Policy on JSON answers, itself included', async () => {
    for (const url of ['/openapi.json', '/healthz', '/auth/me']) {
      const res = await ctx.app.inject({ url });
      expect(res.headers['content-security-policy'], url).toMatch(/default-src 'none'/);
      expect(res.headers['content-security-policy'], url).not.toBe(DOCS_CSP);
    }
  });
});

describe('`npm run openapi` (scripts/write-openapi.mjs, run on the built app)', () => {
  it('writes the same document as GET /openapi.json to the path given', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-openapi-test-'));
    try {
      const output = join(dir, 'nested-name.json');
      const script = join(import.meta.dirname, '..', '..', 'scripts', 'write-openapi.mjs');
      const run = spawnSync(process.execPath, [script, output], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(run.stdout).toContain(output);
      expect(JSON.parse(readFileSync(output, 'utf8'))).toEqual(doc);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('GET /docs', () => {
  it('serves the Swagger UI page and its assets from this server, under a same-origin-only CSP', async () => {
    const page = await ctx.app.inject({ url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toBe(DOCS_CSP);
    expect(page.body).toContain('<title>Gatehouse API reference</title>');
    // Every script and stylesheet is a path on this server: no CDN.
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(assets.length).toBeGreaterThan(3);
    for (const asset of assets) expect(asset, asset).toMatch(/^\/docs\/static\//);
    for (const asset of assets) {
      const res = await ctx.app.inject({ url: asset });
      expect(res.statusCode, asset).toBe(200);
    }
    const initializer = await ctx.app.inject({ url: '/docs/static/swagger-initializer.js' });
    expect(initializer.body).toContain('"persistAuthorization":false');
    const spec = await ctx.app.inject({ url: '/docs/json' });
    expect(spec.json()).toEqual(doc);
  });

  it('is absent with DOCS_ENABLED=false, while /openapi.json stays', async () => {
    const off = await createTestApp({ DOCS_ENABLED: 'false' });
    try {
      expectProblem(await off.app.inject({ url: '/docs' }), 404, 'NOT_FOUND');
      expectProblem(await off.app.inject({ url: '/docs/static/swagger-ui-bundle.js' }), 404, 'NOT_FOUND');
      expect((await off.app.inject({ url: '/openapi.json' })).statusCode).toBe(200);
    } finally {
      await off.close();
    }
  });
});
