import { randomBytes } from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createDatabase } from '../../src/db/create-db.js';
import { totpCode } from '../../src/modules/mfa/totp.js';
import { createTestApp, logIn, type SignedIn, STRONG_PASSWORD, signUp, signUpAdmin, uniqueEmail } from '../helpers/app.js';
import { firstExample, type OpenApiDocument, operationsOf, type ResponseObject, schemaCompiler } from '../helpers/openapi.js';
import { tokenFromOutbox } from '../helpers/outbox.js';
import { SoftAuthenticator } from '../helpers/soft-authenticator.js';
import { decodeToken, forgeToken } from '../helpers/tokens.js';

// The contract test: for every response the OpenAPI document promises (each status, and each
// error code of it), a real request produces it, and its body validates against the documented
// schema. The schemas come from the generated document itself, compiled with ajv.

// One failed attempt per email is enough for a 429, so the throttle is reachable in two requests.
const INTROSPECTION_CLIENT = { id: 'contract-test', secret: randomBytes(32).toString('hex') };
const ctx = await createTestApp({
  LOGIN_MAX_FAILURES_PER_EMAIL: '1',
  REGISTER_MAX_PER_IP: '10',
  REFRESH_MAX_FAILURES_PER_IP: '10',
  INTROSPECTION_CLIENTS: `${INTROSPECTION_CLIENT.id}:${INTROSPECTION_CLIENT.secret}`,
});
const doc: OpenApiDocument = (await ctx.app.inject({ url: '/openapi.json' })).json();
const compile = schemaCompiler(doc);
afterAll(async () => ctx.close());

const PROBLEM_JSON = 'application/problem+json';
// A well-formed id that names no row.
const MISSING_ID = '0190a5c4-7a1e-7000-8000-000000000000';
const NEW_PASSWORD = 'a much longer passphrase, freshly chosen';

interface Case {
  route: string;
  method: string;
  path: string;
  status: number;
  code: string | undefined;
  secured: boolean;
  /** The documented request body example, if the operation takes a body. */
  example: unknown;
  response: ResponseObject;
}

const cases: Case[] = operationsOf(doc).flatMap(({ route, method, path, operation }) =>
  Object.entries(operation.responses).flatMap(([status, response]): Case[] => {
    const codes = Object.keys(response.content?.[PROBLEM_JSON]?.examples ?? {});
    const base = {
      route,
      method,
      path,
      status: Number(status),
      secured: operation.security?.some((s) => 'bearerAuth' in s) ?? false,
      example: firstExample(operation.requestBody?.content['application/json']),
      response,
    };
    return codes.length > 0 ? codes.map((code) => ({ ...base, code })) : [{ ...base, code: undefined }];
  }),
);
const caseKey = (c: Pick<Case, 'route' | 'status' | 'code'>) => `${c.route} ${c.status}${c.code ? ` ${c.code}` : ''}`;

interface Fixtures {
  admin: SignedIn;
  alice: SignedIn;
  bob: SignedIn;
  book: { id: string; isbn: string };
  otherBook: { id: string; isbn: string };
  list: { id: string };
  item: { id: string };
  expiredToken: string;
}
let f: Fixtures;

type Scenario = () => Promise<LightMyRequestResponse>;

interface RequestOptions {
  as?: SignedIn;
  authorization?: string;
  json?: unknown;
  raw?: { contentType: string; body: string };
  /** Client IP, so scenarios that exhaust a per-IP limit do not throttle the others. */
  ip?: string;
}

function send(method: string, url: string, { as, authorization, json, raw, ip }: RequestOptions = {}): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = {};
  const auth = authorization ?? as?.headers.authorization;
  if (auth) headers.authorization = auth;
  const options: InjectOptions = { method: method as InjectOptions['method'], url, headers, ...(ip && { remoteAddress: ip }) };
  if (raw) {
    headers['content-type'] = raw.contentType;
    options.payload = raw.body;
  } else if (json !== undefined) {
    options.payload = json as InjectOptions['payload'];
  }
  return ctx.app.inject(options);
}

/** Creates a resource through the API and returns its body. */
async function create(as: SignedIn, url: string, json: unknown): Promise<{ id: string; isbn?: string }> {
  const res = await send('POST', url, { as, json });
  if (res.statusCode !== 201) throw new Error(`POST ${url} failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** The path with alice's own resources in it (every generic scenario acts as alice). */
function fixtureUrl(path: string, missingLast = false): string {
  const ids: Record<string, string> = {
    id: path.startsWith('/users') ? f.alice.id : path.startsWith('/books') ? f.book.id : f.list.id,
    item_id: f.item.id,
  };
  const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '');
  return names.reduce(
    (url, name, i) => url.replace(`{${name}}`, missingLast && i === names.length - 1 ? MISSING_ID : (ids[name] ?? '')),
    path,
  );
}

/** Answers that any route produces the same way: token failures, body refusals, missing ids, plain success. */
function genericScenario(c: Case): Scenario | undefined {
  const url = fixtureUrl(c.path);
  const takesBody = c.example !== undefined;
  switch (c.code) {
    case 'TOKEN_MISSING':
      return () => send(c.method, url, { json: c.example });
    case 'TOKEN_INVALID':
      return c.secured ? () => send(c.method, url, { authorization: 'Bearer not.a.token', json: c.example }) : undefined;
    case 'TOKEN_EXPIRED':
      return () => send(c.method, url, { authorization: `Bearer ${f.expiredToken}`, json: c.example });
    case 'MALFORMED_JSON':
      return () => send(c.method, url, { as: f.alice, raw: { contentType: 'application/json', body: '{"title": ' } });
    case 'PAYLOAD_TOO_LARGE':
      return () =>
        send(c.method, url, { as: f.alice, raw: { contentType: 'application/json', body: JSON.stringify({ title: 'x'.repeat(70_000) }) } });
    case 'UNSUPPORTED_MEDIA_TYPE':
      return () => send(c.method, url, { as: f.alice, raw: { contentType: 'text/plain', body: 'hello' } });
    case 'VALIDATION_FAILED':
      return takesBody
        ? () => send(c.method, url, { as: f.alice, json: { unexpected_field: true } })
        : () => send(c.method, `${url}?limit=0`, { as: f.alice });
    case 'NOT_FOUND':
      // Only an admin can tell a missing user from someone else's; for the rest, alice's missing row.
      return () => send(c.method, fixtureUrl(c.path, true), { as: c.path.startsWith('/users') ? f.admin : f.alice, json: c.example });
    case undefined:
      return c.status < 300 ? () => send(c.method, url, { as: f.alice, json: c.example }) : undefined;
    default:
      return undefined;
  }
}

const mailedToken = (to: string, path: 'reset-password' | 'verify-email') => tokenFromOutbox(ctx.config.mail.outboxDir, to, path);

/** The user's token re-signed with an auth_time older than REAUTH_MAX_AGE (everything else valid). */
function staleToken(user: SignedIn): string {
  const { header, payload } = decodeToken(user.accessToken);
  const longAgo = Math.floor(Date.now() / 1000) - ctx.config.reauthMaxAgeSeconds - 60;
  return forgeToken(header, { ...payload, auth_time: longAgo }, ctx.config.jwt.secret);
}

/** A new user with TOTP on, and its seed. */
async function enrolledUser(): Promise<{ user: SignedIn; secret: string }> {
  const user = await signUp(ctx.app);
  const { secret } = (await send('POST', '/auth/mfa/totp', { as: user })).json();
  const confirmed = await send('POST', '/auth/mfa/totp/confirm', { as: user, json: { code: totpCode(secret, Date.now() - 30_000) } });
  expect(confirmed.statusCode).toBe(200);
  return { user, secret };
}

/** The mfa_token a password sign-in of an enrolled user answers. */
async function mfaTokenOf(user: SignedIn): Promise<string> {
  return (await login(user.email, STRONG_PASSWORD)).json().mfa_token;
}

/** A software authenticator for this app's relying party. */
const authenticator = () => new SoftAuthenticator(ctx.config.webauthn.rpId, ctx.config.webauthn.origins[0] as string);

/** Repeats a request until it answers 429 (a limit of a few attempts), at most 40 times. */
async function untilThrottled(request: () => Promise<LightMyRequestResponse>): Promise<LightMyRequestResponse> {
  let res = await request();
  for (let i = 0; i < 40 && res.statusCode !== 429; i++) res = await request();
  return res;
}

/** POST /oauth/introspect as the test's registered client (unless told otherwise), from its own IP. */
function introspect(
  body: string,
  { authorization, contentType = 'application/x-www-form-urlencoded' } = {} as { authorization?: string; contentType?: string },
) {
  const basic = `Basic ${Buffer.from(`${INTROSPECTION_CLIENT.id}:${INTROSPECTION_CLIENT.secret}`).toString('base64')}`;
  return ctx.app.inject({
    method: 'POST',
    url: '/oauth/introspect',
    headers: { authorization: authorization ?? basic, 'content-type': contentType },
    payload: body,
    remoteAddress: '198.51.100.77',
  });
}

const login = (email: string, password: string) => send('POST', '/auth/login', { json: { email, password } });
const changePassword = (as: SignedIn, current: string) =>
  send('PUT', '/auth/password', { as, json: { current_password: current, new_password: NEW_PASSWORD } });

/** Answers that need their own state or actor, keyed like `METHOD /path STATUS CODE`. */
const specificScenarios: Record<string, Scenario> = {
  'GET /readyz 503 UNAVAILABLE': async () => {
    const database = createDatabase({ kind: 'sqlite', path: ':memory:' });
    const broken = await buildApp(ctx.config, { database, logger: false });
    await database.close();
    try {
      return await broken.inject({ url: '/readyz' });
    } finally {
      await broken.close();
    }
  },

  'POST /auth/register 201': () =>
    send('POST', '/auth/register', { json: { email: uniqueEmail('register'), password: STRONG_PASSWORD, name: 'New' } }),
  'POST /auth/register 202': async () => {
    const strict = await createTestApp({ REQUIRE_VERIFIED_EMAIL: 'true' });
    try {
      return await strict.app.inject({
        method: 'POST',
        url: '/auth/register',
        payload: { email: f.alice.email, password: STRONG_PASSWORD },
      });
    } finally {
      await strict.close();
    }
  },
  'POST /auth/register 429 RATE_LIMITED': () =>
    untilThrottled(() =>
      send('POST', '/auth/register', { json: { email: uniqueEmail('flood'), password: STRONG_PASSWORD }, ip: '10.66.0.8' }),
    ),
  'POST /auth/refresh 429 RATE_LIMITED': () =>
    untilThrottled(() => send('POST', '/auth/refresh', { json: { refresh_token: 'E'.repeat(43) }, ip: '10.66.0.9' })),
  'POST /auth/register 409 EMAIL_TAKEN': () =>
    send('POST', '/auth/register', { json: { email: f.alice.email, password: STRONG_PASSWORD } }),
  'POST /auth/login 200': () => login(f.alice.email, STRONG_PASSWORD),
  'POST /auth/login 401 INVALID_CREDENTIALS': () => login(uniqueEmail('nobody'), STRONG_PASSWORD),
  'POST /auth/login 429 RATE_LIMITED': async () => {
    const email = uniqueEmail('throttled');
    expect((await login(email, 'a wrong password')).statusCode).toBe(401);
    return login(email, 'a wrong password');
  },
  'POST /auth/refresh 200': async () => {
    const session = await logIn(ctx.app, f.alice.email, STRONG_PASSWORD);
    return send('POST', '/auth/refresh', { json: { refresh_token: session.refreshToken } });
  },
  'POST /auth/refresh 401 TOKEN_INVALID': () => send('POST', '/auth/refresh', { json: { refresh_token: 'not-a-refresh-token-we-issued' } }),
  // Sessions that end here are fresh ones, so the fixtures' tokens stay valid.
  'POST /auth/logout 204': async () => send('POST', '/auth/logout', { as: await logIn(ctx.app, f.alice.email, STRONG_PASSWORD) }),
  'POST /auth/logout-all 204': async () => send('POST', '/auth/logout-all', { as: await signUp(ctx.app) }),
  'PUT /auth/password 204': async () => changePassword(await signUp(ctx.app), STRONG_PASSWORD),
  'PUT /auth/password 403 INVALID_CREDENTIALS': async () => changePassword(await signUp(ctx.app), 'not the password at all'),
  'PUT /auth/password 429 RATE_LIMITED': async () => {
    const user = await signUp(ctx.app);
    expect((await changePassword(user, 'not the password at all')).statusCode).toBe(403);
    return changePassword(user, 'not the password at all');
  },

  'POST /auth/login 403 EMAIL_NOT_VERIFIED': async () => {
    const strict = await createTestApp({ REQUIRE_VERIFIED_EMAIL: 'true' });
    try {
      const email = uniqueEmail('unverified');
      await strict.app.inject({ method: 'POST', url: '/auth/register', payload: { email, password: STRONG_PASSWORD } });
      return await strict.app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: STRONG_PASSWORD } });
    } finally {
      await strict.close();
    }
  },
  'POST /auth/password/forgot 429 RATE_LIMITED': () =>
    untilThrottled(() => send('POST', '/auth/password/forgot', { json: { email: f.bob.email }, ip: '10.66.0.1' })),
  'POST /auth/password/reset 204': async () => {
    const user = await signUp(ctx.app);
    expect((await send('POST', '/auth/password/forgot', { json: { email: user.email }, ip: '10.66.0.2' })).statusCode).toBe(202);
    const token = await mailedToken(user.email, 'reset-password');
    return send('POST', '/auth/password/reset', { json: { token, new_password: NEW_PASSWORD }, ip: '10.66.0.2' });
  },
  'POST /auth/password/reset 400 TOKEN_INVALID': () =>
    send('POST', '/auth/password/reset', { json: { token: 'A'.repeat(43), new_password: NEW_PASSWORD }, ip: '10.66.0.3' }),
  'POST /auth/password/reset 429 RATE_LIMITED': () =>
    untilThrottled(() =>
      send('POST', '/auth/password/reset', { json: { token: 'B'.repeat(43), new_password: NEW_PASSWORD }, ip: '10.66.0.4' }),
    ),
  'POST /auth/verify-email 204': async () => {
    const user = await signUp(ctx.app);
    return send('POST', '/auth/verify-email', { json: { token: await mailedToken(user.email, 'verify-email') }, ip: '10.66.0.5' });
  },
  'POST /auth/verify-email 400 TOKEN_INVALID': () =>
    send('POST', '/auth/verify-email', { json: { token: 'C'.repeat(43) }, ip: '10.66.0.6' }),
  'POST /auth/verify-email 429 RATE_LIMITED': () =>
    untilThrottled(() => send('POST', '/auth/verify-email', { json: { token: 'D'.repeat(43) }, ip: '10.66.0.7' })),
  'POST /auth/verify-email/resend 429 RATE_LIMITED': async () => {
    const user = await signUp(ctx.app);
    return untilThrottled(() => send('POST', '/auth/verify-email/resend', { as: user }));
  },

  'GET /users 200': () => send('GET', '/users', { as: f.admin }),
  'GET /users 403 FORBIDDEN': () => send('GET', '/users', { as: f.alice }),
  'GET /users/{id} 403 FORBIDDEN': () => send('GET', `/users/${f.bob.id}`, { as: f.alice }),
  'PATCH /users/{id} 403 FORBIDDEN': () => send('PATCH', `/users/${f.bob.id}`, { as: f.alice, json: { name: 'Not yours' } }),
  'PATCH /users/{id} 409 EMAIL_TAKEN': () => send('PATCH', `/users/${f.alice.id}`, { as: f.alice, json: { email: f.bob.email } }),
  'PATCH /users/{id} 409 LAST_ADMIN': () => send('PATCH', `/users/${f.admin.id}`, { as: f.admin, json: { role: 'user' } }),
  'DELETE /users/{id} 204': async () => {
    const user = await signUp(ctx.app);
    return send('DELETE', `/users/${user.id}`, { as: user });
  },
  'DELETE /users/{id} 403 FORBIDDEN': () => send('DELETE', `/users/${f.bob.id}`, { as: f.alice }),
  'DELETE /users/{id} 409 LAST_ADMIN': () => send('DELETE', `/users/${f.admin.id}`, { as: f.admin }),

  'POST /auth/reauthenticate 401 INVALID_CREDENTIALS': async () =>
    send('POST', '/auth/reauthenticate', { as: await signUp(ctx.app), json: { password: 'not the password at all' } }),
  'POST /auth/reauthenticate 429 RATE_LIMITED': async () => {
    const user = await signUp(ctx.app);
    return untilThrottled(() => send('POST', '/auth/reauthenticate', { as: user, json: { password: 'not the password at all' } }));
  },
  // A token whose sign-in is older than REAUTH_MAX_AGE, signed with the real key.
  'PATCH /users/{id} 401 REAUTHENTICATION_REQUIRED': async () =>
    send('PATCH', `/users/${f.alice.id}`, { authorization: `Bearer ${staleToken(f.alice)}`, json: { email: uniqueEmail('moved') } }),
  'DELETE /users/{id} 401 REAUTHENTICATION_REQUIRED': async () =>
    send('DELETE', `/users/${f.alice.id}`, { authorization: `Bearer ${staleToken(f.alice)}` }),
  'DELETE /auth/sessions/{id} 204': async () => {
    const other = await logIn(ctx.app, f.alice.email, STRONG_PASSWORD);
    return send('DELETE', `/auth/sessions/${decodeToken(other.accessToken).payload.sid}`, { as: f.alice });
  },
  'DELETE /auth/sessions/{id} 404 NOT_FOUND': () => send('DELETE', `/auth/sessions/${MISSING_ID}`, { as: f.alice }),
  'GET /users/{id}/sessions 200': () => send('GET', `/users/${f.alice.id}/sessions`, { as: f.admin }),
  'GET /users/{id}/sessions 403 FORBIDDEN': () => send('GET', `/users/${f.bob.id}/sessions`, { as: f.alice }),
  'GET /users/{id}/sessions 404 NOT_FOUND': () => send('GET', `/users/${MISSING_ID}/sessions`, { as: f.admin }),
  'DELETE /users/{id}/sessions 204': async () => send('DELETE', `/users/${(await signUp(ctx.app)).id}/sessions`, { as: f.admin }),
  'DELETE /users/{id}/sessions 403 FORBIDDEN': () => send('DELETE', `/users/${f.bob.id}/sessions`, { as: f.alice }),
  'DELETE /users/{id}/sessions 404 NOT_FOUND': () => send('DELETE', `/users/${MISSING_ID}/sessions`, { as: f.admin }),
  'GET /admin/events 200': () => send('GET', '/admin/events?type=login.succeeded&limit=2', { as: f.admin }),
  'GET /admin/events 403 FORBIDDEN': () => send('GET', '/admin/events', { as: f.alice }),
  'GET /admin/keys 200': () => send('GET', '/admin/keys', { as: f.admin }),
  'GET /admin/keys 403 FORBIDDEN': () => send('GET', '/admin/keys', { as: f.alice }),
  'POST /admin/keys/rotate 201': async () => {
    // Rotation needs the database key store: an asymmetric algorithm.
    const rotating = await createTestApp({ JWT_ALGORITHM: 'EdDSA', KEY_ENCRYPTION_SECRET: randomBytes(48).toString('base64url') });
    try {
      const admin = await signUpAdmin(rotating);
      return await rotating.app.inject({ method: 'POST', url: '/admin/keys/rotate', headers: admin.headers });
    } finally {
      await rotating.close();
    }
  },
  'POST /admin/keys/rotate 403 FORBIDDEN': () => send('POST', '/admin/keys/rotate', { as: f.alice }),
  'POST /admin/keys/rotate 409 KEY_ROTATION_UNAVAILABLE': () => send('POST', '/admin/keys/rotate', { as: f.admin }),
  'GET /admin/status 200': () => send('GET', '/admin/status', { as: f.admin }),
  'GET /admin/status 403 FORBIDDEN': () => send('GET', '/admin/status', { as: f.alice }),

  'POST /auth/reauthenticate 401 MFA_CODE_INVALID': async () =>
    send('POST', '/auth/reauthenticate', { as: (await enrolledUser()).user, json: { password: STRONG_PASSWORD } }),
  'POST /auth/mfa/verify 200': async () => {
    const { user, secret } = await enrolledUser();
    return send('POST', '/auth/mfa/verify', { json: { mfa_token: await mfaTokenOf(user), code: totpCode(secret) } });
  },
  'POST /auth/mfa/verify 401 MFA_CODE_INVALID': async () => {
    const { user } = await enrolledUser();
    return send('POST', '/auth/mfa/verify', { json: { mfa_token: await mfaTokenOf(user), code: '000000' } });
  },
  'POST /auth/mfa/verify 401 TOKEN_INVALID': () =>
    send('POST', '/auth/mfa/verify', { json: { mfa_token: 'F'.repeat(43), code: '000000' } }),
  'POST /auth/mfa/verify 429 RATE_LIMITED': async () => {
    const { user } = await enrolledUser();
    return untilThrottled(async () => send('POST', '/auth/mfa/verify', { json: { mfa_token: await mfaTokenOf(user), code: '000000' } }));
  },
  'POST /auth/mfa/totp 200': async () => send('POST', '/auth/mfa/totp', { as: await signUp(ctx.app) }),
  'POST /auth/mfa/totp 401 REAUTHENTICATION_REQUIRED': () =>
    send('POST', '/auth/mfa/totp', { authorization: `Bearer ${staleToken(f.alice)}` }),
  'POST /auth/mfa/totp 409 MFA_ALREADY_ENABLED': async () => send('POST', '/auth/mfa/totp', { as: (await enrolledUser()).user }),
  'POST /auth/mfa/totp 409 MFA_UNAVAILABLE': async () => {
    const prod = await createTestApp({ NODE_ENV: 'production', MAIL_OUTBOX_DIR: '/tmp/gatehouse-contract-outbox' });
    try {
      const user = await signUp(prod.app);
      return await prod.app.inject({ method: 'POST', url: '/auth/mfa/totp', headers: user.headers });
    } finally {
      await prod.close();
    }
  },
  'POST /auth/mfa/totp/confirm 200': async () => {
    const user = await signUp(ctx.app);
    const { secret } = (await send('POST', '/auth/mfa/totp', { as: user })).json();
    return send('POST', '/auth/mfa/totp/confirm', { as: user, json: { code: totpCode(secret) } });
  },
  'POST /auth/mfa/totp/confirm 400 MFA_CODE_INVALID': async () => {
    const user = await signUp(ctx.app);
    await send('POST', '/auth/mfa/totp', { as: user });
    return send('POST', '/auth/mfa/totp/confirm', { as: user, json: { code: '000000' } });
  },
  'POST /auth/mfa/totp/confirm 409 MFA_ALREADY_ENABLED': async () =>
    send('POST', '/auth/mfa/totp/confirm', { as: (await enrolledUser()).user, json: { code: '000000' } }),
  'POST /auth/mfa/totp/confirm 429 RATE_LIMITED': async () => {
    const user = await signUp(ctx.app);
    await send('POST', '/auth/mfa/totp', { as: user });
    return untilThrottled(() => send('POST', '/auth/mfa/totp/confirm', { as: user, json: { code: '000000' } }));
  },
  'DELETE /auth/mfa/totp 204': async () => send('DELETE', '/auth/mfa/totp', { as: (await enrolledUser()).user }),
  'DELETE /auth/mfa/totp 401 REAUTHENTICATION_REQUIRED': () =>
    send('DELETE', '/auth/mfa/totp', { authorization: `Bearer ${staleToken(f.alice)}` }),
  'POST /auth/mfa/recovery-codes 200': async () => send('POST', '/auth/mfa/recovery-codes', { as: (await enrolledUser()).user }),
  'POST /auth/mfa/recovery-codes 400 VALIDATION_FAILED': async () =>
    send('POST', '/auth/mfa/recovery-codes', { as: await signUp(ctx.app) }),
  'POST /auth/mfa/recovery-codes 401 REAUTHENTICATION_REQUIRED': () =>
    send('POST', '/auth/mfa/recovery-codes', { authorization: `Bearer ${staleToken(f.alice)}` }),
  'DELETE /users/{id}/mfa 204': async () => send('DELETE', `/users/${(await enrolledUser()).user.id}/mfa`, { as: f.admin }),
  'DELETE /users/{id}/mfa 403 FORBIDDEN': () => send('DELETE', `/users/${f.bob.id}/mfa`, { as: f.alice }),
  'DELETE /users/{id}/mfa 404 NOT_FOUND': () => send('DELETE', `/users/${MISSING_ID}/mfa`, { as: f.admin }),

  'POST /auth/passkeys/registration/options 401 REAUTHENTICATION_REQUIRED': () =>
    send('POST', '/auth/passkeys/registration/options', { authorization: `Bearer ${staleToken(f.alice)}` }),
  'POST /auth/passkeys/registration 201': async () => {
    const user = await signUp(ctx.app);
    const options = (await send('POST', '/auth/passkeys/registration/options', { as: user })).json();
    return send('POST', '/auth/passkeys/registration', { as: user, json: { response: authenticator().create(options), name: 'Phone' } });
  },
  'POST /auth/passkeys/registration 400 VALIDATION_FAILED': async () => {
    const user = await signUp(ctx.app);
    const options = (await send('POST', '/auth/passkeys/registration/options', { as: user })).json();
    const response = authenticator().create(options, { origin: 'https://evil.example' });
    return send('POST', '/auth/passkeys/registration', { as: user, json: { response } });
  },
  'POST /auth/passkeys/authentication 200': async () => {
    const user = await signUp(ctx.app);
    const device = authenticator();
    const options = (await send('POST', '/auth/passkeys/registration/options', { as: user })).json();
    await send('POST', '/auth/passkeys/registration', { as: user, json: { response: device.create(options) } });
    const { challenge_id, options: request } = (await send('POST', '/auth/passkeys/authentication/options')).json();
    return send('POST', '/auth/passkeys/authentication', { json: { challenge_id, response: device.get(request) } });
  },
  'POST /auth/passkeys/authentication 401 INVALID_CREDENTIALS': async () => {
    const { challenge_id, options } = (await send('POST', '/auth/passkeys/authentication/options')).json();
    return send('POST', '/auth/passkeys/authentication', { json: { challenge_id, response: authenticator().get(options) } });
  },
  'POST /auth/passkeys/authentication 429 RATE_LIMITED': async () => {
    const strict = await createTestApp({ LOGIN_MAX_FAILURES_PER_IP: '1' });
    try {
      const attempt = async () => {
        const { challenge_id, options } = (
          await strict.app.inject({ method: 'POST', url: '/auth/passkeys/authentication/options' })
        ).json();
        const response = authenticator().get(options);
        return strict.app.inject({ method: 'POST', url: '/auth/passkeys/authentication', payload: { challenge_id, response } });
      };
      expect((await attempt()).statusCode).toBe(401);
      return await attempt();
    } finally {
      await strict.close();
    }
  },
  'DELETE /auth/passkeys/{id} 204': async () => {
    const user = await signUp(ctx.app);
    const options = (await send('POST', '/auth/passkeys/registration/options', { as: user })).json();
    const added = (
      await send('POST', '/auth/passkeys/registration', { as: user, json: { response: authenticator().create(options) } })
    ).json();
    return send('DELETE', `/auth/passkeys/${added.id}`, { as: user });
  },
  'DELETE /auth/passkeys/{id} 401 REAUTHENTICATION_REQUIRED': () =>
    send('DELETE', `/auth/passkeys/${MISSING_ID}`, { authorization: `Bearer ${staleToken(f.alice)}` }),

  'POST /oauth/introspect 200': () => introspect(`token=${f.alice.accessToken}`),
  'POST /oauth/introspect 400 VALIDATION_FAILED': () => introspect('token_type_hint=access_token'),
  'POST /oauth/introspect 401 INVALID_CLIENT': () =>
    introspect(`token=${f.alice.accessToken}`, { authorization: 'Basic d3Jvbmc6d3Jvbmc=' }),
  'POST /oauth/introspect 413 PAYLOAD_TOO_LARGE': () => introspect(`token=${'x'.repeat(70_000)}`),
  'POST /oauth/introspect 415 UNSUPPORTED_MEDIA_TYPE': () =>
    introspect(JSON.stringify({ token: f.alice.accessToken }), { contentType: 'application/json' }),
  'POST /oauth/introspect 429 RATE_LIMITED': async () => {
    const strict = await createTestApp({
      LOGIN_MAX_FAILURES_PER_IP: '1',
      INTROSPECTION_CLIENTS: `${INTROSPECTION_CLIENT.id}:${INTROSPECTION_CLIENT.secret}`,
    });
    try {
      const attempt = () =>
        strict.app.inject({
          method: 'POST',
          url: '/oauth/introspect',
          headers: { authorization: 'Basic d3Jvbmc6d3Jvbmc=', 'content-type': 'application/x-www-form-urlencoded' },
          payload: 'token=x',
        });
      expect((await attempt()).statusCode).toBe(401);
      return await attempt();
    } finally {
      await strict.close();
    }
  },

  'POST /books 409 ISBN_TAKEN': () =>
    send('POST', '/books', { as: f.alice, json: { title: 'Again', author: 'Someone', isbn: f.book.isbn } }),
  'PATCH /books/{id} 403 FORBIDDEN': () => send('PATCH', `/books/${f.book.id}`, { as: f.bob, json: { title: 'Mine now' } }),
  'PATCH /books/{id} 409 ISBN_TAKEN': () => send('PATCH', `/books/${f.book.id}`, { as: f.alice, json: { isbn: f.otherBook.isbn } }),
  'DELETE /books/{id} 204': async () => {
    const book = await create(f.alice, '/books', { title: 'Short-lived', author: 'Nobody' });
    return send('DELETE', `/books/${book.id}`, { as: f.alice });
  },
  'DELETE /books/{id} 403 FORBIDDEN': () => send('DELETE', `/books/${f.book.id}`, { as: f.bob }),

  'DELETE /bucketlists/{id} 204': async () => {
    const list = await create(f.alice, '/bucketlists', { name: 'Short-lived' });
    return send('DELETE', `/bucketlists/${list.id}`, { as: f.alice });
  },
  'DELETE /bucketlists/{id}/items/{item_id} 204': async () => {
    const item = await create(f.alice, `/bucketlists/${f.list.id}/items`, { title: 'Short-lived' });
    return send('DELETE', `/bucketlists/${f.list.id}/items/${item.id}`, { as: f.alice });
  },
};

beforeAll(async () => {
  const admin = await signUpAdmin(ctx);
  const alice = await signUp(ctx.app, { email: uniqueEmail('alice') });
  const bob = await signUp(ctx.app, { email: uniqueEmail('bob') });
  const book = await create(alice, '/books', { title: 'Clean Code', author: 'Robert C. Martin', isbn: '978-0-13-235088-4' });
  const otherBook = await create(bob, '/books', { title: 'An ISBN-10 book', author: 'Someone', isbn: '0-306-40615-2' });
  const list = await create(alice, '/bucketlists', { name: 'Fixture list' });
  const item = await create(alice, `/bucketlists/${list.id}/items`, { title: 'Fixture item' });
  // Signed with the real key and well-formed, only past its exp: the one thing wrong is expiry.
  const { header, payload } = decodeToken(alice.accessToken);
  const now = Math.floor(Date.now() / 1000);
  const expiredToken = forgeToken(header, { ...payload, iat: now - 1000, exp: now - 100 }, ctx.config.jwt.secret);
  f = {
    admin,
    alice,
    bob,
    book: { id: book.id, isbn: book.isbn ?? '' },
    otherBook: { id: otherBook.id, isbn: otherBook.isbn ?? '' },
    list,
    item,
    expiredToken,
  };
}, 120_000);

describe('every documented response is produced by a real request and matches its schema', () => {
  it('covers a known number of responses, and every scenario matches one of them', () => {
    expect(cases.length).toBeGreaterThan(100);
    const documented = new Set(cases.map(caseKey));
    expect(Object.keys(specificScenarios).filter((key) => !documented.has(key))).toEqual([]);
  });

  it.each(cases.map((c) => [caseKey(c), c] as const))('%s', async (_name, c) => {
    const scenario = specificScenarios[caseKey(c)] ?? genericScenario(c);
    if (!scenario) throw new Error(`no scenario produces ${caseKey(c)}: add one to specificScenarios`);
    const res = await scenario();

    expect(res.statusCode, res.body).toBe(c.status);
    for (const header of Object.keys(c.response.headers ?? {})) expect(res.headers[header], header).toBeTruthy();
    const [mediaType, media] = Object.entries(c.response.content ?? {})[0] ?? [];
    if (!mediaType || !media?.schema) {
      expect(res.body).toBe('');
      return;
    }
    expect(String(res.headers['content-type'])).toMatch(new RegExp(`^${mediaType.replace(/[+/]/g, '\\$&')}(;|$)`));
    const body = res.json();
    const validate = compile(media.schema);
    expect(validate(body), `${res.body}\n${JSON.stringify(validate.errors, null, 2)}`).toBe(true);
    if (c.status >= 400) {
      expect(mediaType).toBe(PROBLEM_JSON);
      expect(body).toMatchObject({ status: c.status, code: c.code });
    }
  });
});
