import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as Nodemailer from 'nodemailer';
import { loadOptional } from './optional-dependency.js';

/** A mail as the application composes it; the queue adds From, Message-ID and retries. */
export interface Mail {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** What the mail is for ("password_reset", …): logged instead of the content, which holds tokens. */
  kind: string;
}

/** A mail ready for a transport. */
export interface OutgoingMail extends Mail {
  id: string;
  from: string;
  /** `<id@domain-of-from>`, set by us so the log line and the delivered mail can be matched. */
  messageId: string;
}

/** Sending never makes the caller wait or fail: `send` only enqueues. */
export interface Mailer {
  /** Queues a mail; a full or closed queue drops it with a log line. */
  send(mail: Mail): void;
  /** Resolves once nothing is queued, being sent or waiting for a retry. */
  idle(): Promise<void>;
  /** Stops accepting mail, gives queued mail a last chance within the close timeout, then drops the rest. */
  close(): Promise<void>;
}

/** Delivers one mail or throws; retrying is the queue's business. */
export interface MailTransport {
  /** "smtp" or "outbox", for logs. */
  readonly name: string;
  deliver(mail: OutgoingMail): Promise<void>;
  close(): Promise<void> | void;
}

/** The subset of a pino logger the queue writes to. */
export interface MailLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface MailQueueOptions {
  from: string;
  /** Attempts per mail, the first included. */
  maxAttempts?: number;
  /** Wait before the first retry; doubles with each further one, up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Mails queued, in flight or waiting for a retry, at most; more are dropped (a flood must not exhaust memory). */
  maxQueued?: number;
  /** Deliveries in flight at once. */
  concurrency?: number;
  /** How long close() waits for queued mail. */
  closeTimeoutMs?: number;
}

interface Job {
  mail: OutgoingMail;
  attempts: number;
}

/**
 * An in-process mail queue: bounded, a few deliveries at a time, retries with exponential
 * backoff and jitter. Mail lives only in memory, so a crash loses what is still queued; the
 * user then asks again (every mail here can be re-requested).
 */
export class MailQueue implements Mailer {
  private readonly ready: Job[] = [];
  private readonly waiting = new Map<Job, NodeJS.Timeout>();
  private active = 0;
  private closed = false;
  private pumpScheduled = false;
  private idleWaiters: (() => void)[] = [];
  private readonly domain: string;
  private readonly options: Required<MailQueueOptions>;

  constructor(
    private readonly transport: MailTransport,
    private readonly log: MailLogger,
    options: MailQueueOptions,
  ) {
    this.options = {
      maxAttempts: 5,
      baseDelayMs: 2_000,
      maxDelayMs: 5 * 60_000,
      maxQueued: 1_000,
      concurrency: 2,
      closeTimeoutMs: 5_000,
      ...options,
    };
    this.domain = /@([^>\s]+)>?\s*$/.exec(options.from)?.[1] ?? 'localhost';
  }

  /** Mails queued, in flight or waiting for a retry. */
  get pending(): number {
    return this.ready.length + this.waiting.size + this.active;
  }

  send(mail: Mail): void {
    const id = randomUUID();
    if (this.closed) {
      this.log.warn({ mailId: id, kind: mail.kind }, 'mailer closed; mail dropped');
      return;
    }
    if (this.pending >= this.options.maxQueued) {
      this.log.error({ mailId: id, kind: mail.kind, queued: this.pending }, 'mail queue full; mail dropped');
      return;
    }
    this.ready.push({ mail: { ...mail, id, from: this.options.from, messageId: `<${id}@${this.domain}>` }, attempts: 0 });
    this.schedulePump();
  }

  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Mail waiting for a retry gets one last attempt now instead of being lost silently.
    for (const [job, timer] of this.waiting) {
      clearTimeout(timer);
      this.ready.push(job);
    }
    this.waiting.clear();
    this.schedulePump();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.idle().then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), this.options.closeTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.log.warn({ dropped: this.pending }, 'mailer closed with mail still queued; it is dropped');
      this.ready.length = 0;
    }
    await this.transport.close();
  }

  // Deliveries start on a later turn of the event loop, after the response that queued the mail
  // has been written: building and sending mail must not add to (or reveal anything through)
  // the request's timing.
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.active < this.options.concurrency && this.ready.length > 0) {
      const job = this.ready.shift() as Job;
      this.active += 1;
      void this.attempt(job).finally(() => {
        this.active -= 1;
        this.pump();
        this.notifyIfIdle();
      });
    }
    this.notifyIfIdle();
  }

  private async attempt(job: Job): Promise<void> {
    job.attempts += 1;
    const { id: mailId, kind } = job.mail;
    try {
      await this.transport.deliver(job.mail);
      this.log.info({ mailId, kind, transport: this.transport.name, attempts: job.attempts }, 'mail sent');
    } catch (err) {
      const error = describeError(err);
      if (this.closed || job.attempts >= this.options.maxAttempts) {
        this.log.error({ mailId, kind, attempts: job.attempts, error }, 'mail could not be sent; dropped');
        return;
      }
      const delay = this.retryDelayMs(job.attempts);
      this.log.warn({ mailId, kind, attempts: job.attempts, retryInMs: delay, error }, 'mail not sent; will retry');
      const timer = setTimeout(() => {
        this.waiting.delete(job);
        this.ready.push(job);
        this.pump();
      }, delay);
      // A pending retry must not keep a finished process alive; close() handles shutdown.
      timer.unref();
      this.waiting.set(job, timer);
    }
  }

  /** Exponential backoff with jitter (50–100 % of the step), so retries of many mails spread out. */
  private retryDelayMs(attempts: number): number {
    const step = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (attempts - 1));
    return Math.round(step * (0.5 + Math.random() / 2));
  }

  private notifyIfIdle(): void {
    if (this.pending > 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** Only what an operator needs from a delivery error (SMTP errors can carry large objects). */
function describeError(err: unknown): { message: string; code?: string; responseCode?: number } {
  const e = err as { message?: unknown; code?: unknown; responseCode?: unknown };
  return {
    message: typeof e?.message === 'string' ? e.message : String(err),
    ...(typeof e?.code === 'string' && { code: e.code }),
    ...(typeof e?.responseCode === 'number' && { responseCode: e.responseCode }),
  };
}

/**
 * SMTP through nodemailer. `url` is smtp://user:pass@host:587 (STARTTLS when the server offers
 * it) or smtps://…:465; nodemailer options may ride along as query parameters (?requireTLS=true).
 * Timeouts are short so a dead server fails an attempt (and the queue retries) instead of hanging.
 */
export function createSmtpTransport(url: string): MailTransport {
  const { createTransport } = loadOptional<typeof Nodemailer>('nodemailer');
  const transporter = createTransport({ url, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 });
  return {
    name: 'smtp',
    async deliver(mail) {
      await transporter.sendMail({
        from: mail.from,
        // An address object, never a string nodemailer would parse as a list of recipients.
        to: { name: '', address: mail.to },
        subject: mail.subject,
        text: mail.text,
        ...(mail.html !== undefined && { html: mail.html }),
        messageId: mail.messageId,
        // RFC 3834: machine-generated, so auto-responders stay quiet.
        headers: { 'Auto-Submitted': 'auto-generated' },
      });
    },
    close() {
      transporter.close();
    },
  };
}

/**
 * The outbox (development, or production by explicit MAIL_OUTBOX_DIR): one JSON file per mail (mode 0600, it holds live tokens) in `dir`,
 * named so that a directory listing is in sending order.
 */
export function createOutboxTransport(dir: string): MailTransport {
  let made: Promise<unknown> | undefined;
  return {
    name: 'outbox',
    async deliver(mail) {
      made ??= mkdir(dir, { recursive: true, mode: 0o700 }).catch((err) => {
        made = undefined;
        throw err;
      });
      await made;
      const date = new Date().toISOString();
      const file = join(dir, `${date.replace(/[:.]/g, '-')}-${mail.id}.json`);
      const { id, messageId, from, to, subject, kind, text, html } = mail;
      const record = { id, message_id: messageId, date, kind, from, to, subject, text, ...(html !== undefined && { html }) };
      await writeFile(file, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    },
    close() {},
  };
}

/**
 * The queue over SMTP when a URL is configured, else over the outbox. loadConfig() only lets a
 * production config reach the outbox when MAIL_OUTBOX_DIR was set on purpose.
 */
export function createMailer(
  config: { smtpUrl: string | null; from: string; outboxDir: string },
  log: MailLogger,
  options: Omit<MailQueueOptions, 'from'> = {},
): MailQueue {
  const transport = config.smtpUrl ? createSmtpTransport(config.smtpUrl) : createOutboxTransport(config.outboxDir);
  return new MailQueue(transport, log, { ...options, from: config.from });
}
