// The package's public API: `import { gatehouse } from 'gatehouse'`. The standalone server and the
// `gatehouse` command (dist/cli.js) are built from the same modules.

// The `declare module 'fastify'` that types app.authenticate, app.requireRole and request.user.
import './plugins/auth.js';

export type { Kysely, Migration } from 'kysely';
export { sql } from 'kysely';
export { type AppDeps, buildApp, type GatehouseModules, type GatehouseOptions, gatehouse, gatehouseServerOptions } from './app.js';
export { type Config, ConfigError, type DatabaseConfig, loadConfig, readEnvironment } from './config.js';
export { createDatabase, type Database, migrateOwnToLatest, migrateToLatest, OWN_MIGRATION_TABLE } from './db/create-db.js';
export type { DB, Db } from './db/database.js';
export { AppError, ERROR_CODES, type ErrorCode, forbidden, notFound, type Problem, validationFailed } from './errors.js';
export {
  BODY_PROBLEMS,
  created,
  type DocumentedProblem,
  IdParam,
  noContent,
  PageQuery,
  ProblemSchema,
  pageOf,
  problems,
  QUERY_PROBLEM,
  Timestamp,
  TOKEN_PROBLEMS,
} from './lib/http-schemas.js';
export type { Actor } from './modules/users/users.service.js';
export { startServer } from './server.js';
