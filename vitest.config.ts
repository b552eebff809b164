import { defineConfig } from 'vitest/config';

// `npm test` runs scripts/services up first; test/support/settings.ts reads .envbot/services.env.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'shared/**/*.test.ts', 'bot/**/*.test.ts', 'workflows/**/*.test.ts', 'activities/**/*.test.ts', 'scripts/**/*.test.ts'],
    pool: 'forks',
    // Test files share one set of real servers (one Redis, one Temporal, one API server): run
    // them one after another so no file flushes or counts what another is using.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    setupFiles: ['test/support/setup.ts'],
  },
});
