// From an EnvRef to everything an activity needs: the project's catalogue entry and its names.
import { diskPath, type LoadedCatalogue } from '../shared/catalogue/load.js';
import type { Location, Project } from '../shared/catalogue/schema.js';
import { CatalogueError, NotFoundError } from '../shared/errors.js';
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

/** The folder of a seed or template on disk; S3 and git locations are not implemented yet. */
export function localPath(catalogue: LoadedCatalogue, loc: Location, where: string): string {
  if (loc.kind !== 'disk') {
    throw new CatalogueError(catalogue.file, [{ path: where, problem: `${loc.kind} locations (${loc.raw}) are not supported yet: use a path on disk` }]);
  }
  return diskPath(catalogue, loc);
}
