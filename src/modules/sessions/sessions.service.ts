import type { Kysely } from 'kysely';
import type { DB } from '../../db/database.js';
import { notFound } from '../../errors.js';
import type { ClientInfo } from '../../lib/client-info.js';
import { nowIso } from '../../lib/ids.js';
import { DEFAULT_PAGE_SIZE, decodeCursor, type Page, toPage } from '../../lib/pagination.js';
import { revokeUserSessions } from '../auth/auth.repository.js';
import { recordEvent } from '../events/events.repository.js';
import { findUserById } from '../users/users.repository.js';
import type { Actor } from '../users/users.service.js';
import * as repo from './sessions.repository.js';
import type { Session, SessionsQuery } from './sessions.schemas.js';

const noSuchSession = () => notFound('No such session.');

/**
 * Sessions people can see and end. Ending one is a revocation in the database, which every
 * instance checks on every request: it is immediate everywhere.
 */
export function createSessionsService(db: Kysely<DB>) {
  async function page(userId: string, query: SessionsQuery, currentId: string | null): Promise<Page<Session>> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const rows = await repo.listLiveSessions(db, userId, nowIso(), { limit, cursor: decodeCursor(query.cursor) });
    return toPage(rows, limit, (row) => ({ ...row, current: row.id === currentId }));
  }

  /** The caller's live sessions; `current` marks the one of this request. */
  function listOwn(actor: Actor, query: SessionsQuery): Promise<Page<Session>> {
    return page(actor.id, query, actor.sessionId);
  }

  /** Ends one of the caller's sessions; anyone else's, unknown or ended: 404. */
  async function endOwn(actor: Actor, sessionId: string, client: ClientInfo): Promise<void> {
    const ended = await db.transaction().execute(async (trx) => {
      if (!(await repo.revokeLiveSession(trx, actor.id, sessionId, 'ended_by_user', nowIso()))) return false;
      await recordEvent(trx, {
        type: 'session.revoked',
        userId: actor.id,
        sessionId: actor.sessionId,
        client,
        data: { session: sessionId, reason: 'ended_by_user' },
      });
      return true;
    });
    if (!ended) throw noSuchSession();
  }

  /** Ends every session of the caller but the current one. */
  async function endOthers(actor: Actor, client: ClientInfo): Promise<void> {
    await db.transaction().execute(async (trx) => {
      const count = await revokeUserSessions(trx, actor.id, 'ended_by_user', nowIso(), actor.sessionId);
      await recordEvent(trx, {
        type: 'session.revoked',
        userId: actor.id,
        sessionId: actor.sessionId,
        client,
        data: { scope: 'others', count },
      });
    });
  }

  /** Admin: a user's live sessions (`current` always false). */
  async function listForUser(userId: string, query: SessionsQuery): Promise<Page<Session>> {
    if (!(await findUserById(db, userId))) throw notFound('No such user.');
    return page(userId, query, null);
  }

  /** Admin: ends every session of a user. */
  async function endAllForUser(actor: Actor, userId: string, client: ClientInfo): Promise<void> {
    const found = await db.transaction().execute(async (trx) => {
      if (!(await findUserById(trx, userId))) return false;
      const count = await revokeUserSessions(trx, userId, 'ended_by_admin', nowIso());
      await recordEvent(trx, {
        type: 'session.revoked',
        userId,
        actorId: actor.id,
        sessionId: actor.sessionId,
        client,
        data: { scope: 'all', reason: 'ended_by_admin', count },
      });
      return true;
    });
    if (!found) throw notFound('No such user.');
  }

  return { listOwn, endOwn, endOthers, listForUser, endAllForUser };
}

export type SessionsService = ReturnType<typeof createSessionsService>;
