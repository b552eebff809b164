// Recorded workflow histories for the replay test. `ENVBOT_RECORD_HISTORIES=1 npm test` writes
// test/fixtures/histories/current/ from the runs the tests make; commit them when a workflow changes
// on purpose. Histories of earlier releases stay in their own folders (v0.1.0/, ...) and are never
// rewritten: workflows started by an older envbot must keep replaying after an upgrade.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { repoRoot } from './settings.js';

export const HISTORIES_DIR = join(repoRoot, 'test', 'fixtures', 'histories');
const CURRENT = join(HISTORIES_DIR, 'current');

/** Every recorded history, as paths relative to HISTORIES_DIR (`v0.1.0/create-projb-qa.json`). */
export function recordedHistories(): string[] {
  return readdirSync(HISTORIES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(join(HISTORIES_DIR, d.name)).filter((f) => f.endsWith('.json')).map((f) => `${d.name}/${f}`))
    .sort();
}

export async function recordHistory(client: Client, workflowId: string, name: string): Promise<void> {
  if (!process.env.ENVBOT_RECORD_HISTORIES) return;
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  mkdirSync(CURRENT, { recursive: true });
  writeFileSync(join(CURRENT, `${name}.json`), `${historyToJSON(history)}\n`);
}
