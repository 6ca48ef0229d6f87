/**
 * This app's own migrations. Gatehouse applies them after its own, in name order, and records
 * them in their own table (app_migration), so Gatehouse upgrades never interleave with them.
 * Frozen once released, portable across SQLite and PostgreSQL, like Gatehouse's.
 *
 * @type {Record<string, import('gatehouse').Migration>}
 */
export const migrations = {
  '2026-12-01-0001-notes': {
    async up(db) {
      await db.schema
        .createTable('notes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        // Gatehouse's users table: deleting an account deletes its notes.
        .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      // Lists are per owner, newest first.
      await db.schema.createIndex('notes_owner_created').on('notes').columns(['owner_id', 'created_at', 'id']).execute();
    },
    async down(db) {
      await db.schema.dropTable('notes').execute();
    },
  },
};
