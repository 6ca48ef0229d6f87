import Fastify from 'fastify';
import { gatehouse, gatehouseServerOptions, loadConfig } from 'gatehouse';
import { migrations } from './migrations.js';
import { notesRoutes } from './notes.routes.js';

/**
 * This API: Gatehouse (sign-up, sign-in, sessions, MFA, passkeys, admin) and the notes routes,
 * on one Fastify instance and one database. Never listens; server.js and the tests decide.
 *
 * @param {Record<string, string | undefined>} env Gatehouse's configuration variables (see its README)
 * @param {{ logger?: boolean }} [options]
 */
export async function buildNotesApp(env, options = {}) {
  const config = loadConfig(env);
  const app = Fastify(gatehouseServerOptions(config, options.logger));
  // Books and bucketlists stay off (the plugin's default): this API has notes instead.
  await app.register(gatehouse, { config, migrations });
  await app.register(notesRoutes);
  return app;
}
