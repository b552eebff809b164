// Which storage volumes of an environment a copy from S3 may re-run, from its record and the
// catalogue, or why none may. Pure: the core uses it before starting a copy, and so can anything
// else that starts one (EnvbotCore.copyStorage).
import type { Catalogue } from '../../shared/catalogue/schema.js';
import type { VolumeCopy } from '../../shared/chat.js';
import { ConflictError, NotFoundError } from '../../shared/errors.js';
import type { EnvironmentRecord } from '../../shared/store/store.js';

/** The volumes the environment was built with (its recorded plan), in the catalogue's order. */
export function volumesOf(record: Pick<EnvironmentRecord, 'spec'>): string[] {
  const plan = record.spec?.plan as { storage?: unknown } | undefined;
  return Array.isArray(plan?.storage) ? plan.storage.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * The copies to start for `volumes` (all of the environment's when absent), each as the message first
 * shows it; refuses an environment that is not ready, one without volumes, and a volume it does not have.
 */
export function volumesToCopy(record: Pick<EnvironmentRecord, 'name' | 'project' | 'state' | 'spec'>, catalogue: Catalogue, volumes?: string[]): VolumeCopy[] {
  const has = volumesOf(record);
  if (!has.length) throw new ConflictError(`${record.name} has no storage volumes: there is nothing to refresh.`);
  if (record.state !== 'ready') throw new ConflictError(`${record.name} is ${record.state}; its storage can be refreshed when it is ready.`);
  const wanted = volumes?.length ? [...new Set(volumes)] : has;
  const unknown = wanted.filter((v) => !has.includes(v));
  if (unknown.length) {
    throw new NotFoundError(`${record.name} has no volume ${unknown.map((v) => `"${v}"`).join(', ')}. Its volumes: ${has.join(', ')}.`);
  }
  const project = Object.hasOwn(catalogue.projects, record.project) ? catalogue.projects[record.project] : undefined;
  return wanted.map((volume) => {
    const source = project?.storage[volume]?.source.raw;
    return { volume, ...(source ? { source } : {}), state: 'copying' as const };
  });
}
