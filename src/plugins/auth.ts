import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { forbidden } from '../errors.js';
import type { AuthService } from '../modules/auth/auth.service.js';
import type { SessionRead } from '../modules/auth/session-check.js';
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
  interface FastifyContextConfig {
    /** The route's row, read by `authenticate` in the statement of the session check. */
    readWithSession?: ReadWithSession<unknown>;
  }
}

/**
 * A route's row read in the statement of the session check, so that an authenticated read is
 * one database round trip (on PostgreSQL every statement is one; two made a read ~3× slower
 * than on SQLite). Named in the route's `config.readWithSession`; `app.authenticate` runs it,
 * decides the session exactly as for any other route, and keeps the row for the handler.
 *
 * `authenticate` runs on request, before validation: `read` gets the raw request and answers
 * undefined for params it cannot take safely. The session is then checked alone and `rowOf`
 * answers undefined: the handler reads the row itself, so correctness never depends on this.
 */
export class ReadWithSession<R> {
  constructor(readonly read: (request: FastifyRequest) => SessionRead<R> | undefined) {}

  /** Called by `authenticate` once the session check passed. */
  keep(request: FastifyRequest, row: R): void {
    // On the request (a declared decoration, so every request object keeps one shape): a
    // WeakMap entry per request cost ~0.8 µs of an authenticated read.
    (request as unknown as KeptOn)[KEPT] = { by: this, row };
  }

  /** The row read with this request's session check, if it was (see the class comment). */
  rowOf(request: FastifyRequest): { row: R } | undefined {
    const kept = (request as unknown as KeptOn)[KEPT];
    return kept?.by === this ? (kept as { row: R }) : undefined;
  }
}

/** Where `ReadWithSession.keep` leaves a request's row: a request decoration (see authPlugin). */
const KEPT = Symbol('gatehouse.readWithSession');
type KeptOn = { [KEPT]: { by: ReadWithSession<unknown>; row: unknown } | null };

/** Declares `app.authenticate` and `app.requireRole`, backed by the auth service. */
export const authPlugin = fp<{ auth: AuthService }>(
  async (app, { auth }) => {
    app.decorateRequest('user', null as unknown as FastifyRequest['user']);
    app.decorateRequest(KEPT, null);
    app.decorate('authenticate', async (request: FastifyRequest, _reply: FastifyReply) => {
      const withRow = request.routeOptions.config.readWithSession;
      const read = withRow?.read(request);
      if (!withRow || !read) {
        request.user = await auth.authenticate(request.headers.authorization);
        return;
      }
      const { actor, row } = await auth.authenticateWith(request.headers.authorization, read);
      request.user = actor;
      withRow.keep(request, row);
    });
    app.decorate('requireRole', (role: Actor['role']) => async (request: FastifyRequest) => {
      if (!request.user || request.user.role !== role) throw forbidden(`This action needs the ${role} role.`);
    });
  },
  { name: 'auth' },
);
