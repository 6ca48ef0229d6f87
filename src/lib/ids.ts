import { uuidv7 } from 'uuidv7';

/** A new time-ordered, opaque id (UUIDv7, RFC 9562), so inserts stay append-mostly in indexes. */
export function newId(): string {
  return uuidv7();
}

/** `seconds` after an RFC 3339 instant, so an expiry derives from the same `now` as its created_at. */
export function isoAfter(now: string, seconds: number): string {
  return new Date(Date.parse(now) + seconds * 1000).toISOString();
}

/** The current time as an RFC 3339 UTC string with milliseconds; sorts lexically in time order. */
export function nowIso(): string {
  return new Date().toISOString();
}
