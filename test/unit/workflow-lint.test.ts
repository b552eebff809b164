// The ESLint rule that keeps workflows/ deterministic really fires (and lets allowed imports through).
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/settings.js';

const eslint = new ESLint({ cwd: repoRoot });
const workflowFile = join(repoRoot, 'workflows', 'lint-probe.ts');

async function problems(code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: workflowFile });
  return (result?.messages ?? []).filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports').map((m) => m.message);
}

describe('workflow sandbox lint rule', () => {
  it.each([
    ["import { readFileSync } from 'node:fs';", /no Node built-ins/],
    ["import { createHash } from 'crypto';", /no Node built-ins/],
    ["import pg from 'pg';", /drivers, SDK clients or loggers/],
    ["import { Route53Client } from '@aws-sdk/client-route-53';", /drivers, SDK clients or loggers/],
    ["import { Client } from '@temporalio/client';", /only @temporalio\/workflow/],
    ["import { createActivities } from '../activities/index.js';", /Import activity types only/],
    ["import { Store } from '../shared/store/store.js';", /Only pure shared modules/],
  ])('refuses %s', async (code, message) => {
    const found = await problems(`${code}\nexport const x = 1;\n`);
    expect(found.join('\n')).toMatch(message);
  });

  it('allows @temporalio/workflow, pure shared modules and activity types', async () => {
    const code = [
      "import { proxyActivities } from '@temporalio/workflow';",
      "import type { Activities } from '../activities/index.js';",
      "import { namesFor } from '../shared/names.js';",
      'export const x = [proxyActivities, namesFor] as unknown as Activities;',
    ].join('\n');
    expect(await problems(code)).toEqual([]);
  });

  // A shared module is impure when it imports a Node built-in, a driver or SDK client, a logger, or
  // another impure shared module. Each one must be refused in workflow code.
  const DRIVERS = /^(pg|pg-copy-streams|mysql2|mongodb|ioredis|@kubernetes\/|@aws-sdk\/|@slack\/|botbuilder|pino|express|yaml|prom-client|handlebars)/;
  const sharedDir = join(repoRoot, 'shared');
  const modules = readdirSync(sharedDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => join(sharedDir, f));
  const importsOf = (file: string) => [...readFileSync(file, 'utf8').matchAll(/^import\s+(type\s+)?[^'"]*['"]([^'"]+)['"]/gm)].filter((m) => !m[1]).map((m) => m[2]!);
  const impure = new Set<string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const file of modules) {
      if (impure.has(file)) continue;
      const bad = importsOf(file).some((spec) => {
        if (builtinModules.includes(spec.replace(/^node:/, '')) || DRIVERS.test(spec)) return true;
        return spec.startsWith('.') && impure.has(join(file, '..', spec).replace(/\.js$/, '.ts'));
      });
      if (bad) {
        impure.add(file);
        changed = true;
      }
    }
  }

  it('finds the impure shared modules (the check below is not empty)', () => {
    expect([...impure].map((f) => relative(repoRoot, f)).sort()).toEqual(expect.arrayContaining(['shared/clients/aws.ts', 'shared/logger.ts', 'shared/paths.ts', 'shared/store/store.ts']));
  });

  it.each([...impure].map((f) => relative(repoRoot, f)).sort())('refuses the impure shared module %s in workflow code', async (file) => {
    const spec = `../${file.replace(/\.ts$/, '.js')}`;
    expect((await problems(`import * as m from '${spec}';\nexport const x = m;\n`)).join('\n')).toMatch(/Only pure shared modules/);
  });
});
