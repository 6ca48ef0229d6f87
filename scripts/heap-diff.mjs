#!/usr/bin/env node
// Compares two V8 heap snapshots (.heapsnapshot, as written by `npm run soak -- --heap-snapshots
// DIR`, by --heapsnapshot-signal, or by Chrome DevTools) by what the heap holds: objects grouped
// by constructor (strings, arrays, closures and code by their kind), with counts and self sizes,
// largest growth first. A leak shows as a group that grows between two snapshots taken at the
// same point of a steady load; a bounded cache shows as a group that stops growing.
//
//   node scripts/heap-diff.mjs BEFORE.heapsnapshot AFTER.heapsnapshot [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: opts, positionals } = parseArgs({
  options: { top: { type: 'string', default: '25' } },
  allowPositionals: true,
  strict: true,
});
if (positionals.length !== 2) {
  process.stderr.write('usage: node scripts/heap-diff.mjs BEFORE.heapsnapshot AFTER.heapsnapshot [--top 25]\n');
  process.exit(2);
}
const top = Number(opts.top);

/** Map of group name → {count, bytes} for one snapshot file. */
function groups(file) {
  const { snapshot, nodes, strings } = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snapshot.meta.node_fields;
  const types = snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const result = new Map();
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    // Objects are told apart by constructor; for the other kinds the name is the content (a
    // string's text, a closure's function name), which would make every node its own group.
    const name = type === 'object' || type === 'native' ? strings[nodes[i + nameAt]] : `(${type})`;
    const entry = result.get(name) ?? { count: 0, bytes: 0 };
    entry.count += 1;
    entry.bytes += nodes[i + sizeAt];
    result.set(name, entry);
  }
  return result;
}

const before = groups(positionals[0]);
const after = groups(positionals[1]);
const total = (map) =>
  [...map.values()].reduce((sum, g) => ({ count: sum.count + g.count, bytes: sum.bytes + g.bytes }), { count: 0, bytes: 0 });
const rows = [...new Set([...before.keys(), ...after.keys()])].map((name) => {
  const a = before.get(name) ?? { count: 0, bytes: 0 };
  const b = after.get(name) ?? { count: 0, bytes: 0 };
  return { name, count: b.count, countDelta: b.count - a.count, kb: b.bytes / 1024, kbDelta: (b.bytes - a.bytes) / 1024 };
});
rows.sort((x, y) => y.kbDelta - x.kbDelta);
const [t0, t1] = [total(before), total(after)];
process.stdout.write(
  `heap: ${(t0.bytes / 2 ** 20).toFixed(1)} → ${(t1.bytes / 2 ** 20).toFixed(1)} MB, ${t0.count} → ${t1.count} objects\n` +
    `${'group'.padEnd(40)} ${'count'.padStart(9)} ${'Δcount'.padStart(9)} ${'KB'.padStart(9)} ${'ΔKB'.padStart(9)}\n`,
);
for (const r of [...rows.slice(0, top), ...rows.slice(-5).filter((r) => r.kbDelta < 0)]) {
  process.stdout.write(
    `${r.name.slice(0, 40).padEnd(40)} ${String(r.count).padStart(9)} ${String(r.countDelta).padStart(9)} ` +
      `${r.kb.toFixed(0).padStart(9)} ${r.kbDelta.toFixed(0).padStart(9)}\n`,
  );
}
