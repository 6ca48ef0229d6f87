import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { forbidden } from '../errors.js';
import type { AuthService } from '../modules/auth/auth.service.js';
import type { Actor } from '../modules/users/users.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The one "token required" guard: attach as `onRequest` to protected routes or contexts. */
    authenticate: preHandlerAsyncHookHandler;
    /** Deny-by-default role guard; use after `authenticate`. */
    requireRole(role: Actor['role']): preHandlerAsyncHookHandler;
  }
  interface FastifyRequest {
    /** Set by `authenticate`; read from the database on every request. */
    user: Actor & { email: string };
  }
}

/** Declares `app.authenticate` and `app.requireRole`, backed by the auth service. */
export const authPlugin = fp<{ auth: AuthService }>(
  async (app, { auth }) => {
    app.decorateRequest('user', null as unknown as FastifyRequest['user']);
    app.decorate('authenticate', async (request: FastifyRequest, _reply: FastifyReply) => {
      request.user = await auth.authenticate(request.headers.authorization);
    });
    app.decorate('requireRole', (role: Actor['role']) => async (request: FastifyRequest) => {
      if (!request.user || request.user.role !== role) throw forbidden(`This action needs the ${role} role.`);
    });
  },
  { name: 'auth' },
);
