// A production promotion reaching 50 environments of one project (issue 11's goal: under 30 s, one
// message per channel): time from the check's start to the last environment applied, and the chat
// messages it produced.
//
// What is real and what is set up: the store, Temporal, the worker and kube-apiserver (with its
// controllers and kwok) are real; the 50 environments are not built by envbot's create (that would
// measure create 50 times): each is a namespace with the service's Deployment at 1.4.2 and a store
// record, ready, as a create leaves them. "Production" is a namespace of the same cluster.
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import pg from 'pg';
import { pino } from 'pino';
import type { ActivityDeps } from '../activities/deps.js';
import { EnvbotCore } from '../bot/core/core.js';
import { loadCatalogue } from '../shared/catalogue/load.js';
import type { ChatMessage } from '../shared/chat.js';
import { awsClientConfig } from '../shared/clients/aws.js';
import { kubeConfig } from '../shared/clients/kubernetes.js';
import type { ChatTarget } from '../shared/model.js';
import { environmentName, namesFor } from '../shared/names.js';
import { projectRoot } from '../shared/paths.js';
import type { Settings } from '../shared/settings.js';
import { migrate } from '../shared/store/migrate.js';
import { Store } from '../shared/store/store.js';
import { createWorker } from '../bot/worker.js';
import type { PromotionCheckResult } from '../workflows/promotion-check.js';

const ENVIRONMENTS = 50;
type Print = (line: string) => void;
const IMAGE = (tag: string) => `nginxinc/nginx-unprivileged:${tag}`;

export async function promotionBench(settings: Settings, print: Print): Promise<void> {
  const project = `bp${randomBytes(2).toString('hex')}`;
  const prodNs = `${project}-production`;
  const storeDbName = `bench_store_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: settings.servers.postgres! });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${storeDbName}`);
  const storeUrl = new URL(settings.servers.postgres!);
  storeUrl.pathname = `/${storeDbName}`;
  await migrate(storeUrl.toString());
  const store = new Store(storeUrl.toString(), settings.secretKeys.length ? settings.secretKeys : [{ id: 'bench', key: randomBytes(32) }]);
  const kube = kubeConfig(settings);
  const loaded = loadCatalogue(join(projectRoot, 'examples', 'envbot.yaml'), settings.env);
  const proja = loaded.catalogue.projects.proja!;
  loaded.catalogue.projects[project] = {
    ...proja,
    channels: { slack: ['C0BENCH0001'], teams: [] },
    services: { web: { ...proja.services.web!, image: IMAGE('1.4.2') } },
    production: { context: kube.getCurrentContext(), namespace: prodNs },
  };
  const sent: { target: ChatTarget; message: ChatMessage }[] = [];
  const deps: ActivityDeps = {
    workerId: 'bench',
    catalogue: loaded,
    store,
    log: pino({ level: 'silent' }),
    kube,
    aws: awsClientConfig(settings),
    chat: { send: async (target, message) => (sent.push({ target, message }), target.messageRef ?? `m${sent.length}`) },
  };
  const core = kube.makeApiClient(CoreV1Api);
  const apps = kube.makeApiClient(AppsV1Api);
  const deployment = (tag: string) => ({
    metadata: { name: 'web' },
    spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: IMAGE(tag) }] } } },
  });
  const namespaces = [prodNs];
  const taskQueue = `bench-${randomUUID()}`;
  const { worker, connection: native } = await createWorker({ settings, deps, taskQueue });
  const running = worker.run();
  const connection = await Connection.connect({ address: settings.temporal.address });
  const client = new Client({ connection });
  try {
    await core.createNamespace({ body: { metadata: { name: prodNs } } });
    await apps.createNamespacedDeployment({ namespace: prodNs, body: deployment('1.5.0') });
    const envs = Array.from({ length: ENVIRONMENTS }, (_, i) => environmentName(project, 'dev', `b${i}`));
    for (let i = 0; i < envs.length; i += 10) {
      await Promise.all(envs.slice(i, i + 10).map(async (env) => {
        const ns = namesFor(env, loaded.catalogue.baseDomain).namespace;
        namespaces.push(ns);
        await core.createNamespace({ body: { metadata: { name: ns } } });
        await apps.createNamespacedDeployment({ namespace: ns, body: deployment('1.4.2') });
        await store.claimEnvironment({ name: env.name, project, stage: 'dev', suffix: env.suffix!, createdBy: 'bench', runId: 'bench' });
        await store.setEnvironmentState(env.name, 'ready');
        await store.deployments.record({ environment: env.name, service: 'web', branch: null, commit: null, image: IMAGE('1.4.2'), why: 'create', who: 'bench' });
      }));
    }
    const engine = new EnvbotCore({ client, store, catalogue: loaded.catalogue, taskQueue });
    const t0 = performance.now();
    const started = Date.now();
    const { handle } = await engine.checkPromotions({ project, by: 'bench' });
    const result = (await handle.result()) as PromotionCheckResult;
    const wall = performance.now() - t0;
    const reached = result.promotions.reduce((n, p) => n + p.reached.length, 0);
    const last = Math.max(...(await Promise.all(envs.map(async (env) => (await store.deployments.history(env.name, 'web', 1))[0]?.at.getTime() ?? 0))));
    const messages = sent.filter((s) => s.message.kind === 'notice');
    const perChannel = new Map<string, number>();
    for (const m of messages) perChannel.set(m.target.channel, (perChannel.get(m.target.channel) ?? 0) + 1);
    print(`promotion 1.4.2 → 1.5.0 over ${ENVIRONMENTS} environments of ${project}: ${reached} reached; check ended in ${(wall / 1000).toFixed(2)} s, the last environment applied ${((last - started) / 1000).toFixed(2)} s after the start`);
    print(`  chat messages: ${messages.length} (${[...perChannel].map(([c, n]) => `${c}: ${n}`).join(', ')}); goal: under 30 s, one per channel`);
  } finally {
    worker.shutdown();
    await running.catch(() => undefined);
    await native.close();
    await connection.close();
    await Promise.all(namespaces.map((name) => core.deleteNamespace({ name }).catch(() => undefined)));
    await store.close();
    await admin.query(`DROP DATABASE IF EXISTS ${storeDbName} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}
