import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** A message as the test SMTP server received it, with just enough MIME decoding to read it. */
export interface ReceivedMail {
  envelope: { from: string; to: string[] };
  raw: string;
  /** Header names lower-cased; folded lines unfolded. */
  headers: Record<string, string>;
  /** The decoded text/plain part. */
  text: string;
  /** The decoded text/html part, if any. */
  html: string | undefined;
}

/**
 * A real SMTP server on a loopback port (the smtp-server package): plain SMTP, no STARTTLS,
 * any or no authentication, messages collected in memory.
 */
export class TestSmtpServer {
  readonly messages: ReceivedMail[] = [];
  /** Credentials of the last AUTH, if the client authenticated. */
  lastAuth: { username: string; password: string } | undefined;
  /** The next N messages are refused with a temporary 451, to exercise retries. */
  failNext = 0;
  private server: SMTPServer | undefined;
  private waiters: (() => void)[] = [];
  port = 0;

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      // Loopback only: let clients authenticate without TLS so credentials from SMTP_URL can be checked.
      allowInsecureAuth: true,
      logger: false,
      onAuth: (auth, _session, callback) => {
        this.lastAuth = { username: auth.username ?? '', password: auth.password ?? '' };
        callback(null, { user: auth.username });
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          if (this.failNext > 0) {
            this.failNext -= 1;
            callback(Object.assign(new Error('try again later'), { responseCode: 451 }));
            return;
          }
          const raw = Buffer.concat(chunks).toString('utf8');
          const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          this.messages.push({ envelope: { from, to: session.envelope.rcptTo.map((r) => r.address) }, raw, ...parseMessage(raw) });
          for (const wake of this.waiters.splice(0)) wake();
          callback();
        });
      },
    });
    server.on('error', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (server.server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Waits until a message to `to` (and matching `subject`, if given) has arrived, and returns the newest. */
  async waitFor(to: string, subject?: RegExp, timeoutMs = 10_000): Promise<ReceivedMail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messagesTo(to).filter((m) => !subject || subject.test(m.headers.subject ?? ''));
      const last = found.at(-1);
      if (last) return last;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no mail to ${to}${subject ? ` matching ${subject}` : ''} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  messagesTo(to: string): ReceivedMail[] {
    return this.messages.filter((m) => m.envelope.to.includes(to));
  }
}

/** The token in a mail's link (`?token=…`); throws when there is none. */
export function tokenFromMail(mail: { text: string }, path: string): string {
  const match = new RegExp(`/${path}\\?token=([A-Za-z0-9_-]+)`).exec(mail.text);
  if (!match?.[1]) throw new Error(`no /${path}?token= link in:\n${mail.text}`);
  return match[1];
}

function parseHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.replace(/\r\n[ \t]+/g, ' ').split(/\r\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function decodeBody(body: string, encoding: string | undefined): string {
  switch ((encoding ?? '7bit').toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    case 'quoted-printable': {
      const bytes = body
        .replace(/=\r\n/g, '')
        .replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
      return Buffer.from(bytes, 'latin1').toString('utf8');
    }
    default:
      return body;
  }
}

/** Splits headers from body and finds the text/plain and text/html parts (one multipart level is enough here). */
function parseMessage(raw: string): { headers: Record<string, string>; text: string; html: string | undefined } {
  const split = raw.indexOf('\r\n\r\n');
  const headers = parseHeaders(raw.slice(0, split));
  const body = raw.slice(split + 4);
  const boundary = /boundary="?([^";]+)"?/i.exec(headers['content-type'] ?? '')?.[1];
  const parts: { headers: Record<string, string>; body: string }[] = [];
  if (boundary) {
    for (const chunk of body.split(`--${boundary}`).slice(1)) {
      if (chunk.startsWith('--')) break;
      const at = chunk.indexOf('\r\n\r\n');
      parts.push({ headers: parseHeaders(chunk.slice(0, at).replace(/^\r\n/, '')), body: chunk.slice(at + 4).replace(/\r\n$/, '') });
    }
  } else {
    parts.push({ headers, body });
  }
  const decoded = (type: string) => {
    const part = parts.find((p) => (p.headers['content-type'] ?? 'text/plain').startsWith(type));
    return part ? decodeBody(part.body, part.headers['content-transfer-encoding']).replace(/\r\n/g, '\n') : undefined;
  };
  return { headers, text: decoded('text/plain') ?? '', html: decoded('text/html') };
}
