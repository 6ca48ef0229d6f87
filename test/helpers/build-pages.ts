import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

// vitest globalSetup: the pages' scripts are TypeScript in src/pages, compiled to dist/pages by
// `npm run build` (tsconfig.pages.json); the server reads them from there even when the tests run
// it from src/. They are compiled again here whenever a source is newer than its output, so a
// plain `npx vitest run` never serves scripts older than the sources beside the test.

const ROOT = join(import.meta.dirname, '..', '..');
const SOURCES = join(ROOT, 'src', 'pages');
const OUTPUT = join(ROOT, 'dist', 'pages');
const CONFIG = join(ROOT, 'tsconfig.pages.json');

function stale(): boolean {
  const configTime = statSync(CONFIG).mtimeMs;
  for (const file of readdirSync(SOURCES).filter((name) => name.endsWith('.ts'))) {
    const output = join(OUTPUT, file.replace(/\.ts$/, '.js'));
    if (!existsSync(output)) return true;
    const built = statSync(output).mtimeMs;
    if (built < statSync(join(SOURCES, file)).mtimeMs || built < configTime) return true;
  }
  return false;
}

export default function buildPages(): void {
  if (!stale()) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  // noEmitOnError: a type error in a page script fails the run here instead of serving old code.
  const build = spawnSync(process.execPath, [tsc, '-p', CONFIG], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0)
    throw new Error(`compiling the page scripts failed (tsc -p tsconfig.pages.json):\n${build.stdout}${build.stderr}`);
}
