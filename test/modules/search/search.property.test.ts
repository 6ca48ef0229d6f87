import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor } from '../../../src/lib/pagination.js';
import { listBooks } from '../../../src/modules/books/books.repository.js';
import { listBucketlistsForOwner } from '../../../src/modules/bucketlists/bucketlists.repository.js';
import { createTestApp, TEST_DB, type TestContext } from '../../helpers/app.js';

// The indexed searches (?q=) must return exactly what the plain `lower(column) LIKE
// '%term%'` filter returned before the trigram indexes existed, in the same keyset order, on
// each database: random text with mixed case, non-ASCII letters, digits, spaces, LIKE wildcards,
// quotes and FTS5 operators, searched for by substrings of it and by random terms.
//
// "Case-insensitive" is what lower() does on each database, and they differ: SQLite's lower()
// folds ASCII only, PostgreSQL's (UTF-8 locale) folds 'É' to 'é' as well. The model below is
// that rule, per database; it predates the indexes and is kept as it is.

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp();
});
afterAll(async () => ctx.close());

/** lower() of the database under test, per code point (SQLite: ASCII only). */
function dbLower(text: string): string {
  if (TEST_DB === 'sqlite') return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
  return Array.from(text, (c) => {
    const lower = c.toLowerCase();
    return Array.from(lower).length === 1 ? lower : c;
  }).join('');
}

/** Today's semantics, naively: some column contains the lower-cased term. */
function naiveContains(columns: (string | null)[], term: string): boolean {
  const needle = term.toLowerCase();
  return columns.some((column) => column !== null && dbLower(column).includes(needle));
}

// Characters chosen to break a careless implementation: case pairs in and beyond ASCII, letters
// whose case mapping is not 1:1 in every API ('ß'), LIKE wildcards and its escape, FTS5 syntax
// (quotes, *, ^, :, parentheses, +, -) and words that are FTS5 operators.
const CHARS = [...'aAbBeEzZ09 ÉéÖößçÇ%_\\"\'*^:()+-'];
const char = fc.constantFrom(...CHARS);
const WORDS = ['AND', 'OR', 'NOT', 'NEAR', 'near', 'Straße', 'ÉCOLE', 'école', 'title:', 'a*b', '"a*b', '%_'];
const text = fc
  .array(fc.oneof({ weight: 4, arbitrary: char }, { weight: 1, arbitrary: fc.constantFrom(...WORDS) }), { minLength: 1, maxLength: 16 })
  .map((parts) => parts.join(''));

/** A term: a substring of some generated text (maybe with its case flipped), or random characters. */
const termSpec = fc.oneof(
  fc.record({ row: fc.nat(), start: fc.nat(), length: fc.integer({ min: 1, max: 6 }), flip: fc.boolean() }),
  fc.array(char, { minLength: 1, maxLength: 6 }).map((chars) => chars.join('')),
);

type TermSpec = string | { row: number; start: number; length: number; flip: boolean };

function resolveTerm(spec: TermSpec, texts: string[]): string {
  if (typeof spec === 'string') return spec;
  const { row, start, length, flip } = spec;
  const source = Array.from(texts[row % texts.length] ?? 'x');
  const from = start % source.length;
  const piece = source.slice(from, from + length).join('') || 'x';
  return flip ? Array.from(piece, (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('') : piece;
}

let sequence = 0;
/** Unique, increasing ids and timestamps; some rows share a created_at to exercise the id tie-break. */
function nextKey(): { id: string; at: string } {
  sequence += 1;
  const at = new Date(Date.UTC(2025, 0, 1) + Math.floor(sequence / 2) * 1000).toISOString();
  return { id: `01900000-0000-7000-8000-${String(sequence).padStart(12, '0')}`, at };
}

const byKey = (a: { created_at: string; id: string }, b: { created_at: string; id: string }) =>
  a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/** Every page of a search, walked cursor by cursor, as the route would. */
async function walk<R extends { id: string; created_at: string }>(
  page: (cursor: string | null, limit: number) => Promise<R[]>,
  limit: number,
): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let guard = 0; guard < 100; guard++) {
    const rows = await page(cursor, limit);
    const shown = rows.slice(0, limit);
    ids.push(...shown.map((r) => r.id));
    const last = shown.at(-1);
    if (rows.length <= limit || !last) return ids;
    cursor = Buffer.from(JSON.stringify([last.created_at, last.id])).toString('base64url');
  }
  throw new Error('too many pages');
}

const RUNS = 40;

describe(`search = naive lower() contains (${TEST_DB})`, () => {
  it('books: title or author, every page in (created_at, id) order, after inserts, updates and deletes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ title: text, author: text }), { minLength: 1, maxLength: 25 }),
        fc.array(fc.record({ row: fc.nat(), title: text }), { maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 3 }),
        fc.array(termSpec, { minLength: 1, maxLength: 6 }),
        async (books, updates, deletions, termSpecs) => {
          const rows = books.map((book) => {
            const { id, at } = nextKey();
            return { id, title: book.title, author: book.author, created_at: at, updated_at: at };
          });
          await ctx.db.insertInto('books').values(rows).execute();
          try {
            // The triggers must keep the trigram index in step with every kind of change.
            for (const update of updates) {
              const row = rows[update.row % rows.length];
              if (!row) continue;
              row.title = update.title;
              await ctx.db.updateTable('books').set({ title: update.title }).where('id', '=', row.id).execute();
            }
            const deleted = new Set(deletions.map((d) => rows[d % rows.length]?.id));
            if (deleted.size > 0)
              await ctx.db
                .deleteFrom('books')
                .where('id', 'in', [...deleted] as string[])
                .execute();
            const live = rows.filter((r) => !deleted.has(r.id)).sort(byKey);
            const texts = rows.flatMap((r) => [r.title, r.author]);
            for (const spec of termSpecs) {
              const term = resolveTerm(spec, texts);
              const expected = live.filter((r) => naiveContains([r.title, r.author], term)).map((r) => r.id);
              const firstPage = await listBooks(ctx.db, { q: term, limit: 100, cursor: null });
              expect(
                firstPage.map((r) => r.id),
                `q=${JSON.stringify(term)}`,
              ).toEqual(expected);
              const paged = await walk(
                (cursor, limit) => listBooks(ctx.db, { q: term, limit, cursor: decodeCursor(cursor ?? undefined) }),
                2,
              );
              expect(paged, `q=${JSON.stringify(term)}, pages of 2`).toEqual(expected);
            }
          } finally {
            await ctx.db
              .deleteFrom('books')
              .where(
                'id',
                'in',
                rows.map((r) => r.id),
              )
              .execute();
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("bucketlists: name, only the owner's, every page in order", async () => {
    const owner = '01900000-0000-7000-8000-0000000000aa';
    const other = '01900000-0000-7000-8000-0000000000bb';
    const stamp = '2025-01-01T00:00:00.000Z';
    for (const id of [owner, other]) {
      await ctx.db
        .insertInto('users')
        .values({
          id,
          email: `${id}@example.com`,
          name: null,
          password_hash: 'x',
          role: 'user',
          disabled: 0,
          email_verified: 1,
          credential_version: 0,
          mfa_enabled: 0,
          created_at: stamp,
          updated_at: stamp,
        })
        .execute();
    }
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ name: text, mine: fc.boolean() }), { minLength: 1, maxLength: 25 }),
        fc.array(termSpec, { minLength: 1, maxLength: 6 }),
        async (lists, termSpecs) => {
          const rows = lists.map((list) => {
            const { id, at } = nextKey();
            return { id, name: list.name, owner_id: list.mine ? owner : other, created_at: at, updated_at: at };
          });
          await ctx.db.insertInto('bucketlists').values(rows).execute();
          try {
            const mine = rows.filter((r) => r.owner_id === owner).sort(byKey);
            for (const spec of termSpecs) {
              const term = resolveTerm(
                spec,
                rows.map((r) => r.name),
              );
              const expected = mine.filter((r) => naiveContains([r.name], term)).map((r) => r.id);
              const paged = await walk(
                (cursor, limit) => listBucketlistsForOwner(ctx.db, owner, { q: term, limit, cursor: decodeCursor(cursor ?? undefined) }),
                3,
              );
              expect(paged, `q=${JSON.stringify(term)}`).toEqual(expected);
            }
          } finally {
            await ctx.db
              .deleteFrom('bucketlists')
              .where(
                'id',
                'in',
                rows.map((r) => r.id),
              )
              .execute();
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it.each([
    ['"a*b', ['he said "a*b"', 'a*b', 'ab', 'aXb']],
    ['%_', ['100%_sure', '100% sure', '%', 'a_b']],
    ['a AND b', ['a AND b', 'a and b', 'a b', 'b AND a']],
    ['NEAR(', ['NEAR(x y)', 'near(', 'NEAR x']],
    ['title:x', ['title:x', 'title x', 'x']],
    ['^ab', ['^ab', 'ab', 'xab']],
    ['\\', ['back\\slash', 'slash']],
  ])('the term %j is a literal substring, never query syntax', async (term, titles) => {
    const rows = titles.map((title) => ({ ...nextKeyRow(), title, author: 'Someone' }));
    await ctx.db.insertInto('books').values(rows).execute();
    try {
      const found = await listBooks(ctx.db, { q: term, limit: 100, cursor: null });
      expect(found.map((r) => r.title)).toEqual(titles.filter((t) => t.toLowerCase().includes(term.toLowerCase())));
    } finally {
      await ctx.db
        .deleteFrom('books')
        .where(
          'id',
          'in',
          rows.map((r) => r.id),
        )
        .execute();
    }
  });

  it('a term with more trigram candidates than the index path takes (common) gives the same pages as a rare one', async () => {
    // Past SEARCH_CANDIDATE_LIMIT the search walks the ordered index instead: same answer.
    const rows = Array.from({ length: 2100 }, (_, i) => ({
      ...nextKeyRow(),
      title: i % 700 === 0 ? `Rare gem ${i}` : `Common ${i}`,
      author: 'X',
    }));
    for (let i = 0; i < rows.length; i += 500)
      await ctx.db
        .insertInto('books')
        .values(rows.slice(i, i + 500))
        .execute();
    try {
      const common = await listBooks(ctx.db, { q: 'COMMON', limit: 100, cursor: null });
      expect(common.map((r) => r.id)).toEqual(
        rows
          .filter((r) => r.title.startsWith('Common'))
          .slice(0, 101)
          .map((r) => r.id),
      );
      const rare = await listBooks(ctx.db, { q: 'rare GEM', limit: 100, cursor: null });
      expect(rare.map((r) => r.title)).toEqual(['Rare gem 0', 'Rare gem 700', 'Rare gem 1400']);
    } finally {
      for (let i = 0; i < rows.length; i += 500) {
        await ctx.db
          .deleteFrom('books')
          .where(
            'id',
            'in',
            rows.slice(i, i + 500).map((r) => r.id),
          )
          .execute();
      }
    }
  });

  it('a term that walks the index in slices: the same rows across slice ends, page by page, and none when nothing matches', async () => {
    // SQLite reads a walked search in slices of 2000, 4000, … rows (scanInSlices): matches on
    // both sides of the first slice end and in the last row.
    const marked = new Set([0, 1998, 1999, 2000, 2001, 5999]);
    const rows = Array.from({ length: 6000 }, (_, i) => ({
      ...nextKeyRow(),
      title: marked.has(i) ? `Book ${i} zQ` : `Book ${i}`,
      author: 'X',
    }));
    for (let i = 0; i < rows.length; i += 500)
      await ctx.db
        .insertInto('books')
        .values(rows.slice(i, i + 500))
        .execute();
    try {
      const expected = rows.filter((_, i) => marked.has(i)).map((r) => r.id);
      expect((await listBooks(ctx.db, { q: 'Zq', limit: 100, cursor: null })).map((r) => r.id)).toEqual(expected);
      for (const limit of [1, 2, 4]) {
        const paged = await walk(
          (cursor, size) => listBooks(ctx.db, { q: 'zq', limit: size, cursor: decodeCursor(cursor ?? undefined) }),
          limit,
        );
        expect(paged, `pages of ${limit}`).toEqual(expected);
      }
      expect(await listBooks(ctx.db, { q: 'qz', limit: 20, cursor: null })).toEqual([]);
    } finally {
      for (let i = 0; i < rows.length; i += 500) {
        await ctx.db
          .deleteFrom('books')
          .where(
            'id',
            'in',
            rows.slice(i, i + 500).map((r) => r.id),
          )
          .execute();
      }
    }
  });
});

function nextKeyRow() {
  const { id, at } = nextKey();
  return { id, created_at: at, updated_at: at };
}
