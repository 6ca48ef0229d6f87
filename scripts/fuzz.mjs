#!/usr/bin/env node
// `npm run fuzz -- --runs N [--seed S]`: the OpenAPI-driven fuzzing suite (test/fuzz/) with N runs
// per operation instead of the bounded CI default, printing the answers seen per operation.
// Without --seed a random one is chosen and printed, so a long run explores new inputs and any
// failure can be replayed with the same --seed (fast-check also prints the seed and path).
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '1000' }, seed: { type: 'string' } },
  allowPositionals: false,
});
const runs = Number(values.runs);
const seed = values.seed === undefined ? randomInt(2 ** 31) : Number(values.seed);
if (!Number.isSafeInteger(runs) || runs < 1 || !Number.isSafeInteger(seed)) {
  console.error('usage: npm run fuzz -- [--runs N] [--seed S]   (N ≥ 1, integers)');
  process.exit(2);
}

console.log(`fuzz: ${runs} runs per operation, seed ${seed}`);
const started = Date.now();
const result = spawnSync('npx', ['vitest', 'run', 'test/fuzz', '--reporter=default'], {
  stdio: 'inherit',
  env: { ...process.env, FUZZ_RUNS: String(runs), FUZZ_SEED: String(seed), FUZZ_REPORT: '1' },
});
console.log(`fuzz: finished in ${((Date.now() - started) / 1000).toFixed(1)} s (seed ${seed})`);
process.exit(result.status ?? 1);
