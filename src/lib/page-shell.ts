import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';

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

/**
 * Reads the files once at start-up and names each `<name>.<hash>.<ext>`. A new release
 * changes the hash, so a browser never pairs a new page with a cached old script.
 */
export function loadStaticAssets(
  dir: URL,
  files: readonly string[],
): { nameOf: (file: string) => string; assets: Map<string, StaticAsset> } {
  const assets = new Map<string, StaticAsset>();
  const names = new Map<string, string>();
  for (const file of files) {
    const ext = extname(file);
    const contentType = CONTENT_TYPES[ext];
    if (!contentType) throw new Error(`no content type for page asset ${file}`);
    const body = readFileSync(new URL(file, dir));
    const hash = createHash('sha256').update(body).digest('base64url').slice(0, 12);
    const name = `${file.slice(0, -ext.length)}.${hash}${ext}`;
    assets.set(name, { body, contentType });
    names.set(file, name);
  }
  return {
    nameOf(file) {
      const name = names.get(file);
      if (!name) throw new Error(`page asset ${file} was not loaded`);
      return name;
    },
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
<script type="module" src="${page.script}"></script>
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
