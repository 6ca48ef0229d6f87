import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, readEnvironment } from '../src/config.js';
import { isWeakJwtSecret } from '../src/lib/weak-secrets.js';
import { runCli } from './helpers/processes.js';

const strong = () => randomBytes(48).toString('base64url');
const tempDir = () => mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
const tempDb = () => `sqlite:${join(tempDir(), 'g.db')}`;
/** Production needs a mail route: these tests accept the outbox explicitly. */
const productionOutbox = () => ({ NODE_ENV: 'production', MAIL_OUTBOX_DIR: join(tempDir(), 'outbox') });

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({ JWT_SECRET: strong(), DATABASE_URL: tempDb() });
    expect(config).toMatchObject({
      nodeEnv: 'development',
      port: 3000,
      host: '127.0.0.1',
      corsOrigins: [],
      trustProxy: false,
      bodyLimitBytes: 65_536,
      logLevel: 'info',
      docsEnabled: true,
      accountPagesEnabled: true,
      diagnostics: false,
      publicUrl: 'http://localhost:3000',
      jwt: { issuer: 'http://localhost:3000', audience: 'gatehouse-api', accessTokenTtlSeconds: 900, refreshTokenTtlSeconds: 2_592_000 },
      loginThrottle: { maxFailuresPerEmail: 5, maxFailuresPerIp: 50, windowSeconds: 900 },
    });
    expect(Object.isFrozen(config) && Object.isFrozen(config.jwt)).toBe(true);
  });

  it('the default database is ./data/gatehouse.db', () => {
    const config = loadConfig({ JWT_SECRET: strong(), ...productionOutbox() });
    expect(config.database).toEqual({ kind: 'sqlite', path: join(process.cwd(), 'data', 'gatehouse.db') });
  });

  it('lists every bad variable at once', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DATABASE_URL: 'mysql://x',
      ACCESS_TOKEN_TTL: 'forever',
      LOG_LEVEL: 'loud',
      NODE_ENV: 'staging',
      CORS_ORIGINS: '*',
      TRUST_PROXY: 'maybe?',
      JWT_SECRET: strong(),
    });
    expect(problems.map((p) => p.split(' ')[0])).toEqual(
      expect.arrayContaining(['NODE_ENV', 'PORT', 'DATABASE_URL', 'LOG_LEVEL', 'CORS_ORIGINS', 'TRUST_PROXY', 'ACCESS_TOKEN_TTL']),
    );
    expect(problems).toHaveLength(7);
  });

  it('parses durations, origins and proxy settings', () => {
    const config = loadConfig({
      JWT_SECRET: strong(),
      DATABASE_URL: tempDb(),
      ACCESS_TOKEN_TTL: '5m',
      REFRESH_TOKEN_TTL: '7d',
      CORS_ORIGINS: 'https://a.example, http://localhost:5173',
      TRUST_PROXY: '127.0.0.1,10.0.0.0/8',
    });
    expect(config.jwt.accessTokenTtlSeconds).toBe(300);
    expect(config.jwt.refreshTokenTtlSeconds).toBe(604_800);
    expect(config.corsOrigins).toEqual(['https://a.example', 'http://localhost:5173']);
    expect(config.trustProxy).toEqual(['127.0.0.1', '10.0.0.0/8']);
    expect(loadConfig({ JWT_SECRET: strong(), DATABASE_URL: tempDb(), TRUST_PROXY: '1' }).trustProxy).toBe(1);
  });

  it('GATEHOUSE_DIAGNOSTICS is off unless set to a boolean true', () => {
    expect(loadConfig({ JWT_SECRET: strong(), DATABASE_URL: tempDb(), GATEHOUSE_DIAGNOSTICS: 'true' }).diagnostics).toBe(true);
    expect(loadConfig({ JWT_SECRET: strong(), DATABASE_URL: tempDb(), GATEHOUSE_DIAGNOSTICS: 'off' }).diagnostics).toBe(false);
    expect(problemsOf({ JWT_SECRET: strong(), DATABASE_URL: tempDb(), GATEHOUSE_DIAGNOSTICS: 'verbose' })).toEqual([
      'GATEHOUSE_DIAGNOSTICS must be true or false (got "verbose")',
    ]);
  });

  it('refuses a login throttle above 10 failures per email', () => {
    expect(problemsOf({ JWT_SECRET: strong(), DATABASE_URL: tempDb(), LOGIN_MAX_FAILURES_PER_EMAIL: '11' })[0]).toMatch(
      /LOGIN_MAX_FAILURES_PER_EMAIL/,
    );
  });

  it('an explicit sqlite: path into a missing directory is refused in one line, and nothing is created', () => {
    const missing = join(tempDir(), 'not', 'there');
    // No JWT_SECRET: the development secret would be generated beside the database, creating the folder.
    const problems = problemsOf({ DATABASE_URL: `sqlite:${missing}/gatehouse.db` });
    expect(problems).toEqual([
      `DATABASE_URL points into ${missing}, which does not exist; create it (mkdir -p ${missing}) or fix the path`,
    ]);
    expect(existsSync(missing)).toBe(false);
    expect(existsSync(join(missing, '..'))).toBe(false);
    // A relative path is resolved against the working directory, and the message shows where that is.
    expect(problemsOf({ JWT_SECRET: strong(), DATABASE_URL: 'sqlite:./no-such-dir-here/g.db' })).toEqual([
      expect.stringContaining(`points into ${join(process.cwd(), 'no-such-dir-here')}, which does not exist`),
    ]);
    // An existing directory is fine (the file itself is created on first start), and so is :memory:.
    expect(loadConfig({ JWT_SECRET: strong(), DATABASE_URL: tempDb() }).database.kind).toBe('sqlite');
    expect(loadConfig({ JWT_SECRET: strong(), DATABASE_URL: 'sqlite::memory:' }).database).toEqual({ kind: 'sqlite', path: ':memory:' });
  });

  it('the CLI refuses the missing directory before touching anything; the default ./data is still created on first use', () => {
    const root = tempDir();
    const missing = join(root, 'typo');
    const refused = runCli(['migrate'], { NODE_ENV: 'test', DATABASE_URL: `sqlite:${missing}/gatehouse.db` });
    expect(refused.status).toBe(1);
    expect(refused.stderr.split('\n')[0]).toBe(
      `Invalid configuration: DATABASE_URL points into ${missing}, which does not exist; create it (mkdir -p ${missing}) or fix the path`,
    );
    expect(readdirSync(root)).toEqual([]);

    // DATABASE_URL unset, or the default spelled out (as .env.example does): ./data under the
    // working directory is created, as on every first start.
    for (const env of [{}, { DATABASE_URL: 'sqlite:./data/gatehouse.db' }]) {
      const cwd = tempDir();
      const first = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'dist', 'cli.js'), 'migrate'], {
        env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...env },
        cwd,
        encoding: 'utf8',
      });
      expect(first.stderr).toBe('');
      expect(first.status).toBe(0);
      expect(existsSync(join(cwd, 'data', 'gatehouse.db'))).toBe(true);
    }
  });

  it('postgres:// URLs are accepted by the config (the database layer decides support)', () => {
    expect(loadConfig({ JWT_SECRET: strong(), DATABASE_URL: 'postgres://u@127.0.0.1/db' }).database.kind).toBe('postgres');
  });
});

describe('mail and account settings', () => {
  it('have the documented defaults: outbox beside the database, links to HOST:PORT, verification not required', () => {
    const url = tempDb();
    const config = loadConfig({ JWT_SECRET: strong(), DATABASE_URL: url });
    expect(config.mail).toEqual({
      smtpUrl: null,
      from: 'Gatehouse <no-reply@localhost>',
      outboxDir: join(url.slice('sqlite:'.length, -'g.db'.length), 'outbox'),
    });
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.account).toEqual({
      requireVerifiedEmail: false,
      passwordResetTtlSeconds: 900,
      emailVerificationTtlSeconds: 86_400,
      maxMailsPerAddress: 3,
      maxAttemptsPerIp: 20,
    });
    expect(loadConfig({ JWT_SECRET: strong(), DATABASE_URL: 'postgres://u@127.0.0.1/db' }).mail.outboxDir).toBe(
      join(process.cwd(), 'data', 'outbox'),
    );
  });

  it('parses SMTP_URL, MAIL_FROM, PUBLIC_URL (trailing slash dropped) and the TTLs', () => {
    const config = loadConfig({
      JWT_SECRET: strong(),
      DATABASE_URL: tempDb(),
      SMTP_URL: 'smtps://mailer:s3cret@smtp.example.com:465',
      MAIL_FROM: '"Example, Inc." <accounts@example.com>',
      PUBLIC_URL: 'https://example.com/app/',
      REQUIRE_VERIFIED_EMAIL: 'true',
      PASSWORD_RESET_TTL: '30m',
      EMAIL_VERIFICATION_TTL: '2d',
    });
    expect(config.mail).toMatchObject({
      smtpUrl: 'smtps://mailer:s3cret@smtp.example.com:465',
      from: '"Example, Inc." <accounts@example.com>',
    });
    expect(config.publicUrl).toBe('https://example.com/app');
    expect(config.account).toMatchObject({
      requireVerifiedEmail: true,
      passwordResetTtlSeconds: 1800,
      emailVerificationTtlSeconds: 172_800,
    });
  });

  it('builds PUBLIC_URL from HOST and PORT when unset, with localhost for loopback and wildcard addresses', () => {
    const at = (env: Record<string, string>) => loadConfig({ JWT_SECRET: strong(), DATABASE_URL: tempDb(), ...env }).publicUrl;
    // Browsers refuse an IP address as a WebAuthn relying-party id; localhost they accept.
    for (const host of ['127.0.0.1', '::1', 'localhost', 'LocalHost', '0.0.0.0', '::']) {
      expect(at({ HOST: host, PORT: '8080' }), host).toBe('http://localhost:8080');
    }
    expect(at({ HOST: 'api.internal', PORT: '80' })).toBe('http://api.internal');
    expect(at({ HOST: '10.0.0.7' })).toBe('http://10.0.0.7:3000');
    expect(at({ HOST: 'fd00::7' })).toBe('http://[fd00::7]:3000');
  });

  it('JWT_ISSUER defaults to PUBLIC_URL and must be a URL without query or fragment', () => {
    const base = { JWT_SECRET: strong(), DATABASE_URL: tempDb() };
    expect(loadConfig({ ...base, PUBLIC_URL: 'https://id.example.com/' }).jwt.issuer).toBe('https://id.example.com');
    expect(loadConfig({ ...base, PORT: '4100' }).jwt.issuer).toBe('http://localhost:4100');
    // Given explicitly, it is kept byte for byte (verifiers compare `iss` exactly).
    expect(loadConfig({ ...base, JWT_ISSUER: 'https://auth.example.com/' }).jwt.issuer).toBe('https://auth.example.com/');
    for (const bad of ['gatehouse', 'https://auth.example.com/?tenant=1', 'https://auth.example.com/#x', 'urn:gatehouse']) {
      expect(problemsOf({ ...base, JWT_ISSUER: bad }), bad).toEqual([expect.stringMatching(/^JWT_ISSUER must be an http\(s\) URL/)]);
    }
    // A bad PUBLIC_URL is reported once, not again as the issuer it would have become.
    expect(problemsOf({ ...base, PUBLIC_URL: 'not a url' })).toEqual([expect.stringMatching(/^PUBLIC_URL must be/)]);
  });

  it('ACCOUNT_PAGES_ENABLED turns the hosted account pages off', () => {
    const base = { JWT_SECRET: strong(), DATABASE_URL: tempDb() };
    expect(loadConfig({ ...base, ACCOUNT_PAGES_ENABLED: 'false' }).accountPagesEnabled).toBe(false);
    expect(problemsOf({ ...base, ACCOUNT_PAGES_ENABLED: 'maybe' })).toEqual(['ACCOUNT_PAGES_ENABLED must be true or false (got "maybe")']);
  });

  it('lists every bad mail setting, and never echoes the SMTP password', () => {
    const problems = problemsOf({
      JWT_SECRET: strong(),
      DATABASE_URL: tempDb(),
      SMTP_URL: 'http://mailer:hunter2-password@smtp.example.com',
      MAIL_FROM: 'no address here',
      PUBLIC_URL: 'ftp://example.com',
      REQUIRE_VERIFIED_EMAIL: 'maybe',
      PASSWORD_RESET_TTL: '2d',
      EMAIL_VERIFICATION_TTL: 'soon',
      MAIL_MAX_PER_ADDRESS: '11',
    });
    expect(problems.map((p) => p.split(' ')[0]).sort()).toEqual([
      'EMAIL_VERIFICATION_TTL',
      'MAIL_FROM',
      'MAIL_MAX_PER_ADDRESS',
      'PASSWORD_RESET_TTL',
      'PUBLIC_URL',
      'REQUIRE_VERIFIED_EMAIL',
      'SMTP_URL',
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('production with SMTP_URL needs PUBLIC_URL (links to a loopback address would be useless)', () => {
    const env = { NODE_ENV: 'production', JWT_SECRET: strong(), DATABASE_URL: tempDb(), SMTP_URL: 'smtp://smtp.example.com:587' };
    expect(problemsOf(env)).toEqual([expect.stringMatching(/^PUBLIC_URL is required/)]);
    const config = loadConfig({ ...env, PUBLIC_URL: 'https://app.example.com' });
    expect(config.publicUrl).toBe('https://app.example.com');
    expect(config.mail.smtpUrl).toBe('smtp://smtp.example.com:587');
  });

  it('production without SMTP_URL is refused unless MAIL_OUTBOX_DIR accepts the outbox explicitly', () => {
    const env = { NODE_ENV: 'production', JWT_SECRET: strong(), DATABASE_URL: tempDb() };
    expect(problemsOf(env)).toEqual([
      'NODE_ENV=production needs a way to deliver mail: set SMTP_URL (e.g. smtp://user:pass@host:587), ' +
        'or set MAIL_OUTBOX_DIR to a folder to accept that mails, live tokens included, are written to files there',
    ]);
    // Listed with the other problems, not instead of them.
    expect(problemsOf({ ...env, PORT: 'x' }).map((p) => p.split(' ')[0])).toEqual(['PORT', 'NODE_ENV=production']);

    const outbox = join(tempDir(), 'outbox');
    expect(loadConfig({ ...env, MAIL_OUTBOX_DIR: outbox }).mail).toMatchObject({ smtpUrl: null, outboxDir: outbox });
    // Blank counts as unset.
    expect(problemsOf({ ...env, MAIL_OUTBOX_DIR: '  ' })).toHaveLength(1);
  });

  it.each(['development', 'test'])('NODE_ENV=%s keeps the default outbox beside the database', (nodeEnv) => {
    const url = tempDb();
    expect(loadConfig({ NODE_ENV: nodeEnv, JWT_SECRET: strong(), DATABASE_URL: url }).mail).toMatchObject({
      smtpUrl: null,
      outboxDir: join(url.slice('sqlite:'.length, -'g.db'.length), 'outbox'),
    });
  });
});

describe('JWT_SECRET', () => {
  it.each(['secret', 'changeme', 'super-secret-string'])('production refuses the well-known secret %j', (secret) => {
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: secret, DATABASE_URL: tempDb() })[0]).toMatch(/JWT_SECRET/);
  });

  it.each([
    'super-secret-string-super-secret-string',
    'please-change-me-in-production-0123456789',
    'your-256-bit-secret-your-256-bit-secret!!',
    'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    'secretsecretsecretsecretsecretsecret',
    'mysecretkey12345678901234567890123456',
  ])('production refuses the long but weak or placeholder secret %j', (secret) => {
    expect(problemsOf({ ...productionOutbox(), JWT_SECRET: secret, DATABASE_URL: tempDb() })).toEqual([
      expect.stringMatching(/placeholder or a well-known weak secret/),
    ]);
  });

  it('production refuses a missing secret and one shorter than 32 bytes', () => {
    expect(problemsOf({ NODE_ENV: 'production', DATABASE_URL: tempDb() })[0]).toMatch(/JWT_SECRET is required/);
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'k8Jd92hfP0qLm3nBv7Xc1Z', DATABASE_URL: tempDb() })[0]).toMatch(
      /at least 32 bytes/,
    );
  });

  it('a short secret is refused outside production too (the contract minimum)', () => {
    expect(problemsOf({ JWT_SECRET: 'short', DATABASE_URL: tempDb() })[0]).toMatch(/at least 32 bytes/);
  });

  it('production accepts a random secret; the message never echoes a secret', () => {
    const secret = strong();
    expect(loadConfig({ ...productionOutbox(), JWT_SECRET: secret, DATABASE_URL: tempDb() }).jwt.secretSource).toBe('env');
    const problems = problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'changeme-changeme-changeme-changeme', DATABASE_URL: tempDb() });
    expect(problems.join('\n')).not.toContain('changeme-changeme');
  });

  it('outside production a weak secret is allowed with a warning', () => {
    const config = loadConfig({ JWT_SECRET: 'super-secret-string-super-secret-string', DATABASE_URL: tempDb() });
    expect(config.jwt.secretWarning).toMatch(/well-known weak secret/);
  });

  it('outside production a missing secret is generated once, stored 0600 beside the database, and reused', () => {
    const url = tempDb();
    const first = loadConfig({ DATABASE_URL: url });
    expect(first.jwt.secretSource).toBe('generated-file');
    expect(first.jwt.secretWarning).toMatch(/generated a development secret/);
    expect(first.jwt.secretWarning).not.toContain(first.jwt.secret);
    const file = join(url.slice('sqlite:'.length, -'g.db'.length), 'jwt-secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.jwt.secret);
    expect(Buffer.byteLength(first.jwt.secret)).toBeGreaterThanOrEqual(32);
    const second = loadConfig({ DATABASE_URL: url });
    expect(second.jwt.secretSource).toBe('existing-file');
    expect(second.jwt.secret).toBe(first.jwt.secret);
  });

  it('random secrets are not flagged as weak', () => {
    for (let i = 0; i < 50; i++) expect(isWeakJwtSecret(strong())).toBe(false);
  });
});

describe('.env', () => {
  it('is read, and real environment variables win over it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-env-'));
    const file = join(dir, '.env');
    writeFileSync(file, 'PORT=4000\nHOST=0.0.0.0\n# comment\nJWT_ISSUER="quoted issuer"\n');
    const env = readEnvironment(file, { PORT: '5000' });
    expect(env).toMatchObject({ PORT: '5000', HOST: '0.0.0.0', JWT_ISSUER: 'quoted issuer' });
  });
});
