// The workflow side of the resource table (shared/resources.ts): a row's activities, called through
// the one proxy module with their presets. Workflows never name a resource's activities themselves.
import { patched } from '@temporalio/workflow';
import type { EnvRef } from '../shared/model.js';
import type { ResourceRow } from '../shared/resources.js';
import { localQuick, long, quick, undo } from './activities.js';

type Call = (input: { ref: EnvRef } & Record<string, unknown>) => Promise<unknown>;

function call(proxy: object, name: string, row: ResourceRow, ref: EnvRef): Promise<unknown> {
  return (proxy as Record<string, Call>)[name]!({ ref, ...row.input });
}

/** The row's create; `localStore`: a `store` row runs as a local activity (runs from ROWS_BY_NEED_PATCH on). */
export function createResource(row: ResourceRow, ref: EnvRef, localStore = false): Promise<unknown> {
  const proxy = row.createPreset === 'long' ? long : row.createPreset === 'store' && localStore ? localQuick : quick;
  return call(proxy, row.create, row, ref);
}

export const seedResource = (row: ResourceRow, ref: EnvRef): Promise<unknown> => (row.seed ? call(long, row.seed, row, ref) : Promise.resolve(undefined));

/** The row's delete as an undo or a destroy step: idempotent, it removes what the ledger holds. */
export const deleteResource = (row: ResourceRow, ref: EnvRef): Promise<unknown> => call(undo, row.delete, row, ref);

/**
 * The rows this run takes: a row added since a workflow started (it has a `patch`) only where
 * `patched(patch)` says the run reached this point on code that has it; a history recorded before
 * the row replays without it. Call it where the rows are first read, before any other command.
 */
export function admitted(rows: readonly ResourceRow[]): ResourceRow[] {
  return rows.filter((r) => !r.patch || patched(r.patch));
}
