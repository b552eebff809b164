// envbot's own settings, read once from the process environment at an entry point and passed down.
// Nothing else in the code base reads process.env.
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { SettingsError } from './errors.js';

const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const settingsSchema = z.object({
  ENVBOT_CONFIG: optional,
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('envbot'),
  TEMPORAL_UI_URL: optional,
  /** mTLS to Temporal (Temporal Cloud or a self-hosted cluster): files holding the client certificate and its key (PEM). */
  TEMPORAL_TLS_CERT: optional,
  TEMPORAL_TLS_KEY: optional,
  /** The CA that signed the server's certificate (PEM file); unset: the system's trusted CAs (Temporal Cloud). */
  TEMPORAL_TLS_CA: optional,
  /** The name the server's certificate is checked against, when it differs from TEMPORAL_ADDRESS's host. */
  TEMPORAL_TLS_SERVER_NAME: optional,
  DATABASE_URL: z.string({ message: 'DATABASE_URL is not set: point it at the PostgreSQL database envbot keeps its state in (scripts/services/services up writes one to .envbot/services.env)' }).regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a postgres:// URL'),
  POSTGRES_URL: optional,
  MYSQL_URL: optional,
  MONGO_URL: optional,
  REDIS_URL: optional,
  AWS_ENDPOINT_URL: optional,
  AWS_REGION: z.string().default('us-east-1'),
  AWS_ACCESS_KEY_ID: optional,
  AWS_SECRET_ACCESS_KEY: optional,
  KUBECONFIG: optional,
  ENVBOT_SOURCE_CACHE: optional,
  /** `id:base64key[,id:base64key...]`: the first encrypts, all decrypt (rotation). 32-byte AES-256 keys. */
  ENVBOT_SECRET_KEYS: optional,
  /** What this process runs: `all` (default), `bot` (HTTP: chat and webhooks, no worker) or `worker` (the Temporal worker; HTTP has only /healthz and /metrics). */
  ENVBOT_ROLE: z.enum(['all', 'bot', 'worker'], { message: 'ENVBOT_ROLE must be all, bot or worker' }).default('all'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SLACK_SIGNING_SECRET: optional,
  SLACK_BOT_TOKEN: optional,
  SLACK_APP_TOKEN: optional,
  SLACK_API_URL: optional,
  MicrosoftAppId: optional,
  MicrosoftAppPassword: optional,
  MicrosoftAppTenantId: optional,
  MicrosoftAppType: optional.pipe(z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI'], { message: 'MicrosoftAppType must be MultiTenant, SingleTenant or UserAssignedMSI' }).optional()),
  /** Teams without MicrosoftAppId: "true" runs POST /api/messages unauthenticated, for the Bot Framework Emulator. */
  ENVBOT_TEAMS_EMULATOR: optional.pipe(z.enum(['true', 'false'], { message: 'ENVBOT_TEAMS_EMULATOR must be true or false' }).optional()),
  /**
   * Where the Bot Framework's OpenID metadata (and so its signing keys) is read; botbuilder's own
   * setting, left unset in production (botbuilder's default). Tests point it at a local key.
   */
  ToBotFromChannelOpenIdMetadataUrl: optional,
  /**
   * Certificate credentials instead of MicrosoftAppPassword: the certificate's SHA-1 thumbprint (hex,
   * as Entra ID shows it) and the file holding its PEM private key.
   */
  MicrosoftAppCertificateThumbprint: optional,
  MicrosoftAppCertificateKeyFile: optional,
  /**
   * Microsoft Entra ID's login host (the client-credentials token endpoint, for the Bot Framework's
   * outbound token and for Graph). Left unset in production; tests point it at a local server.
   */
  ENVBOT_MICROSOFT_LOGIN_URL: optional,
  /** Microsoft Graph's base URL, for teams-group: membership. Left unset in production; tests point it at a local server. */
  ENVBOT_MICROSOFT_GRAPH_URL: optional,
  /** "true": the app registration has Graph's User.Read.All and GroupMember.Read.All (application) permissions, so teams-group: principals are checked. */
  ENVBOT_TEAMS_GROUPS_FROM_GRAPH: optional.pipe(z.enum(['true', 'false'], { message: 'ENVBOT_TEAMS_GROUPS_FROM_GRAPH must be true or false' }).optional()),
  /** Comma-separated SNS topic ARNs whose S3 notifications POST /webhooks/s3 accepts; none: the route is off. */
  ENVBOT_SNS_TOPIC_ARNS: optional,
  /** Tests only: a loopback origin (http://127.0.0.1:<port>) accepted beside the SNS hosts for SigningCertURL and SubscribeURL. */
  ENVBOT_SNS_TEST_ORIGIN: optional,
  /** The bearer token Alertmanager sends to POST /webhooks/alertmanager (http_config.authorization); none: the route is off. */
  ALERTMANAGER_WEBHOOK_TOKEN: optional,
  /** How long a source's refresh waits for more changes before it copies (seconds). */
  ENVBOT_S3_REFRESH_DEBOUNCE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  /** How many environments' copies one source's refresh runs at a time. */
  ENVBOT_S3_REFRESH_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(4),
  /** How often a running storage copy asks DataSync how far it is, and edits its message (seconds). */
  ENVBOT_STORAGE_COPY_POLL_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  /** The secret of GitHub's push webhook (X-Hub-Signature-256); none: GitHub pushes are refused. */
  GITHUB_WEBHOOK_SECRET: optional,
  /** The token of GitLab's push webhook (X-Gitlab-Token); none: GitLab pushes are refused. */
  GITLAB_WEBHOOK_TOKEN: optional,
  /** How many environments one push applies in at a time. */
  ENVBOT_GIT_PUSH_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(4),
  /** Message edits a minute a worker's chat outbox allows itself (Slack's chat.update is Tier 3: 50+ a minute per workspace). */
  ENVBOT_CHAT_EDITS_PER_MINUTE: z.coerce.number().int().min(1).max(10_000).default(50),
  ENVBOT_PROMOTION_CHECK_EVERY: z.string().regex(/^\d+\s*(s|m|h|seconds?|minutes?|hours?)$/, 'write a period such as 5m, 10 minutes or 1h').default('5m'),
});

/** The names of every setting envbot reads (deploy/helm/envbot's test checks the chart sets no other). */
export const SETTING_NAMES: readonly string[] = Object.keys(settingsSchema.shape);

/** TLS to Temporal: file paths, read when envbot connects (shared/clients/temporal.ts). */
export interface TemporalTls {
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  serverName?: string;
}

function parseTemporalTls(s: { TEMPORAL_TLS_CERT?: string; TEMPORAL_TLS_KEY?: string; TEMPORAL_TLS_CA?: string; TEMPORAL_TLS_SERVER_NAME?: string }): TemporalTls | undefined {
  const { TEMPORAL_TLS_CERT: certFile, TEMPORAL_TLS_KEY: keyFile, TEMPORAL_TLS_CA: caFile, TEMPORAL_TLS_SERVER_NAME: serverName } = s;
  if (Boolean(certFile) !== Boolean(keyFile)) {
    throw new SettingsError('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both (the client certificate and its private key, PEM files) for mTLS, or neither');
  }
  if (!certFile && !caFile && !serverName) return undefined;
  return { ...(certFile ? { certFile, keyFile } : {}), ...(caFile ? { caFile } : {}), ...(serverName ? { serverName } : {}) };
}

export interface SecretKey {
  id: string;
  key: Buffer;
}

export interface Settings {
  configFile: string | undefined;
  temporal: { address: string; namespace: string; taskQueue: string; uiUrl: string | undefined; tls?: TemporalTls };
  databaseUrl: string;
  servers: { postgres?: string; mysql?: string; mongo?: string; redis?: string };
  /** Static credentials only when both keys are set; otherwise the SDK's default credential chain. */
  aws: { region: string; endpoint: string | undefined; credentials?: { accessKeyId: string; secretAccessKey: string } };
  kubeconfig: string | undefined;
  /** Where S3 and git seeds and templates are fetched to (activities/sources), one folder per version. */
  sourceCache: string;
  secretKeys: SecretKey[];
  http: { port: number };
  /** `bot`: chat adapters and webhooks without a worker; `worker`: the worker without them; `all`: both. */
  role: 'all' | 'bot' | 'worker';
  logLevel: z.output<typeof settingsSchema>['LOG_LEVEL'];
  slack: { signingSecret?: string; botToken?: string; appToken?: string; apiUrl?: string };
  /** Microsoft Teams through the Bot Framework; no appId: unauthenticated, for the Bot Framework Emulator only. */
  teams: {
    appId?: string;
    appPassword?: string;
    /** Certificate credentials (instead of appPassword): thumbprint and the path of the PEM private key. */
    certificate?: { thumbprint: string; keyFile: string };
    tenantId?: string;
    appType?: 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';
    openIdMetadataUrl?: string;
    emulator: boolean;
    /** Entra ID's login host, without a tenant (https://login.microsoftonline.com unless a test says otherwise). */
    loginUrl: string;
    /** True when loginUrl is not Microsoft's own (tests): MSAL is told to trust its host. */
    loginUrlOverridden: boolean;
    graphUrl: string;
    /** teams-group: principals are checked with Microsoft Graph (User.Read.All and GroupMember.Read.All granted). */
    groupsFromGraph: boolean;
  };
  /** S3 change notifications delivered by SNS (POST /webhooks/s3), and the refreshes they start. */
  s3Webhook: {
    /** The SNS topics whose messages are accepted; empty: the route is off. */
    topicArns: string[];
    /** Tests only: a loopback origin that stands in for the SNS hosts (certificates, subscription confirmations). */
    testOrigin: string | undefined;
    debounceSeconds: number;
    concurrency: number;
  };
  /** Alertmanager's webhook (POST /webhooks/alertmanager): its bearer token; absent: the route is off. */
  alertmanager: { token: string | undefined };
  /** How often each project's production is checked for promotions (a Temporal Schedule per project), as Temporal reads a duration. */
  promotionEvery: string;
  /** Git push webhooks (POST /webhooks/git): the secrets they are verified with; neither set: the route is off. */
  gitWebhook: { githubSecret: string | undefined; gitlabToken: string | undefined; concurrency: number };
  /** How often a running storage copy looks at DataSync. */
  storageCopy: { pollSeconds: number };
  /** The chat outbox's edit budget per worker process (activities/outbox.ts). */
  chat: { editsPerMinute: number };
  /** Every variable, for `${VAR}` substitution in the catalogue. */
  env: Record<string, string | undefined>;
}

/** A guessable token would open the route to anyone: at least 32 characters. */
function parseWebhookToken(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (raw.length < 32 || /\s/.test(raw)) {
    throw new SettingsError('ALERTMANAGER_WEBHOOK_TOKEN must be at least 32 characters without spaces; make one with: node -e "console.log(require(\'crypto\').randomBytes(32).toString(\'base64url\'))"');
  }
  return raw;
}

function parseKeys(raw: string | undefined): SecretKey[] {
  if (!raw) return [];
  return raw.split(',').map((entry) => {
    const [id, b64] = entry.split(':');
    const key = Buffer.from(b64 ?? '', 'base64');
    if (!id || !/^[A-Za-z0-9._-]+$/.test(id) || key.length !== 32) {
      throw new SettingsError(
        'ENVBOT_SECRET_KEYS must be "<key id>:<base64 of 32 random bytes>" (comma-separated for rotation, newest first); ' +
          'make a key with: node -e "console.log(\'k1:\'+require(\'crypto\').randomBytes(32).toString(\'base64\'))"',
      );
    }
    return { id, key };
  });
}

const TOPIC_ARN = /^arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

function parseTopicArns(raw: string | undefined): string[] {
  if (!raw) return [];
  const arns = raw.split(',').map((a) => a.trim()).filter(Boolean);
  const bad = arns.filter((a) => !TOPIC_ARN.test(a));
  if (bad.length) {
    throw new SettingsError(`ENVBOT_SNS_TOPIC_ARNS: ${bad.map((a) => `"${a}"`).join(', ')} is not an SNS topic ARN; write arn:aws:sns:<region>:<account>:<topic>, comma-separated`);
  }
  return arns;
}

/** Only a loopback origin: this setting must never let a message name a certificate elsewhere. */
function parseTestOrigin(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    url = new URL('invalid:');
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (!/^https?:$/.test(url.protocol) || !loopback || url.origin !== raw.replace(/\/$/, '')) {
    throw new SettingsError(`ENVBOT_SNS_TEST_ORIGIN must be a loopback origin such as http://127.0.0.1:8443 (it is for tests only); got "${raw}"`);
  }
  return url.origin;
}

const MICROSOFT_LOGIN = 'https://login.microsoftonline.com';
const MICROSOFT_GRAPH = 'https://graph.microsoft.com';

function baseUrl(name: string, raw: string | undefined, fallback: string): string {
  if (raw === undefined) return fallback;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.search || url.hash) throw new SettingsError(`${name} must be a base URL such as ${fallback}; got "${raw}"`);
  return raw.replace(/\/+$/, '');
}

function parseTeams(s: z.output<typeof settingsSchema>): Settings['teams'] {
  const thumbprint = s.MicrosoftAppCertificateThumbprint;
  const keyFile = s.MicrosoftAppCertificateKeyFile;
  if (!!thumbprint !== !!keyFile) {
    throw new SettingsError('MicrosoftAppCertificateThumbprint and MicrosoftAppCertificateKeyFile go together: set both (the certificate\'s SHA-1 thumbprint as Entra ID shows it, and the path of its PEM private key), or neither');
  }
  if (thumbprint && !/^[0-9A-Fa-f]{40}$/.test(thumbprint.replace(/:/g, ''))) {
    throw new SettingsError(`MicrosoftAppCertificateThumbprint must be the certificate's SHA-1 thumbprint, 40 hex digits (Entra ID > App registrations > Certificates & secrets shows it); got "${thumbprint}"`);
  }
  if (thumbprint && s.MicrosoftAppPassword) {
    throw new SettingsError('Set MicrosoftAppPassword or a certificate (MicrosoftAppCertificateThumbprint and MicrosoftAppCertificateKeyFile), not both');
  }
  if ((thumbprint || s.MicrosoftAppPassword) && !s.MicrosoftAppId) {
    throw new SettingsError('A Teams credential (MicrosoftAppPassword or a certificate) is set but MicrosoftAppId is not: set the bot\'s app id too');
  }
  const groupsFromGraph = s.ENVBOT_TEAMS_GROUPS_FROM_GRAPH === 'true';
  if (groupsFromGraph && (!s.MicrosoftAppId || !(s.MicrosoftAppPassword || thumbprint) || !s.MicrosoftAppTenantId)) {
    throw new SettingsError(
      'ENVBOT_TEAMS_GROUPS_FROM_GRAPH=true asks Microsoft Graph for group membership as the bot\'s app registration: it needs MicrosoftAppId, ' +
        'MicrosoftAppPassword (or a certificate) and MicrosoftAppTenantId (the tenant whose groups envbot.yaml names)',
    );
  }
  const loginUrl = baseUrl('ENVBOT_MICROSOFT_LOGIN_URL', s.ENVBOT_MICROSOFT_LOGIN_URL, MICROSOFT_LOGIN);
  return {
    appId: s.MicrosoftAppId, appPassword: s.MicrosoftAppPassword, tenantId: s.MicrosoftAppTenantId, appType: s.MicrosoftAppType,
    ...(thumbprint && keyFile ? { certificate: { thumbprint: thumbprint.replace(/:/g, '').toUpperCase(), keyFile } } : {}),
    openIdMetadataUrl: s.ToBotFromChannelOpenIdMetadataUrl, emulator: s.ENVBOT_TEAMS_EMULATOR === 'true',
    loginUrl, loginUrlOverridden: loginUrl !== MICROSOFT_LOGIN,
    graphUrl: baseUrl('ENVBOT_MICROSOFT_GRAPH_URL', s.ENVBOT_MICROSOFT_GRAPH_URL, MICROSOFT_GRAPH),
    groupsFromGraph,
  };
}

/**
 * Reads settings from `env`, after filling in unset variables from dotenv files (the first file
 * wins over later ones; the real environment wins over every file).
 */
export function readSettings(env: NodeJS.ProcessEnv, envFiles: string[] = []): Settings {
  const merged: Record<string, string | undefined> = {};
  for (const file of [...envFiles].reverse()) {
    if (existsSync(file)) Object.assign(merged, parseEnv(readFileSync(file, 'utf8')));
  }
  Object.assign(merged, env);
  const parsed = settingsSchema.safeParse(merged);
  if (!parsed.success) {
    throw new SettingsError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'));
  }
  const s = parsed.data;
  const tls = parseTemporalTls(s);
  return {
    configFile: s.ENVBOT_CONFIG,
    temporal: {
      address: s.TEMPORAL_ADDRESS, namespace: s.TEMPORAL_NAMESPACE, taskQueue: s.TEMPORAL_TASK_QUEUE, uiUrl: s.TEMPORAL_UI_URL,
      ...(tls ? { tls } : {}),
    },
    databaseUrl: s.DATABASE_URL,
    servers: { postgres: s.POSTGRES_URL, mysql: s.MYSQL_URL, mongo: s.MONGO_URL, redis: s.REDIS_URL },
    aws: {
      region: s.AWS_REGION,
      endpoint: s.AWS_ENDPOINT_URL,
      ...(s.AWS_ACCESS_KEY_ID && s.AWS_SECRET_ACCESS_KEY
        ? { credentials: { accessKeyId: s.AWS_ACCESS_KEY_ID, secretAccessKey: s.AWS_SECRET_ACCESS_KEY } }
        : {}),
    },
    kubeconfig: s.KUBECONFIG,
    sourceCache: s.ENVBOT_SOURCE_CACHE ?? join(tmpdir(), 'envbot-sources'),
    secretKeys: parseKeys(s.ENVBOT_SECRET_KEYS),
    http: { port: s.PORT },
    role: s.ENVBOT_ROLE,
    logLevel: s.LOG_LEVEL,
    slack: { signingSecret: s.SLACK_SIGNING_SECRET, botToken: s.SLACK_BOT_TOKEN, appToken: s.SLACK_APP_TOKEN, apiUrl: s.SLACK_API_URL },
    teams: parseTeams(s),
    s3Webhook: {
      topicArns: parseTopicArns(s.ENVBOT_SNS_TOPIC_ARNS),
      testOrigin: parseTestOrigin(s.ENVBOT_SNS_TEST_ORIGIN),
      debounceSeconds: s.ENVBOT_S3_REFRESH_DEBOUNCE_SECONDS,
      concurrency: s.ENVBOT_S3_REFRESH_CONCURRENCY,
    },
    alertmanager: { token: parseWebhookToken(s.ALERTMANAGER_WEBHOOK_TOKEN) },
    storageCopy: { pollSeconds: s.ENVBOT_STORAGE_COPY_POLL_SECONDS },
    chat: { editsPerMinute: s.ENVBOT_CHAT_EDITS_PER_MINUTE },
    promotionEvery: s.ENVBOT_PROMOTION_CHECK_EVERY,
    gitWebhook: { githubSecret: s.GITHUB_WEBHOOK_SECRET, gitlabToken: s.GITLAB_WEBHOOK_TOKEN, concurrency: s.ENVBOT_GIT_PUSH_CONCURRENCY },
    env: merged,
  };
}
