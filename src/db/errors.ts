import type { DatabaseConfig } from '../config.js';

/** True when a driver error is a unique-constraint violation (SQLite or PostgreSQL). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/** True when a driver error is a foreign-key violation (the referenced row is gone). */
export function isForeignKeyViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === '23503';
}

const UNAVAILABLE_CODES = [
  // SQLite: locked, unopenable, I/O failure, disk full
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_CANTOPEN',
  'SQLITE_IOERR',
  'SQLITE_FULL',
  'SQLITE_READONLY',
  // network
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  // PostgreSQL: admin shutdown, cannot connect now, connection failures, too many connections
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08006',
  '53300',
];

// node-postgres reports a lost or impossible connection with plain Errors and no code.
const UNAVAILABLE_MESSAGES = [
  'driver has already been destroyed',
  // The pool itself once closed (the direct reads of postgres-reads.ts use it without Kysely).
  'Cannot use a pool after calling end on the pool',
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Query read timeout',
];

/**
 * True when an error means "the database cannot answer right now" (an outage, answered 503),
 * as opposed to a bug (500). Driver-specific knowledge stays here, in the db layer.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.some((c) => code === c || code.startsWith(`${c}_`))) return true;
  if (error instanceof AggregateError) return error.errors.some(isDatabaseUnavailable);
  return UNAVAILABLE_MESSAGES.some((m) => error.message.startsWith(m));
}

/** The database could not be opened for serving; the message is one line meant for operators. */
export class DatabaseStartupError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'DatabaseStartupError';
  }
}

/**
 * Turns a failure to open, probe or migrate the database at start into a DatabaseStartupError
 * whose one-line message says what is wrong and what to do; other errors are returned as they are.
 */
export function toDatabaseStartupError(error: unknown, database: DatabaseConfig): unknown {
  const explanation = explainStartupFailure(error, database);
  return explanation === null ? error : new DatabaseStartupError(explanation, { cause: error });
}

function explainStartupFailure(error: unknown, database: DatabaseConfig): string | null {
  if (!(error instanceof Error)) return null;
  const code = String((error as { code?: unknown }).code ?? '');
  const reason = `(${[code, error.message.split('\n')[0]].filter(Boolean).join(': ')})`;
  if (database.kind === 'sqlite') {
    const file = `the SQLite database ${database.path}`;
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
      return `${file} is locked by another process ${reason}; stop that process, or point DATABASE_URL at another file`;
    if (code.startsWith('SQLITE_READONLY'))
      return `${file} is read-only ${reason}; the server needs write access to the file and to its directory (for the -wal and -shm files)`;
    if (code.startsWith('SQLITE_CANTOPEN'))
      return `${file} cannot be opened ${reason}; check that its directory exists and is writable (SQLite creates -wal and -shm files beside it)`;
    if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT'))
      return `${file} is not a valid SQLite database or is damaged ${reason}; restore it from a backup (see README, Backups)`;
    if (code.startsWith('SQLITE_FULL')) return `${file} cannot grow: the disk is full ${reason}`;
    if (code.startsWith('SQLITE_IOERR')) return `${file} cannot be read or written ${reason}; check the disk and the file`;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return `the directory of ${file} cannot be created or written ${reason}`;
    return null;
  }
  const server = describePostgresUrl(database.url);
  const trgm = pgTrgmFailure(error);
  if (trgm)
    return `PostgreSQL ${server} cannot create the pg_trgm extension the search indexes need (${trgm}); install the PostgreSQL contrib modules on the database server (the postgresql-contrib package on Debian, Ubuntu and RHEL; the official Docker images include them), or have a superuser run CREATE EXTENSION pg_trgm in this database`;
  if (code === '25006') return `PostgreSQL ${server} accepts no writes (a read-only standby?) ${reason}; point DATABASE_URL at the primary`;
  if (code === '28P01' || code === '28000') return `PostgreSQL ${server} refused the credentials ${reason}; check DATABASE_URL`;
  if (code === '3D000') return `PostgreSQL ${server}: the database does not exist ${reason}; create it first`;
  if (isDatabaseUnavailable(error)) return `PostgreSQL ${server} is not reachable ${reason}; check that it runs and DATABASE_URL is right`;
  return null;
}

/**
 * "code: message" of the driver's error when the search-indexes migration failed on CREATE
 * EXTENSION pg_trgm: the extension's files are not installed (58P01, undefined_file) or the
 * role may not create it (42501); null for any other failure.
 */
function pgTrgmFailure(error: Error): string | null {
  const cause = error.cause instanceof Error ? error.cause : error;
  const code = String((cause as { code?: unknown }).code ?? '');
  if ((code !== '58P01' && code !== '42501') || !cause.message.includes('pg_trgm')) return null;
  return `${code}: ${cause.message.split('\n')[0]}`;
}

/** host:port/database of a PostgreSQL URL, never its password. */
function describePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `at ${parsed.host}${parsed.pathname}`;
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}
