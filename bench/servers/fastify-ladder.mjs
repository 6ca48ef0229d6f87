// Reference (e), a ladder between (d) and Gatehouse: Fastify doing by hand exactly the work of
// checks-floor.mjs (fast-jwt verify with the same options and cache, the session + user and book
// reads in one read transaction on the same SQLite file, the same security headers), with
// Gatehouse's layers added one at a time, named in LAYERS (comma-separated, any order):
//   options  Gatehouse's Fastify options (gatehouseServerOptions: pino at LOG_LEVEL with
//            redaction and the lazy request logger, random request ids, timeouts, proxy trust)
//   nolog    with options: no logger at all (tells the logger's cost from the other options')
//   hooks    Gatehouse's global hooks (the shutdown check, the security headers, the NUL check)
//            instead of setting the headers in the handler
//   schema   the route's params schema (uuid, Gatehouse's Ajv options) and response schema
//            (fast-json-stringify from the Book schema) instead of JSON.stringify
//   split    the check as an async onRequest hook (as app.authenticate) and an async handler
//            reading the book, instead of one synchronous handler
// With every layer, what is left between this and Gatehouse is Gatehouse's own code on the
// path (the auth service and its token checks, the prepared queries, the books service).
import { Type } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import Database from 'better-sqlite3';
import { createVerifier } from 'fast-jwt';
import Fastify from 'fastify';
import { gatehouseServerOptions } from '../../dist/app.js';
import { loadConfig } from '../../dist/config.js';
import { BookIdParams, BookSchema } from '../../dist/modules/books/books.schemas.js';
import { apiSecurityHeaders } from '../../dist/plugins/security.js';

const layers = new Set((process.env.LAYERS ?? '').split(',').filter(Boolean));
const db = new Database(process.env.DB_PATH);
db.pragma('busy_timeout = 5000');
const verify = createVerifier({
  key: process.env.JWT_SECRET,
  algorithms: ['HS256'],
  allowedIss: process.env.JWT_ISSUER,
  allowedAud: 'gatehouse-api',
  requiredClaims: ['iss', 'aud', 'sub', 'sid', 'iat', 'exp', 'jti'],
  checkTyp: 'at+jwt',
  cache: 10_000,
  cacheTTL: 60_000,
});
const sessionUser = db.prepare(
  'select users.id, users.email, users.role, users.disabled from sessions inner join users on users.id = sessions.user_id ' +
    'where sessions.id = ? and sessions.user_id = ? and sessions.revoked_at is null and sessions.expires_at > ?',
);
const bookById = db.prepare('select * from books where id = ?');
const begin = db.prepare('begin');
const commit = db.prepare('commit');
const headers = apiSecurityHeaders();

const config = loadConfig({
  NODE_ENV: 'production',
  JWT_SECRET: process.env.JWT_SECRET,
  KEY_ENCRYPTION_SECRET: process.env.JWT_SECRET,
  JWT_ISSUER: process.env.JWT_ISSUER,
  DATABASE_URL: `sqlite:${process.env.DB_PATH}`,
  MAIL_OUTBOX_DIR: '/nonexistent',
  LOG_LEVEL: 'warn',
});
const app = Fastify(layers.has('options') ? gatehouseServerOptions(config, layers.has('nolog') ? false : undefined) : {});

const fail = (reply, status, code) => reply.code(status).type('application/problem+json').send(`{"code":"${code}"}`);

if (layers.has('hooks')) {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done();
    fail(reply, 503, 'UNAVAILABLE');
  });
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
  app.addHook('preValidation', (request, _reply, done) => {
    done(/%00/i.test(request.url) ? new Error('NUL') : undefined);
  });
}

const schema = {};
if (layers.has('schema')) {
  const ajv = new Ajv({ allErrors: false, coerceTypes: 'array', removeAdditional: false, useDefaults: true, strict: false });
  addFormats.default(ajv, ['email', 'date-time', 'uuid', 'uri']);
  ajv.addSchema(BookSchema);
  app.addSchema(BookSchema);
  app.setValidatorCompiler(({ schema: s }) => ajv.compile(s));
  Object.assign(schema, { params: BookIdParams, response: { 200: Type.Ref(BookSchema) } });
}
const answer = (reply, book) => {
  if (!layers.has('hooks')) reply.headers(headers);
  return layers.has('schema') ? book : JSON.stringify(book);
};

/** The token's claims, or undefined once the 401 was sent (the same checks as checks-floor.mjs). */
const claimsOf = (request, reply) => {
  const authorization = request.headers.authorization ?? '';
  if (!authorization.startsWith('Bearer ')) return void fail(reply, 401, 'TOKEN_MISSING');
  try {
    return verify(authorization.slice(7));
  } catch {
    return void fail(reply, 401, 'TOKEN_INVALID');
  }
};

if (layers.has('split')) {
  app.decorateRequest('user', null);
  app.addHook('onRequest', async (request, reply) => {
    const claims = claimsOf(request, reply);
    if (!claims) return reply;
    begin.run();
    const user = sessionUser.get(claims.sid, claims.sub, new Date().toISOString());
    if (!user || user.disabled) {
      commit.run();
      return fail(reply, 401, 'TOKEN_INVALID');
    }
    request.user = user;
  });
  app.get('/books/:id', { schema }, async (request, reply) => {
    let book;
    try {
      book = bookById.get(request.params.id);
    } finally {
      commit.run();
    }
    if (!book) return fail(reply, 404, 'NOT_FOUND');
    reply.type('application/json; charset=utf-8');
    return answer(reply, book);
  });
} else {
  app.get('/books/:id', { schema }, (request, reply) => {
    const claims = claimsOf(request, reply);
    if (!claims) return reply;
    begin.run();
    let user;
    let book;
    try {
      user = sessionUser.get(claims.sid, claims.sub, new Date().toISOString());
      book = user && !user.disabled ? bookById.get(request.params.id) : undefined;
    } finally {
      commit.run();
    }
    if (!user || user.disabled) return fail(reply, 401, 'TOKEN_INVALID');
    if (!book) return fail(reply, 404, 'NOT_FOUND');
    reply.type('application/json; charset=utf-8').send(answer(reply, book));
  });
}

await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.send?.('ready');
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
