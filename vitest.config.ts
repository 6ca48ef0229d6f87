import { defineConfig } from 'vitest/config';

// scripts/run-tests.mjs probes PostgreSQL and Redis and lists the reachable ones here.
const services = new Set((process.env.GATEHOUSE_TEST_SERVICES ?? '').split(',').filter(Boolean));

// Route and repository tests that must behave the same on both databases.
const BOTH_DATABASES = [
  'test/modules/**/*.test.ts',
  'test/plugins/**/*.test.ts',
  'test/attacks/**/*.test.ts',
  // Each database's own EXPLAIN: every request path is answered from an index on both.
  'test/db/query-plans.test.ts',
];

const common = {
  // Argon2 at OWASP cost is deliberately slow; give HTTP tests room on a 2-core machine.
  testTimeout: 30_000,
  hookTimeout: 30_000,
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    // The pages' scripts are compiled from src/pages before any test serves them.
    globalSetup: ['test/helpers/build-pages.ts'],
    projects: [
      {
        test: {
          ...common,
          name: 'sqlite',
          include: ['test/**/*.test.ts'],
          exclude: ['test/postgres/**', 'test/redis/**', 'test/multi-instance/**'],
          env: { GATEHOUSE_TEST_DB: 'sqlite' },
        },
      },
      ...(services.has('postgres')
        ? [
            {
              test: {
                ...common,
                name: 'postgres',
                include: [...BOTH_DATABASES, 'test/postgres/**/*.test.ts'],
                env: { GATEHOUSE_TEST_DB: 'postgres' },
              },
            },
          ]
        : []),
      ...(services.has('redis')
        ? [{ test: { ...common, name: 'redis', include: ['test/redis/**/*.test.ts'], env: { GATEHOUSE_TEST_DB: 'sqlite' } } }]
        : []),
      ...(services.has('postgres') && services.has('redis')
        ? [
            {
              test: {
                ...common,
                name: 'multi-instance',
                include: ['test/multi-instance/**/*.test.ts'],
                env: { GATEHOUSE_TEST_DB: 'postgres' },
              },
            },
          ]
        : []),
    ],
  },
});
