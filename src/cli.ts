#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { serveWithWorkers } from './cluster.js';
import { ConfigError, loadConfig } from './config.js';
import { backupSqliteDatabase } from './db/backup.js';
import { migrateToLatest, withDatabase } from './db/create-db.js';
import { AppError } from './errors.js';
import { createKeyRing } from './modules/keys/keys.service.js';
import { findUserByEmail } from './modules/users/users.repository.js';
import { createUsersService } from './modules/users/users.service.js';

const USAGE = `gatehouse — secure JWT auth API server

Usage:
  gatehouse serve [--workers N]        start the HTTP server (migrates first); N processes
                                       share the port (node:cluster), default 1
  gatehouse migrate                    apply pending database migrations
  gatehouse user create --email E [--password P | --password -] [--name N] [--admin]
                                       create a user; without --password (or with -) the
                                       password is read from standard input
  gatehouse user set-role --email E --role admin|user
  gatehouse keys rotate                make a new signing key (EdDSA/ES256/RS256 key store);
                                       the previous key keeps verifying for one access TTL
  gatehouse keys list                  show the published keys (kid, algorithm)
  gatehouse backup <file>              copy the SQLite database to <file> while it serves
                                       (PostgreSQL: use pg_dump, see README)
  gatehouse help

Configuration comes from the environment and .env (see README).`;

/** Runs one CLI command; returns the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const [command, sub] = argv;
  try {
    switch (command) {
      case 'serve': {
        const { values } = parseArgs({ args: argv.slice(1), options: { workers: { type: 'string', default: '1' } }, strict: true });
        const workers = Number(values.workers);
        if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new Error('--workers must be an integer from 1 to 64');
        await serveWithWorkers(loadConfig(), workers);
        return -1; // keep running
      }
      case 'migrate':
        return await withDatabase(loadConfig().database, async (db) => {
          const applied = await migrateToLatest(db.db);
          process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
          return 0;
        });
      case 'keys':
        if (sub === 'rotate' || sub === 'list') return await keysCommand(sub);
        break;
      case 'backup':
        return await backup(argv.slice(1));
      case 'user':
        if (sub === 'create') return await createUser(argv.slice(2));
        if (sub === 'set-role') return await setRole(argv.slice(2));
        break;
      case 'help':
      case '--help':
      case '-h':
      case undefined:
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
    }
    process.stderr.write(`unknown command: ${argv.join(' ')}\n\n${USAGE}\n`);
    return 2;
  } catch (err) {
    if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
    else if (err instanceof AppError) {
      const details = err.errors?.map((e) => `\n  ${e.path}: ${e.message}`).join('') ?? '';
      process.stderr.write(`error: ${err.code}: ${err.detail}${details}\n`);
    } else process.stderr.write(`error: ${(err as Error).message}\n`);
    return 1;
  }
}

async function createUser(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      name: { type: 'string' },
      admin: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.email) throw new Error('--email is required');
  const password = values.password === undefined || values.password === '-' ? readPasswordFromStdin() : values.password;
  const email = values.email.trim().toLowerCase();
  return withDatabase(loadConfig().database, async (database) => {
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

async function setRole(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { email: { type: 'string' }, role: { type: 'string' } }, strict: true });
  if (!values.email) throw new Error('--email is required');
  if (values.role !== 'admin' && values.role !== 'user') throw new Error('--role must be admin or user');
  const role = values.role;
  const email = values.email.trim().toLowerCase();
  return withDatabase(loadConfig().database, async (database) => {
    await migrateToLatest(database.db);
    const user = await findUserByEmail(database.db, email);
    if (!user) throw new Error(`no user with email ${email}`);
    // The operator acts as an admin, so the LAST_ADMIN rule still applies.
    const updated = await createUsersService(database.db).updateUser({ id: 'cli', role: 'admin', sessionId: 'cli' }, user.id, { role });
    process.stdout.write(`${updated.email} is now ${updated.role}\n`);
    return 0;
  });
}

async function keysCommand(action: 'rotate' | 'list'): Promise<number> {
  const config = loadConfig();
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
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true, strict: true });
  const [destination] = positionals;
  if (destination === undefined || positionals.length > 1) throw new Error('usage: gatehouse backup <file>');
  const { database } = loadConfig();
  if (database.kind === 'postgres') {
    process.stderr.write(
      'error: gatehouse backup copies SQLite databases; back up PostgreSQL with pg_dump, e.g.\n' +
        '  pg_dump --format=custom --file=gatehouse.dump "$DATABASE_URL"   (restore: see README, Backups)\n',
    );
    return 1;
  }
  if (database.path === ':memory:') throw new Error('an in-memory database has nothing to back up');
  const result = await backupSqliteDatabase(database.path, destination);
  process.stdout.write(`backup written to ${result.destination} (${result.pages} pages, ${result.bytes} bytes, integrity ok)\n`);
  return 0;
}

function readPasswordFromStdin(): string {
  // Reading stdin keeps the password out of shell history and the process list.
  const input = readFileSync(0, 'utf8');
  const password = input.replace(/\r?\n$/, '');
  if (password === '') throw new Error('no password given (use --password or pipe it on standard input)');
  return password;
}

const code = await runCli(process.argv.slice(2));
if (code >= 0) process.exit(code);
