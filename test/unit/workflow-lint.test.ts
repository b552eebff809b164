// The ESLint rule that keeps workflows/ deterministic really fires (and lets allowed imports through).
import { join } from 'node:path';
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
});
