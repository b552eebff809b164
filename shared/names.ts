// Every name envbot derives from an environment is made here, and only here.
// Pure and deterministic: workflows import it too, so no Node built-ins.
import { InvalidNameError } from './errors.js';

/** DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit. */
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PROJECT = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const STAGE = /^[a-z][a-z0-9]*$/;
const SUFFIX = /^[a-z0-9]+$/;

export const LIMITS = {
  label: 63,
  project: 30,
  stage: 15,
  suffix: 12,
  dnsName: 253,
  /** MongoDB database names: 64 bytes; FerretDB on SQLite accepts 63. */
  mongoDatabase: 63,
  /** ELBv2 target group names. */
  targetGroup: 32,
  /** MySQL and MariaDB: database names 64 characters, user names 32 (MySQL 5.7+). */
  mysqlDatabase: 64,
  mysqlUser: 32,
  /** PostgreSQL identifiers: NAMEDATALEN - 1. */
  postgresIdentifier: 63,
} as const;

export interface EnvironmentName {
  /** `<project>-<stage>` or `<project>-<stage>-<suffix>`, a DNS-1123 label. */
  name: string;
  project: string;
  stage: string;
  suffix?: string;
}

/**
 * Makes the environment name from its parts, or refuses with a message that says what is allowed.
 * The name is the key of everything else: it is never truncated.
 */
export function environmentName(project: string, stage: string, suffix?: string): EnvironmentName {
  if (!PROJECT.test(project) || project.length > LIMITS.project) {
    throw new InvalidNameError(
      `"${project}" is not a valid project name: use 1-${LIMITS.project} lowercase letters, digits and single hyphens, starting with a letter (for example "projb").`,
    );
  }
  if (!STAGE.test(stage) || stage.length > LIMITS.stage) {
    throw new InvalidNameError(
      `"${stage}" is not a valid stage: use 1-${LIMITS.stage} lowercase letters and digits, starting with a letter (for example "qa").`,
    );
  }
  if (suffix !== undefined && (!SUFFIX.test(suffix) || suffix.length > LIMITS.suffix)) {
    throw new InvalidNameError(
      `"${suffix}" is not a valid suffix: use 1-${LIMITS.suffix} lowercase letters and digits (for example "2" or "hotfix").`,
    );
  }
  const name = suffix === undefined ? `${project}-${stage}` : `${project}-${stage}-${suffix}`;
  if (name.length > LIMITS.label || !LABEL.test(name)) {
    throw new InvalidNameError(`"${name}" is longer than ${LIMITS.label} characters; use a shorter project, stage or suffix.`);
  }
  return suffix === undefined ? { name, project, stage } : { name, project, stage, suffix };
}

/** Checks a name someone typed (`projb-qa`) against the known projects and stages. */
export function parseEnvironmentName(text: string, projects: readonly string[], stages: readonly string[]): EnvironmentName {
  const input = text.trim().toLowerCase();
  // Longest project first, so "web-shop-qa" is project "web-shop", not "web".
  for (const project of [...projects].sort((a, b) => b.length - a.length)) {
    if (!input.startsWith(`${project}-`)) continue;
    const [stage, ...rest] = input.slice(project.length + 1).split('-');
    if (stage === undefined || !stages.includes(stage) || rest.length > 1) continue;
    return environmentName(project, stage, rest[0]);
  }
  throw new InvalidNameError(
    `"${text}" is not an environment name: write <project>-<stage>, for example "${projects[0] ?? 'projb'}-${stages[0] ?? 'qa'}"` +
      (projects.length ? ` (projects: ${projects.join(', ')}; stages: ${stages.join(', ')})` : '') + '.',
  );
}

/** 32-bit FNV-1a as 8 hex digits: pure, stable across runs and platforms. */
export function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * Fits `name` into `max` characters: unchanged when it fits, otherwise a prefix, `sep`
 * and a hash of the whole name, so two long names that share a prefix stay distinct.
 */
export function fit(name: string, max: number, sep: '-' | '_' = '-'): string {
  if (name.length <= max) return name;
  const keep = max - 9;
  let prefix = name.slice(0, keep);
  while (prefix.endsWith('-') || prefix.endsWith('_')) prefix = prefix.slice(0, -1);
  return `${prefix}${sep}${shortHash(name)}`;
}

function snake(text: string): string {
  return text.replace(/-/g, '_');
}

function assertLogical(kind: string, name: string): void {
  if (!/^[a-z][a-z0-9_-]*$/.test(name) || name.length > 40) {
    throw new InvalidNameError(
      `"${name}" is not a valid ${kind} name in the catalogue: use up to 40 lowercase letters, digits, '-' and '_', starting with a letter.`,
    );
  }
}

/** How a project's services are reached (the catalogue's `addressing`). */
export type AddressingStyle = 'host' | 'path';

/** Where a request for a service arrives: a host, and in the path style a path on it (`/service1`). */
export interface Route {
  host: string;
  path?: string;
}

/** The first label of the environment's shared host in the path style: `services.projb-qa.example.com`. */
export const PATH_STYLE_HOST = 'services';

/** A route as a URL: `https://service1.projb-qa.example.com`, `https://services.projb-qa.example.com/service1`. */
export function routeUrl(route: Route): string {
  return `https://${route.host}${route.path ?? ''}`;
}

/** A route as the ledger names it: `host` or `host/path`. */
export function routeKey(route: Route): string {
  return `${route.host}${route.path ?? ''}`;
}

/** All the names of one environment's resources. */
export function namesFor(env: EnvironmentName, baseDomain: string) {
  const e = env.name;
  return {
    environment: e,
    namespace: e,
    /** Logical database `catalog` → `catalog_projb_qa`. */
    mongoDatabase: (db: string) => (assertLogical('database', db), fit(`${snake(db)}_${snake(e)}`, LIMITS.mongoDatabase, '_')),
    mongoUser: fit(`envbot_${snake(e)}`, LIMITS.mongoDatabase, '_'),
    mysqlDatabase: (db: string) => (assertLogical('database', db), fit(`${snake(db)}_${snake(e)}`, LIMITS.mysqlDatabase, '_')),
    mysqlUser: fit(`eb_${snake(e)}`, LIMITS.mysqlUser, '_'),
    postgresDatabase: (db: string) => (assertLogical('database', db), fit(`${snake(db)}_${snake(e)}`, LIMITS.postgresIdentifier, '_')),
    postgresUser: fit(`eb_${snake(e)}`, LIMITS.postgresIdentifier, '_'),
    /** The environment's Redis ACL user (Redis user names have no length limit; the environment name is a label). */
    redisUser: `envbot-${e}`,
    /** Storage volume `media` → `vol-media-projb-qa`. */
    volume: (vol: string) => (assertLogical('volume', vol), fit(`vol-${vol}-${e}`, LIMITS.label)),
    /** Service host `service1` → `service1.projb-qa.example.com`. */
    host: (service: string) => {
      if (!LABEL.test(service) || service.length > LIMITS.label) {
        throw new InvalidNameError(`"${service}" is not a valid host name label: use lowercase letters, digits and '-'.`);
      }
      const host = `${service}.${e}.${baseDomain}`;
      if (host.length > LIMITS.dnsName) throw new InvalidNameError(`host name "${host}" is longer than ${LIMITS.dnsName} characters.`);
      return host;
    },
    /**
     * Where host label `service1` is reached: its own host (`service1.projb-qa.example.com`) or, in
     * the path style, `/service1` on the environment's shared host `services.projb-qa.example.com`.
     */
    route: (label: string, style: AddressingStyle): Route => {
      const own = namesFor(env, baseDomain).host(label);
      return style === 'host' ? { host: own } : { host: namesFor(env, baseDomain).host(PATH_STYLE_HOST), path: `/${label}` };
    },
    /**
     * The ELBv2 target group of a service (32 characters at most): a readable prefix and a hash of the
     * environment and service, so `a-qa` + `b-c` and `a-qa-b` + `c` get different names.
     */
    targetGroup: (service: string) => {
      assertLogical('service', service);
      const prefix = `${e}-${service}`.replace(/-+/g, '-').slice(0, LIMITS.targetGroup - 9).replace(/-+$/, '');
      return `${prefix}-${shortHash(`${e}/${service}`)}`;
    },
    /** Who holds a listener rule priority (the allocation's owner): `projb-qa/service1`. */
    ruleOwner: (service: string) => (assertLogical('service', service), `${e}/${service}`),
    /** The environment's DNS zone part: `projb-qa.example.com`. */
    domain: `${e}.${baseDomain}`,
    /** Kubernetes Secret holding the environment's generated credentials. */
    kubernetesSecret: fit(`envbot-${e}-credentials`, LIMITS.label),
    /** Directory on the shared EFS file system. */
    storageDirectory: (vol: string) => (assertLogical('volume', vol), `/envbot/${e}/${vol}`),
    /** The DataSync task that fills volume `media` from S3: `envbot-projb-qa-media` (task names may be 256 long). */
    storageCopyTask: (vol: string) => (assertLogical('volume', vol), `envbot-${e}-${vol}`),
    /** The Job that deletes volume `media`'s files when it is destroyed with `onDestroy: delete-data`. */
    storageCleanupJob: (vol: string) => (assertLogical('volume', vol), fit(`wipe-${vol}-${e}`, LIMITS.label)),
    /** The ServiceMonitor of service `service1`: `envbot-service1` (in the environment's namespace). */
    serviceMonitor: (service: string) => (assertLogical('service', service), fit(`envbot-${service}`, LIMITS.label)),
    /** The environment's PrometheusRule (availability and the project's own alerts). */
    prometheusRule: 'envbot-alerts',
    /** The ConfigMap holding the environment's Grafana dashboard (picked up by Grafana's dashboard sidecar). */
    dashboardConfigMap: 'envbot-dashboard',
    /** The Grafana dashboard's uid (40 characters at most): `envbot-projb-qa`. */
    dashboardUid: fit(`envbot-${e}`, 40),
    /** The dashboard's path under the catalogue's Grafana URL: `/d/envbot-projb-qa`. */
    dashboardPath: `/d/${fit(`envbot-${e}`, 40)}`,
    /** Labels envbot puts on everything it creates in Kubernetes. */
    labels: { 'app.kubernetes.io/managed-by': 'envbot', 'envbot.io/environment': e } as Record<string, string>,
  };
}

export type Names = ReturnType<typeof namesFor>;

/**
 * Each service's routes, in the project's addressing style: what the DNS records, the load-balancer
 * rules and the card's URLs are made of.
 */
export function serviceRoutes(names: Names, services: Readonly<Record<string, { hosts: readonly string[] }>>, addressing: AddressingStyle): { service: string; routes: Route[] }[] {
  return Object.entries(services).map(([service, s]) => ({ service, routes: s.hosts.map((h) => names.route(h, addressing)) }));
}

export type Operation = 'create' | 'destroy' | 'reset' | 'lifecycle' | 'storage-copy' | 'track';

/** Workflow ids are business keys: one running operation of a kind per environment. */
export function workflowId(operation: Operation, environment: string): string {
  return `envbot/${environment}/${operation}`;
}

/**
 * The refresh of one S3 source (`s3://bucket/prefix/`): one id per source, so the changes of many
 * objects signal one running refresh instead of starting many. Temporal ids may be 1000 long; a
 * longer prefix keeps its start and a hash.
 */
export function sourceRefreshWorkflowId(source: string): string {
  return fit(`envbot/refresh/${source}`, 900);
}

/**
 * The run that applies pushes of one branch of one repository (its URL reduced by repositoryKey):
 * one id per repository and branch, so a newer push is handed to the run already going (and
 * supersedes an older one it has not started on) instead of starting another.
 */
export function gitPushWorkflowId(repository: string, branch: string): string {
  return fit(`envbot/git-push/${repository}#${branch}`, 900);
}

/** The production promotion check of a project: one at a time, whoever started it (schedule, command, webhook). */
export function promotionWorkflowId(project: string): string {
  return `envbot/promotion/${project}`;
}

/** The Temporal Schedule that checks a project's production. */
export function promotionScheduleId(project: string): string {
  return `envbot-promotion-${project}`;
}

/** How the environment record names the workflow run that owns it: `<workflow id>:<run id>`. */
export function runKey(workflowIdValue: string, runId: string): string {
  return `${workflowIdValue}:${runId}`;
}

/** The workflow id part of a run key. */
export function workflowIdOfRun(key: string): string {
  const i = key.lastIndexOf(':');
  return i < 0 ? key : key.slice(0, i);
}
