// From an EnvRef to everything an activity needs: the project's catalogue entry and its names.
import type { LoadedCatalogue } from '../shared/catalogue/load.js';
import type { Project } from '../shared/catalogue/schema.js';
import { NotFoundError } from '../shared/errors.js';
import type { EnvRef } from '../shared/model.js';
import { environmentName, namesFor, type EnvironmentName, type Names } from '../shared/names.js';

export interface ResolvedEnv {
  ref: EnvRef;
  env: EnvironmentName;
  project: Project;
  names: Names;
  catalogue: LoadedCatalogue;
}

export function resolveEnv(catalogue: LoadedCatalogue, ref: EnvRef): ResolvedEnv {
  const project = catalogue.catalogue.projects[ref.project];
  if (!project) {
    throw new NotFoundError(`project "${ref.project}" is not in the catalogue (projects: ${Object.keys(catalogue.catalogue.projects).join(', ')})`);
  }
  const env = environmentName(ref.project, ref.stage, ref.suffix);
  if (env.name !== ref.environment) throw new NotFoundError(`environment "${ref.environment}" does not match ${env.name}`);
  return { ref, env, project, names: namesFor(env, catalogue.catalogue.baseDomain), catalogue };
}
