import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type TestContext, uniqueEmail } from '../../helpers/app.js';

// Response times must not tell which emails have accounts. Known and unknown emails are tried
// interleaved (so drift in machine load hits both alike) and their medians compared.
//
// The margin is deliberately generous: the tests share 2 cores with other processes, and a
// single request takes a few milliseconds, so small differences are noise. What it catches is
// a real leak, which is an order of magnitude larger: a mail sent (SMTP round trips) or an
// Argon2 hash (~50 ms) done for one kind of email only. The medians are printed for the record.

const TRIES = 40;
/** Allowed difference of the medians: this many milliseconds, or this share of the slower median. */
const MARGIN_MS = 4;
const MARGIN_SHARE = 0.5;

let ctx: TestContext;
beforeAll(async () => {
  // Limits out of the way: this test measures, it does not probe throttling.
  ctx = await createTestApp({
    MAIL_MAX_PER_ADDRESS: '10',
    ACCOUNT_MAX_ATTEMPTS_PER_IP: '100000',
    LOGIN_MAX_FAILURES_PER_EMAIL: '10',
    LOGIN_MAX_FAILURES_PER_IP: '100000',
  });
});
afterAll(async () => ctx.close());

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function timed(run: () => Promise<{ statusCode: number }>, expectedStatus: number): Promise<number> {
  const started = performance.now();
  const res = await run();
  const elapsed = performance.now() - started;
  expect(res.statusCode).toBe(expectedStatus);
  return elapsed;
}

function expectSimilar(label: string, known: number[], unknown: number[]) {
  const a = median(known);
  const b = median(unknown);
  const allowed = Math.max(MARGIN_MS, MARGIN_SHARE * Math.max(a, b));
  console.log(
    `${label}: median known ${a.toFixed(2)} ms, unknown ${b.toFixed(2)} ms, difference ${Math.abs(a - b).toFixed(2)} ms (allowed ${allowed.toFixed(2)} ms)`,
  );
  expect(Math.abs(a - b)).toBeLessThan(allowed);
}

describe('timing: no account enumeration', () => {
  it('POST /auth/password/forgot takes about as long for a known email as for an unknown one', async () => {
    // MAIL_MAX_PER_ADDRESS caps each address at 10 requests per window, so spread over users.
    const users = [];
    for (let i = 0; i < Math.ceil((TRIES + 5) / 10); i++) users.push(await signUp(ctx.app));
    const forgot = (email: string, i: number) => () =>
      ctx.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email }, remoteAddress: `10.50.0.${(i % 200) + 1}` });
    // Warm-up: JIT, statement caches, the outbox folder.
    for (let i = 0; i < 5; i++) {
      await timed(forgot((users[i] as { email: string }).email, i), 202);
      await timed(forgot(uniqueEmail('warm'), i), 202);
    }
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < TRIES; i++) {
      const user = users[i % users.length] as { email: string };
      // Alternate which goes first, so background work of one (the queued mail) does not always fall on the other.
      if (i % 2 === 0) {
        known.push(await timed(forgot(user.email, i), 202));
        unknown.push(await timed(forgot(uniqueEmail('nobody'), i), 202));
      } else {
        unknown.push(await timed(forgot(uniqueEmail('nobody'), i), 202));
        known.push(await timed(forgot(user.email, i), 202));
      }
    }
    expectSimilar('forgot-password', known, unknown);
  });

  it('POST /auth/login takes about as long for an unknown email as for a wrong password', async () => {
    const tries = 12;
    const users = [];
    for (let i = 0; i < Math.ceil(tries / 8); i++) users.push(await signUp(ctx.app));
    const login = (email: string, i: number) => () =>
      ctx.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email, password: 'not the right password' },
        remoteAddress: `10.51.0.${i + 1}`,
      });
    await timed(login((users[0] as { email: string }).email, 0), 401);
    await timed(login(uniqueEmail('warm'), 0), 401);
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < tries; i++) {
      const user = users[i % users.length] as { email: string };
      known.push(await timed(login(user.email, i), 401));
      unknown.push(await timed(login(uniqueEmail('nobody'), i), 401));
    }
    expectSimilar('login', known, unknown);
  });
});
