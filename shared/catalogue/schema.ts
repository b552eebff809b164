// The catalogue (envbot.yaml): projects, stages, services, data and who may do what.
// Parsed once at start; everything downstream gets the typed result.
import { z } from 'zod';
import { WAIT_PATTERN } from '../duration.js';

/** A name used as a map key in the catalogue: project, service, database, volume, secret. */
const key = z
  .string()
  .regex(/^[a-z][a-z0-9-]*$/, 'use lowercase letters, digits and "-", starting with a letter')
  .max(30, 'use at most 30 characters');

/** A git ref envbot passes to git: a branch or tag name (slashes allowed) or a full commit id, never an option. */
export function refProblem(ref: string): string | undefined {
  if (/^[0-9a-f]{40}$/.test(ref)) return undefined;
  if (!/^[A-Za-z0-9_][A-Za-z0-9._/-]*$/.test(ref)) return 'a branch or tag name (letters, digits, ".", "_", "-", "/") or a full 40-character commit id';
  if (ref.includes('..') || ref.includes('//') || ref.endsWith('/') || ref.endsWith('.') || ref.endsWith('.lock') || ref.split('/').some((p) => p.startsWith('.'))) {
    return 'not a valid git branch or tag name ("..", "//", a part starting with "." and a trailing "/", "." or ".lock" are not allowed)';
  }
  return undefined;
}

/** A path inside a repository or under a prefix: '/'-separated, no "." or ".." part, so it never leaves the tree. */
function traverses(path: string): boolean {
  return path.split('/').some((p) => p === '..' || p === '.');
}

export type Location =
  | { kind: 'disk'; path: string; raw: string }
  | { kind: 's3'; bucket: string; prefix: string; raw: string }
  | { kind: 'git'; repo: string; ref: string; path: string; raw: string };

/**
 * Where a seed or template lives: a path relative to envbot.yaml (disk), `s3://bucket/prefix`, or
 * `git+https://host/repo.git#ref:path` (also `git+ssh://` and `git+file://` for a repository on this
 * machine). Disk locations are checked when the catalogue loads; S3 and git ones when an operation
 * fetches them (activities/sources).
 */
export function parseLocation(raw: string): { location: Location } | { problem: string } {
  if (raw.startsWith('s3://')) {
    const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(raw);
    if (!m) return { problem: `"${raw}" is not an S3 location: write s3://<bucket>/<prefix>` };
    const prefix = m[2] ?? '';
    if (traverses(prefix)) return { problem: `"${raw}": an S3 prefix with a "." or ".." part is not accepted` };
    return { location: { kind: 's3', bucket: m[1]!, prefix, raw } };
  }
  if (raw.startsWith('git+')) {
    // A password or token in the URL would be shown by /env status and in logs: never accept one
    // (and never repeat it in the refusal).
    if (/^git\+https:\/\/[^/#\s]*@/.test(raw) || /^git\+[a-z]+:\/\/[^/@#\s]*:[^/@#\s]*@/.test(raw)) {
      return { problem: `"${raw.replace(/^(git\+[a-z]+:\/\/)[^@]*@/, '$1<credentials>@')}" has credentials in its URL: remove them and give git its own (a credential helper for https, an SSH key for git+ssh)` };
    }
    const m = /^git\+((?:https|ssh|file):\/\/[^#\s]+)#([^:]+):(.*)$/.exec(raw);
    if (!m) return { problem: `"${raw}" is not a git location: write git+https://<host>/<repo>.git#<branch or tag>:<path> (or git+ssh://, git+file://)` };
    const [, repo, ref, rawPath] = m as unknown as [string, string, string, string];
    const bad = refProblem(ref);
    if (bad) return { problem: `"${raw}": "${ref}" is not a ref envbot accepts: write ${bad}` };
    const path = rawPath.replace(/^\/+|\/+$/g, '');
    if (traverses(path)) return { problem: `"${raw}": the path in the repository may not have a "." or ".." part` };
    return { location: { kind: 'git', repo, ref, path, raw } };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(raw)) return { problem: `"${raw}": use a path relative to envbot.yaml, s3://<bucket>/<prefix> or git+https://<host>/<repo>.git#<ref>:<path>` };
  return { location: { kind: 'disk', path: raw, raw } };
}

/** A fetched version as people read it: a git commit's first 7 characters, an S3 digest's first 12. */
export function shortVersion(location: string, version: string): string {
  return version.slice(0, location.startsWith('git+') ? 7 : 12);
}

export const location = z.string().min(1).transform((raw, ctx): Location => {
  const parsed = parseLocation(raw);
  if ('problem' in parsed) {
    ctx.addIssue({ code: 'custom', message: parsed.problem });
    return z.NEVER;
  }
  return parsed.location;
});


/** Durations such as 30m, 12h, 14d, 2w. */
export const duration = z.string().regex(/^\d+[mhdw]$/, 'write a duration such as 12h, 14d or 2w');

const principal = z
  .string()
  .regex(
    /^(\*|group:[a-z][a-z0-9-]*|slack:[UW][A-Z0-9]+|slack-group:S[A-Z0-9]+|teams:[0-9a-f-]{36}|teams-group:[0-9a-f-]{36})$/,
    'write "*", group:<name>, slack:<user id>, slack-group:<user group id>, teams:<AAD object id> or teams-group:<AAD group id>',
  );

export const ACTIONS = ['create', 'destroy', 'reset', 'extend', 'refresh', 'credentials', 'read'] as const;
export type Action = (typeof ACTIONS)[number];

const permissions = z
  .object(Object.fromEntries(ACTIONS.map((a) => [a, z.array(principal).optional()])) as Record<Action, z.ZodOptional<z.ZodArray<typeof principal>>>)
  .strict();

const channels = z
  .object({
    slack: z.array(z.string().regex(/^[CGD][A-Z0-9]+$/, 'a Slack channel id such as C0123ABCD')).default([]),
    teams: z.array(z.string().min(1)).default([]),
  })
  .strict();

const service = z
  .object({
    template: location,
    image: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    /** Host name labels: `service1` → service1.<env>.<baseDomain>. */
    hosts: z.array(z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a DNS label such as service1')).min(1),
    /**
     * The default branch this service follows in lower environments. Only a service whose template is
     * in git follows a branch, and its default branch is the ref of that location
     * (`git+https://host/repo.git#<branch>:<path>`); written here it must be the same.
     */
    branch: z.string().min(1).optional(),
    /** Path for health checks and the load balancer's target group. */
    healthPath: z.string().startsWith('/').default('/'),
    /**
     * The service exposes Prometheus metrics: a ServiceMonitor scrapes `path` on the Service's port
     * named `port` (its template's Service must name that port).
     */
    metrics: z
      .object({
        port: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "the name of a port of the service's Kubernetes Service, such as http").default('http'),
        path: z.string().startsWith('/').default('/metrics'),
        interval: z.string().regex(/^\d+[smh]$/, 'write an interval such as 30s or 1m').default('30s'),
      })
      .strict()
      .optional(),
    /**
     * When production's image of this service counts as newer than a lower environment's (promotion):
     * `semver` (the tags are semantic versions), `date` (the tags carry a date stamp such as
     * 20261130 or 2026-11-30-1542), or `any` (any other image).
     */
    newer: z.enum(['semver', 'date', 'any']).default('semver'),
  })
  .strict();

const server = z.object({ url: z.string().min(1) }).strict();

const database = z
  .object({
    engine: z.enum(['mongo', 'mysql', 'postgres']),
    server: key.default('main'),
    /** Folder with the seed: mongo/<collection>.json, sql schema/, data/, custom/, constraints/. */
    seed: location.optional(),
  })
  .strict();

/** An IPv4 network such as 10.20.0.0/16. */
const cidr = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, 'an IPv4 network such as 10.20.0.0/16');

const posixId = z.number().int().min(0).max(4294967295);

const storageVolume = z
  .object({
    /** Where the volume is filled from: s3://<bucket>/<prefix> (copied by DataSync). */
    source: location,
    mountPath: z.string().startsWith('/'),
    size: z.string().regex(/^\d+(Mi|Gi|Ti)$/, 'a Kubernetes quantity such as 5Gi').default('5Gi'),
    /** Owner of the volume's directory, and the user and group every access through it (Pods, DataSync) acts as. */
    uid: posixId.default(1000),
    gid: posixId.default(1000),
    /** What destroy does with the files in the directory: keep them on the file system, or delete them. */
    onDestroy: z.enum(['keep-data', 'delete-data']).default('keep-data'),
  })
  .strict();

const generatedSecret = z
  .object({
    length: z.number().int().min(16).max(128).default(32),
    alphabet: z.enum(['alphanumeric', 'hex', 'base64url']).default('alphanumeric'),
  })
  .strict();

const sharedSecret = z
  .object({
    /** Name or ARN in AWS Secrets Manager. */
    secretsManager: z.string().min(1),
    /** A key inside a JSON secret; the whole string when absent. */
    jsonKey: z.string().min(1).optional(),
  })
  .strict();

/** One alert of a project's own, rendered for each environment ({{NAMESPACE}}, {{ENV_NAME}} in `expr` and `summary`). */
const alertRule = z
  .object({
    alert: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an alert name such as HighErrorRate (letters, digits, "_")'),
    expr: z.string().min(1),
    for: duration.optional(),
    severity: z.enum(['info', 'warning', 'critical']).default('warning'),
    summary: z.string().min(1),
  })
  .strict();

const monitoring = z
  .object({
    enabled: z.boolean().default(true),
    /** Grafana folder the environment's dashboard goes in (the dashboard sidecar's `grafana_folder` annotation). */
    grafanaFolder: z.string().min(1).optional(),
    /** Alert when a service has no available replica for this long. */
    unavailableFor: duration.default('10m'),
    /** Alerts of the project's own, beside the availability alert of each service. */
    rules: z.array(alertRule).default([]),
  })
  .strict();

const project = z
  .object({
    description: z.string().default(''),
    stages: z.array(key).optional(),
    channels: channels.default({ slack: [], teams: [] }),
    permissions: permissions.default({}),
    services: z.record(key, service).refine((s) => Object.keys(s).length > 0, 'a project needs at least one service'),
    databases: z.record(key, database).default({}),
    redis: z.object({ server: key.default('main'), seed: location.optional() }).strict().optional(),
    storage: z.record(key, storageVolume).default({}),
    secrets: z
      .object({ generated: z.record(key, generatedSecret).default({}), shared: z.record(key, sharedSecret).default({}) })
      .strict()
      .default({ generated: {}, shared: {} }),
    /**
     * Monitoring objects for each environment (ServiceMonitors, a PrometheusRule, a Grafana dashboard
     * ConfigMap); absent: none. The cluster needs prometheus-operator's CRDs.
     */
    monitoring: monitoring.optional(),
    /**
     * How a service is reached: `host`, its own host (`service1.projb-qa.example.com`), or `path`, a
     * path on the environment's shared host (`services.projb-qa.example.com/service1`).
     */
    addressing: z.enum(['host', 'path']).default('host'),
    /** The directory group whose VPN users may reach the project's environments (needs the top-level `vpn`). */
    vpn: z.object({ group: z.string().min(1), cidr: cidr.optional() }).strict().optional(),
    /**
     * Where production runs (promotion): a kubeconfig context envbot may read with (read-only is
     * enough) and the namespace; each service's image is read from the Deployment named as the service.
     */
    production: z.object({ context: z.string().min(1), namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a Kubernetes namespace name') }).strict().optional(),
    /** How long a create waits for every Deployment and StatefulSet to be available before it fails. */
    readyTimeout: z.string().regex(WAIT_PATTERN, 'write a wait such as 90s, 10m or 1h').default('10m'),
    ttl: duration.optional(),
    /** The longest an environment may be kept from now, by create's --ttl or an extension (defaults.maxTtl when absent). */
    maxTtl: duration.optional(),
  })
  .strict();

export const catalogueSchema = z
  .object({
    version: z.literal(1, { message: 'write "version: 1"' }),
    baseDomain: z
      .string()
      .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$/, 'a DNS domain such as example.com'),
    stages: z.array(key).min(1),
    defaults: z
      .object({ ttl: duration.optional(), warnBefore: duration.default('1d'), maxTtl: duration.default('30d') })
      .strict()
      .default({ warnBefore: '1d', maxTtl: '30d' }),
    servers: z
      .object({
        mongo: z.record(key, server).default({}),
        mysql: z.record(key, server).default({}),
        postgres: z.record(key, server).default({}),
        redis: z.record(key, server).default({}),
      })
      .strict(),
    dns: z
      .object({
        /** The private hosted zone that holds `<service>.<env>.<baseDomain>`. */
        privateZone: z.string().min(1),
        vpcId: z.string().min(1),
        vpcRegion: z.string().min(1).optional(),
        /** Where the records point: the internal load balancer's DNS name. */
        target: z.string().min(1),
      })
      .strict(),
    /**
     * The internal load balancer's listener that gets one rule per environment and service: named by
     * its ARN, or by the load balancer's name and the listener's port. Rule priorities are handed out
     * from `priorities` (keep that range for envbot: a rule made by hand inside it stops a create).
     */
    loadBalancer: z
      .object({
        listenerArn: z.string().min(1).optional(),
        name: z.string().min(1).optional(),
        port: z.number().int().min(1).max(65535).optional(),
        /** When set, the load balancer must be in this VPC (its target groups are made there). */
        vpcId: z.string().min(1).optional(),
        priorities: z.object({ from: z.number().int().min(1).max(50000), count: z.number().int().min(1).max(50000) }).strict().default({ from: 1000, count: 1000 }),
      })
      .strict()
      .refine((l) => (l.listenerArn === undefined) !== (l.name === undefined), 'write either listenerArn, or name (and port) of the load balancer')
      .refine((l) => l.priorities.from + l.priorities.count - 1 <= 50000, 'priorities end at 50000 at most')
      .optional(),
    /**
     * The AWS Client VPN endpoint people reach environments through: a project's `vpn.group` is
     * authorised to `cidr` (the network of the internal load balancer) while the project has an environment.
     */
    vpn: z.object({ clientVpnEndpointId: z.string().regex(/^cvpn-endpoint-[0-9a-f]+$/, 'a Client VPN endpoint id such as cvpn-endpoint-0123456789abcdef0'), cidr, region: z.string().min(1).optional() }).strict().optional(),
    storage: z
      .object({
        fileSystemId: z.string().min(1),
        dataSyncRoleArn: z.string().min(1).optional(),
        subnetArn: z.string().min(1),
        securityGroupArns: z.array(z.string().min(1)).min(1),
      })
      .strict()
      .optional(),
    /** The Grafana that shows the environments' dashboards: alerts in chat link to `<url>/d/<uid>`. */
    grafana: z.object({ url: z.string().regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, 'a URL such as https://grafana.example.com').transform((u) => u.replace(/\/+$/, '')) }).strict().optional(),
    groups: z.record(key, z.array(principal)).default({}),
    projects: z.record(key, project).refine((p) => Object.keys(p).length > 0, 'define at least one project'),
  })
  .strict();

export type Catalogue = z.output<typeof catalogueSchema>;
export type Project = Catalogue['projects'][string];
export type Service = Project['services'][string];
export type Database = Project['databases'][string];
export type StorageVolume = Project['storage'][string];
