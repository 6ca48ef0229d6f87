import { createRequire } from 'node:module';

// Drivers and clients that only some deployments use are loaded on first use: each costs 15-25 MB
// of resident memory, and a SQLite server without Redis or SMTP never needs them.
const requireOptional = createRequire(import.meta.url);

/** Loads a CommonJS dependency when first needed (pg, ioredis, nodemailer). */
export function loadOptional<T>(name: string): T {
  return requireOptional(name) as T;
}
