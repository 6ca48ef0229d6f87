import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The policy of every page Gatehouse serves (account pages now, an account or admin console
 * later): its own script and stylesheet only, nothing inline, no other origin, no framing, and
 * fetch() only back to this origin. Trusted Types forbid string-to-DOM sinks (innerHTML), so
 * a page can only build its DOM through textContent and createElement. The one exception is a
 * single named policy, `gatehouse-qr-svg`: the account page parses the server's TOTP QR code
 * (SVG) with DOMParser, a Trusted Types sink, and keeps it only if every element and attribute is
 * on an allow-list. Naming it means no other policy can be created, by any script.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "require-trusted-types-for 'script'",
  'trusted-types gatehouse-qr-svg',
].join('; ');

/**
 * The headers of a page answer; they replace the API's (security plugin) for that answer only.
 * Pages carry one-time tokens in their address: no-referrer keeps the address from leaking to
 * any other site, no-store and noindex keep it out of caches and search engines.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': PAGE_CSP,
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'x-robots-tag': 'noindex, nofollow',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Markup that is already safe: the result of `html`, never a string from outside. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

function toHtml(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(toHtml).join('');
  return escapeHtml(String(value));
}

/** Tagged template: every interpolated value is escaped, except nested `html` results (and arrays of them). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += toHtml(value) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

/** A file served to pages under a name that carries its content hash, so it can be cached for good. */
export interface StaticAsset {
  readonly body: Buffer;
  readonly contentType: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

// The static imports tsc writes for the page modules (src/pages, compiled as ES2022 modules):
// `import { a } from './b.js';`, `export * from './b.js';`, `import './b.js';`, at a line's start.
const STATIC_IMPORT = /^((?:import|export)\s(?:[^'";]*?\sfrom\s*)?)(['"])([^'"\n]*)\2/gm;
const DYNAMIC_IMPORT = /\bimport\s*\(/;
const SIBLING_MODULE = /^\.\/[\w.-]+\.js$/;

/** What loadStaticAssets gives: hashed names, the files under them, and each module's imports. */
export interface StaticAssets {
  /** The hashed name a file is served under (`admin-console.js` → `admin-console.<hash>.js`). */
  nameOf(file: string): string;
  /** The hashed names of every module `file` imports, directly or not (for modulepreload links). */
  importsOf(file: string): string[];
  assets: Map<string, StaticAsset>;
}

/**
 * Reads the files once at start-up and names each `<name>.<hash>.<ext>`. A new release
 * changes the hash, so a browser never pairs a new page with a cached old script.
 *
 * The page scripts are ES modules that import each other (`./api-client.js`). Each import is
 * rewritten to the hashed name of the module it names, and a module is hashed after that
 * rewrite, so a change in a shared module changes the name of every module that imports it too.
 * Anything else (a bare or outside specifier, a dynamic import, a cycle) stops the start-up: the
 * pages must never load code from elsewhere, and a half-rewritten graph would mix releases.
 * Imported modules are read from beside their importer, so `files` names only the entries.
 */
export function loadStaticAssets(files: readonly URL[]): StaticAssets {
  const sources = new Map<string, { url: URL; text: Buffer }>();
  const read = (url: URL): string => {
    const file = basename(url.pathname);
    const known = sources.get(file);
    if (known) {
      if (known.url.href !== url.href) throw new Error(`two page assets are named ${file}`);
      return file;
    }
    let text: Buffer;
    try {
      text = readFileSync(url);
    } catch (error) {
      const hint = extname(file) === '.js' ? ' (the page scripts are compiled from src/pages: run npm run build)' : '';
      throw new Error(`page asset ${fileURLToPath(url)} cannot be read${hint}`, { cause: error });
    }
    sources.set(file, { url, text });
    return file;
  };

  const assets = new Map<string, StaticAsset>();
  const names = new Map<string, string>();
  const imports = new Map<string, Set<string>>();
  const loading = new Set<string>();

  const load = (file: string): string => {
    const done = names.get(file);
    if (done) return done;
    if (loading.has(file)) throw new Error(`page modules import each other in a cycle through ${file}`);
    const source = sources.get(file);
    if (!source) throw new Error(`page asset ${file} was not loaded`);
    const ext = extname(file);
    const contentType = CONTENT_TYPES[ext];
    if (!contentType) throw new Error(`no content type for page asset ${file}`);
    loading.add(file);
    let body = source.text;
    const deps = new Set<string>();
    if (ext === '.js') {
      const text = body.toString('utf8');
      if (DYNAMIC_IMPORT.test(text)) throw new Error(`page module ${file} has a dynamic import`);
      const rewritten = text.replace(STATIC_IMPORT, (_match, head: string, quote: string, specifier: string) => {
        if (!SIBLING_MODULE.test(specifier)) throw new Error(`page module ${file} imports ${specifier}: only ./<module>.js beside it`);
        const target = read(new URL(specifier, source.url));
        const hashed = load(target);
        deps.add(target);
        for (const inner of imports.get(target) ?? []) deps.add(inner);
        return `${head}${quote}./${hashed}${quote}`;
      });
      body = Buffer.from(rewritten, 'utf8');
    }
    const hash = createHash('sha256').update(body).digest('base64url').slice(0, 12);
    const name = `${file.slice(0, -ext.length)}.${hash}${ext}`;
    assets.set(name, { body, contentType });
    names.set(file, name);
    imports.set(file, deps);
    loading.delete(file);
    return name;
  };
  for (const url of files) load(read(url));

  const nameOf = (file: string): string => {
    const name = names.get(file);
    if (!name) throw new Error(`page asset ${file} was not loaded`);
    return name;
  };
  return {
    nameOf,
    importsOf: (file) => [...(imports.get(file) ?? [])].map(nameOf),
    assets,
  };
}

export interface PageInput {
  /** The document title (the tab), also the page's first heading. */
  title: string;
  /** Names the page for the script (`<body data-page>`), which wires up only that page's controls. */
  id: string;
  /** The content of `<main>`, after the heading. */
  main: SafeHtml;
  /** URLs of the stylesheet and the ES module, relative to the page. */
  stylesheet: string;
  script: string;
  /** URLs of the modules the script imports, fetched at once instead of after it is parsed. */
  modules?: readonly string[];
}

/**
 * The shell every page shares. Asset URLs are relative, so the pages keep working when a proxy
 * serves Gatehouse under a path prefix (PUBLIC_URL https://example.com/auth). The script is
 * a module: deferred by default, it runs once the DOM below is parsed.
 */
export function renderPage(page: PageInput): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${page.title} · Gatehouse</title>
<link rel="stylesheet" href="${page.stylesheet}">
${(page.modules ?? []).map((module) => html`<link rel="modulepreload" href="${module}">\n`)}<script type="module" src="${page.script}"></script>
</head>
<body data-page="${page.id}">
<main>
<p class="brand">Gatehouse</p>
<h1>${page.title}</h1>
<noscript><p class="message error">This page needs JavaScript to send your answer to Gatehouse. Turn it on and reload the page.</p></noscript>
${page.main}
</main>
</body>
</html>
`.value;
}
