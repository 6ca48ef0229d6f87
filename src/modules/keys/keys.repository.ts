import type { SigningKeysTable } from '../../db/database.js';
import type { Executor } from '../../db/executor.js';

export type SigningKeyRow = SigningKeysTable;

/** Every stored signing key, oldest first. */
export function listSigningKeys(db: Executor): Promise<SigningKeyRow[]> {
  return db.selectFrom('signing_keys').selectAll().orderBy('created_at').orderBy('kid').execute();
}

/** Stores a new signing key; the newest key is the one that signs. */
export async function insertSigningKey(db: Executor, row: SigningKeyRow): Promise<void> {
  await db.insertInto('signing_keys').values(row).execute();
}

/** Deletes retired keys by kid. */
export async function deleteSigningKeys(db: Executor, kids: string[]): Promise<void> {
  if (kids.length > 0) await db.deleteFrom('signing_keys').where('kid', 'in', kids).execute();
}
