import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { DatabaseStartupError } from './db/errors.js';
import { MetricsListenError } from './modules/metrics/metrics.listener.js';

/** Builds the app, logs the secret's provenance (never the secret), listens, and wires shutdown. */
export async function startServer(config: Config): Promise<FastifyInstance> {
  const started = performance.now();
  const app = await buildApp(config);
  if (config.jwt.secretWarning) app.log.warn(config.jwt.secretWarning);
  if (!config.mail.smtpUrl) {
    app.log.warn(
      { outbox: config.mail.outboxDir },
      config.nodeEnv === 'production'
        ? 'SMTP_URL not set: mail is not sent but written to MAIL_OUTBOX_DIR (one JSON file per mail, live tokens included)'
        : 'SMTP_URL not set: mail is not sent but written to the development outbox (one JSON file per mail)',
    );
  }
  await app.listen({ port: config.port, host: config.host });
  // Its own listener, never the public one; app.close() (the shutdown below) closes it.
  const metrics = config.metrics && (await app.gatehouse.metrics?.listen(config.metrics));
  if (metrics && !(metrics.address.startsWith('127.') || metrics.address === '::1')) {
    app.log.warn({ metrics: metrics.address }, 'GET /metrics is unauthenticated and listens beyond loopback: restrict who can reach it');
  }
  app.log.info(
    {
      ms: Math.round(performance.now() - started),
      database: config.database.kind,
      mail: config.mail.smtpUrl ? 'smtp' : 'outbox',
      ...(metrics && { metrics: `http://${metrics.family === 'IPv6' ? `[${metrics.address}]` : metrics.address}:${metrics.port}/metrics` }),
    },
    'gatehouse ready',
  );

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    const stopping = performance.now();
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    // Fastify stops accepting connections, waits for in-flight requests, then runs onClose
    // (which closes the database). A stuck request must not keep the process alive forever.
    const timer = setTimeout(() => {
      app.log.error('graceful shutdown timed out; exiting');
      process.exit(1);
    }, config.requestTimeoutMs + 5_000);
    timer.unref();
    // close() drops idle keep-alive sockets once, at the start; sockets whose in-flight request
    // finishes later would then idle until the keep-alive timeout, so keep sweeping them.
    const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
    sweep.unref();
    try {
      await app.close();
      app.log.info({ ms: Math.round(performance.now() - stopping) }, 'shutdown complete');
      process.exit(0);
    } catch (err) {
      app.log.error({ err }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  return app;
}

/** Process entry: config errors are printed as a list, database faults as one line; both exit with status 1. */
export async function main(): Promise<void> {
  try {
    await startServer(loadConfig());
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
    } else if (err instanceof DatabaseStartupError || err instanceof MetricsListenError) {
      // An operator problem (permissions, a lock, an unreachable server, a port taken): one line, no stack.
      process.stderr.write(`gatehouse failed to start: ${err.message}\n`);
    } else {
      process.stderr.write(`gatehouse failed to start: ${(err as Error).stack ?? err}\n`);
    }
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
