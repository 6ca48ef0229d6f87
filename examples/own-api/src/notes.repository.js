// All of this app's SQL. Every query of a user's notes carries `owner_id`, so someone else's
// note is indistinguishable from a missing one.

/** @typedef {{ id: string; owner_id: string; title: string; body: string; created_at: string }} NoteRow */

/** @param {import('gatehouse').Kysely<any>} db @param {NoteRow} note */
export async function insertNote(db, note) {
  await db.insertInto('notes').values(note).execute();
}

/** @param {import('gatehouse').Kysely<any>} db @param {string} ownerId @param {number} limit */
export async function listNotesOfOwner(db, ownerId, limit) {
  return db
    .selectFrom('notes')
    .select(['id', 'title', 'body', 'created_at'])
    .where('owner_id', '=', ownerId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** @param {import('gatehouse').Kysely<any>} db @param {string} id @param {string} ownerId */
export async function findNoteOfOwner(db, id, ownerId) {
  return db
    .selectFrom('notes')
    .select(['id', 'title', 'body', 'created_at'])
    .where('id', '=', id)
    .where('owner_id', '=', ownerId)
    .executeTakeFirst();
}

/** @returns {Promise<boolean>} whether a note of that owner was deleted */
export async function deleteNoteOfOwner(
  /** @type {import('gatehouse').Kysely<any>} */ db,
  /** @type {string} */ id,
  /** @type {string} */ ownerId,
) {
  const result = await db.deleteFrom('notes').where('id', '=', id).where('owner_id', '=', ownerId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Notes and distinct owners, for the admin summary. @param {import('gatehouse').Kysely<any>} db */
export async function countNotes(db) {
  const row = await db
    .selectFrom('notes')
    .select((eb) => [eb.fn.countAll().as('notes'), eb.fn.count('owner_id').distinct().as('owners')])
    .executeTakeFirstOrThrow();
  return { notes: Number(row.notes), owners: Number(row.owners) };
}
