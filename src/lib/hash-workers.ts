import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

// Runs in each worker thread. CommonJS source (eval) so it loads the same way from dist/ and
// from the TypeScript sources under test. It lowers its own thread's priority first: on Linux
// nice is per thread, so a flood of logins gets the CPU the event loop leaves over instead of
// starving the thread that answers every other request.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
try { require('node:os').setPriority(0, workerData.nice); } catch {}
const argon2 = require(workerData.argon2Path);
parentPort.on('message', ({ id, op, password, hash, options }) => {
  try {
    const result = op === 'hash' ? argon2.hashSync(password, options) : argon2.verifySync(hash, password);
    parentPort.postMessage({ id, result });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message || err) });
  }
});
`;

type Job = { op: 'hash'; password: string; options: object } | { op: 'verify'; hash: string; password: string };
interface Pending {
  resolve(value: string | boolean): void;
  reject(err: Error): void;
}

/**
 * A small pool of low-priority worker threads for Argon2. One job per thread at a time, so at
 * most `size` hashes compete for the cores, and the rest wait in a queue instead of piling onto
 * the CPU. Threads are unref'd: an idle pool never keeps the process alive.
 */
export class HashWorkerPool {
  private readonly idle: Worker[] = [];
  private readonly queue: { job: Job; pending: Pending }[] = [];
  private readonly running = new Map<Worker, Map<number, Pending>>();
  private nextId = 0;
  private started = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly size = Math.max(1, availableParallelism()),
    // 19, the lowest priority: measured here, 10 still let a login flood triple read p99.
    private readonly nice = 19,
    private readonly idleMs = 30_000,
  ) {}

  /** Threads running now (started and not yet stopped). */
  get threadCount(): number {
    return this.started;
  }

  /** Hashes a password (PHC string). */
  hash(password: string, options: object): Promise<string> {
    return this.run({ op: 'hash', password, options }) as Promise<string>;
  }

  /** Verifies a password against a PHC hash. */
  verify(hash: string, password: string): Promise<boolean> {
    return this.run({ op: 'verify', hash, password }) as Promise<boolean>;
  }

  private run(job: Job): Promise<string | boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, pending: { resolve, reject } });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const worker = this.idle.pop() ?? (this.started < this.size ? this.spawn() : undefined);
      if (!worker) return;
      const next = this.queue.shift() as { job: Job; pending: Pending };
      const id = this.nextId++;
      this.running.get(worker)?.set(id, next.pending);
      worker.ref();
      worker.postMessage({ id, ...next.job });
    }
  }

  private spawn(): Worker {
    this.started += 1;
    const argon2Path = createRequire(import.meta.url).resolve('@node-rs/argon2');
    // execArgv: [] so a parent started with --input-type=module still evaluates this as CommonJS.
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { argon2Path, nice: this.nice } });
    this.running.set(worker, new Map());
    worker.on('message', ({ id, result, error }: { id: number; result?: string | boolean; error?: string }) => {
      const jobs = this.running.get(worker);
      const pending = jobs?.get(id);
      jobs?.delete(id);
      if (error !== undefined) pending?.reject(new Error(error));
      else pending?.resolve(result as string | boolean);
      worker.unref();
      this.idle.push(worker);
      this.dispatch();
      this.scheduleIdleStop();
    });
    worker.on('error', (err) => this.retire(worker, err));
    worker.on('exit', () => this.retire(worker, new Error('hash worker exited')));
    return worker;
  }

  /**
   * Each thread holds its own V8 heap (~10 MB resident). When no password work has come for a
   * while, stop the idle threads; the next login starts one again (tens of milliseconds).
   */
  private scheduleIdleStop(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      for (const worker of this.idle.splice(0)) void worker.terminate();
    }, this.idleMs);
    this.idleTimer.unref();
  }

  /** A dead worker fails its job and is replaced on demand. */
  private retire(worker: Worker, err: Error): void {
    const jobs = this.running.get(worker);
    if (!jobs) return;
    this.running.delete(worker);
    const at = this.idle.indexOf(worker);
    if (at >= 0) this.idle.splice(at, 1);
    this.started -= 1;
    for (const pending of jobs.values()) pending.reject(err);
    this.dispatch();
  }
}
