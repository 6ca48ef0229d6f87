import type { Kysely } from 'kysely';
import type { DB, SecurityEventsTable } from '../../db/database.js';
import { DEFAULT_PAGE_SIZE, decodeCursor, type Page, toPage } from '../../lib/pagination.js';
import * as repo from './events.repository.js';
import type { AdminEventsQuery, OwnEventsQuery, SecurityEvent } from './events.schemas.js';

/** The public view of an event row. */
export function toEvent(row: SecurityEventsTable): SecurityEvent {
  return {
    id: row.id,
    type: row.type,
    created_at: row.created_at,
    user_id: row.user_id,
    actor_id: row.actor_id,
    session_id: row.session_id,
    ip: row.ip,
    user_agent: row.user_agent,
    data: JSON.parse(row.data) as SecurityEvent['data'],
  };
}

/** Reading the security-event log, and its retention. */
export function createEventsService(db: Kysely<DB>, options: { retentionSeconds: number }) {
  async function listForUser(userId: string, query: OwnEventsQuery): Promise<Page<SecurityEvent>> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const rows = await repo.listEvents(db, { userId, limit, cursor: decodeCursor(query.cursor) });
    return toPage(rows, limit, toEvent);
  }

  async function listAll(query: AdminEventsQuery): Promise<Page<SecurityEvent>> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const rows = await repo.listEvents(db, { userId: query.user_id, type: query.type, limit, cursor: decodeCursor(query.cursor) });
    return toPage(rows, limit, toEvent);
  }

  /** Deletes events older than EVENTS_RETENTION, measured from `now`. */
  function prune(now: number = Date.now()): Promise<number> {
    return repo.pruneEventsBefore(db, new Date(now - options.retentionSeconds * 1000).toISOString());
  }

  return { listForUser, listAll, prune };
}

export type EventsService = ReturnType<typeof createEventsService>;
