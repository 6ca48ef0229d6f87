import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createMailer,
  createOutboxTransport,
  createSmtpTransport,
  type Mail,
  type MailLogger,
  MailQueue,
  type MailTransport,
} from '../../src/lib/mailer.js';
import { freePort } from '../helpers/redis-server.js';
import { TestSmtpServer } from '../helpers/smtp.js';

const FROM = 'Gatehouse Test <no-reply@gatehouse.test>';
const SECRET = 'tok_SECRET_in_the_body_1234567890';

/** A logger that keeps every entry, to assert what is (and is not) logged. */
function captureLog() {
  const entries: { level: string; obj: object; msg: string }[] = [];
  const log: MailLogger = {
    info: (obj, msg) => entries.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => entries.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => entries.push({ level: 'error', obj, msg }),
  };
  return { log, entries, text: () => JSON.stringify(entries) };
}

const mail = (to: string, extra: Partial<Mail> = {}): Mail => ({
  kind: 'test',
  to,
  subject: 'Hello from the queue',
  text: `Your token: ${SECRET}\nA long line that has to survive quoted-printable soft breaks: https://app.example.test/reset-password?token=${SECRET}`,
  html: `<p>Your token: <a href="https://app.example.test/?token=${SECRET}">link</a></p>`,
  ...extra,
});

let smtp: TestSmtpServer;
beforeAll(async () => {
  smtp = new TestSmtpServer();
  await smtp.start();
});
afterAll(async () => smtp.stop());
afterEach(() => {
  smtp.failNext = 0;
});

describe('MailQueue over SMTP (real server on loopback)', () => {
  it('delivers with sane headers: From, To, Subject, Date, Message-ID, Auto-Submitted; text and HTML bodies', async () => {
    const { log, entries, text } = captureLog();
    const queue = new MailQueue(createSmtpTransport(smtp.url), log, { from: FROM });
    const started = performance.now();
    queue.send(mail('ada@example.com'));
    // send() only enqueues: it returns at once, before any network work.
    expect(performance.now() - started).toBeLessThan(20);
    await queue.idle();
    const received = await smtp.waitFor('ada@example.com');
    expect(received.envelope).toEqual({ from: 'no-reply@gatehouse.test', to: ['ada@example.com'] });
    expect(received.headers.from).toBe('Gatehouse Test <no-reply@gatehouse.test>');
    expect(received.headers.to).toBe('ada@example.com');
    expect(received.headers.subject).toBe('Hello from the queue');
    expect(received.headers['message-id']).toMatch(/^<[0-9a-f-]{36}@gatehouse\.test>$/);
    expect(received.headers['auto-submitted']).toBe('auto-generated');
    expect(received.headers['mime-version']).toBe('1.0');
    expect(received.headers['content-type']).toMatch(/^multipart\/alternative; boundary=/);
    const date = Date.parse(received.headers.date ?? '');
    expect(Math.abs(Date.now() - date)).toBeLessThan(60_000);
    expect(received.text).toContain(`https://app.example.test/reset-password?token=${SECRET}`);
    expect(received.html).toContain(`href="https://app.example.test/?token=${SECRET}"`);

    const sent = entries.find((e) => e.msg === 'mail sent');
    expect(sent?.obj).toMatchObject({ kind: 'test', transport: 'smtp', attempts: 1 });
    expect(received.headers['message-id']).toContain((sent?.obj as { mailId?: string } | undefined)?.mailId ?? 'missing');
    // Logs name the mail, never its content or recipient.
    expect(text()).not.toContain(SECRET);
    expect(text()).not.toContain('ada@example.com');
    await queue.close();
  });

  it('authenticates with the credentials in the SMTP URL (percent-decoded)', async () => {
    const queue = new MailQueue(createSmtpTransport(`smtp://mailer:p%40ss%3Aword@127.0.0.1:${smtp.port}`), captureLog().log, {
      from: FROM,
    });
    queue.send(mail('auth@example.com'));
    await queue.idle();
    await smtp.waitFor('auth@example.com');
    expect(smtp.lastAuth).toEqual({ username: 'mailer', password: 'p@ss:word' });
    await queue.close();
  });

  it('retries a temporary failure with backoff until the mail is accepted', async () => {
    const { log, entries } = captureLog();
    const queue = new MailQueue(createSmtpTransport(smtp.url), log, { from: FROM, baseDelayMs: 20 });
    smtp.failNext = 2;
    queue.send(mail('retry@example.com'));
    await queue.idle();
    expect(smtp.messagesTo('retry@example.com')).toHaveLength(1);
    const retries = entries.filter((e) => e.msg === 'mail not sent; will retry');
    expect(retries.map((e) => (e.obj as { attempts: number }).attempts)).toEqual([1, 2]);
    expect(retries[0]?.obj).toMatchObject({ error: { responseCode: 451 } });
    // Exponential: the second wait's step is twice the first (each with 50–100 % jitter).
    const waits = retries.map((e) => (e.obj as { retryInMs: number }).retryInMs);
    expect(waits[0]).toBeGreaterThanOrEqual(10);
    expect(waits[0]).toBeLessThanOrEqual(20);
    expect(waits[1]).toBeGreaterThanOrEqual(20);
    expect(waits[1]).toBeLessThanOrEqual(40);
    expect(entries.find((e) => e.msg === 'mail sent')?.obj).toMatchObject({ attempts: 3 });
    await queue.close();
  });

  it('gives up after maxAttempts with one error line; the caller never sees the failure', async () => {
    const { log, entries } = captureLog();
    const queue = new MailQueue(createSmtpTransport(smtp.url), log, { from: FROM, baseDelayMs: 5, maxAttempts: 3 });
    smtp.failNext = 10;
    expect(() => queue.send(mail('never@example.com'))).not.toThrow();
    await queue.idle();
    expect(smtp.messagesTo('never@example.com')).toHaveLength(0);
    expect(entries.filter((e) => e.level === 'error').map((e) => e.msg)).toEqual(['mail could not be sent; dropped']);
    expect(entries.find((e) => e.level === 'error')?.obj).toMatchObject({ kind: 'test', attempts: 3 });
    await queue.close();
  });

  it('an unreachable server fails attempts quickly and is logged, not thrown', async () => {
    const { log, entries } = captureLog();
    const port = await freePort();
    const queue = new MailQueue(createSmtpTransport(`smtp://127.0.0.1:${port}`), log, { from: FROM, baseDelayMs: 5, maxAttempts: 2 });
    queue.send(mail('nobody@example.com'));
    await queue.idle();
    const dropped = entries.find((e) => e.level === 'error');
    expect(dropped?.obj).toMatchObject({
      attempts: 2,
      error: { code: expect.any(String), message: expect.stringMatching(/ECONNREFUSED/) },
    });
    await queue.close();
  });
});

describe('MailQueue bounds and shutdown', () => {
  /** A transport that holds every delivery until released. */
  function gatedTransport() {
    const delivered: string[] = [];
    let release: () => void = () => {};
    let gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const transport: MailTransport = {
      name: 'gated',
      async deliver(m) {
        await gate;
        delivered.push(m.to);
      },
      close() {},
    };
    return {
      transport,
      delivered,
      open: () => release(),
      reset: () => {
        gate = new Promise<void>((resolve) => {
          release = resolve;
        });
      },
    };
  }

  it('is bounded: past maxQueued a mail is dropped with an error line', async () => {
    const { log, entries } = captureLog();
    const gated = gatedTransport();
    const queue = new MailQueue(gated.transport, log, { from: FROM, maxQueued: 3, concurrency: 1 });
    for (let i = 0; i < 5; i++) queue.send(mail(`q${i}@example.com`));
    expect(queue.pending).toBe(3);
    expect(entries.filter((e) => e.msg === 'mail queue full; mail dropped')).toHaveLength(2);
    gated.open();
    await queue.idle();
    expect(gated.delivered).toEqual(['q0@example.com', 'q1@example.com', 'q2@example.com']);
    await queue.close();
  });

  it('close() flushes queued mail, gives mail waiting for a retry one last attempt, and drops later sends', async () => {
    const { log, entries } = captureLog();
    const queue = new MailQueue(createSmtpTransport(smtp.url), log, { from: FROM, baseDelayMs: 60_000 });
    smtp.failNext = 1;
    queue.send(mail('flush-retry@example.com'));
    // Wait until the first attempt failed and the retry is scheduled a minute away.
    for (let i = 0; i < 200 && !entries.some((e) => e.msg === 'mail not sent; will retry'); i++)
      await new Promise((r) => setTimeout(r, 10));
    queue.send(mail('flush-queued@example.com'));
    const started = performance.now();
    await queue.close();
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(smtp.messagesTo('flush-retry@example.com')).toHaveLength(1);
    expect(smtp.messagesTo('flush-queued@example.com')).toHaveLength(1);
    queue.send(mail('too-late@example.com'));
    expect(entries.at(-1)?.msg).toBe('mailer closed; mail dropped');
    expect(queue.pending).toBe(0);
  });

  it('close() gives up after its timeout and says how many mails it dropped', async () => {
    const { log, entries } = captureLog();
    const gated = gatedTransport();
    const queue = new MailQueue(gated.transport, log, { from: FROM, concurrency: 1, closeTimeoutMs: 50 });
    queue.send(mail('stuck-1@example.com'));
    queue.send(mail('stuck-2@example.com'));
    await queue.close();
    expect(entries.find((e) => e.msg === 'mailer closed with mail still queued; it is dropped')?.obj).toEqual({ dropped: 2 });
    gated.open();
  });
});

describe('development outbox', () => {
  it('writes one JSON file per mail (mode 0600, in a 0700 folder) with the headers and bodies', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'gatehouse-outbox-')), 'outbox');
    try {
      const { log, entries } = captureLog();
      const queue = createMailer({ smtpUrl: null, from: FROM, outboxDir: dir }, log);
      queue.send(mail('first@example.com'));
      queue.send(mail('second@example.com', { html: undefined }));
      await queue.idle();
      const files = readdirSync(dir).sort();
      expect(files).toHaveLength(2);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      const records = files.map((f) => {
        expect(f).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z-[0-9a-f-]{36}\.json$/);
        expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
        return JSON.parse(readFileSync(join(dir, f), 'utf8'));
      });
      const first = records.find((r) => r.to === 'first@example.com');
      expect(Object.keys(first).sort()).toEqual(['date', 'from', 'html', 'id', 'kind', 'message_id', 'subject', 'text', 'to']);
      expect(first).toMatchObject({ from: FROM, subject: 'Hello from the queue', kind: 'test' });
      expect(first.text).toContain(SECRET);
      expect(first.message_id).toBe(`<${first.id}@gatehouse.test>`);
      expect(records.find((r) => r.to === 'second@example.com')).not.toHaveProperty('html');
      expect(entries.filter((e) => e.msg === 'mail sent').map((e) => (e.obj as { transport: string }).transport)).toEqual([
        'outbox',
        'outbox',
      ]);
      await queue.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unwritable outbox is a logged delivery failure, retried like any other', async () => {
    const { log, entries } = captureLog();
    const file = join(mkdtempSync(join(tmpdir(), 'gatehouse-outbox-')), 'not-a-dir');
    // A path under a regular file can never be created.
    (await import('node:fs')).writeFileSync(file, '');
    const queue = new MailQueue(createOutboxTransport(join(file, 'outbox')), log, { from: FROM, baseDelayMs: 5, maxAttempts: 2 });
    queue.send(mail('x@example.com'));
    await queue.idle();
    expect(entries.map((e) => e.msg)).toEqual(['mail not sent; will retry', 'mail could not be sent; dropped']);
    await queue.close();
  });
});
