import { uuidv7 } from 'uuidv7';

/** A new time-ordered, opaque id (UUIDv7, RFC 9562), so inserts stay append-mostly in indexes. */
export function newId(): string {
  return uuidv7();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True for a canonical lower-case UUID; anything else can never name a row. */
export function isId(value: string): boolean {
  return UUID.test(value);
}

/** The current time as an RFC 3339 UTC string with milliseconds; sorts lexically in time order. */
export function nowIso(): string {
  return new Date().toISOString();
}
