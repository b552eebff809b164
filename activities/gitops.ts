// gitops: which environments a git push concerns. A push names a repository (by its clone, SSH and
// web URLs) and a branch; the services whose template lives in that repository, in every ready
// environment where they follow that branch, are to be rendered again from the pushed commit
// (kubernetes.ts's applyTrackedService does that, one service of one environment at a time).
import { repositoryKey, trackedSource } from '../shared/catalogue/tracked.js';
import type { ChatTarget, EnvRef } from '../shared/model.js';
import type { ActivityDeps } from './deps.js';

export interface PushTargetsInput {
  /** Every URL the push names its repository by. */
  urls: string[];
  branch: string;
}

export interface PushTarget {
  ref: EnvRef;
  service: string;
  /** The commit the service runs now (null: not rendered from git yet). */
  commit: string | null;
}

export interface PushTargetsResult {
  targets: PushTarget[];
  /** Each concerned project's channels, where a failed apply is reported. */
  channels: Record<string, ChatTarget[]>;
}

export function createGitopsActivities(deps: ActivityDeps) {
  return {
    /** The services of ready environments that follow `branch` of the pushed repository. */
    async pushTargets({ urls, branch }: PushTargetsInput): Promise<PushTargetsResult> {
      const keys = new Set(urls.map(repositoryKey));
      const services: { project: string; service: string }[] = [];
      const channels: Record<string, ChatTarget[]> = {};
      for (const [project, p] of Object.entries(deps.catalogue.catalogue.projects)) {
        for (const [service, s] of Object.entries(p.services)) {
          const source = trackedSource(s);
          if (!source || !keys.has(repositoryKey(source.repo))) continue;
          services.push({ project, service });
          channels[project] = [
            ...p.channels.slack.map((channel) => ({ platform: 'slack' as const, channel })),
            ...p.channels.teams.map((channel) => ({ platform: 'teams' as const, channel })),
          ];
        }
      }
      const targets = (await deps.store.deployments.tracking(branch, services)).map((t) => ({
        ref: { environment: t.environment, project: t.project, stage: t.stage, ...(t.suffix ? { suffix: t.suffix } : {}) },
        service: t.service,
        commit: t.commit,
      }));
      deps.log.info({ branch, urls, targets: targets.map((t) => `${t.ref.environment}/${t.service}`) }, 'environments following a pushed branch');
      return { targets, channels };
    },
  };
}
