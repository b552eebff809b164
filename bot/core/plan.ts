// What an environment of a project is made of, from the catalogue: the input the workflows need.
import type { Catalogue } from '../../shared/catalogue/schema.js';
import { NotFoundError, InvalidNameError } from '../../shared/errors.js';
import type { EnvironmentPlan } from '../../shared/resources.js';

export function planFor(catalogue: Catalogue, project: string, stage: string, ttl?: string): EnvironmentPlan {
  const p = catalogue.projects[project];
  if (!p) {
    throw new NotFoundError(`There is no project "${project}". Projects: ${Object.keys(catalogue.projects).join(', ')}.`);
  }
  const stages = p.stages ?? catalogue.stages;
  if (!stages.includes(stage)) {
    throw new InvalidNameError(`Project ${project} has no stage "${stage}". Its stages: ${stages.join(', ')}.`);
  }
  const engines = new Set(Object.values(p.databases).map((d) => d.engine));
  const seededEngines = new Set(Object.values(p.databases).filter((d) => d.seed).map((d) => d.engine));
  const effectiveTtl = ttl ?? p.ttl ?? catalogue.defaults.ttl;
  const remote = [...Object.values(p.services).map((s) => s.template), ...Object.values(p.databases).map((d) => d.seed), p.redis?.seed].some((l) => l && l.kind !== 'disk');
  return {
    mongo: engines.has('mongo'),
    mysql: engines.has('mysql'),
    postgres: engines.has('postgres'),
    redis: p.redis !== undefined,
    ...(Object.keys(p.storage).length ? { storage: Object.keys(p.storage) } : {}),
    ...(remote ? { sources: true } : {}),
    ...(catalogue.loadBalancer ? { loadBalancer: true } : {}),
    ...(p.vpn && catalogue.vpn ? { vpn: true } : {}),
    ...(p.monitoring?.enabled ? { monitoring: true } : {}),
    seeded: [...seededEngines, ...(p.redis?.seed ? ['redis'] : [])],
    ...(effectiveTtl ? { ttl: effectiveTtl } : {}),
    warnBefore: catalogue.defaults.warnBefore,
    readyTimeout: p.readyTimeout,
  };
}
