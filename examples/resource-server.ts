// A separate service that accepts Gatehouse access tokens without sharing any secret: it
// verifies signatures offline against Gatehouse's published JWK Set (EdDSA/ES256/RS256).
// Trade-off: it cannot see logout, password changes or deleted users until the token's `exp`,
// so keep ACCESS_TOKEN_TTL short (the default is 15 minutes).
import Fastify, { type FastifyInstance } from 'fastify';
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';

export interface ResourceServerOptions {
  gatehouseUrl: string; // e.g. http://localhost:3000
  issuer: string; // `issuer` of Gatehouse's /.well-known/oauth-authorization-server (JWT_ISSUER, by default PUBLIC_URL)
  audience: string; // JWT_AUDIENCE of Gatehouse
  algorithms: string[]; // pin what Gatehouse signs with, e.g. ['EdDSA']
}

/** Builds a tiny API whose /whoami needs a valid Gatehouse access token. */
export function buildResourceServer(options: ResourceServerOptions): FastifyInstance {
  // Fetched once and cached; an unknown kid (after a rotation) triggers one refetch.
  const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', options.gatehouseUrl), { cooldownDuration: 1_000 });
  const app = Fastify();
  app.decorateRequest('claims', null);
  app.addHook('onRequest', async (request, reply) => {
    const token = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/i.exec(request.headers.authorization ?? '')?.[1];
    try {
      if (!token) throw new Error('no bearer token');
      const { payload } = await jwtVerify(token, jwks, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: options.algorithms,
        typ: 'at+jwt',
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      });
      (request as unknown as { claims: JWTPayload }).claims = payload;
    } catch {
      return reply.code(401).header('www-authenticate', 'Bearer error="invalid_token"').send({ error: 'invalid_token' });
    }
  });
  app.get('/whoami', async (request) => ({ sub: (request as unknown as { claims: JWTPayload }).claims.sub }));
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const gatehouseUrl = process.env.GATEHOUSE_URL ?? 'http://localhost:3000';
  const app = buildResourceServer({
    gatehouseUrl,
    // Gatehouse's default issuer is its PUBLIC_URL, which is where this example reaches it.
    issuer: process.env.JWT_ISSUER ?? gatehouseUrl,
    audience: process.env.JWT_AUDIENCE ?? 'gatehouse-api',
    algorithms: (process.env.JWT_ALGORITHM ?? 'EdDSA').split(','),
  });
  const address = await app.listen({ port: Number(process.env.PORT ?? 4000), host: '127.0.0.1' });
  console.log(`resource server: GET ${address}/whoami, verifying tokens with ${gatehouseUrl}/.well-known/jwks.json`);
}
