import type { Kysely } from 'kysely';

// Frozen in time (Kysely<unknown>); portable types only, so it runs on SQLite and PostgreSQL.
// Every list and lookup path has an index ending in (created_at, id) for keyset pagination.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('books')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('author', 'text', (c) => c.notNull())
    .addColumn('isbn', 'text', (c) => c.unique())
    .addColumn('published_year', 'integer')
    .addColumn('description', 'text')
    .addColumn('created_by', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('books_created_at_id_idx').on('books').columns(['created_at', 'id']).execute();
  await db.schema.createIndex('books_author_created_at_id_idx').on('books').columns(['author', 'created_at', 'id']).execute();
  // Makes ON DELETE SET NULL on user deletion an index lookup, not a table scan.
  await db.schema.createIndex('books_created_by_idx').on('books').column('created_by').execute();

  await db.schema
    .createTable('bucketlists')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('bucketlists_owner_created_at_id_idx').on('bucketlists').columns(['owner_id', 'created_at', 'id']).execute();

  await db.schema
    .createTable('bucketlist_items')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('bucketlist_id', 'text', (c) => c.notNull().references('bucketlists.id').onDelete('cascade'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('done', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('bucketlist_items_list_created_at_id_idx')
    .on('bucketlist_items')
    .columns(['bucketlist_id', 'created_at', 'id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('bucketlist_items').execute();
  await db.schema.dropTable('bucketlists').execute();
  await db.schema.dropTable('books').execute();
}
