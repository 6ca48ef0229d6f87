// Reference (c): bare Fastify answering the same JSON from one route: no auth, no database, no
// security headers. Shows how much of the gap to the raw ceiling is the framework alone.
import Fastify from 'fastify';

const body = process.env.BENCH_BODY ?? '{"ok":true}';
const app = Fastify();
app.get('/books/:id', async (_request, reply) => reply.type('application/json; charset=utf-8').send(body));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.send?.('ready');
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
