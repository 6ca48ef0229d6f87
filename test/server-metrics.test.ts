import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, runServerUntilExit, startServerProcess } from './helpers/processes.js';
import { parsePrometheusText, sampleValue } from './helpers/prometheus.js';
import { freePort } from './helpers/redis-server.js';

// The built server (dist/: build first) with METRICS_PORT: the listener starts beside the public
// one, shuts down with it, and a port it cannot have stops the start in one line.

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function environment(): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-metrics-'));
  dirs.push(dir);
  return {
    NODE_ENV: 'production',
    JWT_SECRET: randomBytes(48).toString('base64url'),
    DATABASE_URL: `sqlite:${join(dir, 'g.db')}`,
    MAIL_OUTBOX_DIR: join(dir, 'outbox'),
  };
}

describe('gatehouse with METRICS_PORT', () => {
  it('serves GET /metrics on its own loopback port, says where in the ready line, and closes it on SIGTERM', async () => {
    const metricsPort = await freePort();
    const server = await startServerProcess({ ...environment(), METRICS_PORT: String(metricsPort), LOG_LEVEL: 'info' });
    try {
      const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
      expect((await fetch(`${server.base}/healthz`)).status).toBe(200);
      expect((await fetch(`${server.base}/metrics`)).status).toBe(404);
      const scraped = await fetch(metricsUrl);
      expect(scraped.status).toBe(200);
      const samples = parsePrometheusText(await scraped.text());
      // The health checks of startServerProcess and the one above: at least two.
      expect(
        sampleValue(samples, 'gatehouse_http_requests_total', { method: 'GET', route: '/healthz', status: '200' }),
      ).toBeGreaterThanOrEqual(2);
      expect(sampleValue(samples, 'gatehouse_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
      const ready = server
        .logs()
        .split('\n')
        .find((line) => line.includes('"gatehouse ready"'));
      expect(JSON.parse(ready ?? '{}').metrics).toBe(metricsUrl);
      // Loopback by default: no warning about an exposed listener.
      expect(server.logs()).not.toContain('listens beyond loopback');

      expect(await server.stop('SIGTERM')).toBe(0);
      await expect(fetch(metricsUrl)).rejects.toThrow();
    } finally {
      await server.stop('SIGKILL');
    }
  });

  it('a METRICS_PORT already taken stops the start with one line and exit 1', async () => {
    const taken = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => taken.once('listening', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const exited = await runServerUntilExit({ ...environment(), METRICS_PORT: String(port) });
      expect(exited.code).toBe(1);
      expect(exited.output).toContain(
        `gatehouse failed to start: the metrics listener cannot listen on 127.0.0.1:${port} (METRICS_HOST, METRICS_PORT): EADDRINUSE\n`,
      );
      expect(exited.output).not.toMatch(/\n\s+at /);
    } finally {
      taken.close();
    }
  });

  it('an invalid METRICS_PORT or METRICS_HOST is refused at start', async () => {
    const exited = await runServerUntilExit({ ...environment(), METRICS_PORT: 'ninety', METRICS_HOST: 'not a host' });
    expect(exited.code).toBe(1);
    expect(exited.output).toContain('METRICS_PORT must be an integer between 0 and 65535 (got "ninety")');
    expect(exited.output).toContain('METRICS_HOST must be an IP address or a host name such as 127.0.0.1 or localhost (got "not a host")');
  });

  it('serve --workers refuses METRICS_PORT (each worker would answer scrapes with its own counts)', () => {
    const res = runCli(['serve', '--workers', '2'], { ...environment(), METRICS_PORT: '9464' });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('error: METRICS_PORT cannot be used with --workers');
  });
});
