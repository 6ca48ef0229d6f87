import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { clientInfo } from '../../lib/client-info.js';
import { NOT_ADMIN, problems, TOKEN_PROBLEMS } from '../../lib/http-schemas.js';
import type { KeyRing } from '../../lib/signing-keys.js';
import { SigningKeyInfo, SigningKeyList } from './keys.schemas.js';

const security = [{ bearerAuth: [] }];
const tags = ['Auth'];

/** The signing keys for an admin: list them, and rotate the database key store. */
export const adminKeysRoutes: FastifyPluginAsyncTypebox<{ keyRing: KeyRing }> = async (app, { keyRing }) => {
  app.addHook('onRequest', app.authenticate);
  app.addHook('preHandler', app.requireRole('admin'));

  app.get(
    '/admin/keys',
    {
      schema: {
        tags,
        summary: 'Signing keys (admin)',
        description:
          'The keys that verify access tokens now, oldest first; `signing` marks the one new tokens are signed with. ' +
          'With HS256 (or JWT_PRIVATE_KEY) it is the one configured key, `created_at` being when this instance loaded it.',
        security,
        response: { 200: SigningKeyList, ...problems(...TOKEN_PROBLEMS, NOT_ADMIN) },
      },
    },
    async () => ({ items: keyRing.list() }),
  );

  app.post(
    '/admin/keys/rotate',
    {
      schema: {
        tags,
        summary: 'Rotate the signing key (admin)',
        description:
          'Makes a new key that signs from now on; the previous one keeps verifying for an access-token lifetime. ' +
          'Other instances pick it up at their next reload, or at once when they meet its kid. ' +
          'Recorded as a `keys.rotated` event with the admin as actor. Only with EdDSA/ES256/RS256 and the database key store.',
        security,
        response: {
          201: Type.Ref(SigningKeyInfo, { description: 'The new signing key' }),
          ...problems(...TOKEN_PROBLEMS, NOT_ADMIN, 'KEY_ROTATION_UNAVAILABLE'),
        },
      },
    },
    async (request, reply) => {
      const key = await keyRing.rotate({ actorId: request.user.id, client: clientInfo(request) });
      const info = keyRing.list().find((k) => k.kid === key.kid);
      return reply.code(201).send(info);
    },
  );
};
