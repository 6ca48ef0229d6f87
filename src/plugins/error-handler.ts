import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isDatabaseUnavailable } from '../db/errors.js';
import { AppError, PROBLEM_CONTENT_TYPE, type Problem, problemFor } from '../errors.js';
import { FALLBACK_SECURITY_HEADERS } from './security.js';

export const AUTH_REALM = 'Bearer realm="gatehouse"';

/** Sends a problem, adding the RFC 6750 challenge to every 401. */
export function sendProblem(reply: FastifyReply, problem: Problem, headers: Record<string, string> = {}): FastifyReply {
  if (problem.status === 401) {
    const presented = problem.code === 'TOKEN_INVALID' || problem.code === 'TOKEN_EXPIRED';
    reply.header('www-authenticate', presented ? `${AUTH_REALM}, error="invalid_token"` : AUTH_REALM);
  }
  for (const [name, value] of Object.entries(headers)) reply.header(name, value);
  // Serialized here rather than through a route's response schema, which only covers successes.
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
}

/** Turns a Fastify (or unknown) error into our problem, mapping its codes to ours. */
function toProblem(error: FastifyError | AppError | Error): { problem: Problem; headers?: Record<string, string> } {
  if (error instanceof AppError) {
    return { problem: problemFor(error.code, error.detail, error.status, error.errors), headers: error.headers };
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const errors = fastifyError.validation.map((v) => ({
      path: validationPath(fastifyError.validationContext, v.instancePath, v.params),
      message: v.message ?? 'is invalid',
    }));
    return {
      problem: problemFor('VALIDATION_FAILED', `The request ${fastifyError.validationContext ?? 'input'} is invalid.`, 400, errors),
    };
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { problem: problemFor('MALFORMED_JSON', 'The request body is not valid JSON.') };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { problem: problemFor('PAYLOAD_TOO_LARGE', 'The request body is larger than the server accepts.') };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? { problem: problemFor('UNSUPPORTED_MEDIA_TYPE', 'Send the request body as application/json.') }
        : { problem: problemFor('VALIDATION_FAILED', 'The Content-Length header does not match the body.') };
    case 'FST_ERR_RATE_LIMITED':
      return { problem: problemFor('RATE_LIMITED', 'Too many requests; try again later.') };
  }
  // secure-json-parse rejects __proto__ / constructor.prototype keys with a SyntaxError.
  if (error instanceof SyntaxError && fastifyError.statusCode === 400) {
    return { problem: problemFor('MALFORMED_JSON', 'The request body is not valid JSON or contains forbidden keys.') };
  }
  const status = fastifyError.statusCode;
  if (status === 413) return { problem: problemFor('PAYLOAD_TOO_LARGE', 'The request body is larger than the server accepts.') };
  if (status === 415) return { problem: problemFor('UNSUPPORTED_MEDIA_TYPE', 'Send the request body as application/json.') };
  if (status === 429) return { problem: problemFor('RATE_LIMITED', 'Too many requests; try again later.') };
  if (status === 503 || isDatabaseUnavailable(error)) {
    return {
      problem: problemFor('UNAVAILABLE', 'The service is temporarily unavailable; try again shortly.'),
      headers: { 'retry-after': '5' },
    };
  }
  if (status !== undefined && status >= 400 && status < 500) {
    return { problem: problemFor('VALIDATION_FAILED', 'The request is invalid.', 400) };
  }
  return { problem: problemFor('INTERNAL', 'An unexpected error occurred; it has been logged.') };
}

function validationPath(context: string | undefined, instancePath: string, params: Record<string, unknown>): string {
  const prefix = context === 'querystring' ? '/query' : context === 'params' ? '/path' : '';
  const extra =
    typeof params.additionalProperty === 'string'
      ? `/${params.additionalProperty}`
      : typeof params.missingProperty === 'string'
        ? `/${params.missingProperty}`
        : '';
  return `${prefix}${instancePath}${extra}` || '/';
}

/**
 * Fastify's `frameworkErrors` option: an undecodable URL (`/books/%ZZ`) or a path segment longer
 * than the router allows is answered before routing, so no hook and no error handler runs. Without
 * this, those answers were Fastify's own JSON, echoing the URL and lacking the security headers.
 * A segment too long to be an id names no resource: 404, like any other non-id path value.
 */
export function answerFrameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply.headers({ ...FALLBACK_SECURITY_HEADERS });
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return sendProblem(reply, problemFor('VALIDATION_FAILED', 'The request URL is not validly percent-encoded.'));
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return sendProblem(reply, problemFor('NOT_FOUND', 'No such route.'));
    default:
      reply.log.error({ err: error }, 'framework error');
      return sendProblem(reply, problemFor('INTERNAL', 'An unexpected error occurred; it has been logged.'));
  }
}

/** Node's "aborted" error: the connection closed before the request body was complete. */
function isClientAbort(error: FastifyError, request: FastifyRequest): boolean {
  return error.code === 'ECONNRESET' && error.message === 'aborted' && request.raw.destroyed;
}

/**
 * One error handler for the whole app: every error, Fastify's own included, leaves as
 * problem+json. 5xx details are logged with the request id and never sent.
 */
export const errorHandlerPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      if (isClientAbort(error, request)) {
        // The client went away (or was cut off for sending too slowly) while its body was
        // being read: nothing failed here, and nobody is left to answer.
        request.log.info({ code: error.code }, 'client aborted the request');
        return sendProblem(reply, problemFor('VALIDATION_FAILED', 'The request was aborted before its body arrived.'));
      }
      const { problem, headers } = toProblem(error);
      if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
      else request.log.info({ code: problem.code, status: problem.status }, 'request rejected');
      return sendProblem(reply, problem, headers);
    });

    // During shutdown Fastify still routes requests arriving on open keep-alive connections
    // (and marks their answers Connection: close). Requests already running finish; new ones
    // are turned away at once, so the load balancer retries them on another instance.
    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
    });
    // Synchronous (callback) hook: it runs on every request, and an async one costs a promise.
    app.addHook('onRequest', (_request, reply, done) => {
      if (!closing) return done();
      // Answering ends the request here; Fastify expects done() not to be called then.
      sendProblem(reply, problemFor('UNAVAILABLE', 'The server is shutting down; retry the request.'), { 'retry-after': '1' });
    });

    // Unknown paths are 404; known paths with another method are 405 with an Allow header.
    const routes: { pattern: RegExp; methods: Set<string> }[] = [];
    app.addHook('onRoute', (route) => {
      const source = `^${route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z_]\w*/g, '[^/]+')}/?$`;
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const existing = routes.find((r) => r.pattern.source === source);
      if (existing) for (const m of methods) existing.methods.add(m);
      else routes.push({ pattern: new RegExp(source), methods: new Set(methods) });
    });
    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0] ?? '/';
      const allowed = new Set<string>();
      for (const route of routes) if (route.pattern.test(path)) for (const m of route.methods) allowed.add(m);
      if (allowed.size > 0) {
        return sendProblem(reply, problemFor('METHOD_NOT_ALLOWED', `${request.method} is not allowed on this resource.`), {
          allow: [...allowed].sort().join(', '),
        });
      }
      return sendProblem(reply, problemFor('NOT_FOUND', 'No such route.'));
    });
  },
  { name: 'error-handler' },
);
