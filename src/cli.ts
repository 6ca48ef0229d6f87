#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.js';
import { AppError } from './errors.js';
import { PromptAbortedError, readHiddenLine } from './lib/hidden-prompt.js';

// The server, database drivers and password hashing load only when a command needs them:
// --help, --version and usage errors then answer in a fraction of the time.
const load = {
  cluster: () => import('./cluster.js'),
  database: () => import('./db/create-db.js'),
  backup: () => import('./db/backup.js'),
  keys: () => import('./modules/keys/keys.service.js'),
  users: async () => ({ ...(await import('./modules/users/users.repository.js')), ...(await import('./modules/users/users.service.js')) }),
};

/** An error the operator can act on: printed as one message and a hint, never a stack trace. */
class CliError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Exit status for wrong usage (unknown command or option, missing argument), as in most CLIs. */
const USAGE_EXIT = 2;
/** Exit status after Ctrl-C, as a shell reports a process stopped by SIGINT (128 + 2). */
const INTERRUPTED_EXIT = 130;

interface Command {
  /** The words after `gatehouse`, e.g. "user create". */
  name: string;
  usage: string;
  summary: string;
  description: string;
  options: [flag: string, meaning: string][];
  examples: string[];
  run(args: string[]): Promise<number>;
}

const helpHint = (name: string) => `run \`gatehouse ${name} --help\``;

const COMMANDS: Command[] = [
  {
    name: 'serve',
    usage: 'gatehouse serve [--workers N]',
    summary: 'migrate, then serve the HTTP API',
    description: 'Applies pending migrations, then serves the API on HOST:PORT until SIGTERM or Ctrl-C.',
    options: [['--workers N', 'processes sharing the port (node:cluster), 1 to 64; default 1']],
    examples: ['gatehouse serve', 'PORT=8080 gatehouse serve --workers 2'],
    async run(args) {
      const { values } = parseCommandArgs('serve', args, { workers: { type: 'string', default: '1' } });
      const workers = Number(values.workers);
      if (!Number.isInteger(workers) || workers < 1 || workers > 64)
        throw new CliError('--workers must be an integer from 1 to 64', 'pass e.g. --workers 2, at most one per CPU core');
      const config = loadConfig();
      // Workers share a listening port, so each scrape would reach one worker and count only its
      // requests, a different one each time.
      if (workers > 1 && config.metrics)
        throw new CliError(
          'METRICS_PORT cannot be used with --workers: each worker would answer scrapes with its own counts',
          'unset METRICS_PORT, or run one process per port (--workers 1) and scrape each',
        );
      const { serveWithWorkers } = await load.cluster();
      await serveWithWorkers(config, workers);
      return -1; // keep running
    },
  },
  {
    name: 'migrate',
    usage: 'gatehouse migrate',
    summary: 'apply pending database migrations',
    description: 'Applies pending migrations to the database of DATABASE_URL; exits non-zero if one fails.',
    options: [],
    examples: ['gatehouse migrate', 'DATABASE_URL=postgres://gatehouse:secret@db.internal:5432/gatehouse gatehouse migrate'],
    async run(args) {
      parseCommandArgs('migrate', args, {});
      const config = loadConfig();
      const { migrateToLatest, withDatabase } = await load.database();
      return withDatabase(config.database, async (db) => {
        const applied = await migrateToLatest(db.db);
        process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
        return 0;
      });
    },
  },
  {
    name: 'user create',
    usage: 'gatehouse user create --email E [--admin] [--name N] [--password P | --password -]',
    summary: 'create a user (the first admin, say)',
    description:
      'Creates a user whose email counts as verified (the operator vouches for it). Without --password\n' +
      'it asks for the password twice, without showing it, when run in a terminal, and otherwise\n' +
      'reads it from standard input (one line), which keeps it out of shell history.',
    options: [
      ['--email E', 'the email address (required); trimmed and lower-cased'],
      ['--admin', 'give the user the admin role (default: user)'],
      ['--name N', 'a display name'],
      ['--password P', 'the password itself (visible in the process list: prefer the prompt or a pipe)'],
      ['--password -', 'read the password from standard input (the prompt, in a terminal)'],
    ],
    examples: [
      'gatehouse user create --email root@example.com --admin',
      'printf "%s\\n" "$ADMIN_PASSWORD" | gatehouse user create --email root@example.com --admin',
    ],
    run: createUser,
  },
  {
    name: 'user set-role',
    usage: 'gatehouse user set-role --email E --role admin|user',
    summary: 'make a user admin, or an admin a user',
    description: 'Changes the role of an existing user; the last active admin cannot be demoted.',
    options: [
      ['--email E', 'the user (required)'],
      ['--role R', 'admin or user (required)'],
    ],
    examples: ['gatehouse user set-role --email ada@example.com --role admin'],
    run: setRole,
  },
  {
    name: 'keys rotate',
    usage: 'gatehouse keys rotate',
    summary: 'make a new signing key (EdDSA/ES256/RS256 key store)',
    description:
      'Adds a new signing key to the key store; the previous key keeps verifying for one access-token\n' +
      'lifetime, and running instances pick the new one up within JWT_KEY_RELOAD_INTERVAL.',
    options: [],
    examples: ['JWT_ALGORITHM=EdDSA gatehouse keys rotate'],
    run: (args) => keysCommand('rotate', args),
  },
  {
    name: 'keys list',
    usage: 'gatehouse keys list',
    summary: 'show the published keys (kid, algorithm)',
    description: 'Lists the public keys served at /.well-known/jwks.json and marks the one that signs.',
    options: [],
    examples: ['JWT_ALGORITHM=EdDSA gatehouse keys list'],
    run: (args) => keysCommand('list', args),
  },
  {
    name: 'backup',
    usage: 'gatehouse backup <file>',
    summary: 'copy the SQLite database to <file> while it serves',
    description:
      "Copies the SQLite database to a new file with SQLite's online backup API, then checks the copy.\n" +
      'It never overwrites a file. PostgreSQL: use pg_dump (see README, Backups).',
    options: [],
    examples: ['gatehouse backup /backups/gatehouse-$(date +%F).db'],
    run: backup,
  },
];

/** Command groups: `gatehouse user --help` lists the user commands. */
const GROUPS = ['user', 'keys'];

const OVERVIEW = `gatehouse — secure JWT auth API server

Usage: gatehouse <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(16)}${c.summary}`).join('\n')}

Options:
  -h, --help      show help (also after any command: gatehouse user create --help)
  -v, --version   print the version

Configuration comes from the environment and .env (see README, Configuration).
Run \`gatehouse <command> --help\` for a command's options and an example.`;

function commandHelp(command: Command): string {
  const options: [string, string][] = [...command.options, ['-h, --help', 'show this help']];
  const width = Math.max(...options.map(([flag]) => flag.length)) + 3;
  return [
    `Usage: ${command.usage}`,
    '',
    command.description,
    '',
    'Options:',
    ...options.map(([flag, meaning]) => `  ${flag.padEnd(width)}${meaning}`),
    '',
    command.examples.length > 1 ? 'Examples:' : 'Example:',
    ...command.examples.map((e) => `  ${e}`),
  ].join('\n');
}

function groupHelp(group: string): string {
  const members = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  return [
    `Usage: gatehouse ${group} <command> [options]`,
    '',
    'Commands:',
    ...members.map((c) => `  ${c.usage}\n      ${c.summary}`),
    '',
    `Run \`gatehouse ${group} <command> --help\` for its options and an example.`,
  ].join('\n');
}

/** Runs one CLI command; returns the process exit code (-1: keep running, the server is up). */
export async function runCli(argv: string[]): Promise<number> {
  let name = '';
  try {
    const [first, second] = argv;
    if (first === undefined) {
      process.stderr.write(`${OVERVIEW}\n`);
      return USAGE_EXIT;
    }
    if (first === '--version' || first === '-v' || first === 'version') {
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    }
    if (first === 'help' || first === '--help' || first === '-h') return help(argv.slice(1));

    const command = COMMANDS.find((c) => c.name === `${first} ${second}`) ?? COMMANDS.find((c) => c.name === first);
    if (command === undefined) {
      if (GROUPS.includes(first)) {
        if (second === '--help' || second === '-h') {
          process.stdout.write(`${groupHelp(first)}\n`);
          return 0;
        }
        const subcommands = COMMANDS.filter((c) => c.name.startsWith(`${first} `)).map((c) => c.name.slice(first.length + 1));
        const problem = second === undefined ? 'needs a command' : `has no command "${second}"`;
        throw new CliError(`gatehouse ${first} ${problem}: ${subcommands.join(' or ')}`, `${helpHint(first)} to see them`, USAGE_EXIT);
      }
      throw new CliError(`unknown command: ${first}`, `run \`gatehouse --help\` to see the commands`, USAGE_EXIT);
    }
    name = command.name;
    const args = argv.slice(name.split(' ').length);
    if (wantsHelp(args)) {
      process.stdout.write(`${commandHelp(command)}\n`);
      return 0;
    }
    return await command.run(args);
  } catch (err) {
    return reportError(err, name);
  }
}

function help(words: string[]): number {
  const topic = words.join(' ');
  const command = COMMANDS.find((c) => c.name === topic);
  if (command) process.stdout.write(`${commandHelp(command)}\n`);
  else if (GROUPS.includes(topic)) process.stdout.write(`${groupHelp(topic)}\n`);
  else if (topic === '') process.stdout.write(`${OVERVIEW}\n`);
  else throw new CliError(`no help for "${topic}": there is no such command`, 'run `gatehouse --help` to see the commands', USAGE_EXIT);
  return 0;
}

/** --help anywhere before a `--` terminator (after it, words are positionals). */
function wantsHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** Prints an error as "error: …" and a "hint: …" line; returns the exit code. */
function reportError(err: unknown, name: string): number {
  const fallbackHint = name ? helpHint(name) : 'run `gatehouse --help`';
  if (err instanceof CliError) {
    process.stderr.write(`error: ${err.message}\nhint: ${err.hint}\n`);
    return err.exitCode;
  }
  if (err instanceof PromptAbortedError) {
    process.stderr.write('aborted: nothing was changed\nhint: run the command again when you are ready\n');
    return INTERRUPTED_EXIT;
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\nhint: set these in the environment or in .env; README.md, Configuration, describes each\n`);
    return 1;
  }
  if (err instanceof AppError) {
    const details = err.errors?.map((e) => `\n  ${e.path}: ${e.message}`).join('') ?? '';
    process.stderr.write(`error: ${err.code}: ${err.detail}${details}\nhint: ${appErrorHint(err, fallbackHint)}\n`);
    return 1;
  }
  process.stderr.write(`error: ${(err as Error).message}\nhint: ${fallbackHint}\n`);
  return 1;
}

function appErrorHint(err: AppError, fallback: string): string {
  switch (err.code) {
    case 'EMAIL_TAKEN':
      return 'that user exists already; change its role with `gatehouse user set-role --email E --role admin|user`';
    case 'LAST_ADMIN':
      return 'make another user admin first: `gatehouse user set-role --email E --role admin`';
    case 'VALIDATION_FAILED':
      return `correct the values listed above and run the command again (${fallback} for the options)`;
    default:
      return fallback;
  }
}

/** parseArgs, strict, with its errors turned into usage errors that point at the command's help. */
function parseCommandArgs<const O extends NonNullable<ParseArgsConfig['options']>>(name: string, args: string[], options: O) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: name === 'backup' });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) throw err;
    // Node's message goes on to explain `--` for positionals starting with "-": the first
    // sentence is the part an operator needs.
    const first = ((err as Error).message.split(/\.\s/)[0] ?? '').replace(/\.$/, '');
    throw new CliError(`${first.charAt(0).toLowerCase()}${first.slice(1)}`, `${helpHint(name)} for its options`, USAGE_EXIT);
  }
}

function requireOption(name: string, option: string, value: string | undefined): string {
  if (value === undefined || value.trim() === '')
    throw new CliError(`${option} is required`, `${helpHint(name)} for its options and an example`, USAGE_EXIT);
  return value;
}

async function createUser(args: string[]): Promise<number> {
  const { values } = parseCommandArgs('user create', args, {
    email: { type: 'string' },
    password: { type: 'string' },
    name: { type: 'string' },
    admin: { type: 'boolean', default: false },
  });
  const email = requireOption('user create', '--email', values.email).trim().toLowerCase();
  // Configuration first: nobody should type a password twice only to learn DATABASE_URL is wrong.
  const config = loadConfig();
  const password = await passwordFor(email, values.password);
  const [{ migrateToLatest, withDatabase }, { createUsersService }] = await Promise.all([load.database(), load.users()]);
  return withDatabase(config.database, async (database) => {
    await migrateToLatest(database.db);
    // The operator vouches for the address (and the CLI has no mail queue), so it starts verified.
    const user = await createUsersService(database.db).createUser(
      { email, password, name: values.name?.trim() || null },
      values.admin ? 'admin' : 'user',
      { emailVerified: true },
    );
    process.stdout.write(`created ${user.role} ${user.email} (${user.id})\n`);
    return 0;
  });
}

/** The password from --password, else a hidden prompt in a terminal, else standard input. */
async function passwordFor(email: string, option: string | undefined): Promise<string> {
  if (option !== undefined && option !== '-') return option;
  if (process.stdin.isTTY) return promptNewPassword(email);
  return readPasswordFromStdin();
}

async function promptNewPassword(email: string): Promise<string> {
  const first = await readHiddenLine(`Password for ${email}: `, process.stdin, process.stderr);
  if (first === '')
    throw new CliError('no password typed; no user was created', 'run the command again and type a password (12 to 128 characters)');
  const second = await readHiddenLine('Repeat the password: ', process.stdin, process.stderr);
  if (first !== second)
    throw new CliError('the two passwords do not match; no user was created', 'run the command again and type the same password twice');
  return first;
}

function readPasswordFromStdin(): string {
  // Reading stdin keeps the password out of shell history and the process list.
  const input = readFileSync(0, 'utf8');
  const password = input.replace(/\r?\n$/, '');
  if (password === '')
    throw new CliError(
      'no password on standard input',
      'pipe it in (printf "%s\\n" "$PASSWORD" | gatehouse user create --email E), or run the command in a terminal to be asked for it',
    );
  return password;
}

async function setRole(args: string[]): Promise<number> {
  const { values } = parseCommandArgs('user set-role', args, { email: { type: 'string' }, role: { type: 'string' } });
  const email = requireOption('user set-role', '--email', values.email).trim().toLowerCase();
  const role = requireOption('user set-role', '--role', values.role);
  if (role !== 'admin' && role !== 'user')
    throw new CliError(`--role must be admin or user (got "${role}")`, 'pass --role admin or --role user');
  const config = loadConfig();
  const [{ migrateToLatest, withDatabase }, { createUsersService, findUserByEmail }] = await Promise.all([load.database(), load.users()]);
  return withDatabase(config.database, async (database) => {
    await migrateToLatest(database.db);
    const user = await findUserByEmail(database.db, email);
    if (!user)
      throw new CliError(
        `no user with email ${email}`,
        'check the address, or create the user with `gatehouse user create --email E` (is DATABASE_URL the right database?)',
      );
    // The operator acts as an admin, so the LAST_ADMIN rule still applies.
    const updated = await createUsersService(database.db).updateUser({ id: 'cli', role: 'admin', sessionId: 'cli', authTime: 0 }, user.id, {
      role,
    });
    process.stdout.write(`${updated.email} is now ${updated.role}\n`);
    return 0;
  });
}

async function keysCommand(action: 'rotate' | 'list', args: string[]): Promise<number> {
  parseCommandArgs(`keys ${action}`, args, {});
  const config = loadConfig();
  const [{ migrateToLatest, withDatabase }, { createKeyRing }] = await Promise.all([load.database(), load.keys()]);
  return withDatabase(config.database, async (database) => {
    await migrateToLatest(database.db);
    const log = { info: () => {}, warn: (_o: object, m: string) => process.stderr.write(`warning: ${m}\n`) };
    const ring = await createKeyRing(config, database.db, log);
    try {
      if (action === 'rotate') {
        const key = await ring.rotate();
        process.stdout.write(
          `new signing key ${key.kid} (${key.algorithm}); instances pick it up within ${config.jwt.keyReloadIntervalSeconds}s\n`,
        );
      } else {
        for (const jwk of ring.publicJwks())
          process.stdout.write(`${jwk.kid}\t${jwk.alg}${jwk.kid === ring.current().kid ? '\tcurrent' : ''}\n`);
        if (ring.algorithm === 'HS256') process.stdout.write('HS256: the key is JWT_SECRET; no public keys are published\n');
      }
      return 0;
    } finally {
      ring.close();
    }
  });
}

async function backup(args: string[]): Promise<number> {
  const { positionals } = parseCommandArgs('backup', args, {});
  const [destination] = positionals;
  if (destination === undefined) throw new CliError('the backup file is missing', `${helpHint('backup')} for an example`, USAGE_EXIT);
  if (positionals.length > 1)
    throw new CliError(`one backup file, not ${positionals.length}`, `${helpHint('backup')} for an example`, USAGE_EXIT);
  const { database } = loadConfig();
  if (database.kind === 'postgres') {
    throw new CliError(
      'gatehouse backup copies SQLite databases, and DATABASE_URL is PostgreSQL',
      'back it up with pg_dump, e.g. pg_dump --format=custom --file=gatehouse.dump "$DATABASE_URL" (restore: see README, Backups)',
    );
  }
  if (database.path === ':memory:')
    throw new CliError('an in-memory database has nothing to back up', 'point DATABASE_URL at the SQLite file the server uses');
  const { backupSqliteDatabase } = await load.backup();
  const result = await backupSqliteDatabase(database.path, destination);
  process.stdout.write(`backup written to ${result.destination} (${result.pages} pages, ${result.bytes} bytes, integrity ok)\n`);
  return 0;
}

function packageVersion(): string {
  // dist/cli.js and src/cli.ts both sit one level below package.json.
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

const code = await runCli(process.argv.slice(2));
if (code >= 0) process.exit(code);
