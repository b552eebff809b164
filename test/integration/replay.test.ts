// Replay: every recorded workflow history runs against the current workflow code. A change that
// would break running workflows (non-determinism) fails here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH } from '../../bot/worker.js';
import { HISTORIES_DIR, recordedHistories } from '../support/histories.js';

const files = recordedHistories();

describe('workflow replay', () => {
  it('has a recorded history of every workflow, from this release and the one before', () => {
    const releases = new Set(files.map((f) => f.split('/')[0]));
    expect(releases).toContain('v0.1.0');
    expect(releases).toContain('current');
    const types = new Set(
      files.filter((f) => f.startsWith('current/')).map((f) => {
        const h = JSON.parse(readFileSync(join(HISTORIES_DIR, f), 'utf8')) as { events: { workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }[] };
        return h.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
      }),
    );
    expect([...types].sort()).toEqual(['createEnvironment', 'destroyEnvironment', 'environmentLifecycle', 'resetDatabases', 'storageCopy', 'storageRefresh']);
  });

  it.each(files)('replays %s against the current code', async (file) => {
    const history = JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8'));
    await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, history, file);
  });
});
