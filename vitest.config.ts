import { defineConfig } from 'vitest/config';

// `npm test` runs scripts/services up first; test/support/settings.ts reads .envbot/services.env.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'shared/**/*.test.ts', 'bot/**/*.test.ts', 'workflows/**/*.test.ts', 'activities/**/*.test.ts', 'scripts/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    setupFiles: ['test/support/setup.ts'],
  },
});
