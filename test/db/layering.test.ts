import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// The data layer is shared by every feature, and by apps that build on Gatehouse (their own
// repositories take the same Kysely instance): it must not depend on any feature.
const SRC = join(import.meta.dirname, '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

describe('src/db', () => {
  it('imports nothing from src/modules or src/plugins', () => {
    const offending = sourceFiles(join(SRC, 'db')).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/from '([^']+)'/g)]
        .map((m) => m[1] ?? '')
        .filter((specifier) => /(^|\/)(modules|plugins)\//.test(specifier))
        .map((specifier) => `${relative(SRC, file)} → ${specifier}`),
    );
    expect(offending).toEqual([]);
  });
});
