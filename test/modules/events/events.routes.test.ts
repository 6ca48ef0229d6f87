import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEventsService } from '../../../src/modules/events/events.service.js';
import { storeResetToken } from '../../helpers/account-tokens.js';
import {
  createTestApp,
  expectProblem,
  logIn,
  type SignedIn,
  STRONG_PASSWORD,
  signUp,
  signUpAdmin,
  type TestContext,
} from '../../helpers/app.js';
import { tokenFromOutbox } from '../../helpers/outbox.js';
import { decodeToken } from '../../helpers/tokens.js';

let ctx: TestContext;
let admin: SignedIn;
beforeAll(async () => {
  ctx = await createTestApp({ LOGIN_MAX_FAILURES_PER_EMAIL: '2' });
  admin = await signUpAdmin(ctx);
});
afterAll(async () => ctx.close());

const NEW_PASSWORD = 'a much longer passphrase, freshly chosen';
const sidOf = (user: SignedIn) => decodeToken(user.accessToken).payload.sid as string;
const send = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, as?: SignedIn, payload?: object) =>
  ctx.app.inject({ method, url, headers: { ...as?.headers, 'user-agent': 'Events Test/1.0' }, payload, remoteAddress: '10.90.0.1' });
const eventsOf = (userId: string) =>
  ctx.db.selectFrom('security_events').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('id').execute();
const typesOf = async (userId: string) => (await eventsOf(userId)).map((e) => e.type);

describe('each action writes its event', () => {
  it('sign-in, failure, throttling (once per window), logout and logout-all', async () => {
    const user = await signUp(ctx.app);
    const login = (password: string) => send('POST', '/auth/login', undefined, { email: user.email, password });
    expectProblem(await login('wrong password!!'), 401, 'INVALID_CREDENTIALS');
    expectProblem(await login('wrong password!!'), 401, 'INVALID_CREDENTIALS');
    for (let i = 0; i < 5; i++) expectProblem(await login(STRONG_PASSWORD), 429, 'RATE_LIMITED');
    // Failures and throttling are written in the background (the answer must not wait for them).
    await vi.waitFor(async () => expect((await typesOf(user.id)).filter((t) => t !== 'login.succeeded')).toHaveLength(3));
    expect(await typesOf(user.id)).toEqual(['login.succeeded', 'login.failed', 'login.failed', 'login.throttled']);
    const [succeeded, failed] = await eventsOf(user.id);
    expect(succeeded).toMatchObject({ session_id: sidOf(user), actor_id: null });
    expect(JSON.parse(failed?.data ?? '')).toEqual({ reason: 'password' });
    expect(failed).toMatchObject({ ip: '10.90.0.1', user_agent: 'Events Test/1.0' });

    const other = await signUp(ctx.app);
    const second = await logIn(ctx.app, other.email, STRONG_PASSWORD);
    expect((await send('POST', '/auth/logout', second)).statusCode).toBe(204);
    expect((await send('POST', '/auth/logout-all', other)).statusCode).toBe(204);
    const logouts = (await eventsOf(other.id)).filter((e) => e.type === 'logout');
    expect(logouts.map((e) => [e.session_id, JSON.parse(e.data).scope])).toEqual([
      [sidOf(second), 'this'],
      [sidOf(other), 'all'],
    ]);
  });

  it('an unknown email writes nothing', async () => {
    const before = await ctx.db.selectFrom('security_events').select('id').execute();
    await send('POST', '/auth/login', undefined, { email: 'nobody-at-all@example.com', password: 'wrong password!!' });
    await new Promise((r) => setTimeout(r, 100));
    expect(await ctx.db.selectFrom('security_events').select('id').execute()).toHaveLength(before.length);
  });

  it('session.revoked, refresh.reuse_detected and reauthenticated', async () => {
    const user = await signUp(ctx.app);
    const other = await logIn(ctx.app, user.email, STRONG_PASSWORD);
    expect((await send('DELETE', `/auth/sessions/${sidOf(other)}`, user)).statusCode).toBe(204);
    expect((await send('POST', '/auth/logout-others', user)).statusCode).toBe(204);
    const third = await logIn(ctx.app, user.email, STRONG_PASSWORD);
    expect((await send('POST', '/auth/refresh', undefined, { refresh_token: third.refreshToken })).statusCode).toBe(200);
    expectProblem(await send('POST', '/auth/refresh', undefined, { refresh_token: third.refreshToken }), 401, 'TOKEN_INVALID');
    expect((await send('POST', '/auth/reauthenticate', user, { password: STRONG_PASSWORD })).statusCode).toBe(200);
    const events = await eventsOf(user.id);
    const revoked = events.filter((e) => e.type === 'session.revoked').map((e) => JSON.parse(e.data));
    expect(revoked).toEqual([
      { session: sidOf(other), reason: 'ended_by_user' },
      { scope: 'others', count: 0 },
    ]);
    expect(events.find((e) => e.type === 'refresh.reuse_detected')?.session_id).toBe(sidOf(third));
    expect(events.find((e) => e.type === 'reauthenticated')?.session_id).toBe(sidOf(user));
  });

  it('password.changed, password.reset, email.verified and email.changed', async () => {
    const user = await signUp(ctx.app);
    expect((await send('PUT', '/auth/password', user, { current_password: STRONG_PASSWORD, new_password: NEW_PASSWORD })).statusCode).toBe(
      204,
    );
    const token = await storeResetToken(ctx.db, user);
    expect((await send('POST', '/auth/password/reset', undefined, { token, new_password: STRONG_PASSWORD })).statusCode).toBe(204);
    const verification = await tokenFromOutbox(ctx.config.mail.outboxDir, user.email, 'verify-email');
    // The reset already verified the address, so the sign-up link is retired: mail a fresh one.
    expect(verification.length).toBeGreaterThan(0);
    const fresh = await logIn(ctx.app, user.email, STRONG_PASSWORD);
    expect((await send('PATCH', `/users/${user.id}`, fresh, { email: `moved-${user.email}` })).statusCode).toBe(200);
    const link = await tokenFromOutbox(ctx.config.mail.outboxDir, `moved-${user.email}`, 'verify-email');
    expect((await send('POST', '/auth/verify-email', undefined, { token: link })).statusCode).toBe(204);
    expect(await typesOf(user.id)).toEqual([
      'login.succeeded',
      'password.changed',
      'password.reset',
      'login.succeeded',
      'email.changed',
      'email.verified',
    ]);
    const changed = (await eventsOf(user.id)).find((e) => e.type === 'password.changed');
    expect(JSON.parse(changed?.data ?? '')).toEqual({ sessions_ended: 0 });
  });

  it('role changes, disabling, enabling and deletion by an admin carry the admin as actor', async () => {
    const user = await signUp(ctx.app);
    const patch = (body: object) => send('PATCH', `/users/${user.id}`, admin, body);
    expect((await patch({ role: 'admin' })).statusCode).toBe(200);
    expect((await patch({ role: 'user' })).statusCode).toBe(200);
    expect((await patch({ disabled: true })).statusCode).toBe(200);
    expect((await patch({ disabled: false })).statusCode).toBe(200);
    expect((await send('DELETE', `/users/${user.id}`, admin)).statusCode).toBe(204);
    const events = (await eventsOf(user.id)).filter((e) => e.type !== 'login.succeeded');
    expect(events.map((e) => [e.type, JSON.parse(e.data)])).toEqual([
      ['user.role_changed', { from: 'user', role: 'admin' }],
      ['user.role_changed', { from: 'admin', role: 'user' }],
      ['user.disabled', {}],
      ['user.enabled', {}],
      ['user.deleted', {}],
    ]);
    expect(events.every((e) => e.actor_id === admin.id)).toBe(true);
  });

  it('a change that is refused or rolled back leaves no event', async () => {
    const user = await signUp(ctx.app);
    const taken = await signUp(ctx.app);
    expectProblem(await send('PATCH', `/users/${user.id}`, user, { email: taken.email }), 409, 'EMAIL_TAKEN');
    expectProblem(await send('PATCH', `/users/${admin.id}`, admin, { role: 'user' }), 409, 'LAST_ADMIN');
    expectProblem(await send('PATCH', `/users/${taken.id}`, user, { name: 'Not yours' }), 403, 'FORBIDDEN');
    expect(await typesOf(user.id)).toEqual(['login.succeeded']);
    expect((await typesOf(admin.id)).filter((t) => t === 'user.role_changed')).toEqual([]);
  });
});

describe('GET /auth/events and GET /admin/events', () => {
  it("a user sees only their own events, newest first, in pages; an admin filters everyone's by user and type", async () => {
    const alice = await signUp(ctx.app);
    const bob = await signUp(ctx.app);
    await logIn(ctx.app, alice.email, STRONG_PASSWORD);
    await logIn(ctx.app, alice.email, STRONG_PASSWORD);
    const first = (await send('GET', '/auth/events?limit=2', alice)).json();
    expect(first.items).toHaveLength(2);
    const rest = (await send('GET', `/auth/events?limit=2&cursor=${first.next_cursor}`, alice)).json();
    expect(rest.items).toHaveLength(1);
    expect(rest.next_cursor).toBeNull();
    const all = [...first.items, ...rest.items];
    expect(all.every((e: { user_id: string }) => e.user_id === alice.id)).toBe(true);
    const times = all.map((e: { created_at: string }) => e.created_at);
    expect([...times].sort().reverse()).toEqual(times);
    expect(Object.keys(all[0]).sort()).toEqual([
      'actor_id',
      'created_at',
      'data',
      'id',
      'ip',
      'session_id',
      'type',
      'user_agent',
      'user_id',
    ]);

    const byUser = (await send('GET', `/admin/events?user_id=${bob.id}`, admin)).json();
    expect(byUser.items.map((e: { user_id: string }) => e.user_id)).toEqual([bob.id]);
    const byType = (await send('GET', `/admin/events?type=login.succeeded&user_id=${alice.id}`, admin)).json();
    expect(byType.items).toHaveLength(3);
    expectProblem(await send('GET', '/admin/events?type=not.a.type', admin), 400, 'VALIDATION_FAILED');
    expectProblem(await send('GET', '/admin/events', alice), 403, 'FORBIDDEN');
  });

  it('no event holds a password, a token, a token hash or a password hash', async () => {
    const user = await signUp(ctx.app);
    const secrets = [STRONG_PASSWORD, NEW_PASSWORD, 'wrong password!!', user.accessToken, user.refreshToken];
    await send('POST', '/auth/login', undefined, { email: user.email, password: 'wrong password!!' });
    await send('PUT', '/auth/password', user, { current_password: STRONG_PASSWORD, new_password: NEW_PASSWORD });
    const token = await storeResetToken(ctx.db, user);
    secrets.push(token);
    await send('POST', '/auth/password/reset', undefined, { token, new_password: STRONG_PASSWORD });
    const again = await logIn(ctx.app, user.email, STRONG_PASSWORD);
    secrets.push(again.accessToken, again.refreshToken);
    const rows = await ctx.db.selectFrom('users').select('password_hash').execute();
    const tokenHashes = await ctx.db.selectFrom('refresh_tokens').select('token_hash').execute();
    const accountHashes = await ctx.db.selectFrom('account_tokens').select('token_hash').execute();
    secrets.push(...rows.map((r) => r.password_hash), ...tokenHashes.map((r) => r.token_hash), ...accountHashes.map((r) => r.token_hash));
    await new Promise((r) => setTimeout(r, 100));
    const everything = JSON.stringify(await ctx.db.selectFrom('security_events').selectAll().execute());
    expect(secrets.filter((secret) => everything.includes(secret))).toEqual([]);
  });
});

describe('EVENTS_RETENTION', () => {
  it('prunes events older than the retention, measured from a controlled clock', async () => {
    const events = createEventsService(ctx.db, { retentionSeconds: 86_400 });
    const user = await signUp(ctx.app);
    const now = Date.now();
    await ctx.db
      .insertInto('security_events')
      .values([
        {
          id: 'old-1',
          type: 'logout',
          created_at: new Date(now - 2 * 86_400_000).toISOString(),
          user_id: user.id,
          actor_id: null,
          session_id: null,
          ip: null,
          user_agent: null,
          data: '{}',
        },
        {
          id: 'edge',
          type: 'logout',
          created_at: new Date(now - 86_400_000 + 60_000).toISOString(),
          user_id: user.id,
          actor_id: null,
          session_id: null,
          ip: null,
          user_agent: null,
          data: '{}',
        },
      ])
      .execute();
    expect(await events.prune(now)).toBe(1);
    expect((await eventsOf(user.id)).map((e) => e.id)).toEqual(expect.arrayContaining(['edge']));
    expect((await eventsOf(user.id)).map((e) => e.id)).not.toContain('old-1');
    // Two minutes later the other one is past the retention too.
    expect(await events.prune(now + 120_000)).toBe(1);
    expect((await eventsOf(user.id)).map((e) => e.id)).not.toContain('edge');
  });

  it('defaults to 90 days', () => {
    expect(ctx.config.eventsRetentionSeconds).toBe(90 * 86_400);
  });
});
