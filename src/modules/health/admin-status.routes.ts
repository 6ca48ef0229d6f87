import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { NOT_ADMIN, problems, TOKEN_PROBLEMS } from '../../lib/http-schemas.js';

const tags = ['Operations'];
const security = [{ bearerAuth: [] }];

export const InstanceStatus = Type.Object(
  {
    version: Type.String({ description: 'The Gatehouse release this instance runs', examples: ['0.1.0'] }),
    database: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')], { description: 'The database kind' }),
    rate_limit_store: Type.Union([Type.Literal('memory'), Type.Literal('redis')], {
      description: '`redis` when REDIS_URL is set (limits hold across instances), else `memory` (this process only)',
    }),
    ready: Type.Boolean({ description: 'Whether the database answered just now (what GET /readyz reports)' }),
    started_at: Type.String({ format: 'date-time', description: 'When this instance started' }),
    uptime_seconds: Type.Integer({ minimum: 0, description: 'Whole seconds since this instance started' }),
  },
  { additionalProperties: false, description: 'The instance that answered: release, database, readiness, uptime' },
);

export interface StatusOptions {
  version: string;
  database: 'sqlite' | 'postgres';
  rateLimitStore: 'memory' | 'redis';
  ping: () => Promise<void>;
}

/**
 * The console's status panel. Admin only, unlike /healthz and /readyz: the release and the
 * database kind tell an attacker which advisories apply, and probes need neither.
 * Answers 200 with `ready: false` when the database is down, so the operator sees the rest.
 */
export const adminStatusRoutes: FastifyPluginAsyncTypebox<StatusOptions> = async (app, options) => {
  const startedAt = new Date();
  app.addHook('onRequest', app.authenticate);
  app.addHook('preHandler', app.requireRole('admin'));

  app.get(
    '/admin/status',
    {
      schema: {
        tags,
        summary: 'This instance: version, database, readiness, uptime (admin)',
        description:
          "For the console's status panel. Each instance answers for itself: behind a load balancer, two calls may reach two instances.",
        security,
        response: { 200: InstanceStatus, ...problems(...TOKEN_PROBLEMS, NOT_ADMIN) },
      },
    },
    async (request) => {
      let ready = true;
      try {
        await options.ping();
      } catch (err) {
        request.log.warn({ err }, 'readiness check failed');
        ready = false;
      }
      return {
        version: options.version,
        database: options.database,
        rate_limit_store: options.rateLimitStore,
        ready,
        started_at: startedAt.toISOString(),
        uptime_seconds: Math.floor((Date.now() - startedAt.getTime()) / 1000),
      };
    },
  );
};
