import { type Static, Type } from '@sinclair/typebox';
import { IdParam, PageQuery, pageOf, Timestamp } from '../../lib/http-schemas.js';

export const EmailSchema = Type.String({ format: 'email', minLength: 3, maxLength: 254, description: 'trimmed and lower-cased' });
export const NameSchema = Type.String({ minLength: 1, maxLength: 100, description: 'display name, trimmed' });
export const RoleSchema = Type.Union([Type.Literal('user'), Type.Literal('admin')]);

/** The public user object: the allow-list that keeps hashes out of every response. */
export const UserSchema = Type.Object(
  {
    id: Type.String(),
    email: Type.String(),
    name: Type.Union([Type.String(), Type.Null()]),
    role: RoleSchema,
    disabled: Type.Boolean(),
    email_verified: Type.Boolean({
      description: 'true once the owner followed a verification (or password-reset) link sent to this email',
    }),
    mfa_enabled: Type.Boolean({ description: 'true while a second factor (TOTP) is required at sign-in' }),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'User' },
);
export type User = Static<typeof UserSchema>;

export const UserIdParams = Type.Object({ id: IdParam }, { additionalProperties: false });

export const ListUsersQuery = Type.Object(
  { ...PageQuery, q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'matches email or name' })) },
  { additionalProperties: false },
);
export type ListUsersQuery = Static<typeof ListUsersQuery>;

export const UserPage = pageOf(Type.Ref(UserSchema), 'A page of users, oldest first');

export const PatchUserBody = Type.Object(
  {
    name: Type.Optional(Type.Union([NameSchema, Type.Null()])),
    email: Type.Optional(EmailSchema),
    role: Type.Optional(RoleSchema),
    disabled: Type.Optional(Type.Boolean()),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description: 'role and disabled: admins only',
    examples: [{ name: 'Ada Lovelace' }, { role: 'admin', disabled: false }],
  },
);
export type PatchUserBody = Static<typeof PatchUserBody>;
