import cluster from 'node:cluster';
import { pino } from 'pino';
import type { Config } from './config.js';
import { migrateToLatest, withDatabase } from './db/create-db.js';
import { startServer } from './server.js';

/**
 * `gatehouse serve --workers N`: N processes sharing one port (node:cluster), one database.
 * The primary migrates once before forking, restarts a worker that dies, and on SIGTERM/SIGINT
 * passes the signal on and exits when every worker has drained its requests.
 */
export async function serveWithWorkers(config: Config, workers: number): Promise<void> {
  if (workers <= 1 || cluster.isWorker) {
    await startServer(config);
    return;
  }
  const log = pino({ level: config.logLevel });
  // Migrating here, once, keeps N workers from racing on the schema at start-up.
  await withDatabase(config.database, (database) => migrateToLatest(database.db));

  let stopping = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < workers; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    log.error({ pid: worker.process.pid, code, signal }, 'worker died; starting another');
    // A crash loop (bad config, port taken) should not spin the CPU.
    setTimeout(fork, 1000).unref();
  });
  log.info({ workers, pid: process.pid }, 'gatehouse primary started');

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping workers');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
    setTimeout(() => {
      log.error('workers did not stop in time; exiting');
      process.exit(1);
    }, config.requestTimeoutMs + 10_000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
