// Services that follow a branch (issue 11). A service whose template is a git location follows a
// branch: by default the location's ref, or another one chosen at create or by `/env track`. The
// template is then read from that branch: same repository, same path.
import { refProblem, type Location, type Service } from './schema.js';

export type GitLocation = Extract<Location, { kind: 'git' }>;

/** Where a tracked service lives: repository, path in it, and the branch it follows by default. */
export interface TrackedSource {
  repo: string;
  path: string;
  defaultBranch: string;
}

/** The service's git source, when it follows a branch (a git template at a branch, not at a commit id). */
export function trackedSource(service: Pick<Service, 'template'>): TrackedSource | undefined {
  const t = service.template;
  if (t.kind !== 'git' || /^[0-9a-f]{40}$/.test(t.ref)) return undefined;
  return { repo: t.repo, path: t.path, defaultBranch: t.ref };
}

/** The service's template location on `branch` (its catalogue location on the default branch). */
export function templateAt(service: Pick<Service, 'template'>, branch: string): Location {
  const t = service.template;
  if (t.kind !== 'git' || t.ref === branch) return t;
  return { kind: 'git', repo: t.repo, ref: branch, path: t.path, raw: `git+${t.repo}#${branch}:${t.path}` };
}

/** What is wrong with a service's `branch` in the catalogue, if anything. */
export function branchProblem(service: Pick<Service, 'template' | 'branch'>): string | undefined {
  if (service.branch === undefined) return undefined;
  const source = trackedSource(service);
  if (!source) {
    return `a service follows a branch only when its template is in git: write the template as git+https://<host>/<repo>.git#${service.branch}:<path> and remove "branch"`;
  }
  if (service.branch !== source.defaultBranch) {
    return `"${service.branch}" differs from the template's branch "${source.defaultBranch}" (${service.template.raw}); the default branch is the ref in the template location: write it there once and remove "branch"`;
  }
  return undefined;
}

/** Why `branch` cannot be followed, or undefined: the same rules as a ref in a git location. */
export function branchNameProblem(branch: string): string | undefined {
  if (/^[0-9a-f]{40}$/.test(branch)) return `"${branch}" is a commit id; a service follows a branch: name one`;
  const bad = refProblem(branch);
  return bad ? `"${branch}" is not a branch name envbot accepts: write ${bad}` : undefined;
}

/**
 * A repository URL reduced to host and path, so the URLs a push names (clone, SSH, web) match the
 * one in the catalogue: `https://github.com/o/r.git`, `git@github.com:o/r.git`,
 * `ssh://git@github.com/o/r` all give `github.com/o/r`; `file:///srv/r.git` gives `/srv/r`.
 */
export function repositoryKey(url: string): string {
  let u = url.trim().replace(/^git\+/, '');
  const scp = /^([^/@:]+@)?([^/:]+):(?!\/)(.*)$/.exec(u);
  if (scp && !/^[a-z]+:\/\//i.test(u)) u = `${scp[2]}/${scp[3]}`;
  else u = u.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/^[^/@]*@/, '');
  u = u.replace(/\/+$/, '').replace(/\.git$/, '').replace(/\/+$/, '');
  const slash = u.indexOf('/');
  return slash > 0 ? `${u.slice(0, slash).toLowerCase()}${u.slice(slash)}` : u;
}
