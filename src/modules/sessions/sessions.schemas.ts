import { type Static, Type } from '@sinclair/typebox';
import { IdParam, PageQuery, pageOf, Timestamp } from '../../lib/http-schemas.js';

export const SessionSchema = Type.Object(
  {
    id: Type.String(),
    created_at: Timestamp,
    last_used_at: Type.String({ format: 'date-time', description: 'the last sign-in or refresh of this session' }),
    expires_at: Type.String({ format: 'date-time', description: 'when its refresh token expires unless rotated' }),
    ip: Type.Union([Type.String(), Type.Null()], { description: 'client IP at the last sign-in or refresh' }),
    user_agent: Type.Union([Type.String(), Type.Null()], { description: 'client User-Agent at the last sign-in or refresh' }),
    current: Type.Boolean({ description: 'the session of the access token making this request' }),
  },
  { $id: 'Session' },
);
export type Session = Static<typeof SessionSchema>;

export const SessionPage = pageOf(Type.Ref(SessionSchema), 'A page of live sessions, newest first');
export const SessionsQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
export type SessionsQuery = Static<typeof SessionsQuery>;
export const SessionIdParams = Type.Object({ id: IdParam }, { additionalProperties: false });
