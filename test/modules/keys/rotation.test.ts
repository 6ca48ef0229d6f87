import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildResourceServer } from '../../../examples/resource-server.js';
import { buildApp } from '../../../src/app.js';
import { createTestApp, logIn, type SignedIn, signUp, type TestContext } from '../../helpers/app.js';
import { runCli } from '../../helpers/processes.js';
import { decodeToken } from '../../helpers/tokens.js';

// Rotation as an operator does it (`gatehouse keys rotate`, the built CLI) against two app
// instances sharing one database, with no restart.

const KEY_ENCRYPTION_SECRET = randomBytes(48).toString('base64url');
let a: TestContext;
let b: FastifyInstance;
let env: Record<string, string>;

beforeAll(async () => {
  a = await createTestApp({ JWT_ALGORITHM: 'EdDSA', KEY_ENCRYPTION_SECRET, JWT_KEY_RELOAD_INTERVAL: '1s' });
  // A second instance: same configuration, same database.
  b = await buildApp(a.config, { logger: false });
  const database = a.config.database;
  env = {
    NODE_ENV: 'test',
    JWT_ALGORITHM: 'EdDSA',
    KEY_ENCRYPTION_SECRET,
    DATABASE_URL: database.kind === 'sqlite' ? `sqlite:${database.path}` : database.url,
  };
});
afterAll(async () => {
  await b.close();
  await a.close();
});
afterEach(() => vi.useRealTimers());

const kidOf = (user: SignedIn) => decodeToken(user.accessToken).header.kid as string;
const me = (app: FastifyInstance, user: SignedIn) => app.inject({ url: '/auth/me', headers: user.headers });
const jwksKids = async (app: FastifyInstance) =>
  ((await app.inject({ url: '/.well-known/jwks.json' })).json().keys as { kid: string }[]).map((k) => k.kid);

function rotate(): string {
  const res = runCli(['keys', 'rotate'], env);
  expect(res.status, res.stderr).toBe(0);
  return /new signing key (\S+)/.exec(res.stdout)?.[1] as string;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met in time');
}

describe('signing key rotation across instances', () => {
  it('old tokens keep verifying, the new key signs, both are published, then the old key retires', async () => {
    const user = await signUp(a.app);
    const oldKid = kidOf(user);
    const newKid = rotate();
    // The rotation is a security event (no actor: the CLI), in the same transaction as the key.
    const rotated = await a.db.selectFrom('security_events').selectAll().where('type', '=', 'keys.rotated').execute();
    expect(rotated.map((e) => JSON.parse(e.data).kid)).toContain(newKid);
    expect(newKid).not.toBe(oldKid);

    // Instance B verifies a token signed with the new key at once (unknown kid → one reload).
    await waitFor(async () => kidOf(await logIn(a.app, user.email, user.password)) === newKid);
    const fresh = await logIn(a.app, user.email, user.password);
    expect((await me(b, fresh)).statusCode).toBe(200);
    // Tokens signed with the previous key still verify on both instances.
    expect((await me(a.app, user)).statusCode).toBe(200);
    expect((await me(b, user)).statusCode).toBe(200);
    expect(new Set(await jwksKids(b))).toEqual(new Set([oldKid, newKid]));

    // After the grace period (access TTL + tolerance + reload interval) the old key is gone.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + (15 * 60 + 5 + 1 + 1) * 1000);
    expect(await jwksKids(a.app)).toEqual([newKid]);
    expect((await me(a.app, user)).statusCode).toBe(401);
  });

  it('no request fails while keys rotate under load', async () => {
    const users = await Promise.all([signUp(a.app), signUp(b)]);
    let stop = false;
    const statuses: number[] = [];
    const load = (async () => {
      let i = 0;
      while (!stop) {
        const user = users[i % users.length] as SignedIn;
        const app = i % 2 === 0 ? a.app : b;
        statuses.push((await me(app, user)).statusCode);
        if (i % 10 === 0) {
          // New tokens are minted during the rotation too, on either instance.
          const fresh = await logIn(i % 20 === 0 ? a.app : b, user.email, user.password);
          statuses.push((await me(i % 20 === 0 ? b : a.app, fresh)).statusCode);
        }
        i += 1;
      }
    })();
    rotate();
    rotate();
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await load;
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  });
});

describe('examples/resource-server.ts: offline verification with jose and the JWK Set', () => {
  it('accepts Gatehouse tokens, refuses forgeries, follows a rotation, and (documented) cannot see logout', async () => {
    await a.app.listen({ port: 0, host: '127.0.0.1' });
    const gatehouseUrl = `http://127.0.0.1:${(a.app.server.address() as AddressInfo).port}`;
    const resource = buildResourceServer({ gatehouseUrl, issuer: a.config.jwt.issuer, audience: 'gatehouse-api', algorithms: ['EdDSA'] });
    await resource.listen({ port: 0, host: '127.0.0.1' });
    const resourceUrl = `http://127.0.0.1:${(resource.server.address() as AddressInfo).port}`;
    const whoami = (token: string) => fetch(`${resourceUrl}/whoami`, { headers: { authorization: `Bearer ${token}` } });
    try {
      const user = await signUp(a.app);
      const ok = await whoami(user.accessToken);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ sub: user.id });

      const [h, p] = user.accessToken.split('.');
      expect((await whoami(`${h}.${p}.${'A'.repeat(86)}`)).status).toBe(401);
      expect((await fetch(`${resourceUrl}/whoami`)).status).toBe(401);

      const newKid = rotate();
      await waitFor(async () => kidOf(await logIn(a.app, user.email, user.password)) === newKid);
      const rotated = await logIn(a.app, user.email, user.password);
      // jose refetches the JWK Set for the unknown kid, at most once per cooldown (1 s here).
      await waitFor(async () => (await whoami(rotated.accessToken)).status === 200);

      // The trade-off of offline verification: Gatehouse refuses a logged-out token at once,
      // the resource server only when it expires.
      await a.app.inject({ method: 'POST', url: '/auth/logout', headers: rotated.headers });
      expect((await me(a.app, rotated)).statusCode).toBe(401);
      expect((await whoami(rotated.accessToken)).status).toBe(200);
    } finally {
      await resource.close();
    }
  });
});
