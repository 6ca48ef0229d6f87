import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import SQLite from 'better-sqlite3';

export interface BackupResult {
  destination: string;
  pages: number;
  bytes: number;
}

// sqlite3_backup_step page count for "everything": one step copies one consistent snapshot, so a
// busy server writing meanwhile cannot make the backup restart over and over.
const ALL_PAGES = 0x7fff_ffff;

/**
 * Copies a SQLite database, live or not, to `destination` with SQLite's online backup API, checks
 * the copy (integrity_check), and only then gives it its final name, so a file at that name is
 * always a complete backup. Refuses to overwrite an existing file.
 */
export async function backupSqliteDatabase(source: string, destination: string): Promise<BackupResult> {
  const target = resolve(destination);
  if (target === resolve(source)) throw new Error('the backup file must not be the database itself');
  if (existsSync(target)) throw new Error(`${target} already exists; choose a new file name (backups are never overwritten)`);
  if (!existsSync(source)) throw new Error(`there is no SQLite database at ${source} (check DATABASE_URL)`);

  const partial = `${target}.partial`;
  removeWithSidecars(partial);
  try {
    // Read-write, like the server: a read-only handle cannot open a WAL database whose -shm is
    // missing. The backup only reads; busy_timeout (better-sqlite3's 5 s default) bounds waits.
    const db = new SQLite(source, { fileMustExist: true });
    let pages: number;
    try {
      ({ totalPages: pages } = await db.backup(partial, { progress: () => ALL_PAGES }));
    } finally {
      db.close();
    }

    const copy = new SQLite(partial, { fileMustExist: true });
    try {
      // A single self-contained file: a rollback-journal database needs no -wal or -shm beside
      // it. The server switches it back to WAL when it opens a restored copy.
      copy.pragma('journal_mode = DELETE');
      const integrity = copy.pragma('integrity_check', { simple: true });
      if (integrity !== 'ok') throw new Error(`the copy failed its integrity check: ${String(integrity)}`);
    } finally {
      copy.close();
    }
    renameSync(partial, target);
    return { destination: target, pages, bytes: statSync(target).size };
  } catch (err) {
    removeWithSidecars(partial);
    throw err;
  }
}

function removeWithSidecars(file: string): void {
  for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
}
