// Production promotion over the real servers: a namespace of the local kube-apiserver stands for
// production (read through a kubeconfig context by name, as the catalogue says); four environments
// of one project run the service's catalogue image 1.4.2. A new image in production reaches the
// environments that follow production and run something older, skips the one whose service tracks
// a branch and the one already running something newer, and is said exactly once in the project's
// channel and once in each subscribed channel. Checked on demand through the chat core, and from a
// signed GitHub deployment_status event (a forged one is refused).
import { randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatCore } from '../../bot/core/chat-core.js';
import type { Actor, Reply } from '../../bot/core/model.js';
import { createHttpApp, listen } from '../../bot/http.js';
import { gitWebhookRouter } from '../../bot/webhooks/git.js';
import { githubSignature } from '../../bot/webhooks/git-signature.js';
import { loadCatalogue, type LoadedCatalogue } from '../../shared/catalogue/load.js';
import type { EnvRef, Requester } from '../../shared/model.js';
import type { PromotionCheckResult } from '../../workflows/promotion-check.js';
import { uniqueEnv } from '../support/deps.js';
import { promotionScheduleId } from '../../shared/names.js';
import { kubeConfig } from '../../shared/clients/kubernetes.js';
import { provisioningHarness, type Harness } from '../support/provisioning.js';
import { repoRoot, testSettings } from '../support/settings.js';

const requester: Requester = { id: 'cli:test', platform: 'cli' };
const SECRET = `whsec-${randomUUID()}`;
// A project of its own per run: the check looks at every ready environment of the project.
const PROJECT = `pr${randomBytes(2).toString('hex')}`;
const PROD_NS = `${PROJECT}-production`;
const CHANNEL = 'C0PROMO0001';
const TEAMS_CHANNEL = '19:promo-subscribers@thread.tacv2';
/** What the Teams adapter hands over with a command (bot/teams/conversation.ts targetOf): the reference a proactive post needs. */
const TEAMS_CONVERSATION = { serviceUrl: 'https://smba.example.invalid/teams/', conversationId: TEAMS_CHANNEL, conversationType: 'channel', channelId: 'msteams', tenantId: 'tenant-1', botId: '28:envbot' };
const PM: Actor = { platform: 'slack', userId: 'U0PM0000001', groups: [], channel: CHANNEL };
const TEAMS_READER: Actor = { platform: 'teams', userId: '00000000-0000-0000-0000-00000000beef', groups: [], channel: TEAMS_CHANNEL };
const IMAGE = (tag: string) => `nginxinc/nginx-unprivileged:${tag}`;

async function catalogue(context: string): Promise<LoadedCatalogue> {
  const loaded = loadCatalogue(join(repoRoot, 'examples', 'envbot.yaml'), testSettings().env);
  const proja = loaded.catalogue.projects.proja!;
  const project = {
    ...proja,
    channels: { slack: [CHANNEL], teams: [] },
    databases: {},
    redis: undefined,
    secrets: { generated: {}, shared: {} },
    services: { web: { ...proja.services.web!, image: IMAGE('1.4.2') } },
    production: { context, namespace: PROD_NS },
    readyTimeout: '60s',
  };
  return { ...loaded, catalogue: { ...loaded.catalogue, projects: { ...loaded.catalogue.projects, [PROJECT]: project } } };
}

describe('production promotion', () => {
  let h: Harness;
  let apps: AppsV1Api;
  let chatCore: ChatCore;
  let server: Server;
  let url: string;
  const dev = uniqueEnv(PROJECT, 'dev');
  const qa = uniqueEnv(PROJECT, 'qa');
  const uat = uniqueEnv(PROJECT, 'uat');
  const ahead = uniqueEnv(PROJECT, 'dev');
  const envs = [dev, qa, uat, ahead];

  const image = async (ref: EnvRef) => (await apps.readNamespacedDeployment({ name: 'web', namespace: ref.environment })).spec?.template.spec?.containers[0]?.image;
  const setProduction = (tag: string) => apps.patchNamespacedDeployment({ name: 'web', namespace: PROD_NS, body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: IMAGE(tag) }] });
  const alerts = () => h.chat.sent.filter((s) => s.message.kind === 'notice' && s.message.environment === PROJECT && s.message.text.includes('promoted from production'));
  const check = async (actor: Actor): Promise<{ reply: Reply; result: PromotionCheckResult }> => {
    const reply = await chatCore.handleText(actor, `promotions check ${PROJECT}`, { platform: actor.platform as 'slack', channel: actor.channel });
    expect(reply.kind).toBe('promotion-check');
    const result = (await h.client.workflow.getHandle((reply as Extract<Reply, { kind: 'promotion-check' }>).workflowId).result()) as PromotionCheckResult;
    return { reply, result };
  };

  beforeAll(async () => {
    // The local cluster's own context names "production" here (a real setup names a read-only one).
    const context = kubeConfig(testSettings()).getCurrentContext();
    h = await provisioningHarness('promotion', { catalogue: await catalogue(context) });
    apps = h.deps.kube.makeApiClient(AppsV1Api);
    chatCore = new ChatCore({ core: h.core, store: h.deps.store, catalogue: h.deps.catalogue.catalogue, log: h.deps.log });
    // "Production": a namespace of the same cluster, with the service at 1.5.0 (made here, as a release would).
    await h.deps.kube.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: PROD_NS } } });
    await apps.createNamespacedDeployment({
      namespace: PROD_NS,
      body: {
        metadata: { name: 'web' },
        spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: IMAGE('1.5.0') }] } } },
      },
    });
    const started = await Promise.all(envs.map((r) => h.core.create({ project: PROJECT, stage: r.stage, suffix: r.suffix!, requester })));
    await Promise.all(started.map((s) => s.handle.result()));
    // uat's service follows a branch of its own. Its template is on disk, so /env track cannot move
    // it: the store row (what promotion reads) is written as /env track would leave it.
    await h.deps.store.deployments.record({ environment: uat.environment, service: 'web', branch: 'feature/x', commit: null, image: IMAGE('1.4.2'), why: 'manual', who: 'cli:test' });
    // `ahead` runs 1.6.0 already (set by hand, recorded as such).
    await apps.patchNamespacedDeployment({ name: 'web', namespace: ahead.environment, body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: IMAGE('1.6.0') }] });
    await h.deps.store.deployments.record({ environment: ahead.environment, service: 'web', branch: null, commit: null, image: IMAGE('1.6.0'), why: 'manual', who: 'cli:test' });
    // The project's channel subscribes too (said once there, not twice), and a Teams channel subscribes.
    expect(await chatCore.handleText(PM, `subscribe ${PROJECT}`, { platform: 'slack', channel: CHANNEL })).toMatchObject({ kind: 'subscribed', text: expect.stringMatching(/production promotions of .* are announced here/) });
    expect(await chatCore.handleText(TEAMS_READER, `subscribe ${PROJECT}`, { platform: 'teams', channel: TEAMS_CHANNEL, conversation: TEAMS_CONVERSATION }, 'env')).toMatchObject({ kind: 'subscribed' });

    const app = createHttpApp({ checks: {}, routers: [gitWebhookRouter({ secrets: { githubSecret: SECRET, gitlabToken: undefined }, core: h.core, store: h.deps.store, log: h.deps.log, catalogue: h.deps.catalogue.catalogue })], maxBodyBytes: 64 * 1024 });
    server = await listen(app, 0);
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/webhooks/git`;
  }, 300_000);

  afterAll(async () => {
    server?.close();
    await Promise.all(envs.map((r) => h?.core.destroy({ environment: r.environment, requester }).then((s) => s.handle.result()).catch(() => undefined)));
    await h?.deps.kube.makeApiClient(CoreV1Api).deleteNamespace({ name: PROD_NS }).catch(() => undefined);
    await h?.stop();
  }, 300_000);

  it('a newer production image reaches dev and qa, skips the branch-tracked and the newer one, and is said once per channel', async () => {
    for (const r of envs.slice(0, 3)) expect(await image(r)).toBe(IMAGE('1.4.2'));
    const { result } = await check(PM);
    expect(result.production).toEqual({ web: IMAGE('1.5.0') });
    expect(await image(dev)).toBe(IMAGE('1.5.0'));
    expect(await image(qa)).toBe(IMAGE('1.5.0'));
    expect(await image(uat)).toBe(IMAGE('1.4.2'));
    expect(await image(ahead)).toBe(IMAGE('1.6.0'));
    const [a, b] = [dev, qa].map((r) => r.environment).sort();
    const skipped = [
      { environment: uat.environment, reason: 'tracks feature/x' },
      { environment: ahead.environment, reason: 'runs 1.6.0, newer' },
    ].sort((x, y) => x.environment.localeCompare(y.environment));
    const text = `${PROJECT}: web 1.4.2 → 1.5.0 reached ${a}, ${b} (promoted from production); ${skipped.map((s) => `${s.environment} skipped: ${s.reason}`).join('; ')}`;
    const said = alerts();
    expect(said.map((s) => [s.target.platform, s.target.channel, (s.message as { text: string }).text])).toEqual(
      expect.arrayContaining([
        ['slack', CHANNEL, text],
        ['teams', TEAMS_CHANNEL, text],
      ]),
    );
    expect(said).toHaveLength(2);
    // The Teams subscriber is reached with the conversation reference kept at subscribe.
    expect(said.find((s) => s.target.platform === 'teams')!.target.conversation).toEqual(TEAMS_CONVERSATION);
    expect((await h.deps.store.deployments.history(dev.environment, 'web'))[0]).toMatchObject({ why: 'promotion', who: 'production', image: IMAGE('1.5.0'), branch: null });
    expect((await h.deps.store.deployments.of(qa.environment))[0]).toMatchObject({ image: IMAGE('1.5.0'), branch: null });
  }, 180_000);

  it('a second check with nothing newer changes nothing and alerts nobody', async () => {
    const before = alerts().length;
    const { result } = await check(PM);
    expect(result.promotions.every((p) => p.reached.length === 0)).toBe(true);
    expect(alerts()).toHaveLength(before);
    expect(await image(dev)).toBe(IMAGE('1.5.0'));
  }, 120_000);

  it('a signed GitHub deployment_status for production starts the check; other states are ignored; a forged one is refused', async () => {
    await setProduction('1.5.1');
    const body = (state: string, environment = 'production') =>
      JSON.stringify({ action: 'created', deployment_status: { state, environment }, deployment: { environment, sha: 'a'.repeat(40), ref: 'main' }, repository: { full_name: 'example/apps' }, sender: { login: 'octocat' } });
    const post = (b: string, signature: string, delivery = randomUUID()) =>
      fetch(url, { method: 'POST', body: b, headers: { 'content-type': 'application/json', 'x-github-event': 'deployment_status', 'x-github-delivery': delivery, 'x-hub-signature-256': signature } });
    const forged = body('success');
    expect((await post(forged, githubSignature('not-the-secret', forged))).status).toBe(401);
    const failure = body('failure');
    expect(await (await post(failure, githubSignature(SECRET, failure))).json()).toMatchObject({ handled: 'ignored' });
    const staging = body('success', 'staging');
    expect(await (await post(staging, githubSignature(SECRET, staging))).json()).toMatchObject({ handled: 'ignored' });
    expect(await image(dev)).toBe(IMAGE('1.5.0'));

    const ok = body('success');
    const delivery = randomUUID();
    const answer = (await (await post(ok, githubSignature(SECRET, ok), delivery)).json()) as { handled: string; projects: string[]; workflowIds: string[] };
    expect(answer.handled).toBe('promotion');
    expect(answer.projects).toContain(PROJECT);
    const id = answer.workflowIds[answer.projects.indexOf(PROJECT)]!;
    await h.client.workflow.getHandle(id).result();
    expect(await image(dev)).toBe(IMAGE('1.5.1'));
    expect(await image(qa)).toBe(IMAGE('1.5.1'));
    expect(await image(uat)).toBe(IMAGE('1.4.2'));
    expect(alerts().filter((s) => (s.message as { text: string }).text.includes('1.5.0 → 1.5.1'))).toHaveLength(2);
    // The same delivery again starts nothing.
    expect(await (await post(ok, githubSignature(SECRET, ok), delivery)).json()).toEqual({ handled: 'replay', delivery });
  }, 180_000);

  it('one Temporal Schedule per project that names a production, made once and updated after', async () => {
    const ids = await h.core.ensurePromotionSchedules('1 hour');
    expect(ids).toEqual([promotionScheduleId(PROJECT)]);
    try {
      const handle = h.client.schedule.getHandle(ids[0]!);
      const d = await handle.describe();
      expect(d.spec.intervals?.[0]?.every).toBe(3_600_000);
      expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: 'promotionCheck', taskQueue: h.taskQueue, args: [{ project: PROJECT, by: 'schedule' }] });
      // Started again (a restart of envbot), with another period: updated, not refused.
      expect(await h.core.ensurePromotionSchedules('30 minutes')).toEqual(ids);
      expect((await handle.describe()).spec.intervals?.[0]?.every).toBe(1_800_000);
    } finally {
      await h.client.schedule.getHandle(ids[0]!).delete().catch(() => undefined);
    }
  }, 60_000);
});
