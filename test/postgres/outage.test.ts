import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { expectProblem, type SignedIn, signUp } from '../helpers/app.js';
import { createPostgresDatabase } from '../helpers/postgres.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

// PostgreSQL goes away mid-run: /readyz and requests answer 503 problem+json (not 500, not a
// hang) and everything recovers when it returns, without restarting the app.

let app: FastifyInstance;
let proxy: TcpProxy;
let drop: () => Promise<void>;
let outbox: string;
let user: SignedIn;

beforeAll(async () => {
  const database = await createPostgresDatabase();
  drop = database.drop;
  const target = new URL(database.url);
  proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
  await proxy.start();
  const viaProxy = new URL(database.url);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  outbox = mkdtempSync(join(tmpdir(), 'gatehouse-outage-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: randomBytes(48).toString('base64url'),
    DATABASE_URL: viaProxy.toString(),
    // Sign-up mails a verification link: keep the development outbox out of the working directory.
    MAIL_OUTBOX_DIR: outbox,
  });
  app = await buildApp(config, { logger: false });
  user = await signUp(app);
});
afterAll(async () => {
  await proxy.start().catch(() => {});
  await app.close();
  await proxy.stop();
  await drop();
  rmSync(outbox, { recursive: true, force: true });
});

describe('PostgreSQL outage', () => {
  it('503 while unreachable, 200 again after it returns, without a restart', async () => {
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/auth/me', headers: user.headers })).statusCode).toBe(200);

    await proxy.stop();
    const started = performance.now();
    const ready = await app.inject({ url: '/readyz' });
    expectProblem(ready, 503, 'UNAVAILABLE');
    const me = await app.inject({ url: '/auth/me', headers: user.headers });
    expectProblem(me, 503, 'UNAVAILABLE');
    expect(me.headers['retry-after']).toBe('5');
    const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { email: user.email, password: user.password } });
    expectProblem(login, 503, 'UNAVAILABLE');
    expect(login.body).not.toMatch(/ECONNREFUSED|terminated|stack/i);
    // Answers come quickly (connection refused / connect timeout), never a hang.
    expect(performance.now() - started).toBeLessThan(15_000);

    await proxy.start();
    let recovered = 0;
    for (let i = 0; i < 50 && recovered === 0; i++) {
      if ((await app.inject({ url: '/readyz' })).statusCode === 200) recovered = i + 1;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(recovered).toBeGreaterThan(0);
    expect((await app.inject({ url: '/auth/me', headers: user.headers })).statusCode).toBe(200);
  });
});
