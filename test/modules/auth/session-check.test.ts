import { describe, expect, it } from 'vitest';
import type { SessionCheckRow } from '../../../src/modules/auth/auth.repository.js';
import { liveSessionActor } from '../../../src/modules/auth/session-check.js';

// The one decision behind every authenticated request (alone, or with a route's row read in the
// same statement): each condition on its own, against a row that passes all of them.

const NOW = '2026-11-30T10:00:00.000Z';
const claims = { sub: 'user-1', sid: 'session-1', jti: 'j', iat: 0, exp: 0, auth_time: 1_700_000_000, amr: ['pwd'] };
const live: SessionCheckRow = {
  user_id: 'user-1',
  revoked_at: null,
  expires_at: '2026-12-30T10:00:00.000Z',
  credential_version: 3,
  email: 'a@example.com',
  role: 'user',
  disabled: 0,
  user_credential_version: 3,
};

describe('liveSessionActor', () => {
  it('a live session: the caller, with the role and email of the row and the session and auth_time of the token', () => {
    expect(liveSessionActor(live, claims, NOW)).toEqual({
      id: 'user-1',
      role: 'user',
      email: 'a@example.com',
      sessionId: 'session-1',
      authTime: 1_700_000_000,
    });
    expect(liveSessionActor({ ...live, role: 'admin' }, claims, NOW)?.role).toBe('admin');
  });

  it.each([
    ['no session (or no user)', undefined],
    ["another user's session", { ...live, user_id: 'user-2' }],
    ['an ended session', { ...live, revoked_at: '2026-11-29T10:00:00.000Z' }],
    ['a session that expires now', { ...live, expires_at: NOW }],
    ['an expired session', { ...live, expires_at: '2026-11-30T09:59:59.999Z' }],
    ['a credential version behind the user’s', { ...live, credential_version: 2 }],
    ['a credential version ahead of the user’s', { ...live, credential_version: 4 }],
    ['a disabled user', { ...live, disabled: 1 }],
    ['any non-zero disabled flag', { ...live, disabled: 2 }],
  ])('refuses %s', (_name, row) => {
    expect(liveSessionActor(row, claims, NOW)).toBeUndefined();
  });
});
