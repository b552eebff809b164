// Reads that need only the store and the catalogue, never the engine: listing environments and
// finding the one a command names. The CLI's `list` and `status` answer through these without
// loading the Temporal client at all (issue 14: a CLI that answers at once).
import type { Catalogue } from '../../shared/catalogue/schema.js';
import { NotFoundError } from '../../shared/errors.js';
import { parseEnvironmentName } from '../../shared/names.js';
import type { EnvironmentRecord, Store } from '../../shared/store/store.js';

/** States in which an operation's workflow runs on the environment and can be asked for progress. */
const BUSY: EnvironmentRecord['state'][] = ['creating', 'resetting', 'destroying'];

export function isBusy(record: EnvironmentRecord): boolean {
  return BUSY.includes(record.state) && !!record.workflowId;
}

export function listEnvironments(store: Store, catalogue: Catalogue, project?: string): Promise<EnvironmentRecord[]> {
  if (project && !catalogue.projects[project]) {
    throw new NotFoundError(`There is no project "${project}". Projects: ${Object.keys(catalogue.projects).join(', ')}.`);
  }
  return store.listEnvironments(project);
}

/** The live environment `text` names, by its full name or as `<project> <stage> [suffix]` would make it. */
export async function findEnvironment(store: Store, catalogue: Catalogue, text: string): Promise<EnvironmentRecord> {
  const typed = text.trim().toLowerCase();
  const stored = await store.getEnvironment(typed);
  const record = stored ?? (await store.getEnvironment(parseEnvironmentName(typed, Object.keys(catalogue.projects), catalogue.stages).name));
  if (!record || record.state === 'destroyed') throw new NotFoundError(`${record?.name ?? typed} does not exist; "list" shows the environments there are.`);
  return record;
}
