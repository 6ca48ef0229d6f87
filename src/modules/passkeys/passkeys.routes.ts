import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { clientInfo } from '../../lib/client-info.js';
import { BODY_PROBLEMS, created, noContent, problems, TOKEN_PROBLEMS } from '../../lib/http-schemas.js';
import { TokenResponseSchema } from '../auth/auth.schemas.js';
import { REAUTH_PROBLEM } from '../users/users.routes.js';
import {
  AuthenticationBody,
  AuthenticationOptionsResponse,
  CreationOptionsResponse,
  PasskeyIdParams,
  PasskeyList,
  PasskeySchema,
  RegistrationBody,
} from './passkeys.schemas.js';
import type { PasskeysService } from './passkeys.service.js';

const bearer = [{ bearerAuth: [] }];
const tags = ['Passkeys'];
const REFUSED = {
  code: 'VALIDATION_FAILED',
  detail: 'The passkey registration was refused: unknown, used or expired challenge; ask for new options',
  when: 'the response does not verify: another origin or RP id, a used or unknown challenge, no user verification, a passkey already registered',
} as const;

/** /auth/passkeys/*: registration (options → verify) and sign-in (options → verify). */
export const passkeysRoutes: FastifyPluginAsyncTypebox<{ passkeys: PasskeysService }> = async (app, { passkeys }) => {
  app.post(
    '/auth/passkeys/authentication/options',
    {
      schema: {
        tags,
        summary: 'Start a passkey sign-in',
        description: 'A single-use challenge (5 minutes). No email is asked: the passkey says whose it is.',
        response: { 200: AuthenticationOptionsResponse },
      },
    },
    async () => passkeys.authenticationOptions(),
  );

  app.post(
    '/auth/passkeys/authentication',
    {
      schema: {
        tags,
        summary: 'Sign in with a passkey',
        description:
          'The challenge is used up whatever the outcome. User verification is required; such a sign-in needs no TOTP. ' +
          'A signature counter that goes backwards refuses the sign-in and records an event.',
        body: AuthenticationBody,
        response: {
          200: Type.Ref(TokenResponseSchema, { description: 'Signed in' }),
          ...problems(
            ...BODY_PROBLEMS,
            {
              code: 'INVALID_CREDENTIALS',
              detail: 'The passkey could not be verified.',
              when: 'any failure: unknown passkey or challenge, bad signature, counter regression',
            },
            {
              code: 'RATE_LIMITED',
              detail: 'Too many failed sign-in attempts; try again later.',
              when: 'too many failed sign-ins from this client IP',
            },
          ),
        },
      },
    },
    async (request) => passkeys.authenticate(request.body, clientInfo(request)),
  );

  app.register(async (instance) => {
    const authed = instance.withTypeProvider<TypeBoxTypeProvider>();
    authed.addHook('onRequest', app.authenticate);

    authed.post(
      '/auth/passkeys/registration/options',
      {
        schema: {
          tags,
          summary: 'Start adding a passkey',
          description:
            'Options for navigator.credentials.create(): a discoverable credential with user verification. Needs a recent sign-in.',
          security: bearer,
          response: { 200: CreationOptionsResponse, ...problems(...TOKEN_PROBLEMS, REAUTH_PROBLEM) },
        },
      },
      async (request) => passkeys.registrationOptions(request.user),
    );

    authed.post(
      '/auth/passkeys/registration',
      {
        schema: {
          tags,
          summary: 'Add a passkey',
          description: 'Verifies the response against the challenge given to this user (origin and RP id checked) and stores the passkey.',
          security: bearer,
          body: RegistrationBody,
          response: { 201: created(Type.Ref(PasskeySchema), 'The new passkey'), ...problems(...BODY_PROBLEMS, REFUSED, ...TOKEN_PROBLEMS) },
        },
      },
      async (request, reply) => {
        const passkey = await passkeys.register(request.user, request.body, clientInfo(request));
        return reply.code(201).header('location', `/auth/passkeys/${passkey.id}`).send(passkey);
      },
    );

    authed.get(
      '/auth/passkeys',
      {
        schema: { tags, summary: 'Your passkeys', security: bearer, response: { 200: PasskeyList, ...problems(...TOKEN_PROBLEMS) } },
      },
      async (request) => passkeys.list(request.user),
    );

    authed.delete(
      '/auth/passkeys/:id',
      {
        schema: {
          tags,
          summary: 'Remove a passkey',
          description: "Needs a recent sign-in. Someone else's or unknown: 404.",
          security: bearer,
          params: PasskeyIdParams,
          response: {
            204: noContent('Passkey removed'),
            ...problems(...TOKEN_PROBLEMS, REAUTH_PROBLEM, {
              code: 'NOT_FOUND',
              detail: 'No such passkey.',
              when: "someone else's or unknown",
            }),
          },
        },
      },
      async (request, reply) => {
        await passkeys.remove(request.user, request.params.id, clientInfo(request));
        return reply.code(204).send(null);
      },
    );
  });
};
