import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { NOT_ADMIN, problems, QUERY_PROBLEM, TOKEN_PROBLEMS } from '../../lib/http-schemas.js';
import { AdminEventsQuery, OwnEventsQuery, SecurityEventPage } from './events.schemas.js';
import type { EventsService } from './events.service.js';

const security = [{ bearerAuth: [] }];
const tags = ['Security events'];

/** GET /auth/events (one's own) and GET /admin/events (all, filtered). */
export const eventsRoutes: FastifyPluginAsyncTypebox<{ events: EventsService }> = async (app, { events }) => {
  app.addHook('onRequest', app.authenticate);

  app.get(
    '/auth/events',
    {
      schema: {
        tags,
        summary: "The signed-in user's security events",
        description: 'Sign-ins, failures, password and email changes, sessions ended, role changes: newest first.',
        security,
        querystring: OwnEventsQuery,
        response: { 200: SecurityEventPage, ...problems(QUERY_PROBLEM, ...TOKEN_PROBLEMS) },
      },
    },
    async (request) => events.listForUser(request.user.id, request.query),
  );

  app.get(
    '/admin/events',
    {
      preHandler: app.requireRole('admin'),
      schema: {
        tags,
        summary: 'All security events (admin)',
        description: 'Newest first; filter by `user_id` and `type`.',
        security,
        querystring: AdminEventsQuery,
        response: {
          200: SecurityEventPage,
          ...problems(QUERY_PROBLEM, ...TOKEN_PROBLEMS, NOT_ADMIN),
        },
      },
    },
    async (request) => events.listAll(request.query),
  );
};
