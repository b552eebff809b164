// Which branch a service may be asked to follow (the create form, `/env track`): checked once, here.
import type { Project } from '../../shared/catalogue/schema.js';
import type { ServiceRun } from '../../shared/chat.js';
import type { ServiceDeployment } from '../../shared/store/deployments.js';
import { branchNameProblem, trackedSource } from '../../shared/catalogue/tracked.js';

/** What is wrong with following `branch` for `service` of `project`, with what to do; undefined when fine. */
export function branchChoiceProblem(project: Project, service: string, branch: string): string | undefined {
  const s = Object.hasOwn(project.services, service) ? project.services[service] : undefined;
  if (!s) return `There is no service "${service}" (services: ${Object.keys(project.services).join(', ')}).`;
  if (!trackedSource(s)) return `${service} does not follow a branch: its template is not in git (${s.template.raw}).`;
  const bad = branchNameProblem(branch);
  return bad ? `${bad}.` : undefined;
}

/** What each service of an environment follows and runs, with its default branch from the catalogue. */
export function runsOf(project: Project | undefined, deployed: readonly ServiceDeployment[]): ServiceRun[] {
  return deployed.map((d) => {
    const s = project && Object.hasOwn(project.services, d.service) ? project.services[d.service] : undefined;
    const tracked = s ? trackedSource(s) : undefined;
    return { service: d.service, branch: d.branch, commit: d.commit, image: d.image, ...(tracked ? { defaultBranch: tracked.defaultBranch } : {}) };
  });
}
