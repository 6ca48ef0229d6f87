import { constants, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, logIn, type SignedIn, signUp, type TestContext } from '../helpers/app.js';
import { expectRefused, snapshotDatabase } from '../helpers/attacks.js';
import { decodeToken, forgeToken } from '../helpers/tokens.js';

// The forged-token catalogue. test/modules/auth/token-failures.test.ts proves each failure mode
// on GET /auth/me; here every forgery is aimed at a state-changing route (POST /bucketlists), and
// each case asserts the exact status and code and that not one database row changed, so a
// bypass could not hide behind a read-only route.

let ctx: TestContext;
let user: SignedIn;
let secret: string;
let kid: string;

beforeAll(async () => {
  ctx = await createTestApp();
  secret = ctx.config.jwt.secret;
  user = await signUp(ctx.app);
  kid = decodeToken(user.accessToken).header.kid as string;
});
afterAll(async () => ctx.close());

const now = () => Math.floor(Date.now() / 1000);
const header = (overrides: Record<string, unknown> = {}) => ({ alg: 'HS256', typ: 'at+jwt', kid, ...overrides });
/** The claims Gatehouse issued to `owner`, freshly dated, with overrides. */
function claims(overrides: Record<string, unknown> = {}, owner: SignedIn = user) {
  const { payload } = decodeToken(owner.accessToken);
  return { ...payload, iat: now(), exp: now() + 600, ...overrides };
}
const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const parts = (token: string) => token.split('.') as [string, string, string];

/** POST /bucketlists with this Authorization value: refused, nothing stored. */
async function attack(authorization: string, code = 'TOKEN_INVALID') {
  const { res } = await expectRefused(
    ctx,
    { method: 'POST', url: '/bucketlists', headers: { authorization }, payload: { name: 'planted by a forged token' } },
    401,
    code,
  );
  expect(res.headers['www-authenticate']).toBe('Bearer realm="gatehouse", error="invalid_token"');
  return res;
}
const bearer = (token: string) => attack(`Bearer ${token}`);

/** Signs a JWS with an asymmetric key the attacker holds. */
function signWith(alg: 'RS256' | 'PS256' | 'ES256' | 'EdDSA', key: KeyObject, head: Record<string, unknown>, payload: object): string {
  const input = `${b64(head)}.${b64(payload)}`;
  const data = Buffer.from(input);
  const signature =
    alg === 'EdDSA'
      ? sign(null, data, key)
      : alg === 'ES256'
        ? sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' })
        : alg === 'PS256'
          ? sign('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
          : sign('sha256', data, key);
  return `${input}.${signature.toString('base64url')}`;
}

describe('control', () => {
  it('a token forged with our own key and claims is accepted (so each refusal below has one cause)', async () => {
    const res = await ctx.app.inject({
      method: 'GET',
      url: '/auth/me',
      headers: { authorization: `Bearer ${forgeToken(header(), claims(), secret)}` },
    });
    expect(res.statusCode).toBe(200);
  });
});

describe('algorithm attacks', () => {
  it.each(['none', 'None', 'NONE', 'nOnE'])('alg %j with an empty signature → 401 TOKEN_INVALID', async (alg) => {
    await bearer(forgeToken(header({ alg }), claims(), null));
  });

  it('alg "none" with an HMAC signature attached anyway → 401 TOKEN_INVALID', async () => {
    await bearer(forgeToken(header({ alg: 'none' }), claims(), secret));
  });

  it('no alg at all → 401 TOKEN_INVALID', async () => {
    const { alg: _dropped, ...noAlg } = header();
    await bearer(forgeToken(noAlg, claims(), secret));
  });

  it('alg "hs256" (wrong case) → 401 TOKEN_INVALID', async () => {
    await bearer(forgeToken(header({ alg: 'hs256' }), claims(), secret));
  });

  it.each([
    ['HS384', 'sha384'],
    ['HS512', 'sha512'],
  ] as const)('%s signed with our real secret → 401 TOKEN_INVALID (the algorithm is pinned)', async (alg, hash) => {
    await bearer(forgeToken(header({ alg }), claims(), secret, hash));
  });

  it.each([
    ['RS256', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey],
    ['PS256', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey],
    ['ES256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey],
    ['EdDSA', () => generateKeyPairSync('ed25519').privateKey],
  ] as const)('%s token validly signed with an attacker key on an HS256 deployment → 401 TOKEN_INVALID', async (alg, makeKey) => {
    await bearer(signWith(alg, makeKey(), header({ alg }), claims()));
  });

  it('RS256 with the attacker public key embedded as a jwk header → 401 TOKEN_INVALID', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await bearer(signWith('RS256', privateKey, header({ alg: 'RS256', jwk: publicKey.export({ format: 'jwk' }) }), claims()));
  });

  it('duplicate "alg" keys in the header (HS256 then none) → 401 TOKEN_INVALID', async () => {
    const head = `{"alg":"HS256","typ":"at+jwt","kid":"${kid}","alg":"none"}`;
    await bearer(`${b64(head)}.${b64(claims())}.`);
  });
});

describe('key-selection headers are ignored: the configured key is always used', () => {
  const attackerKey = 'attacker-controlled-key-material-0123456789';

  it('kid naming an empty file (path traversal), signed with an empty key → 401 TOKEN_INVALID', async () => {
    await bearer(forgeToken(header({ kid: '../../../../../../dev/null' }), claims(), ''));
  });

  it('kid carrying SQL that would select a known key, signed with that key → 401 TOKEN_INVALID', async () => {
    await bearer(forgeToken(header({ kid: "x' UNION SELECT 'pwned' --" }), claims(), 'pwned'));
  });

  it.each([
    ['jku', { jku: 'https://evil.example/jwks.json' }],
    ['x5u', { x5u: 'https://evil.example/cert.pem' }],
    ['jwk (oct)', { jwk: { kty: 'oct', k: Buffer.from(attackerKey).toString('base64url') } }],
    ['x5c', { x5c: [Buffer.from('not a certificate').toString('base64')] }],
  ])('%s header pointing at attacker key material → 401 TOKEN_INVALID', async (_label, extra) => {
    await bearer(forgeToken(header(extra), claims(), attackerKey));
  });

  it('crit naming an unknown extension → 401 TOKEN_INVALID', async () => {
    await bearer(forgeToken(header({ crit: ['x-evil'], 'x-evil': true }), claims(), secret));
  });

  it('b64:false (RFC 7797 unencoded payload) → 401 TOKEN_INVALID', async () => {
    await bearer(forgeToken(header({ b64: false, crit: ['b64'] }), claims(), secret));
  });
});

describe('signature tampering', () => {
  it('our header and payload with an empty signature → 401 TOKEN_INVALID', async () => {
    const [h, p] = parts(user.accessToken);
    await bearer(`${h}.${p}.`);
  });

  it('signature truncated by one character → 401 TOKEN_INVALID', async () => {
    const [h, p, s] = parts(user.accessToken);
    await bearer(`${h}.${p}.${s.slice(0, -1)}`);
  });

  it('signature truncated to 16 characters → 401 TOKEN_INVALID', async () => {
    const [h, p, s] = parts(user.accessToken);
    await bearer(`${h}.${p}.${s.slice(0, 16)}`);
  });

  it('signature with extra characters appended → 401 TOKEN_INVALID', async () => {
    const [h, p, s] = parts(user.accessToken);
    await bearer(`${h}.${p}.${s}AA`);
  });

  it("a real signature moved onto another user's payload → 401 TOKEN_INVALID", async () => {
    const victim = await signUp(ctx.app);
    const [h, , s] = parts(user.accessToken);
    await bearer(`${h}.${b64(claims({}, victim))}.${s}`);
  });

  it('a JWE-shaped token (five parts) → 401 TOKEN_INVALID', async () => {
    await bearer(`${b64({ alg: 'dir', enc: 'A256GCM' })}..${b64('iv')}.${b64('ciphertext')}.${b64('tag')}`);
  });
});

describe('encoding tricks are refused before parsing', () => {
  it.each([
    ['padding on the signature', (h: string, p: string, s: string) => `${h}.${p}.${s}=`],
    ['padding on the header', (h: string, p: string, s: string) => `${h}==.${p}.${s}`],
    ['the standard base64 alphabet (+ and /)', (h: string, p: string, s: string) => `${h}.${p}.${s.slice(0, -2)}+/`],
    ['a tab inside the token', (h: string, p: string, s: string) => `${h}.${p}\t.${s}`],
    ['a percent-encoded byte', (h: string, p: string, s: string) => `${h}.${p}.${s}%00`],
    ['a non-ASCII letter', (h: string, p: string, s: string) => `${h}.${p}.${s}é`],
    ['an extra trailing dot', (h: string, p: string, s: string) => `${h}.${p}.${s}.`],
    ['a leading dot', (h: string, p: string, s: string) => `.${h}.${p}.${s}`],
  ])('%s → 401 TOKEN_INVALID', async (_label, mangle) => {
    const [h, p, s] = parts(user.accessToken);
    await bearer(mangle(h, p, s));
  });

  // A second spelling of the same bytes: the last character of a segment whose length is 2 or 3
  // mod 4 carries bits no decoder reads. With them set, a signature decodes to the same bytes.
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const withUnusedBitsSet = (segment: string) => {
    const unused = segment.length % 4 === 2 ? 0b1111 : 0b11;
    const last = ALPHABET.indexOf(segment.at(-1) as string);
    return segment.slice(0, -1) + ALPHABET[last | unused];
  };

  it.each([0, 1, 2])('segment %i with non-zero unused trailing bits (same decoded bytes) → 401 TOKEN_INVALID', async (index) => {
    const segments = parts(user.accessToken);
    let segment = segments[index] as string;
    // Give a segment of length 0 mod 4 (no unused bits) a remainder by re-encoding one byte less.
    if (segment.length % 4 === 0) {
      if (index === 2) throw new Error('an HS256 signature is 43 characters');
      segment = Buffer.from(segment, 'base64url').subarray(0, -1).toString('base64url');
      segments[index] = segment;
    }
    const alias = withUnusedBitsSet(segment);
    expect(alias).not.toBe(segment);
    expect(Buffer.from(alias, 'base64url').equals(Buffer.from(segment, 'base64url'))).toBe(true);
    segments[index] = alias;
    await bearer(segments.join('.'));
  });

  it('a segment whose length is 1 mod 4 (no whole byte in its last character) → 401 TOKEN_INVALID', async () => {
    const [h, p, s] = parts(user.accessToken);
    await bearer(`${h}.${p}.${s}AA`.slice(0, h.length + p.length + 2 + 45));
  });

  it('the unaltered token still works (control for the encoding vectors)', async () => {
    expect((await ctx.app.inject({ url: '/auth/me', headers: user.headers })).statusCode).toBe(200);
  });

  it('a space inside the token (two credentials) → 401 TOKEN_INVALID', async () => {
    const [h, p, s] = parts(user.accessToken);
    await attack(`Bearer ${h}.${p} .${s}`);
  });

  it('a validly signed token one character over 4 KiB → 401 TOKEN_INVALID', async () => {
    const base = forgeToken(header(), claims({ pad: '' }), secret);
    const pad = 'x'.repeat(Math.ceil(((4097 - base.length) * 3) / 4) + 3);
    let token = forgeToken(header(), claims({ pad }), secret);
    // Trim the padding claim until the token is exactly 4097 characters.
    for (let n = pad.length; token.length > 4097; n--) token = forgeToken(header(), claims({ pad: pad.slice(0, n) }), secret);
    expect(token.length).toBe(4097);
    await bearer(token);
  });

  it('a 1 MiB token → 401 TOKEN_INVALID, answered quickly (length check before any parsing)', async () => {
    const started = performance.now();
    await bearer(`${'a'.repeat(1024 * 1024)}.${b64(claims())}.sig`);
    // Generous bound for a loaded 2-core machine; parsing 1 MiB of base64 + JSON would be slower.
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('claims', () => {
  it('exp missing → 401 TOKEN_INVALID', async () => {
    const { exp: _dropped, ...noExp } = claims();
    await bearer(forgeToken(header(), noExp, secret));
  });

  it('exp in the past (beyond the clock tolerance) → 401 TOKEN_EXPIRED', async () => {
    await attack(`Bearer ${forgeToken(header(), claims({ iat: now() - 1000, exp: now() - 100 }), secret)}`, 'TOKEN_EXPIRED');
  });

  it('exp 0 → 401 TOKEN_EXPIRED', async () => {
    await attack(`Bearer ${forgeToken(header(), claims({ exp: 0 }), secret)}`, 'TOKEN_EXPIRED');
  });

  it('exp huge (year 31690) with a current iat → 401 TOKEN_INVALID: no token lives longer than the TTL', async () => {
    await bearer(forgeToken(header(), claims({ exp: 1e12 }), secret));
  });

  it('exp 1e308 → 401 TOKEN_INVALID', async () => {
    await bearer(forgeToken(header(), claims({ exp: 1e308 }), secret));
  });

  it('exp as a numeric string → 401 TOKEN_INVALID', async () => {
    await bearer(forgeToken(header(), claims({ exp: String(now() + 600) }), secret));
  });

  it('iat older than the TTL, exp still in the future → 401 TOKEN_EXPIRED (maxAge)', async () => {
    await attack(`Bearer ${forgeToken(header(), claims({ iat: now() - 3600, exp: now() + 60 }), secret)}`, 'TOKEN_EXPIRED');
  });

  it('iat 60 s in the future (tolerance is 5 s) → 401 TOKEN_INVALID', async () => {
    await bearer(forgeToken(header(), claims({ iat: now() + 60, exp: now() + 660 }), secret));
  });

  it('nbf 60 s in the future (tolerance is 5 s) → 401 TOKEN_INVALID', async () => {
    await bearer(forgeToken(header(), claims({ nbf: now() + 60 }), secret));
  });

  it('aud as an array without our audience → 401 TOKEN_INVALID', async () => {
    await bearer(forgeToken(header(), claims({ aud: ['another-api', 'yet-another'] }), secret));
  });

  it('sub as an array → 401 TOKEN_INVALID', async () => {
    await bearer(forgeToken(header(), claims({ sub: [user.id] }), secret));
  });

  it('an empty sub → 401 TOKEN_INVALID', async () => {
    await bearer(forgeToken(header(), claims({ sub: '' }), secret));
  });
});

describe('revoked sessions and deleted users', () => {
  it('sub of a user deleted through DELETE /users/{id} → 401 TOKEN_INVALID', async () => {
    const doomed = await signUp(ctx.app);
    expect((await ctx.app.inject({ method: 'DELETE', url: `/users/${doomed.id}`, headers: doomed.headers })).statusCode).toBe(204);
    await attack(doomed.headers.authorization);
  });

  it('sid of a session ended by POST /auth/logout → 401 TOKEN_INVALID', async () => {
    const fresh = await signUp(ctx.app);
    expect((await ctx.app.inject({ method: 'POST', url: '/auth/logout', headers: fresh.headers })).statusCode).toBe(204);
    await attack(fresh.headers.authorization);
  });

  it('a session ended by logout-all from another device → 401 TOKEN_INVALID', async () => {
    const first = await signUp(ctx.app);
    const second = await logIn(ctx.app, first.email, first.password);
    expect((await ctx.app.inject({ method: 'POST', url: '/auth/logout-all', headers: second.headers })).statusCode).toBe(204);
    await attack(first.headers.authorization);
  });

  it('a session ended by a password change elsewhere → 401 TOKEN_INVALID', async () => {
    const stolen = await signUp(ctx.app);
    const owner = await logIn(ctx.app, stolen.email, stolen.password);
    const changed = await ctx.app.inject({
      method: 'PUT',
      url: '/auth/password',
      headers: owner.headers,
      payload: { current_password: stolen.password, new_password: 'a brand new passphrase 2026' },
    });
    expect(changed.statusCode).toBe(204);
    await attack(stolen.headers.authorization);
  });

  it('the access token of a session revoked by refresh-token reuse → 401 TOKEN_INVALID', async () => {
    const victim = await signUp(ctx.app);
    const refresh = (token: string) => ctx.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: token } });
    const rotated = await refresh(victim.refreshToken);
    expect(rotated.statusCode).toBe(200);
    // The attacker replays the old refresh token: the whole session dies, the new pair included.
    expectProblem(await refresh(victim.refreshToken), 401, 'TOKEN_INVALID');
    await attack(`Bearer ${rotated.json().access_token}`);
  });

  it("a valid signature over another user's sub with our sid → 401 TOKEN_INVALID (sid and sub must match)", async () => {
    const victim = await signUp(ctx.app);
    await bearer(forgeToken(header(), claims({ sub: victim.id }), secret));
  });
});

describe('token types are not interchangeable', () => {
  it('a refresh token as the Bearer access token → 401 TOKEN_INVALID', async () => {
    await bearer(user.refreshToken);
  });

  it('an access token as the refresh token → 401 TOKEN_INVALID, no session touched', async () => {
    await expectRefused(ctx, { method: 'POST', url: '/auth/refresh', payload: { refresh_token: user.accessToken } }, 401, 'TOKEN_INVALID');
  });

  it('a refresh token with base64 padding appended → 401 TOKEN_INVALID, its session not revoked', async () => {
    await expectRefused(
      ctx,
      { method: 'POST', url: '/auth/refresh', payload: { refresh_token: `${user.refreshToken}=` } },
      401,
      'TOKEN_INVALID',
    );
  });

  it('a refresh token with surrounding whitespace → 401 TOKEN_INVALID', async () => {
    await expectRefused(
      ctx,
      { method: 'POST', url: '/auth/refresh', payload: { refresh_token: ` ${user.refreshToken} ` } },
      401,
      'TOKEN_INVALID',
    );
  });
});

describe('tokens signed with weak secrets from a public wordlist', () => {
  const wordlist = readFileSync(new URL('../../resources/weak-jwt-secrets.txt', import.meta.url), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

  it(`every one of the ${wordlist.length} listed secrets (and the empty key) → 401 TOKEN_INVALID, nothing changed`, async () => {
    expect(wordlist.length).toBeGreaterThan(100);
    const before = await snapshotDatabase(ctx.db);
    for (const weak of ['', ...wordlist]) {
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/bucketlists',
        headers: { authorization: `Bearer ${forgeToken(header(), claims(), weak)}` },
        payload: { name: 'planted' },
      });
      expectProblem(res, 401, 'TOKEN_INVALID');
    }
    expect(await snapshotDatabase(ctx.db)).toEqual(before);
  });
});
