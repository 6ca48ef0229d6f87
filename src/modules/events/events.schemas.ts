import { type Static, Type } from '@sinclair/typebox';
import { PageQuery, pageOf, Timestamp } from '../../lib/http-schemas.js';
import { EVENT_TYPES } from './events.repository.js';

const Nullable = (description: string) => Type.Union([Type.String(), Type.Null()], { description });

export const SecurityEventSchema = Type.Object(
  {
    id: Type.String(),
    type: Type.String({ description: `one of: ${EVENT_TYPES.join(', ')}` }),
    created_at: Timestamp,
    user_id: Nullable('the account the event is about'),
    actor_id: Nullable('who caused it, when that is not the user (an admin)'),
    session_id: Nullable('the session it happened in, if any'),
    ip: Nullable('client IP as seen by the server (TRUST_PROXY decides)'),
    user_agent: Nullable('client User-Agent'),
    data: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]), {
      description: 'small non-secret details, e.g. {"role":"admin"}',
    }),
  },
  { $id: 'SecurityEvent' },
);
export type SecurityEvent = Static<typeof SecurityEventSchema>;

export const SecurityEventPage = pageOf(Type.Ref(SecurityEventSchema), 'A page of security events, newest first');

export const OwnEventsQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
export type OwnEventsQuery = Static<typeof OwnEventsQuery>;

export const AdminEventsQuery = Type.Object(
  {
    ...PageQuery,
    user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'only this user' })),
    type: Type.Optional(
      Type.Union(
        EVENT_TYPES.map((t) => Type.Literal(t)),
        { description: 'only this type' },
      ),
    ),
  },
  { additionalProperties: false },
);
export type AdminEventsQuery = Static<typeof AdminEventsQuery>;
