// Recorded workflow histories for the replay test. `ENVBOT_RECORD_HISTORIES=1 npm test` rewrites
// test/fixtures/histories/ from the runs the tests make; commit them when a workflow changes on purpose.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { repoRoot } from './settings.js';

export const HISTORIES_DIR = join(repoRoot, 'test', 'fixtures', 'histories');

export async function recordHistory(client: Client, workflowId: string, name: string): Promise<void> {
  if (!process.env.ENVBOT_RECORD_HISTORIES) return;
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  writeFileSync(join(HISTORIES_DIR, `${name}.json`), `${historyToJSON(history)}\n`);
}
