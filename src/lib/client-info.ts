/** Who is on the other end of a request, as recorded with sessions and security events. */
export interface ClientInfo {
  ip: string;
  userAgent: string | null;
}

/** Long enough for any real browser's User-Agent; a longer one is cut, never stored whole. */
const MAX_USER_AGENT = 512;

/** The client of a request (Fastify's `request.ip` honours TRUST_PROXY). */
export function clientInfo(request: { ip: string; headers: Record<string, string | string[] | undefined> }): ClientInfo {
  const raw = request.headers['user-agent'];
  const userAgent = typeof raw === 'string' && raw.trim() !== '' ? raw.trim().slice(0, MAX_USER_AGENT) : null;
  return { ip: request.ip, userAgent };
}
