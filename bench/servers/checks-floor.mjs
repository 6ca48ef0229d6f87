// Reference (d): the floor for "all checks". A bare node:http server doing by hand the work
// Gatehouse's GET /books/{id} must do, and nothing else: parse the Bearer header, verify the
// token with fast-jwt (pinned HS256, required claims, typ/iss/aud, verify cache), read the
// session + user and the book from the same SQLite file (one read transaction, raw prepared
// statements), answer with the same security headers. No routing, validation, logging,
// problem+json or error handling worth the name: not a server to deploy, a measuring stick.
// Gatehouse ÷ (d) is the cost of the framework and of everything (d) leaves out.
import { createServer } from 'node:http';
import Database from 'better-sqlite3';
import { createVerifier } from 'fast-jwt';
import { apiSecurityHeaders } from '../../dist/plugins/security.js';

const db = new Database(process.env.DB_PATH);
db.pragma('busy_timeout = 5000');
const verify = createVerifier({
  key: process.env.JWT_SECRET,
  algorithms: ['HS256'],
  // bench/run.mjs gives Gatehouse and this floor the same JWT_ISSUER.
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
const headers = { ...apiSecurityHeaders(), 'content-type': 'application/json; charset=utf-8' };

function answer(res, status, body) {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = createServer((req, res) => {
  const authorization = req.headers.authorization ?? '';
  if (!authorization.startsWith('Bearer ')) return answer(res, 401, '{"code":"TOKEN_MISSING"}');
  let claims;
  try {
    claims = verify(authorization.slice(7));
  } catch {
    return answer(res, 401, '{"code":"TOKEN_INVALID"}');
  }
  begin.run();
  let user;
  let book;
  try {
    user = sessionUser.get(claims.sid, claims.sub, new Date().toISOString());
    book = user && !user.disabled ? bookById.get(req.url.slice('/books/'.length)) : undefined;
  } finally {
    commit.run();
  }
  if (!user || user.disabled) return answer(res, 401, '{"code":"TOKEN_INVALID"}');
  if (!book) return answer(res, 404, '{"code":"NOT_FOUND"}');
  return answer(res, 200, JSON.stringify(book));
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
