import type { FastifyRequest } from 'fastify';

/** Query parameters whose values are safe and useful in a log line; every other value is redacted. */
const LOGGABLE_QUERY_PARAMETERS = new Set(['limit', 'cursor']);

/**
 * The URL as it may appear in a log: the path, and the query with every value redacted but
 * those known to be harmless. Tokens travel in query strings whether or not the API asks for
 * them (a mailed `?token=` link opened against the API, `?access_token=` from an RFC 6750
 * habit, `?code=`), so the rule is an allow-list, not a list of secret names.
 */
export function loggableUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const path = url.slice(0, q);
  const query = url.slice(q + 1);
  if (query === '') return path;
  const parts = query.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (eq < 0) return name;
    return LOGGABLE_QUERY_PARAMETERS.has(name) ? pair : `${name}=[redacted]`;
  });
  return `${path}?${parts.join('&')}`;
}

/** Pino serializer for `req`: what Fastify logs by default, minus secrets in the query string. */
export function serializeRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: loggableUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}
