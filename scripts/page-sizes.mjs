#!/usr/bin/env node
// `npm run page-sizes`: what each page makes a browser download, as the server sends it (the
// stylesheet, and the built modules with their imports rewritten to hashed names, see
// loadStaticAssets), in bytes and gzipped. Reads dist/: run `npm run build` first. The README's
// table comes from here.
import { gzipSync } from 'node:zlib';
import { loadStaticAssets } from '../dist/lib/page-shell.js';

const pages = { '/verify-email, /reset-password': 'mail-links.js', '/account': 'account.js', '/admin': 'admin-console.js' };
const dir = new URL('../dist/pages/', import.meta.url);
const stylesheet = new URL('../resources/account-pages/account-pages.css', import.meta.url);
const { nameOf, importsOf, assets } = loadStaticAssets([stylesheet, ...Object.values(pages).map((entry) => new URL(entry, dir))]);

const sizeOf = (name) => {
  const body = assets.get(name)?.body ?? Buffer.alloc(0);
  return { bytes: body.length, gzip: gzipSync(body, { level: 9 }).length };
};
const row = (label, size) => `| ${label} | ${size.bytes.toLocaleString('en')} | ${size.gzip.toLocaleString('en')} |`;

console.log('| module | bytes | gzip |\n|---|---:|---:|');
for (const name of [...assets.keys()].sort()) console.log(row(`\`${name.replace(/\.[\w-]{12}(\.\w+)$/, '$1')}\``, sizeOf(name)));
console.log('\n| page | scripts it loads | bytes | gzip |\n|---|---|---:|---:|');
for (const [page, entry] of Object.entries(pages)) {
  const names = [nameOf(entry), ...importsOf(entry)];
  const total = names
    .map(sizeOf)
    .reduce((sum, size) => ({ bytes: sum.bytes + size.bytes, gzip: sum.gzip + size.gzip }), { bytes: 0, gzip: 0 });
  console.log(`| ${page} | ${names.length} | ${total.bytes.toLocaleString('en')} | ${total.gzip.toLocaleString('en')} |`);
}
