import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { lazyRequestLogger } from '../../src/lib/request-logger.js';

type Line = Record<string, unknown> & { msg?: string; reqId?: string; level?: number };

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** A Fastify app with the lazy request logger, logging JSON lines into `lines`. */
function appLoggingAt(level: string) {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Line);
      done();
    },
  });
  const instance = Fastify({
    logger: { level, stream, redact: { paths: ['*.token'], censor: '[redacted]' } },
    childLoggerFactory: lazyRequestLogger,
    genReqId: () => crypto.randomUUID(),
  });
  instance.get('/quiet', async () => ({ ok: true }));
  instance.get('/noisy', async (request) => {
    request.log.warn({ details: { token: 'secret-token' } }, 'something odd');
    request.log.child({ step: 'inner' }).warn('from a child');
    return { id: request.id };
  });
  instance.get('/fails', async () => {
    throw new Error('boom');
  });
  app = instance;
  return { app: instance, lines };
}

describe('lazy request logger', () => {
  it('at info, the access lines and the route’s own lines all carry the request id, redacted as before', async () => {
    const { app, lines } = appLoggingAt('info');
    const res = await app.inject({ method: 'GET', url: '/noisy' });
    const { id } = res.json<{ id: string }>();
    const ofRequest = lines.filter((l) => l.reqId === id).map((l) => l.msg);
    expect(ofRequest).toEqual(['incoming request', 'something odd', 'from a child', 'request completed']);
    const odd = lines.find((l) => l.msg === 'something odd');
    expect(odd?.details).toEqual({ token: '[redacted]' });
    expect(lines.find((l) => l.msg === 'from a child')?.step).toBe('inner');
    expect(JSON.stringify(lines)).not.toContain('secret-token');
  });

  it('at warn, a quiet 2xx makes no child logger; a warning and a 5xx still log with the request id', async () => {
    const { app, lines } = appLoggingAt('warn');
    let children = 0;
    const child = app.log.child;
    // Children inherit this property, so it keeps `this` (the logger asked) as pino's own does.
    app.log.child = function (this: typeof app.log, ...args: Parameters<typeof child>) {
      children++;
      return child.apply(this, args);
    };
    expect((await app.inject({ method: 'GET', url: '/quiet' })).statusCode).toBe(200);
    expect(children).toBe(0);
    expect(lines).toEqual([]);

    const noisy = (await app.inject({ method: 'GET', url: '/noisy' })).json<{ id: string }>();
    expect(lines.map((l) => [l.msg, l.reqId])).toEqual([
      ['something odd', noisy.id],
      ['from a child', noisy.id],
    ]);
    expect((await app.inject({ method: 'GET', url: '/fails' })).statusCode).toBe(500);
    const failed = lines.at(-1);
    expect(failed?.level).toBe(50);
    expect(failed?.reqId).toEqual(expect.any(String));
    expect(failed?.reqId).not.toBe(noisy.id);
  });

  it('reports the level of the logger it stands for', async () => {
    const { app } = appLoggingAt('warn');
    let seen: unknown;
    app.get('/level', async (request) => {
      seen = [request.log.level, (request.log as unknown as { isLevelEnabled(l: string): boolean }).isLevelEnabled('info')];
      return {};
    });
    await app.inject({ method: 'GET', url: '/level' });
    expect(seen).toEqual(['warn', false]);
  });
});
