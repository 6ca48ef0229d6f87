import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadStaticAssets } from '../../src/lib/page-shell.js';

// loadStaticAssets serves the pages' ES modules under content-hashed names and rewrites their
// imports to those names; anything that could make a page load code from elsewhere stops it.

let dir: string;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Writes the files into a new folder and returns their URLs by name. */
function files(contents: Record<string, string>): (name: string) => URL {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-assets-'));
  for (const [name, text] of Object.entries(contents)) writeFileSync(join(dir, name), text);
  return (name) => pathToFileURL(join(dir, name));
}

const text = (assets: ReturnType<typeof loadStaticAssets>, file: string) =>
  assets.assets.get(assets.nameOf(file))?.body.toString('utf8') ?? '';

describe('loadStaticAssets', () => {
  it('rewrites each import to the hashed name of the module beside it, and lists what an entry imports', () => {
    const url = files({
      'page.js': "import { a } from './shared.js';\nimport './side.js';\nexport * from './shared.js';\nconsole.log(a);\n",
      'shared.js': "import { b } from './leaf.js';\nexport const a = b;\n",
      'leaf.js': 'export const b = 1;\n',
      'side.js': 'export {};\n',
    });
    const assets = loadStaticAssets([url('page.js')]);
    for (const file of ['page.js', 'shared.js', 'leaf.js', 'side.js']) {
      expect(assets.nameOf(file)).toMatch(new RegExp(`^${file.slice(0, -3)}\\.[\\w-]{12}\\.js$`));
    }
    expect(text(assets, 'page.js')).toBe(
      `import { a } from './${assets.nameOf('shared.js')}';\nimport './${assets.nameOf('side.js')}';\n` +
        `export * from './${assets.nameOf('shared.js')}';\nconsole.log(a);\n`,
    );
    expect(text(assets, 'shared.js')).toBe(`import { b } from './${assets.nameOf('leaf.js')}';\nexport const a = b;\n`);
    expect(assets.importsOf('page.js').sort()).toEqual(['leaf.js', 'shared.js', 'side.js'].map(assets.nameOf).sort());
    expect(assets.importsOf('leaf.js')).toEqual([]);
    expect(assets.assets.get(assets.nameOf('page.js'))?.contentType).toBe('text/javascript; charset=utf-8');
    // Only the hashed names are served.
    expect([...assets.assets.keys()].sort()).toEqual(['leaf.js', 'page.js', 'shared.js', 'side.js'].map(assets.nameOf).sort());
  });

  it('a change in an imported module renames every module that imports it, and no other', () => {
    const load = (value: number) => {
      const url = files({ 'page.js': "import './shared.js';\n", 'shared.js': `export const a = ${value};\n`, 'other.js': 'export {};\n' });
      const assets = loadStaticAssets([url('page.js'), url('other.js')]);
      rmSync(dir, { recursive: true, force: true });
      return assets;
    };
    const before = load(1);
    const after = load(2);
    expect(after.nameOf('shared.js')).not.toBe(before.nameOf('shared.js'));
    expect(after.nameOf('page.js')).not.toBe(before.nameOf('page.js'));
    expect(after.nameOf('other.js')).toBe(before.nameOf('other.js'));
  });

  it.each([
    ['a bare specifier', "import { x } from 'some-package';\n", /imports some-package/],
    ['another origin', "import 'https://cdn.example/x.js';\n", /imports https:\/\/cdn\.example\/x\.js/],
    ['a parent folder', "import '../x.js';\n", /imports \.\.\/x\.js/],
    ['a dynamic import', "const m = await import('./leaf.js');\n", /dynamic import/],
  ])('refuses to start with %s', (_case, source, message) => {
    const url = files({ 'page.js': source, 'leaf.js': 'export {};\n' });
    expect(() => loadStaticAssets([url('page.js')])).toThrow(message);
  });

  it('refuses modules that import each other in a cycle', () => {
    const url = files({ 'a.js': "import './b.js';\n", 'b.js': "import './a.js';\n" });
    expect(() => loadStaticAssets([url('a.js')])).toThrow(/cycle/);
  });

  it('says how to build the page scripts when one is missing', () => {
    const url = files({ 'page.js': "import './missing.js';\n" });
    expect(() => loadStaticAssets([url('page.js')])).toThrow(
      /missing\.js cannot be read \(the page scripts are compiled from src\/pages: run npm run build\)/,
    );
  });

  it('serves a stylesheet as it is', () => {
    const url = files({ 'site.css': 'body { color: black; }\n' });
    const assets = loadStaticAssets([url('site.css')]);
    expect(assets.nameOf('site.css')).toMatch(/^site\.[\w-]{12}\.css$/);
    expect(text(assets, 'site.css')).toBe('body { color: black; }\n');
    expect(assets.assets.get(assets.nameOf('site.css'))?.contentType).toBe('text/css; charset=utf-8');
  });
});
