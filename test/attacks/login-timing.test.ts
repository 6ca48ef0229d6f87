import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, type SignedIn, signUp, type TestContext, uniqueEmail } from '../helpers/app.js';

// Account enumeration by timing: a login for an unknown email must cost what a wrong password
// costs. The service verifies a dummy Argon2 hash for unknown emails (src/lib/passwords.ts); if
// it did not, an unknown email would answer in ~1 ms against ~10-150 ms (machine and load) for a
// real verification.
//
// Method: N rounds, each timing one attempt of every kind in a rotating order (so drift in
// machine load hits all kinds alike), after warm-up rounds that are discarded (the first unknown
// email also builds the dummy hash). Compare medians, which shrug off the outliers that other
// test files running on the same 2 cores cause.
//
// Margin: the median ratio must lie in [0.5, 2]. That is generous: the kinds run the same Argon2
// work and measured within 3% of each other (13.6-13.9 ms) on the 2-core CI machine, while
// removing the dummy verification gave 0.8 ms against 10.5 ms, a ratio of 0.07. Tighter bounds
// would make the test flaky under load, not stronger.

const ROUNDS = 21;
const WARM_UP = 3;
const MIN_RATIO = 0.5;
const MAX_RATIO = 2;

let ctx: TestContext;
beforeAll(async () => {
  // Wrong passwords are failures: raise the per-IP limit and spread them over several accounts
  // (at most 8 failures each; the per-email limit is 10 here), so no attempt is throttled.
  ctx = await createTestApp({ LOGIN_MAX_FAILURES_PER_IP: '100000', LOGIN_MAX_FAILURES_PER_EMAIL: '10' });
});
afterAll(async () => ctx.close());

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

describe('login timing', () => {
  it('unknown email, wrong password and disabled account take the same time (medians within [0.5, 2]×)', async () => {
    const total = ROUNDS + WARM_UP;
    const victims: SignedIn[] = [];
    for (let i = 0; i < Math.ceil(total / 8); i++) victims.push(await signUp(ctx.app));
    // A disabled account's right password counts as a failure too (anything else would tell
    // the two apart), so these rotate over several accounts as well.
    const disabled: SignedIn[] = [];
    for (let i = 0; i < Math.ceil(total / 8); i++) disabled.push(await signUp(ctx.app));
    await ctx.db
      .updateTable('users')
      .set({ disabled: 1 })
      .where(
        'id',
        'in',
        disabled.map((d) => d.id),
      )
      .execute();

    const kinds: Record<string, (round: number) => InjectOptions> = {
      unknownEmail: (round) => ({ payload: { email: uniqueEmail('nobody'), password: `some wrong password ${round}` } }),
      wrongPassword: (round) => ({ payload: { email: victims[Math.floor(round / 8)]?.email, password: `some wrong password ${round}` } }),
      // The right password of a disabled account: the same answer after the same work.
      disabledAccount: (round) => ({ payload: { email: disabled[Math.floor(round / 8)]?.email, password: disabled[0]?.password } }),
    };
    const names = Object.keys(kinds);
    const times: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
    const bodies = new Set<string>();

    for (let round = 0; round < total; round++) {
      // Rotate the order each round so no kind always runs first (or last) after a pause.
      const order = names.map((_, i) => names[(i + round) % names.length] as string);
      for (const name of order) {
        const request = kinds[name]?.(round) as InjectOptions;
        const started = performance.now();
        const res = await ctx.app.inject({ method: 'POST', url: '/auth/login', remoteAddress: `10.50.${round}.1`, ...request });
        const elapsed = performance.now() - started;
        const body = expectProblem(res, 401, 'INVALID_CREDENTIALS');
        bodies.add(JSON.stringify(body));
        if (round >= WARM_UP) times[name]?.push(elapsed);
      }
    }

    // The same bytes for all three kinds, too.
    expect(bodies.size).toBe(1);
    const medians = Object.fromEntries(names.map((name) => [name, median(times[name] ?? [])]));
    const reference = medians.wrongPassword as number;
    console.info(`login timing medians over ${ROUNDS} rounds (ms): ${names.map((n) => `${n} ${medians[n]?.toFixed(1)}`).join(', ')}`);
    for (const name of names) {
      const ratio = (medians[name] as number) / reference;
      expect(ratio, `${name} / wrongPassword`).toBeGreaterThanOrEqual(MIN_RATIO);
      expect(ratio, `${name} / wrongPassword`).toBeLessThanOrEqual(MAX_RATIO);
    }
  }, 120_000);
});
