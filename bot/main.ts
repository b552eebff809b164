// envbot's process: settings and catalogue read once, the store migrated, then the Temporal worker
// and the HTTP server run in the foreground until Ctrl-C (or SIGTERM) stops them cleanly.
// ENVBOT_ROLE splits them: `bot` serves chat and webhooks without a worker, `worker` runs the worker
// (which still posts to chat) with only /healthz and /metrics on HTTP.
import { hostname } from 'node:os';
import type { Duration } from '@temporalio/common';
import { closeActivityDeps, type ActivityDeps } from '../activities/deps.js';
import { Outbox, SLACK_LIMITS } from '../activities/outbox.js';
import { loadCatalogue } from '../shared/catalogue/load.js';
import { awsClientConfig } from '../shared/clients/aws.js';
import { kubeConfig } from '../shared/clients/kubernetes.js';
import { DatabaseClients } from '../shared/clients/databases.js';
import { EnvbotError } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import { servicesEnvFile } from '../shared/paths.js';
import { readSettings } from '../shared/settings.js';
import { temporalTls } from '../shared/clients/temporal.js';
import { migrate } from '../shared/store/migrate.js';
import { Store } from '../shared/store/store.js';
import { catalogueFile } from './catalogue-file.js';
import { chatAdapters } from './chat-status.js';
import { principalIds } from './core/authorise.js';
import { ChatCore } from './core/chat-core.js';
import { connectCore } from './core/connect.js';
import { RoutingChat } from './routing-chat.js';
import { ConsoleChat } from './console-chat.js';
import { createHttpApp, listen } from './http.js';
import { SnsVerifier } from './webhooks/sns-signature.js';
import { snsWebhookRouter } from './webhooks/sns.js';
import { gitWebhookRouter } from './webhooks/git.js';
import { alertmanagerWebhookRouter } from './webhooks/alertmanager.js';
import { AlertCore } from './core/alerts.js';
import { Metrics } from '../shared/metrics.js';
import { temporalLogger } from './temporal-logger.js';
import { createWorker, installRuntime, NativeConnection } from './worker.js';

async function main(): Promise<void> {
  const settings = readSettings(process.env, [servicesEnvFile]);
  const log = createLogger({ level: settings.logLevel });
  const file = catalogueFile(settings, (m) => log.warn(m));
  const loaded = loadCatalogue(file, settings.env);
  const { catalogue } = loaded;
  log.info({ file, projects: Object.keys(catalogue.projects), stages: catalogue.stages }, 'catalogue loaded');
  for (const warning of loaded.warnings ?? []) log.warn(`catalogue: ${warning}`);

  const applied = await migrate(settings.databaseUrl);
  log.info(applied.length ? { applied } : {}, applied.length ? 'store migrated' : 'store is up to date');
  const store = new Store(settings.databaseUrl, settings.secretKeys);
  // The one registry: /metrics serves it, the worker, the Slack port and the webhooks record into it.
  const metrics = new Metrics({ environments: store.environments });
  if (settings.secretKeys.length === 0) log.warn('ENVBOT_SECRET_KEYS is not set: envbot cannot store generated secrets until it is');

  // The engine's client and core, shared by the chat adapters.
  // One connection to Temporal for the worker and the client: creates start eagerly on this worker.
  // Without a worker (ENVBOT_ROLE=bot) the client has a connection of its own and nothing starts eagerly.
  const serves = settings.role !== 'worker';
  const works = settings.role !== 'bot';
  const tls = temporalTls(settings);
  installRuntime(temporalLogger(log));
  const temporal = await NativeConnection.connect({ address: settings.temporal.address, ...(tls ? { tls } : {}) });
  const { core, connection: clientConnection } = await connectCore(settings, catalogue, store, works ? temporal : undefined);
  const chatCore = new ChatCore({ core, store, catalogue, log });

  const adapters = chatAdapters(settings);
  const slackOn = adapters.find((a) => a.name === 'slack')?.on === true;
  // Each chat adapter's SDK is loaded only when it is on (Bolt and botbuilder are tens of MB resident).
  const slack = slackOn
    ? await (await import('./slack/app.js')).createSlackApp({ settings: { ...settings.slack, botToken: settings.slack.botToken! }, chatCore, store, log, ...(settings.temporal.uiUrl ? { temporalUiUrl: settings.temporal.uiUrl } : {}) })
    : undefined;
  const teamsOn = adapters.find((a) => a.name === 'teams')?.on === true;
  const teams = teamsOn ? (await import('./teams/adapter.js')).createTeamsBot({ settings: settings.teams, chatCore, log, groupIds: principalIds(catalogue, 'teams-group') }) : undefined;
  if (teams && !teams.authenticated) {
    log.warn('TEAMS IS UNAUTHENTICATED: POST /api/messages accepts activities without a Bot Framework token (ENVBOT_TEAMS_EMULATOR=true, no MicrosoftAppId). Anyone who can reach this port can act as any Teams user. Use it only with the Bot Framework Emulator on this machine.');
  }
  const slackChat = slack ? new (await import('./slack/chat-port.js')).SlackChat(slack.chatClient, undefined, metrics) : undefined;
  const chat = new RoutingChat({ ...(slackChat ? { slack: slackChat } : {}), ...(teams ? { teams: teams.chat } : {}) }, new ConsoleChat(log));

  const workerId = `${hostname()}:${process.pid}`;
  const deps: ActivityDeps | undefined = works
    ? {
        workerId,
        catalogue: loaded,
        store,
        log,
        kube: kubeConfig(settings),
        aws: awsClientConfig(settings),
        // One admin client per database server for the worker's life (closed below, after the worker stops).
        databases: new DatabaseClients(log, `envbot ${workerId}`),
        sourceCache: settings.sourceCache,
        chat,
        // Every message the worker sends goes through it, paced within these limits (Slack's, the edit budget as set).
        outbox: new Outbox({ ...SLACK_LIMITS, editsPerMinute: settings.chat.editsPerMinute }),
        metrics,
      }
    : undefined;
  const running = deps ? await createWorker({ settings, connection: temporal, deps, logger: temporalLogger(log) }) : undefined;

  const { topicArns, testOrigin } = settings.s3Webhook;
  if (testOrigin) log.warn({ testOrigin }, 'ENVBOT_SNS_TEST_ORIGIN is set: SNS certificates and confirmations are accepted from it (tests only)');
  const s3 = serves && topicArns.length
    ? snsWebhookRouter({ verifier: new SnsVerifier({ topicArns, testOrigin }), catalogue, core, store, log, testOrigin })
    : undefined;
  log.info(s3 ? `S3 change notifications: on, POST /webhooks/s3 accepts topics ${topicArns.join(', ')}` : 'S3 change notifications: off (ENVBOT_SNS_TOPIC_ARNS is not set)');
  const { githubSecret, gitlabToken } = settings.gitWebhook;
  const git = serves && (githubSecret || gitlabToken) ? gitWebhookRouter({ secrets: { githubSecret, gitlabToken }, core, store, log, catalogue }) : undefined;
  log.info(
    git
      ? `git push webhooks: on, POST /webhooks/git accepts ${[githubSecret ? 'GitHub (GITHUB_WEBHOOK_SECRET)' : '', gitlabToken ? 'GitLab (GITLAB_WEBHOOK_TOKEN)' : ''].filter(Boolean).join(' and ')}`
      : 'git push webhooks: off (neither GITHUB_WEBHOOK_SECRET nor GITLAB_WEBHOOK_TOKEN is set)',
  );
  const alertmanager = serves && settings.alertmanager.token
    ? alertmanagerWebhookRouter({ token: settings.alertmanager.token, alerts: new AlertCore({ catalogue, store, chat, log }), store, log, onDelivery: (result) => metrics.webhookDeliveries.inc({ webhook: 'alertmanager', result }) })
    : undefined;
  log.info(alertmanager ? 'Alertmanager alerts: on, POST /webhooks/alertmanager (bearer token)' : 'Alertmanager alerts: off (ALERTMANAGER_WEBHOOK_TOKEN is not set)');
  const app = createHttpApp({
    registry: metrics.registry,
    checks: {
      store: async () => void (await store.pool.query('SELECT 1')),
      temporal: async () => void (await temporal.healthService.check({})),
      ...(running
        ? {
            worker: async () => {
              if (running.worker.getState() !== 'RUNNING') throw new Error(`worker is ${running.worker.getState()}`);
            },
          }
        : {}),
    },
    routers: serves ? [...(slack?.router ? [slack.router] : []), ...(teams ? [teams.router] : []), ...(s3 ? [s3] : []), ...(git ? [git] : []), ...(alertmanager ? [alertmanager] : [])] : [],
  });
  if (serves) {
    const schedules = await core.ensurePromotionSchedules(settings.promotionEvery as Duration);
    log.info(schedules.length ? `production promotion: checked every ${settings.promotionEvery} (Temporal Schedules ${schedules.join(', ')})` : 'production promotion: off (no project names a production)');
  }
  const server = await listen(app, settings.http.port);
  log.info({ url: `http://127.0.0.1:${settings.http.port}/healthz` }, 'HTTP server listening (/healthz, /metrics)');
  if (serves) await slack?.start();
  for (const a of adapters) log.info(`chat adapter ${a.name}: ${a.on ? (serves ? 'on' : 'posts only (ENVBOT_ROLE=worker: requests go to the bot)') : 'off'} (${a.reason})`);
  log.info({ role: settings.role, temporal: settings.temporal.address, taskQueue: settings.temporal.taskQueue, ui: settings.temporal.uiUrl }, `${works ? 'worker running' : 'no worker (ENVBOT_ROLE=bot)'}; Ctrl-C stops envbot`);

  // Without a worker (ENVBOT_ROLE=bot) the process runs until a signal releases it.
  let release: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (release = r));
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn('second signal: exiting now');
      process.exit(130);
    }
    stopping = true;
    log.info({ signal }, running ? 'stopping: finishing running activities (Ctrl-C again to force)' : 'stopping');
    if (running) running.worker.shutdown();
    else release();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  try {
    await (running ? running.worker.run() : stopped);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    if (serves) await slack?.stop();
    if (!works) await clientConnection.close();
    await temporal.close();
    if (deps) await closeActivityDeps(deps);
    await store.close();
    log.info('envbot stopped');
  }
}

main().catch((err: unknown) => {
  if (err instanceof EnvbotError) {
    process.stderr.write(`envbot cannot start:\n${err.message}\n`);
  } else {
    process.stderr.write(`envbot stopped on an unexpected error:\n${(err as Error).stack ?? String(err)}\n`);
  }
  process.exit(1);
});
