// Experiment: raw node:http + the same checks (fast-jwt cached verify, session+user read, book read, security headers)
import { createServer } from 'node:http';
import Database from 'better-sqlite3';
import { createVerifier } from 'fast-jwt';

const db = new Database(process.env.DB);
const verify = createVerifier({
  key: process.env.JWT_SECRET,
  algorithms: ['HS256'],
  cache: 10000,
  cacheTTL: 60000,
  requiredClaims: ['sub', 'sid', 'exp', 'iat', 'jti'],
});
const q1 = db.prepare(
  `select users.id, users.email, users.role, users.disabled from sessions inner join users on users.id = sessions.user_id where sessions.id = ? and sessions.user_id = ? and sessions.revoked_at is null and sessions.expires_at > ?`,
);
const q2 = db.prepare('select * from books where id = ?');
const oneTxn = process.env.ONE_TXN === '1';
const begin = db.prepare('begin'),
  commit = db.prepare('commit');
const headers = {
  'content-security-policy': "default-src 'none';frame-ancestors 'none'",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
  'cache-control': 'no-store',
  'content-type': 'application/json; charset=utf-8',
};
createServer((req, res) => {
  const auth = req.headers.authorization ?? '';
  const token = auth.slice(7);
  let claims;
  try {
    claims = verify(token);
  } catch {
    res.writeHead(401);
    return res.end('{}');
  }
  const id = req.url.slice(7);
  let user, book;
  if (oneTxn) {
    begin.run();
    user = q1.get(claims.sid, claims.sub, new Date().toISOString());
    book = user && q2.get(id);
    commit.run();
  } else {
    user = q1.get(claims.sid, claims.sub, new Date().toISOString());
    book = user && q2.get(id);
  }
  if (!user) {
    res.writeHead(401);
    return res.end('{}');
  }
  if (!book) {
    res.writeHead(404);
    return res.end('{}');
  }
  const body = JSON.stringify(book);
  res.writeHead(200, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}).listen(Number(process.env.PORT), '127.0.0.1');
