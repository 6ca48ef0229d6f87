import { type Kysely, sql } from 'kysely';

// Frozen in time (Kysely<unknown>); portable types only, so it runs on SQLite and PostgreSQL.
// Sessions people can see (where and when they were used, how they signed in) and the
// security-event log.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('last_used_at', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('ip', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('user_agent', 'text').execute();
  // When this session last proved a credential (RFC 9470 auth_time), and how (RFC 8176 amr, a
  // JSON array). Sessions from before this migration count as signed in when they were created.
  await db.schema.alterTable('sessions').addColumn('auth_time', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('amr', 'text').execute();
  await sql`update sessions set last_used_at = created_at, auth_time = created_at, amr = '["pwd"]'`.execute(db);
  // A user's sessions, newest first, one keyset page at a time.
  await db.schema.createIndex('sessions_user_created_idx').on('sessions').columns(['user_id', 'created_at', 'id']).execute();

  await db.schema
    .createTable('security_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    // No foreign keys: the history of a deleted user (and of a deleted admin's actions) stays.
    .addColumn('user_id', 'text')
    .addColumn('actor_id', 'text')
    .addColumn('session_id', 'text')
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('data', 'text', (c) => c.notNull())
    .execute();
  // Newest first for one user, for one type, and for all; retention prunes by created_at.
  await db.schema.createIndex('security_events_user_idx').on('security_events').columns(['user_id', 'created_at', 'id']).execute();
  await db.schema.createIndex('security_events_type_idx').on('security_events').columns(['type', 'created_at', 'id']).execute();
  await db.schema.createIndex('security_events_created_idx').on('security_events').columns(['created_at', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('security_events').execute();
  await db.schema.dropIndex('sessions_user_created_idx').execute();
  for (const column of ['amr', 'auth_time', 'user_agent', 'ip', 'last_used_at']) {
    await db.schema.alterTable('sessions').dropColumn(column).execute();
  }
}
