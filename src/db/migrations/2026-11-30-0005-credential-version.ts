import type { Kysely } from 'kysely';

// Frozen in time (takes Kysely<unknown>). A per-user credential version: bumped in the same
// transaction as every change that must end sessions (password change or reset, disabling).
// A session records the version its sign-in checked, and the per-request check and refresh
// require the two to be equal, so a sign-in that verified the old password while the change
// ran creates a session that is dead on arrival, whatever order the two commit in.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('credential_version', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('sessions')
    .addColumn('credential_version', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('credential_version').execute();
  await db.schema.alterTable('users').dropColumn('credential_version').execute();
}
