import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { DB } from '../../src/db/database.js';
import { storeResetToken } from './account-tokens.js';

// The concurrency attack catalogue, run through real HTTP against running servers: one SQLite
// process (test/attacks/concurrency.test.ts) and two PostgreSQL processes sharing Redis
// (test/multi-instance/concurrency-attacks.test.ts). Every burst is fired at once, spread over
// the instances, and the assertions are exact counts.

/** The limits the servers of this suite run with (env), so the exact counts below follow from them. */
export const ATTACK_LIMITS_ENV = {
  LOGIN_MAX_FAILURES_PER_EMAIL: '5',
  LOGIN_MAX_FAILURES_PER_IP: '20',
  ACCOUNT_MAX_ATTEMPTS_PER_IP: '20',
  REGISTER_MAX_PER_IP: '10',
  REFRESH_MAX_FAILURES_PER_IP: '10',
  // One public URL, hence one issuer, for every instance (each listens on its own port).
  PUBLIC_URL: 'https://gatehouse.race.example',
  // Every request names its client in X-Forwarded-For (they all come from loopback here).
  TRUST_PROXY: '127.0.0.1',
  LOG_LEVEL: 'trace',
};

export interface AttackCluster {
  /** Base URLs of the running instances; requests are spread over them round-robin. */
  bases: string[];
  /** A connection to the servers' database, to set up tokens and assert state. */
  db: Kysely<DB>;
  /** Everything the instances have logged so far. */
  logs(): string;
}

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'an entirely new passphrase 2026';

interface Answer {
  status: number;
  body: Record<string, unknown> | null;
  headers: Headers;
}

/** Defines the suite; `cluster()` is read inside the tests (it is set up in beforeAll). */
export function defineConcurrencyAttacks(cluster: () => AttackCluster) {
  let turn = 0;
  // Every secret the suite sent or received: none of them may appear in any log line.
  const secrets = new Set<string>([PASSWORD, NEW_PASSWORD]);

  async function call(
    method: string,
    path: string,
    options: { ip: string; body?: unknown; token?: string; base?: string },
  ): Promise<Answer> {
    const { bases } = cluster();
    const base = options.base ?? (bases[turn++ % bases.length] as string);
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        'x-forwarded-for': options.ip,
        ...(options.body !== undefined && { 'content-type': 'application/json' }),
        ...(options.token && { authorization: `Bearer ${options.token}` }),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await res.text();
    // JSON and problem+json answers are parsed; a page (GET /verify-email) is not.
    const body = text && /json/.test(res.headers.get('content-type') ?? '') ? (JSON.parse(text) as Record<string, unknown>) : null;
    for (const key of ['access_token', 'refresh_token'] as const) if (typeof body?.[key] === 'string') secrets.add(body[key] as string);
    return { status: res.status, body, headers: res.headers };
  }

  // A new client address for each call: 10.x.y.z from a random start, never repeating in a run.
  let next = randomBytes(3).readUIntBE(0, 3);
  const ip = () => {
    next = (next + 1) % 0xffffff;
    return `10.${(next >> 16) & 255}.${(next >> 8) & 255}.${next & 255}`;
  };
  const email = (tag: string) => `${tag}-${randomBytes(5).toString('hex')}@example.com`;
  const tally = (answers: Answer[]) => {
    const counts: Record<number, number> = {};
    for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
    return counts;
  };
  const burst = <T>(n: number, fn: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => fn(i)));

  async function signUp(tag = 'user') {
    const address = email(tag);
    const registered = await call('POST', '/auth/register', { ip: ip(), body: { email: address, password: PASSWORD } });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    const login = await call('POST', '/auth/login', { ip: ip(), body: { email: address, password: PASSWORD } });
    expect(login.status).toBe(200);
    return {
      email: address,
      id: (login.body as { user: { id: string } }).user.id,
      access: login.body?.access_token as string,
      refresh: login.body?.refresh_token as string,
    };
  }

  /** A session survives when its access token or its refresh token still works. */
  async function survivors(sessions: { access: string; refresh: string }[]) {
    let alive = 0;
    for (const session of sessions) {
      const me = await call('GET', '/auth/me', { ip: ip(), token: session.access });
      const refreshed = await call('POST', '/auth/refresh', { ip: ip(), body: { refresh_token: session.refresh } });
      if (me.status === 200 || refreshed.status === 200) alive += 1;
      if (refreshed.status === 200) {
        // Keep going down the chain: a rotated token must not work either.
        const again = await call('GET', '/auth/me', { ip: ip(), token: refreshed.body?.access_token as string });
        expect(again.status).toBe(401);
      }
    }
    return alive;
  }

  /**
   * Logins with the old password and refreshes of live sessions, fired while `change` runs. The
   * logins run in 4 lanes of 3 back-to-back attempts, so at most 4 hold an attempt of the email's
   * budget (5) at once and the change (a password change counts there too) always finds a
   * place, however slowly it reaches its own reservation; the logins verify the old password
   * while the change checks and hashes.
   */
  async function raceAgainst(user: { email: string }, existing: { refresh: string }[], change: () => Promise<Answer>) {
    const attacker = ip();
    const login = () => call('POST', '/auth/login', { ip: attacker, body: { email: user.email, password: PASSWORD } });
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const lane = async (delay: number) => {
      await sleep(delay);
      const answers: Answer[] = [];
      for (let i = 0; i < 3; i++) answers.push(await login());
      return answers;
    };
    const changing = change();
    const [lanes, refreshes] = await Promise.all([
      Promise.all([2, 6, 12, 20].map(lane)),
      Promise.all(
        existing.map(async (s) => {
          await sleep(3);
          return call('POST', '/auth/refresh', { ip: ip(), body: { refresh_token: s.refresh } });
        }),
      ),
    ]);
    const changed = await changing;
    const created = [...lanes.flat(), ...refreshes]
      .filter((o) => o.status === 200)
      .map((o) => ({ access: o.body?.access_token as string, refresh: o.body?.refresh_token as string }));
    return { changed, created };
  }

  describe('concurrency attacks (real HTTP, parallel requests)', () => {
    it('60 simultaneous wrong passwords for one email: exactly 5 are checked, 55 answer 429 with Retry-After', async () => {
      const user = await signUp('burst');
      const attacker = ip();
      const answers = await burst(60, () =>
        call('POST', '/auth/login', { ip: attacker, body: { email: user.email, password: 'wrong password!!' } }),
      );
      expect(tally(answers)).toEqual({ 401: 5, 429: 55 });
      for (const a of answers.filter((x) => x.status === 429)) {
        expect(a.body?.code).toBe('RATE_LIMITED');
        expect(Number(a.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      // And the right password is refused too, for the rest of the window.
      expect((await call('POST', '/auth/login', { ip: ip(), body: { email: user.email, password: PASSWORD } })).status).toBe(429);
    });

    it('one client spraying 100 emails at once: exactly 20 (its per-IP limit) reach the password check', async () => {
      const attacker = ip();
      const answers = await burst(100, () =>
        call('POST', '/auth/login', { ip: attacker, body: { email: email('spray'), password: 'wrong password!!' } }),
      );
      expect(tally(answers)).toEqual({ 401: 20, 429: 80 });
    });

    it('a right password inside a burst does not clear it: failures of the window stay at 5 in all', async () => {
      const user = await signUp('inside');
      const attacker = ip();
      const answers = await burst(31, (i) =>
        call('POST', '/auth/login', { ip: attacker, body: { email: user.email, password: i === 3 ? PASSWORD : 'wrong password!!' } }),
      );
      const counts = tally(answers);
      const failed = counts[401] ?? 0;
      expect(failed + (counts[200] ?? 0)).toBe(5);
      // The failures left in the window are exactly 5 − those of the burst, whatever the success did.
      let more = 0;
      for (let i = 0; i < 10; i++) {
        const a = await call('POST', '/auth/login', { ip: ip(), body: { email: user.email, password: 'wrong password!!' } });
        if (a.status === 429) break;
        expect(a.status).toBe(401);
        more += 1;
      }
      expect(failed + more).toBe(5);
    });

    it('40 simultaneous wrong current passwords on PUT /auth/password: exactly 5 checked (403), 35 × 429, password unchanged', async () => {
      const user = await signUp('change');
      const attacker = ip();
      const answers = await burst(40, () =>
        call('PUT', '/auth/password', {
          ip: attacker,
          token: user.access,
          body: { current_password: 'wrong password!!', new_password: NEW_PASSWORD },
        }),
      );
      expect(tally(answers)).toEqual({ 403: 5, 429: 35 });
      expect((await call('POST', '/auth/login', { ip: ip(), body: { email: user.email, password: NEW_PASSWORD } })).status).toBe(429);
    });

    it.each(['/auth/password/reset', '/auth/verify-email'])(
      '40 simultaneous bad tokens on %s from one client: exactly 20 checked (400), 20 × 429',
      async (path) => {
        const attacker = ip();
        const answers = await burst(40, () =>
          call('POST', path, {
            ip: attacker,
            body: path.endsWith('reset')
              ? { token: randomBytes(32).toString('base64url'), new_password: NEW_PASSWORD }
              : { token: randomBytes(32).toString('base64url') },
          }),
        );
        expect(tally(answers)).toEqual({ 400: 20, 429: 20 });
      },
    );

    it('30 simultaneous sign-ups from one client: exactly 10 accounts (201), 20 × 429 that create nothing', async () => {
      const attacker = ip();
      const addresses = Array.from({ length: 30 }, () => email('signup'));
      const answers = await burst(30, (i) =>
        call('POST', '/auth/register', { ip: attacker, body: { email: addresses[i], password: PASSWORD } }),
      );
      expect(tally(answers)).toEqual({ 201: 10, 429: 20 });
      const rows = await cluster().db.selectFrom('users').select('email').where('email', 'in', addresses).execute();
      expect(rows).toHaveLength(10);
    });

    it('30 simultaneous bad refresh tokens from one client: exactly 10 checked (401), 20 × 429', async () => {
      const attacker = ip();
      const answers = await burst(30, () =>
        call('POST', '/auth/refresh', { ip: attacker, body: { refresh_token: randomBytes(32).toString('base64url') } }),
      );
      expect(tally(answers)).toEqual({ 401: 10, 429: 20 });
    });

    it('PUT /auth/password wins every race: no login or refresh that checked the old password leaves a usable session (5 rounds)', async () => {
      let raced = 0;
      for (let round = 0; round < 5; round++) {
        const user = await signUp('race-change');
        const others = [await signUp2(user.email), await signUp2(user.email)];
        const { changed, created } = await raceAgainst(user, others, () =>
          call('PUT', '/auth/password', { ip: ip(), token: user.access, body: { current_password: PASSWORD, new_password: NEW_PASSWORD } }),
        );
        expect(changed.status).toBe(204);
        raced += created.length;
        expect(await survivors([...others, ...created])).toBe(0);
        // The caller's own session is the one that stays.
        expect((await call('GET', '/auth/me', { ip: ip(), token: user.access })).status).toBe(200);
      }
      // The race really happened: some logins finished with the old password while the change ran.
      console.info(`password change: ${raced} sessions created by racing logins/refreshes, all dead`);
    });

    it('POST /auth/password/reset wins every race (5 rounds)', async () => {
      for (let round = 0; round < 5; round++) {
        const user = await signUp('race-reset');
        const others = [await signUp2(user.email)];
        const token = await insertResetToken(user);
        const { changed, created } = await raceAgainst(user, others, () =>
          call('POST', '/auth/password/reset', { ip: ip(), body: { token, new_password: NEW_PASSWORD } }),
        );
        expect(changed.status).toBe(204);
        expect(await survivors([user, ...others, ...created])).toBe(0);
      }
    });

    it('disabling a user wins every race (5 rounds)', async () => {
      const admin = await signUp('race-admin');
      await cluster().db.updateTable('users').set({ role: 'admin' }).where('id', '=', admin.id).execute();
      for (let round = 0; round < 5; round++) {
        const user = await signUp('race-disable');
        const { changed, created } = await raceAgainst(user, [], () =>
          call('PATCH', `/users/${user.id}`, { ip: ip(), token: admin.access, body: { disabled: true } }),
        );
        expect(changed.status).toBe(200);
        expect(await survivors([user, ...created])).toBe(0);
      }
    });

    it('deleting an account wins every race (5 rounds)', async () => {
      for (let round = 0; round < 5; round++) {
        const user = await signUp('race-delete');
        const { changed, created } = await raceAgainst(user, [], () =>
          call('DELETE', `/users/${user.id}`, { ip: ip(), token: user.access }),
        );
        expect(changed.status).toBe(204);
        expect(await survivors([user, ...created])).toBe(0);
        expect(await cluster().db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute()).toEqual([]);
      }
    });

    it('no secret reached any log line at trace level (passwords, tokens, ?token= and friends in URLs)', async () => {
      const user = await signUp('logs');
      const token = await insertResetToken(user);
      const queryToken = randomBytes(32).toString('base64url');
      secrets.add(token);
      secrets.add(queryToken);
      for (const name of ['token', 'access_token', 'refresh_token', 'code']) {
        await call('GET', `/verify-email?${name}=${queryToken}`, { ip: ip() });
        await call('GET', `/auth/me?${name}=${queryToken}`, { ip: ip(), token: user.access });
      }
      await call('POST', '/auth/password/reset', { ip: ip(), body: { token, new_password: NEW_PASSWORD } });
      // Give the instances a moment to flush their log lines.
      await new Promise((r) => setTimeout(r, 300));
      const logs = cluster().logs();
      // Request lines were written (LOG_LEVEL=trace logs everything), and the URLs' values redacted.
      expect(logs).toContain('"msg":"incoming request"');
      expect(logs).toContain('"url":"/verify-email?token=[redacted]"');
      expect(logs).toContain('"url":"/auth/me?access_token=[redacted]"');
      const leaked = [...secrets].filter((secret) => logs.includes(secret));
      expect(leaked, `${secrets.size} secrets checked`).toEqual([]);
    });
  });

  /** A second session of the same user, signed in from another client. */
  async function signUp2(address: string) {
    const login = await call('POST', '/auth/login', { ip: ip(), body: { email: address, password: PASSWORD } });
    expect(login.status).toBe(200);
    return { access: login.body?.access_token as string, refresh: login.body?.refresh_token as string };
  }

  /** A reset token as the forgot-password route stores it (hashed), without waiting for a mail. */
  async function insertResetToken(user: { id: string; email: string }) {
    const token = await storeResetToken(cluster().db, user);
    secrets.add(token);
    return token;
  }
}
