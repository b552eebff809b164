// ESLint: typescript-eslint's recommended rules, plus the rule that keeps workflows/ deterministic:
// workflow code may import only @temporalio/workflow, pure shared modules and activity *types*.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.envbot/', 'coverage/', 'examples/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    ignores: ['workflows/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'Workflows run in a deterministic sandbox: no Node built-ins. Do I/O in an activity.',
          })),
          patterns: [
            {
              group: ['pg', 'pg-*', 'mysql2', 'mysql2/*', 'mongodb', 'ioredis', '@kubernetes/*', '@aws-sdk/*', '@slack/*', 'botbuilder*', 'pino*', 'express', 'handlebars', 'yaml', 'prom-client'],
              message: 'Workflows may not use drivers, SDK clients or loggers: call an activity (and use the workflow logger).',
            },
            {
              group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/testing'],
              message: 'Workflow code imports only @temporalio/workflow (and @temporalio/common).',
            },
            {
              group: ['**/activities/**', '**/activities'],
              allowTypeImports: true,
              message: 'Import activity types only (import type), and call activities through workflows/activities.ts.',
            },
            {
              // Every shared module that does I/O or reads the process (test/unit/workflow-lint.test.ts
              // finds them all and checks each is refused here).
              group: ['**/shared/store/**', '**/shared/settings*', '**/shared/catalogue/load*', '**/shared/clients/**', '**/shared/logger*', '**/shared/paths*', '**/shared/metrics*'],
              message: 'Only pure shared modules (names, errors, models) belong in workflow code.',
            },
          ],
        },
      ],
    },
  },
);
