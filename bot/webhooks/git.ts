// POST /webhooks/git: push events from GitHub and GitLab. In the house order: the body's size limit
// (createHttpApp's limitBody, before this router), then the signature (GitHub) or token (GitLab)
// over the raw body (git-signature.ts), then de-duplication by the platform's delivery id
// (X-GitHub-Delivery, X-Gitlab-Event-UUID; kept 30 days), then the core, which hands the push to
// the run of that repository and branch (a newer push supersedes an older one still queued).
// Answers: 200 handled (a push started or signalled, an event that is not a push, a replay), 400 not
// a push event, 401 unsigned or forged, 413 too big, 502 when Temporal could not be reached (the
// platform retries; the delivery is forgotten so that retry is handled).
import express from 'express';
import { promotingProjects, type EnvbotCore } from '../core/core.js';
import type { Catalogue } from '../../shared/catalogue/schema.js';
import type { Logger } from '../../shared/logger.js';
import type { Store } from '../../shared/store/store.js';
import { rawBody } from '../http.js';
import { GitPushMalformed, parsePush } from './git-push.js';
import { GitWebhookRefused, verifyGitWebhook, type GitPlatform, type GitSecrets } from './git-signature.js';

export const GIT_WEBHOOK_PATH = '/webhooks/git';

export interface GitWebhookOptions {
  secrets: GitSecrets;
  core: Pick<EnvbotCore, 'gitPushed' | 'checkPromotions'>;
  store: Pick<Store, 'deployments'>;
  log: Logger;
  catalogue: Catalogue;
}

export type GitHandled =
  | { handled: 'push'; branch: string; commit: string; workflowId: string }
  | { handled: 'ignored'; reason: string }
  | { handled: 'replay'; delivery: string }
  | { handled: 'promotion'; projects: string[]; workflowIds: string[] };

const DELIVERY_HEADER: Record<GitPlatform, string> = { github: 'x-github-delivery', gitlab: 'x-gitlab-event-uuid' };
const EVENT_HEADER: Record<GitPlatform, string> = { github: 'x-github-event', gitlab: 'x-gitlab-event' };
const PUSH_EVENT: Record<GitPlatform, string> = { github: 'push', gitlab: 'Push Hook' };

export function gitWebhookRouter(o: GitWebhookOptions): express.Router {
  const router = express.Router();
  router.post(GIT_WEBHOOK_PATH, async (req, res) => {
    const body = rawBody(req);
    let platform: GitPlatform;
    try {
      platform = verifyGitWebhook(req.headers, body, o.secrets);
    } catch (err) {
      if (!(err instanceof GitWebhookRefused)) throw err;
      o.log.warn({ error: err.message }, 'git webhook: refused');
      res.status(401).json({ error: err.message });
      return;
    }
    const delivery = req.headers[DELIVERY_HEADER[platform]];
    const event = req.headers[EVENT_HEADER[platform]];
    if (typeof delivery !== 'string' || !/^[A-Za-z0-9-]{1,100}$/.test(delivery)) {
      res.status(400).json({ error: `${DELIVERY_HEADER[platform]} is missing or not a delivery id` });
      return;
    }
    if (platform === 'github' && event === 'deployment_status') {
      await deploymentStatus(o, body, delivery, res);
      return;
    }
    if (event !== PUSH_EVENT[platform]) {
      // A ping, or an event this hook was also set up for: nothing to do, and nothing to retry.
      res.status(200).json({ handled: 'ignored', reason: `event ${String(event)} is not a push` } satisfies GitHandled);
      return;
    }
    let push: ReturnType<typeof parsePush>;
    try {
      push = parsePush(platform, body);
    } catch (err) {
      if (!(err instanceof GitPushMalformed)) throw err;
      res.status(400).json({ error: err.message });
      return;
    }
    if ('ignored' in push) {
      res.status(200).json({ handled: 'ignored', reason: push.ignored } satisfies GitHandled);
      return;
    }
    if (!(await o.store.deployments.firstDelivery(platform, delivery))) {
      o.log.info({ platform, delivery }, 'git webhook: delivery already handled');
      res.status(200).json({ handled: 'replay', delivery } satisfies GitHandled);
      return;
    }
    try {
      const { workflowId } = await o.core.gitPushed({ ...push, delivery: `${platform}:${delivery}` });
      o.log.info({ platform, delivery, branch: push.branch, commit: push.commit, who: push.who, workflowId }, 'git webhook: push');
      res.status(200).json({ handled: 'push', branch: push.branch, commit: push.commit, workflowId } satisfies GitHandled);
    } catch (err) {
      await o.store.deployments.forgetDelivery(platform, delivery);
      o.log.warn({ platform, delivery, error: (err as Error).message }, 'git webhook: push not handled');
      res.status(502).json({ error: (err as Error).message });
    }
  });
  return router;
}

/**
 * GitHub's deployment_status event: a deployment to `production` that succeeded starts the promotion
 * check of every project that names a production (the check reads what production runs; the event's
 * own payload is not trusted for images). Other environments and states are acknowledged and ignored.
 */
async function deploymentStatus(o: GitWebhookOptions, body: Buffer, delivery: string, res: express.Response): Promise<void> {
  let json: { deployment?: { environment?: unknown }; deployment_status?: { state?: unknown; environment?: unknown } };
  try {
    json = JSON.parse(body.toString('utf8')) as typeof json;
  } catch {
    res.status(400).json({ error: 'the body is not JSON (set the webhook\'s content type to application/json)' });
    return;
  }
  const environment = json?.deployment_status?.environment ?? json?.deployment?.environment;
  const state = json?.deployment_status?.state;
  if (environment !== 'production' || state !== 'success') {
    res.status(200).json({ handled: 'ignored', reason: `deployment_status ${String(state)} for ${String(environment)} is not a successful production deployment` } satisfies GitHandled);
    return;
  }
  const projects = promotingProjects(o.catalogue);
  if (!(await o.store.deployments.firstDelivery('github', delivery))) {
    res.status(200).json({ handled: 'replay', delivery } satisfies GitHandled);
    return;
  }
  try {
    const started = await Promise.all(projects.map((project) => o.core.checkPromotions({ project, by: 'github:deployment_status' })));
    o.log.info({ delivery, projects }, 'git webhook: production deployed, promotion checks started');
    res.status(200).json({ handled: 'promotion', projects, workflowIds: started.map((s) => s.workflowId) } satisfies GitHandled);
  } catch (err) {
    await o.store.deployments.forgetDelivery('github', delivery);
    o.log.warn({ delivery, error: (err as Error).message }, 'git webhook: promotion check not started');
    res.status(502).json({ error: (err as Error).message });
  }
}
