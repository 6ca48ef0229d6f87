// Baseline (b): the typical port of the Flask tutorials to Node: Express + jsonwebtoken with a
// `token_required` middleware that only checks the signature (no session, no user, no database)
// and answers the same JSON as Gatehouse's book read.
import express from 'express';
import jwt from 'jsonwebtoken';

const secret = process.env.JWT_SECRET;
const body = JSON.parse(process.env.BENCH_BODY ?? '{"ok":true}');
const app = express();

function tokenRequired(req, res, next) {
  const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
  try {
    req.user = jwt.verify(token, secret, { algorithms: ['HS256'] });
    next();
  } catch {
    res.status(401).json({ message: 'Token is invalid!' });
  }
}

app.get('/books/:id', tokenRequired, (_req, res) => res.json(body));
const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
