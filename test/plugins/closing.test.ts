import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createTestApp, STRONG_PASSWORD } from '../helpers/app.js';

// While the app closes, a request already running finishes normally, and a request that
// arrives on the same kept-alive connection is answered 503 problem+json with Connection: close
// (not Fastify's own plain JSON 503), so the client retries it elsewhere.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('closing', () => {
  it('in-flight request completes; one arriving during close gets 503 UNAVAILABLE problem+json', async () => {
    const ctx = await createTestApp();
    await ctx.app.listen({ port: 0, host: '127.0.0.1' });
    const address = ctx.app.server.address();
    if (!address || typeof address === 'string') throw new Error('not listening');

    let received = 0;
    ctx.app.server.on('request', () => {
      received++;
    });
    const socket = connect(address.port, '127.0.0.1');
    let raw = '';
    socket.on('data', (d) => {
      raw += d;
    });
    const ended = new Promise((resolve) => socket.on('close', resolve));
    await new Promise((resolve) => socket.once('connect', resolve));

    // An Argon2 hash: slow enough to still be running when the second request arrives.
    const body = JSON.stringify({ email: 'closing@example.com', password: STRONG_PASSWORD });
    socket.write(
      `POST /auth/register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    while (received < 1) await sleep(1);

    // ctx.close() begins with app.close(), then drops the test database.
    const closed = ctx.close();
    // The listener is gone once shutdown has begun; the busy connection stays open.
    while (ctx.app.server.listening) await sleep(1);
    socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');

    await ended;
    await closed;

    const responses = raw.split(/(?=HTTP\/1\.1 )/);
    expect(responses).toHaveLength(2);
    expect(responses[0]).toMatch(/^HTTP\/1\.1 201 /);
    const [head, payload] = (responses[1] ?? '').split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 503 /);
    expect(head).toMatch(/\r\ncontent-type: application\/problem\+json/i);
    expect(head).toMatch(/\r\nconnection: close/i);
    expect(head).toMatch(/\r\nretry-after: 1/i);
    expect(JSON.parse(payload ?? '')).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
  });
});
