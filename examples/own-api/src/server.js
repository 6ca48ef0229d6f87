import { readEnvironment } from 'gatehouse';
import { buildNotesApp } from './app.js';

// Reads .env (if any) under the real environment, as Gatehouse's own server does.
const env = readEnvironment();
const app = await buildNotesApp(env);
const port = Number(env.PORT ?? 3000);
await app.listen({ port, host: env.HOST ?? '127.0.0.1' });

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
