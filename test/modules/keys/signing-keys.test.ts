import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSigner } from 'fast-jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptPrivateKey, encryptPrivateKey, type SigningAlgorithm } from '../../../src/lib/signing-keys.js';
import { createTestApp, expectProblem, type SignedIn, signUp, type TestContext } from '../../helpers/app.js';
import { decodeToken, forgeToken } from '../../helpers/tokens.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

describe.each(['EdDSA', 'ES256', 'RS256'] as const)('JWT_ALGORITHM=%s with the database key store', (algorithm) => {
  let ctx: TestContext;
  let user: SignedIn;
  let jwks: { keys: Record<string, string>[] };

  beforeAll(async () => {
    ctx = await createTestApp({ JWT_ALGORITHM: algorithm, KEY_ENCRYPTION_SECRET: randomBytes(48).toString('base64url') });
    user = await signUp(ctx.app);
    jwks = (await ctx.app.inject({ url: '/.well-known/jwks.json' })).json();
  });
  afterAll(async () => ctx.close());

  it('signs with the algorithm; the kid is published in the JWK Set without private members', async () => {
    const { header } = decodeToken(user.accessToken);
    expect(header).toMatchObject({ alg: algorithm, typ: 'at+jwt' });
    expect(jwks.keys).toHaveLength(1);
    const [jwk] = jwks.keys;
    expect(jwk).toMatchObject({ kid: header.kid, alg: algorithm, use: 'sig' });
    for (const member of PRIVATE_MEMBERS) expect(jwk).not.toHaveProperty(member);
    expect((await ctx.app.inject({ url: '/auth/me', headers: user.headers })).statusCode).toBe(200);
  });

  it('keeps the private key encrypted at rest', async () => {
    const row = await ctx.db.selectFrom('signing_keys').selectAll().executeTakeFirstOrThrow();
    expect(row.private_key).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(row.private_key).not.toContain('PRIVATE KEY');
    expect(row.public_jwk).not.toMatch(/"d"/);
  });

  it('JWKS and discovery metadata are cacheable', async () => {
    const res = await ctx.app.inject({ url: '/.well-known/jwks.json' });
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    for (const url of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const meta = await ctx.app.inject({ url });
      expect(meta.headers['cache-control'], url).toBe('public, max-age=300');
      // Only what is true: nothing about ID tokens, endpoints or flows Gatehouse does not offer.
      expect(meta.json(), url).toEqual({
        issuer: 'http://localhost:3000',
        jwks_uri: 'http://localhost:3000/.well-known/jwks.json',
        access_token_signing_alg_values_supported: [algorithm],
      });
    }
  });

  it('discovery is built from PUBLIC_URL and JWT_ISSUER, never from the Host header', async () => {
    const other = await createTestApp({
      JWT_ALGORITHM: algorithm,
      KEY_ENCRYPTION_SECRET: randomBytes(48).toString('base64url'),
      PUBLIC_URL: 'https://id.example.com/gate',
      JWT_ISSUER: 'https://issuer.example.com',
    });
    try {
      const meta = await other.app.inject({ url: '/.well-known/oauth-authorization-server', headers: { host: 'evil.example' } });
      expect(meta.json()).toMatchObject({
        issuer: 'https://issuer.example.com',
        jwks_uri: 'https://id.example.com/gate/.well-known/jwks.json',
      });
      const user = await signUp(other.app);
      expect(decodeToken(user.accessToken).payload.iss).toBe('https://issuer.example.com');
    } finally {
      await other.close();
    }
  });

  it('algorithm confusion: an HS256 token "signed" with the published public key is refused', async () => {
    const { payload, header } = decodeToken(user.accessToken);
    const jwk = jwks.keys[0] as Record<string, string>;
    const { createPublicKey } = await import('node:crypto');
    const publicPem = createPublicKey({ key: jwk, format: 'jwk' }).export({ format: 'pem', type: 'spki' }).toString();
    for (const secret of [publicPem, JSON.stringify(jwk), jwk.x ?? jwk.n ?? '']) {
      const token = forgeToken({ ...header, alg: 'HS256' }, payload, secret);
      expectProblem(await ctx.app.inject({ url: '/auth/me', headers: { authorization: `Bearer ${token}` } }), 401, 'TOKEN_INVALID');
    }
  });

  it('an unknown kid is refused, even when the signature is valid for some other key', async () => {
    const { payload } = decodeToken(user.accessToken);
    const other = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const token = createSigner({ key: other, algorithm: 'EdDSA', kid: 'attacker-kid', header: { alg: 'EdDSA', typ: 'at+jwt' } })(payload);
    expectProblem(await ctx.app.inject({ url: '/auth/me', headers: { authorization: `Bearer ${token}` } }), 401, 'TOKEN_INVALID');
    const noKid = forgeToken({ alg: 'HS256', typ: 'at+jwt' }, payload, 'x'.repeat(40));
    expectProblem(await ctx.app.inject({ url: '/auth/me', headers: { authorization: `Bearer ${noKid}` } }), 401, 'TOKEN_INVALID');
  });

  it("a header alg that disagrees with the key's algorithm is refused", async () => {
    const [h, p, s] = user.accessToken.split('.');
    const header = JSON.parse(Buffer.from(h ?? '', 'base64url').toString());
    for (const alg of ['EdDSA', 'ES256', 'RS256', 'PS256', 'none'].filter((a) => a !== algorithm)) {
      const token = `${b64({ ...header, alg })}.${p}.${s}`;
      expectProblem(await ctx.app.inject({ url: '/auth/me', headers: { authorization: `Bearer ${token}` } }), 401, 'TOKEN_INVALID');
    }
  });
});

describe('JWT_PRIVATE_KEY_FILE: a fixed key from a PEM file', () => {
  it('signs with it, publishes its thumbprint kid, and refuses rotation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pem-'));
    const file = join(dir, 'signing.pem');
    writeFileSync(file, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    const ctx = await createTestApp({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: file });
    try {
      const user = await signUp(ctx.app);
      const { keys } = (await ctx.app.inject({ url: '/.well-known/jwks.json' })).json();
      expect(keys).toHaveLength(1);
      expect(decodeToken(user.accessToken).header.kid).toBe(keys[0].kid);
      expect(keys[0].kid).toMatch(/^[\w-]{43}$/);
      expect(await ctx.db.selectFrom('signing_keys').selectAll().execute()).toEqual([]);
    } finally {
      await ctx.close();
    }
  });

  it('a key that does not fit the algorithm stops the start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pem-'));
    const file = join(dir, 'wrong.pem');
    writeFileSync(file, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    await expect(createTestApp({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY_FILE: file })).rejects.toThrow(/not a usable RS256 private key/);
  });
});

describe('HS256 (default)', () => {
  it('publishes no keys and refuses a token whose kid is not ours, even if signed with our secret', async () => {
    const ctx = await createTestApp();
    try {
      const user = await signUp(ctx.app);
      expect((await ctx.app.inject({ url: '/.well-known/jwks.json' })).json()).toEqual({ keys: [] });
      const { header, payload } = decodeToken(user.accessToken);
      const otherKid = forgeToken({ ...header, kid: 'another' }, payload, ctx.config.jwt.secret);
      expectProblem(await ctx.app.inject({ url: '/auth/me', headers: { authorization: `Bearer ${otherKid}` } }), 401, 'TOKEN_INVALID');
    } finally {
      await ctx.close();
    }
  });
});

describe('private key encryption', () => {
  it('round-trips, and fails with another secret, another kid or a changed byte', () => {
    const secret = randomBytes(32).toString('hex');
    const stored = encryptPrivateKey('-----BEGIN PRIVATE KEY-----x', secret, 'kid-1');
    expect(decryptPrivateKey(stored, secret, 'kid-1')).toBe('-----BEGIN PRIVATE KEY-----x');
    expect(() => decryptPrivateKey(stored, `${secret}x`, 'kid-1')).toThrow();
    expect(() => decryptPrivateKey(stored, secret, 'kid-2')).toThrow();
    const parts = stored.split('.');
    const tampered = [
      ...parts.slice(0, 3),
      createHmac('sha256', 'x')
        .update(parts[3] ?? '')
        .digest('base64url'),
    ].join('.');
    expect(() => decryptPrivateKey(tampered, secret, 'kid-1')).toThrow();
  });

  it('KEY_ENCRYPTION_SECRET is required in production for the key store', async () => {
    const { loadConfig, ConfigError } = await import('../../../src/config.js');
    const algorithm: SigningAlgorithm = 'EdDSA';
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_ALGORITHM: algorithm, DATABASE_URL: 'sqlite::memory:' })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_ALGORITHM: algorithm, DATABASE_URL: 'sqlite::memory:' })).toThrow(
      /KEY_ENCRYPTION_SECRET is required/,
    );
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_ALGORITHM: 'HS512', DATABASE_URL: 'sqlite::memory:' })).toThrow(
      /JWT_ALGORITHM must be one of/,
    );
  });
});
