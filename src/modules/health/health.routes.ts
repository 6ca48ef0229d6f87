import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AppError } from '../../errors.js';
import { problems } from '../../lib/http-schemas.js';

const tags = ['Operations'];
const statusBody = (description: string, example: string) => Type.Object({ status: Type.String({ examples: [example] }) }, { description });

/** Liveness and readiness probes for load balancers and orchestrators. */
export const healthRoutes: FastifyPluginAsyncTypebox<{ ping: () => Promise<void> }> = async (app, { ping }) => {
  app.get(
    '/healthz',
    { schema: { tags, summary: 'Liveness: the process runs', response: { 200: statusBody('The process runs', 'ok') } } },
    async () => ({
      status: 'ok',
    }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags,
        summary: 'Readiness: the database answers',
        response: {
          200: statusBody('The database answers', 'ready'),
          ...problems({ code: 'UNAVAILABLE', detail: 'The database is not answering.' }),
        },
      },
    },
    async (request) => {
      try {
        await ping();
      } catch (err) {
        request.log.warn({ err }, 'readiness check failed');
        throw new AppError('UNAVAILABLE', 'The database is not answering.');
      }
      return { status: 'ready' };
    },
  );
};
