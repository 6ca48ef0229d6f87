import { sql } from 'kysely';
import type { SecurityEventsTable } from '../../db/database.js';
import type { Executor } from '../../db/executor.js';
import type { ClientInfo } from '../../lib/client-info.js';
import { newId, nowIso } from '../../lib/ids.js';
import type { Cursor } from '../../lib/pagination.js';

/** The stable event types (contract: "Security events"). */
export const EVENT_TYPES = [
  'login.succeeded',
  'login.failed',
  'login.throttled',
  'logout',
  'session.revoked',
  'refresh.reuse_detected',
  'reauthenticated',
  'password.changed',
  'password.reset',
  'email.verified',
  'email.changed',
  'user.role_changed',
  'user.disabled',
  'user.enabled',
  'user.deleted',
  'keys.rotated',
  'mfa.enabled',
  'mfa.disabled',
  'recovery_code.used',
  'recovery_codes.regenerated',
  'passkey.added',
  'passkey.removed',
  'passkey.counter_regressed',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** Small, non-secret details of an event (never a password, code, token or hash). */
export type EventData = Record<string, string | number | boolean | null>;

export interface NewEvent {
  type: EventType;
  userId?: string | null;
  actorId?: string | null;
  sessionId?: string | null;
  client?: ClientInfo | null;
  data?: EventData;
}

// Who is told of each recorded event, per database. Keyed by the Kysely dialect adapter, which a
// database handle shares with every transaction opened on it (recordEvent gets either).
const recordedListeners = new WeakMap<object, Set<(type: EventType) => void>>();

/**
 * Calls `listener` with the type of every event recorded through `db` or a transaction on it
 * (the metrics count them); returns the function that stops it.
 */
export function onEventRecorded(db: Executor, listener: (type: EventType) => void): () => void {
  const adapter = db.getExecutor().adapter;
  const listeners = recordedListeners.get(adapter) ?? new Set();
  recordedListeners.set(adapter, listeners);
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Records an event with the caller's executor: inside the transaction of the change it records,
 * so a rolled-back change leaves no event and a committed one always has its event.
 */
export async function recordEvent(db: Executor, event: NewEvent): Promise<void> {
  await insertEvent(db, event);
  // Told once the INSERT succeeded. Inside a transaction that is before its COMMIT (Kysely has no
  // after-commit hook): callers record the event at the end of the transaction's work, so only a
  // COMMIT that fails (the connection lost at that moment), or rarely a statement after it, can
  // leave an event counted that was never stored.
  const listeners = recordedListeners.get(db.getExecutor().adapter);
  if (listeners) for (const listener of listeners) listener(event.type);
}

function insertEvent(db: Executor, event: NewEvent) {
  return db
    .insertInto('security_events')
    .values({
      id: newId(),
      type: event.type,
      created_at: nowIso(),
      user_id: event.userId ?? null,
      actor_id: event.actorId ?? null,
      session_id: event.sessionId ?? null,
      ip: event.client?.ip ?? null,
      user_agent: event.client?.userAgent ?? null,
      data: JSON.stringify(event.data ?? {}),
    })
    .execute();
}

/** A keyset page of events, newest first, optionally for one user and/or one type. */
export function listEvents(
  db: Executor,
  options: { userId?: string; type?: string; limit: number; cursor: Cursor | null },
): Promise<SecurityEventsTable[]> {
  let query = db.selectFrom('security_events').selectAll();
  if (options.userId !== undefined) query = query.where('user_id', '=', options.userId);
  if (options.type !== undefined) query = query.where('type', '=', options.type);
  if (options.cursor) {
    query = query.where(sql<boolean>`(created_at, id) < (${options.cursor.createdAt}, ${options.cursor.id})`);
  }
  return query
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(options.limit + 1)
    .execute();
}

/** Deletes events created before `cutoff`; returns how many. */
export async function pruneEventsBefore(db: Executor, cutoff: string): Promise<number> {
  const result = await db.deleteFrom('security_events').where('created_at', '<', cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}
