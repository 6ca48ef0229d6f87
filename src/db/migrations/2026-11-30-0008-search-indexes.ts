import { type Kysely, PostgresAdapter, sql } from 'kysely';

// Frozen in time (takes Kysely<unknown>). Trigram indexes for the case-insensitive "contains"
// searches (?q= on books, users and bucketlists), which otherwise read every row. The two
// databases need different SQL, so this migration branches on the dialect; the searches keep
// their exact semantics either way (see containsInsensitive and README, Search).
//
// SQLite: external-content FTS5 tables with the trigram tokenizer (SQLite 3.34+), keyed by the
// content table's rowid and kept in step by triggers. The trigram index only narrows the
// candidates; the repositories still apply the exact lower(...) LIKE test. The rowids of these
// tables are implicit: the backup API copies pages and keeps them, and so does VACUUM in
// practice; should they ever diverge, `insert into <t>_search(<t>_search) values ('rebuild')`
// re-indexes.
// PostgreSQL: pg_trgm GIN indexes on exactly the expressions the searches filter on, lower(col).

const SEARCHES = [
  { table: 'books', columns: ['title', 'author'] },
  { table: 'users', columns: ['email', 'name'] },
  { table: 'bucketlists', columns: ['name'] },
] as const;

function isPostgres(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  if (isPostgres(db)) {
    // Fails where the contrib extension is not installed; the start-up error says what to do
    // (see src/db/errors.ts).
    await sql`create extension if not exists pg_trgm`.execute(db);
    for (const { table, columns } of SEARCHES) {
      for (const column of columns) {
        await sql`create index ${sql.id(`${table}_${column}_trgm_idx`)} on ${sql.table(table)} using gin (lower(${sql.ref(column)}) gin_trgm_ops)`.execute(
          db,
        );
      }
    }
    return;
  }
  for (const { table, columns } of SEARCHES) {
    const search = `${table}_search`;
    const cols = sql.join(columns.map((c) => sql.ref(c)));
    const newValues = sql.join(columns.map((c) => sql.ref(`new.${c}`)));
    const oldValues = sql.join(columns.map((c) => sql.ref(`old.${c}`)));
    // case_sensitive 0 folds case for all of Unicode, more than lower() does on SQLite: the
    // index then finds a superset of the rows, and the exact test narrows it.
    await sql`create virtual table ${sql.table(search)} using fts5(${cols}, content=${sql.lit(table)}, content_rowid='rowid', tokenize='trigram case_sensitive 0')`.execute(
      db,
    );
    // Indexes the rows that exist already.
    await sql`insert into ${sql.table(search)} (${sql.table(search)}) values ('rebuild')`.execute(db);
    await sql`create trigger ${sql.id(`${search}_after_insert`)} after insert on ${sql.table(table)} begin
      insert into ${sql.table(search)} (rowid, ${cols}) values (new.rowid, ${newValues});
    end`.execute(db);
    // An external-content index must be told the old values to remove them.
    await sql`create trigger ${sql.id(`${search}_after_delete`)} after delete on ${sql.table(table)} begin
      insert into ${sql.table(search)} (${sql.table(search)}, rowid, ${cols}) values ('delete', old.rowid, ${oldValues});
    end`.execute(db);
    await sql`create trigger ${sql.id(`${search}_after_update`)} after update of ${cols} on ${sql.table(table)} begin
      insert into ${sql.table(search)} (${sql.table(search)}, rowid, ${cols}) values ('delete', old.rowid, ${oldValues});
      insert into ${sql.table(search)} (rowid, ${cols}) values (new.rowid, ${newValues});
    end`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (isPostgres(db)) {
    for (const { table, columns } of SEARCHES) {
      for (const column of columns) await sql`drop index ${sql.id(`${table}_${column}_trgm_idx`)}`.execute(db);
    }
    // The extension stays: other schemas in the database may use it.
    return;
  }
  for (const { table } of SEARCHES) {
    const search = `${table}_search`;
    for (const event of ['insert', 'delete', 'update']) await sql`drop trigger ${sql.id(`${search}_after_${event}`)}`.execute(db);
    await sql`drop table ${sql.table(search)}`.execute(db);
  }
}
