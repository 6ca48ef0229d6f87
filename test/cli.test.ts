import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import SQLite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { runCli, startServerProcess } from './helpers/processes.js';
import { HAS_PYTHON, runCliInTerminal } from './helpers/terminal.js';

// These run the built binary (npm test builds first), as an operator would.
const PASSWORD = 'correct horse battery staple';

function environment(extra: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
  return {
    NODE_ENV: 'test',
    JWT_SECRET: randomBytes(48).toString('base64url'),
    DATABASE_URL: `sqlite:${join(dir, 'cli.db')}`,
    ...extra,
  };
}

const run = runCli;

/** Every failure ends with a line saying what to do next. */
function expectHint(stderr: string, hint: RegExp = /./) {
  const lines = stderr.trim().split('\n');
  expect(lines.at(-1)).toMatch(/^hint: /);
  expect(lines.at(-1)).toMatch(hint);
}

/** True when `password` logs `email` in through the real app on the database of `env`. */
async function canLogIn(env: Record<string, string>, email: string, password: string): Promise<boolean> {
  const app = await buildApp(loadConfig(env), { logger: false });
  try {
    const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password } });
    return res.statusCode === 200;
  } finally {
    await app.close();
  }
}

function userCount(env: Record<string, string>): number {
  const path = (env.DATABASE_URL ?? '').slice('sqlite:'.length);
  if (!existsSync(path)) return 0;
  const sqlite = new SQLite(path, { readonly: true });
  try {
    return (sqlite.prepare('select count(*) as n from users').get() as { n: number }).n;
  } finally {
    sqlite.close();
  }
}

describe('gatehouse CLI', () => {
  it('user create --admin, set-role and migrate work against the configured database', async () => {
    const env = environment();
    const created = run(['user', 'create', '--email', ' Root@Example.com ', '--password', PASSWORD, '--admin', '--name', 'Root'], env);
    expect(created.stderr).toBe('');
    expect(created.status).toBe(0);
    expect(created.stdout).toMatch(/^created admin root@example\.com \(/);
    // The operator vouches for the address: CLI-created users start verified (and nothing is mailed).
    const sqlite = new SQLite(env.DATABASE_URL.slice('sqlite:'.length), { readonly: true });
    expect(sqlite.prepare('select email_verified from users where email = ?').get('root@example.com')).toEqual({ email_verified: 1 });
    sqlite.close();

    const demoteLast = run(['user', 'set-role', '--email', 'root@example.com', '--role', 'user'], env);
    expect(demoteLast.status).toBe(1);
    expect(demoteLast.stderr).toMatch(/LAST_ADMIN/);
    expectHint(demoteLast.stderr, /make another user admin first/);

    const stdin = run(['user', 'create', '--email', 'second@example.com'], env, `${PASSWORD}\n`);
    expect(stdin.status).toBe(0);
    expect(run(['user', 'set-role', '--email', 'second@example.com', '--role', 'admin'], env).stdout).toBe(
      'second@example.com is now admin\n',
    );

    const migrate = run(['migrate'], env);
    expect(migrate.status).toBe(0);
    expect(migrate.stdout).toBe('database is up to date\n');
  });

  it('refuses a weak password, a taken email and bad values with exit 1, each with a hint', () => {
    const env = environment();
    const weak = run(['user', 'create', '--email', 'a@example.com', '--password', 'password1234'], env);
    expect(weak.status).toBe(1);
    expect(weak.stderr).toMatch(/VALIDATION_FAILED[\s\S]*too common/);
    expectHint(weak.stderr, /`gatehouse user create --help`/);
    expect(run(['user', 'create', '--email', 'a@example.com', '--password', PASSWORD], env).status).toBe(0);
    const taken = run(['user', 'create', '--email', 'a@example.com', '--password', PASSWORD], env);
    expect(taken.stderr).toMatch(/EMAIL_TAKEN/);
    expectHint(taken.stderr, /gatehouse user set-role/);
    const badRole = run(['user', 'set-role', '--email', 'a@example.com', '--role', 'root'], env);
    expect(badRole.status).toBe(1);
    expect(badRole.stderr).toBe('error: --role must be admin or user (got "root")\nhint: pass --role admin or --role user\n');
    const nobody = run(['user', 'set-role', '--email', 'nobody@example.com', '--role', 'admin'], env);
    expect(nobody.status).toBe(1);
    expectHint(nobody.stderr, /gatehouse user create/);
    const noStdin = run(['user', 'create', '--email', 'b@example.com'], env, '');
    expect(noStdin.status).toBe(1);
    expect(noStdin.stderr).toMatch(/^error: no password on standard input\n/);
    expectHint(noStdin.stderr, /pipe it in/);
    const badConfig = run(['migrate'], { ...env, PORT: 'eighty' });
    expect(badConfig.status).toBe(1);
    expect(badConfig.stderr).toMatch(/^Invalid configuration: PORT must be an integer/);
    expectHint(badConfig.stderr, /environment or in \.env/);
  });

  it('unknown commands, subcommands and options, and missing arguments: a clear error, a hint, exit 2', () => {
    const env = environment();
    const cases: [string[], string, RegExp][] = [
      [['frobnicate'], 'error: unknown command: frobnicate', /`gatehouse --help`/],
      [['user', 'delete'], 'error: gatehouse user has no command "delete": create or set-role', /`gatehouse user --help`/],
      [['user'], 'error: gatehouse user needs a command: create or set-role', /`gatehouse user --help`/],
      [['keys', 'purge'], 'error: gatehouse keys has no command "purge": rotate or list', /`gatehouse keys --help`/],
      [['user', 'create', '--emial', 'a@example.com'], "error: unknown option '--emial'", /`gatehouse user create --help`/],
      [['user', 'create', '--email'], "error: option '--email <value>' argument missing", /`gatehouse user create --help`/],
      [['user', 'create', '--name', 'Ada'], 'error: --email is required', /`gatehouse user create --help`/],
      [['user', 'set-role', '--email', 'a@example.com'], 'error: --role is required', /`gatehouse user set-role --help`/],
      [['serve', '--port', '80'], "error: unknown option '--port'", /`gatehouse serve --help`/],
      [['migrate', 'now'], "error: unexpected argument 'now'", /`gatehouse migrate --help`/],
      [['keys', 'list', '-x'], "error: unknown option '-x'", /`gatehouse keys list --help`/],
      [['backup'], 'error: the backup file is missing', /`gatehouse backup --help`/],
      [['help', 'frobnicate'], 'error: no help for "frobnicate": there is no such command', /`gatehouse --help`/],
    ];
    for (const [args, error, hint] of cases) {
      const res = run(args, env);
      expect({ args, status: res.status, stdout: res.stdout }).toEqual({ args, status: 2, stdout: '' });
      const [first, second, ...rest] = res.stderr.split('\n');
      expect(first).toBe(error);
      expect(second).toMatch(/^hint: /);
      expect(second).toMatch(hint);
      expect(rest).toEqual(['']);
    }
    // Nothing was created by any of them.
    expect(userCount(env)).toBe(0);
  });

  it('--help on every command and group prints usage, options and an example (no configuration needed)', () => {
    // No JWT_SECRET or DATABASE_URL: help must not load configuration or touch a database.
    const env = { NODE_ENV: 'production' };
    const commands = [['serve'], ['migrate'], ['user', 'create'], ['user', 'set-role'], ['keys', 'rotate'], ['keys', 'list'], ['backup']];
    for (const command of commands) {
      const res = run([...command, '--help'], env);
      expect({ command, status: res.status, stderr: res.stderr }).toEqual({ command, status: 0, stderr: '' });
      expect(res.stdout.startsWith(`Usage: gatehouse ${command.join(' ')}`)).toBe(true);
      expect(res.stdout).toMatch(/\nOptions:\n[\s\S]*-h, --help/);
      const examples = res.stdout.split(/\nExamples?:\n/)[1];
      expect(examples).toContain(`gatehouse ${command.join(' ')}`);
    }
    // -h and `gatehouse help <command>` print the same text.
    const createHelp = run(['user', 'create', '--help'], env).stdout;
    expect(run(['user', 'create', '-h'], env).stdout).toBe(createHelp);
    expect(run(['help', 'user', 'create'], env).stdout).toBe(createHelp);
    expect(createHelp).toMatch(/--admin +give the user the admin role/);
    // --help wins over everything else on the line (nothing is run).
    expect(run(['user', 'create', '--email', 'a@example.com', '--help'], env).stdout).toBe(createHelp);
    expect(run(['serve', '--help'], env).stdout).toMatch(/--workers N/);

    for (const group of ['user', 'keys']) {
      const res = run([group, '--help'], env);
      expect(res.status).toBe(0);
      expect(res.stdout).toMatch(new RegExp(`^Usage: gatehouse ${group} <command>`));
    }
    const overview = run(['--help'], env);
    expect(overview.status).toBe(0);
    for (const command of commands) expect(overview.stdout).toContain(`\n  ${command.join(' ')} `);
    expect(overview.stdout).toMatch(/-v, --version/);
    expect(run(['help'], env).stdout).toBe(overview.stdout);
    // No command at all is a usage error: the overview, on stderr, exit 2.
    const bare = run([], env);
    expect(bare.status).toBe(2);
    expect(bare.stderr).toBe(overview.stdout);
  });

  it('--version and -v print the package version', () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const res = run([flag], {});
      expect(res).toMatchObject({ status: 0, stdout: `${version}\n`, stderr: '' });
    }
  });

  describe.skipIf(!HAS_PYTHON)('password prompt in a terminal', () => {
    const prompted = (password: string, repeated: string) => [
      { expect: 'Password for ada@example.com: ' },
      { type: `${password}\r` },
      { expect: 'Repeat the password: ' },
      { type: `${repeated}\r` },
    ];

    it('asks twice without echoing, then creates the user, who can log in with that password', async () => {
      const env = environment();
      const session = runCliInTerminal(['user', 'create', '--email', 'ada@example.com', '--admin'], env, prompted(PASSWORD, PASSWORD));
      expect(session.status).toBe(0);
      expect(session.screen).not.toContain(PASSWORD);
      // Not a single typed character reached the screen: only the two prompts and the result.
      expect(session.screen.replaceAll('\r', '')).toMatch(
        /^Password for ada@example\.com: \nRepeat the password: \ncreated admin ada@example\.com \([0-9a-f-]{36}\)\n$/,
      );
      expect(await canLogIn(env, 'ada@example.com', PASSWORD)).toBe(true);
    });

    it('backspace edits what was typed, still without echo', async () => {
      const env = environment();
      // "correct horse battery staplX" + backspace + "e" is the password.
      const typed = `${PASSWORD.slice(0, -1)}X\u007fe`;
      const session = runCliInTerminal(['user', 'create', '--email', 'ada@example.com'], env, prompted(typed, PASSWORD));
      expect(session.status).toBe(0);
      expect(session.screen).not.toContain(PASSWORD.slice(0, 12));
      expect(await canLogIn(env, 'ada@example.com', PASSWORD)).toBe(true);
    });

    it('two different passwords: an error with a hint, exit 1, no user', () => {
      const env = environment();
      const session = runCliInTerminal(['user', 'create', '--email', 'ada@example.com'], env, prompted(PASSWORD, `${PASSWORD}!`));
      expect(session.status).toBe(1);
      expect(session.screen).not.toContain(PASSWORD);
      expect(session.screen).toMatch(/error: the two passwords do not match; no user was created\r?\nhint: run the command again/);
      expect(userCount(env)).toBe(0);
    });

    it('Ctrl-C at the prompt aborts cleanly: exit 130, nothing echoed, no user, no stack trace', () => {
      const env = environment();
      const session = runCliInTerminal(['user', 'create', '--email', 'ada@example.com'], env, [
        { expect: 'Password for ada@example.com: ' },
        { type: 'half a passw' },
        { type: '\u0003' },
      ]);
      expect(session.status).toBe(130);
      expect(session.screen).not.toContain('half a passw');
      expect(session.screen).toMatch(/aborted: nothing was changed\r?\nhint: /);
      expect(session.screen).not.toMatch(/\n\s+at /);
      expect(userCount(env)).toBe(0);
    });

    it('an empty password is refused before it is asked again', () => {
      const env = environment();
      const session = runCliInTerminal(['user', 'create', '--email', 'ada@example.com'], env, [
        { expect: 'Password for ada@example.com: ' },
        { type: '\r' },
      ]);
      expect(session.status).toBe(1);
      expect(session.screen).not.toContain('Repeat');
      expect(session.screen).toMatch(/error: no password typed; no user was created\r?\nhint: /);
    });
  });

  it('a production start with a weak JWT_SECRET stops with every problem listed, exit 1', () => {
    const res = run(['serve'], { ...environment(), NODE_ENV: 'production', JWT_SECRET: 'super-secret-string', PORT: 'x' });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/Invalid configuration:/);
    expect(res.stderr).toMatch(/PORT must be an integer/);
    expect(res.stderr).toMatch(/JWT_SECRET must be at least 32 bytes/);
    expect(res.stderr).not.toContain('super-secret-string\n');
  });
});

describe('server process', () => {
  it('serves, logs JSON with request ids and no secrets, and shuts down gracefully on SIGTERM', async () => {
    const env = environment();
    const started = performance.now();
    const server = await startServerProcess({ ...env, LOG_LEVEL: 'info' });
    const coldStartMs = performance.now() - started;
    expect(coldStartMs).toBeLessThan(5000);
    console.log(`cold start to first /healthz: ${Math.round(coldStartMs)} ms`);

    const register = (i: number) =>
      fetch(`${server.base}/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `shutdown-${i}@example.com`, password: PASSWORD }),
      });
    const login = (await (await register(999)).json()) as { user: { email: string } };
    expect(login.user.email).toBe('shutdown-999@example.com');
    const tokens = (await (
      await fetch(`${server.base}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'shutdown-999@example.com', password: PASSWORD }),
      })
    ).json()) as { access_token: string; refresh_token: string };
    expect((await fetch(`${server.base}/auth/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status).toBe(200);

    // In-flight requests (each an Argon2 hash) must complete after SIGTERM.
    const inFlight = Array.from({ length: 8 }, (_, i) => register(i));
    // Wait until the server has received all eight (logged "incoming request"), then stop it.
    const received = () =>
      server
        .logs()
        .split('\n')
        .filter((l) => l.includes('"incoming request"') && l.includes('/auth/register')).length;
    for (let i = 0; i < 200 && received() < 9; i++) await new Promise((r) => setTimeout(r, 5));
    expect(received()).toBe(9);
    server.child.kill('SIGTERM');
    const statuses = await Promise.all(inFlight.map((p) => p.then((r) => r.status)));
    expect(statuses).toEqual(Array(8).fill(201));
    expect(await server.exited).toBe(0);
    await expect(fetch(`${server.base}/healthz`)).rejects.toThrow();

    const logs = server.logs();
    const lines = logs
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.some((l) => typeof l.reqId === 'string')).toBe(true);
    expect(lines.some((l) => l.msg === 'shutting down: finishing in-flight requests')).toBe(true);
    expect(logs).not.toContain(PASSWORD);
    expect(logs).not.toContain(tokens.access_token);
    expect(logs).not.toContain(tokens.refresh_token);
    expect(logs).not.toContain(env.JWT_SECRET);

    // Without SMTP_URL the server says at start that mail goes to the outbox; shutdown flushed
    // the nine verification mails there, and none of their tokens reached the log.
    expect(lines.find((l) => l.level === 40 && String(l.msg).startsWith('SMTP_URL not set'))).toMatchObject({
      outbox: join(dirname(env.DATABASE_URL.slice('sqlite:'.length)), 'outbox'),
    });
    expect(lines.find((l) => l.msg === 'gatehouse ready')).toMatchObject({ mail: 'outbox' });
    const outbox = join(dirname(env.DATABASE_URL.slice('sqlite:'.length)), 'outbox');
    const mails = readdirSync(outbox).map((f) => JSON.parse(readFileSync(join(outbox, f), 'utf8')) as { text: string });
    expect(mails).toHaveLength(9);
    for (const mail of mails) {
      const token = /verify-email\?token=([A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(logs).not.toContain(token);
    }
    expect(lines.filter((l) => l.msg === 'mail sent')).toHaveLength(9);
  });
});

describe('gatehouse serve --workers', () => {
  it('runs N worker processes on one port, each serving, and drains them all on SIGTERM', async () => {
    const env = { ...environment(), LOG_LEVEL: 'info' };
    const server = await startServerProcess(env, [join(import.meta.dirname, '..', 'dist', 'cli.js'), 'serve', '--workers', '2']);
    const workersOf = (pid: number) =>
      spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
        .stdout.trim()
        .split('\n')
        .filter(Boolean);
    for (let i = 0; i < 100 && workersOf(server.child.pid as number).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(workersOf(server.child.pid as number)).toHaveLength(2);
    // Both workers accept connections on the shared port: registrations (SQLite, one WAL file) all land.
    const statuses = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        fetch(`${server.base}/auth/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: `worker-${i}@example.com`, password: PASSWORD }),
        }).then((r) => r.status),
      ),
    );
    expect(statuses).toEqual(Array(6).fill(201));
    expect(await server.stop('SIGTERM')).toBe(0);
    expect(server.logs().match(/shutting down: finishing in-flight requests/g)).toHaveLength(2);
  });
});
