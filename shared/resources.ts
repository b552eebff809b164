// What an environment is made of: one row per resource. The create saga, destroy (its reverse),
// reset, the plan, the step titles shown in chat and the CLI, and the progress query all read this
// table; adding a resource is one activity module plus one row here. Pure: workflows import it.
import { defineQuery } from '@temporalio/workflow';
import type { Progress, ResetTarget } from './model.js';

/** What the catalogue says one environment is made of; worked out by the core, which has the catalogue. */
export interface EnvironmentPlan {
  mongo: boolean;
  mysql: boolean;
  postgres: boolean;
  redis: boolean;
  /** The project's storage volumes (`media`), each filled from S3; absent in plans made before storage. */
  storage?: string[];
  /** Some seed or template is in S3 or git: the operation fetches them first (absent in plans made before that). */
  sources?: boolean;
  /** The catalogue has an internal load balancer: rules and target groups per service (absent in plans made before them). */
  loadBalancer?: boolean;
  /** The project has a `monitoring` block: ServiceMonitors, a PrometheusRule and a dashboard (absent in plans made before them). */
  monitoring?: boolean;
  /** The project's VPN group is authorised on the catalogue's Client VPN endpoint (absent in plans made before that). */
  vpn?: boolean;
  /**
   * The rows whose seed has work to do: the database engines with a seed folder, and Redis with a
   * seed file (createRedis empties the database it claims, so a seedless one needs no seed step; plans
   * made before that list Redis always). A create runs no other row's seed. Absent in plans made
   * before it: every row's seed runs, as it did then.
   */
  seeded?: string[];
  /** Time to live (14d); none: the environment stays until destroyed. */
  ttl?: string;
  warnBefore: string;
  /** How long the create waits for every Deployment and StatefulSet to be available (the project's `readyTimeout`; 10m when absent). */
  readyTimeout?: string;
}

/**
 * When a resource is made: `before` everything else, one after another; `parallel`, side by side
 * once the `before` rows are done; `after`, one after another once every parallel row is done.
 */
export type Phase = 'before' | 'parallel' | 'after';

/** What a row's create result adds to the environment's card. */
export type Reports = 'databases' | 'redisIndex' | 'urls' | 'storage' | 'vpn' | 'runs';

export interface ResourceRow {
  id: string;
  /** The step's title in chat and in the CLI. */
  title: string;
  phase: Phase;
  /** Whether an environment with this plan has the resource. */
  included: (plan: EnvironmentPlan) => boolean;
  /** Activities (names in the worker's registry), each called with `{ ref, ...input }`. */
  create: string;
  seed?: string;
  delete: string;
  /** Input the row's activities take besides the environment. */
  input?: Readonly<Record<string, string>>;
  /**
   * `create` runs seconds (`quick`), may run long and heartbeats (`long`), or only writes envbot's
   * store (`store`: a local activity, in the worker running the workflow, in runs from
   * ROWS_BY_NEED_PATCH on; quick in runs from before it).
   */
  createPreset: 'quick' | 'long' | 'store';
  /**
   * The rows this one needs built first, where the plan has them (runs from ROWS_BY_NEED_PATCH on):
   * it starts as soon as they are, beside anything else still running. Without it a row waits for
   * its phase: the `before` rows above it; a `parallel` row for the `before` rows; an `after` row
   * for every `parallel` row and the `after` rows above it (as every run before the patch did).
   */
  needs?: readonly string[];
  /** What the create result brings to the card (`databases` are shown under the row's id: mongo, mysql, postgres). */
  reports?: Reports;
  /** The reset targets that re-seed it (`reset-db <env> sql`); absent: a reset leaves it alone. */
  resetBy?: readonly ResetTarget[];
  /**
   * A row added while workflows were running: they take it only where Temporal's `patched(patch)` is
   * true (workflows/resources.ts), so histories recorded before it replay with the commands they had.
   */
  patch?: string;
}

/**
 * The patch of the step that fetches S3 and git seeds and templates at the start of a create or
 * reset (docs/upgrading.md): runs that started before it replay without it.
 */
export const SOURCES_PATCH = 'fetch-sources';

/**
 * The patch of the create's wait for the services to be available, after the last row and before
 * `ready` (docs/upgrading.md): runs that started before it replay without the wait.
 */
export const ROLLOUT_PATCH = 'await-rollout';

/** How long a create waits for its services when the plan does not say (plans made before readyTimeout). */
export const DEFAULT_READY_TIMEOUT = '10m';

/**
 * The patch of a create that starts each row once the rows it needs are built (`needs`) rather than
 * phase after phase, runs its `store` rows as local activities, waits for the services beside the
 * rows after them, and starts its child workflows together (docs/upgrading.md): fewer round trips
 * through Temporal. Runs that started before it replay with the phases.
 */
export const ROWS_BY_NEED_PATCH = 'rows-by-need';

/** The patch of the storage rows (docs/upgrading.md). */
export const STORAGE_PATCH = 'storage-volumes';

/** The patch of the load-balancer row (docs/upgrading.md). */
export const LOAD_BALANCER_PATCH = 'load-balancer-rules';

/** The patch of the VPN row (docs/upgrading.md). */
export const VPN_PATCH = 'vpn-access';

/** The patch of the monitoring row (docs/upgrading.md). */
export const MONITORING_PATCH = 'monitoring-objects';

const always = () => true;

export const RESOURCES: readonly ResourceRow[] = [
  { id: 'secrets', title: 'Generate credentials', phase: 'before', included: always, create: 'createSecrets', delete: 'deleteSecrets', createPreset: 'store' },
  {
    id: 'mongo', title: 'MongoDB databases', phase: 'parallel', included: (p) => p.mongo,
    create: 'createMongo', seed: 'seedMongo', delete: 'deleteMongo', createPreset: 'quick', reports: 'databases', resetBy: ['mongo', 'all'],
  },
  {
    id: 'mysql', title: 'MySQL databases', phase: 'parallel', included: (p) => p.mysql,
    create: 'createSql', seed: 'seedSql', delete: 'deleteSql', input: { engine: 'mysql' }, createPreset: 'quick', reports: 'databases', resetBy: ['sql', 'all'],
  },
  {
    id: 'postgres', title: 'PostgreSQL databases', phase: 'parallel', included: (p) => p.postgres,
    create: 'createSql', seed: 'seedSql', delete: 'deleteSql', input: { engine: 'postgres' }, createPreset: 'quick', reports: 'databases', resetBy: ['sql', 'all'],
  },
  {
    id: 'redis', title: 'Redis database', phase: 'parallel', included: (p) => p.redis,
    create: 'createRedis', seed: 'seedRedis', delete: 'deleteRedis', createPreset: 'quick', reports: 'redisIndex', resetBy: ['redis', 'all'],
  },
  { id: 'dns', title: 'DNS records', phase: 'parallel', included: always, create: 'createDnsRecords', delete: 'deleteDnsRecords', createPreset: 'quick', reports: 'urls' },
  {
    id: 'load-balancer', title: 'Load balancer rules', phase: 'parallel', included: (p) => p.loadBalancer === true,
    create: 'createLoadBalancerRules', delete: 'deleteLoadBalancerRules', createPreset: 'quick', patch: LOAD_BALANCER_PATCH,
  },
  {
    id: 'vpn', title: 'VPN access', phase: 'parallel', included: (p) => p.vpn === true,
    create: 'createVpnAccess', delete: 'deleteVpnAccess', createPreset: 'quick', reports: 'vpn', patch: VPN_PATCH,
  },
  { id: 'namespace', title: 'Kubernetes namespace', phase: 'parallel', included: always, create: 'createNamespace', delete: 'deleteNamespace', createPreset: 'quick' },
  // In the namespace; its data: the generated secrets, the database URLs (names only) and Redis's index.
  {
    id: 'credentials', title: 'Kubernetes secret', phase: 'after', included: always, create: 'applyCredentials', delete: 'deleteCredentials', createPreset: 'quick',
    needs: ['namespace', 'redis'],
  },
  // After the namespace (the claims live there), before the services that mount them.
  {
    id: 'storage', title: 'Storage volumes', phase: 'after', included: (p) => (p.storage?.length ?? 0) > 0,
    create: 'createStorage', delete: 'deleteStorage', createPreset: 'quick', patch: STORAGE_PATCH, needs: ['namespace'],
  },
  // The copy itself runs in the storage-copy workflow once the environment is ready.
  {
    id: 'storage-copy', title: 'Storage copy from S3', phase: 'after', included: (p) => (p.storage?.length ?? 0) > 0,
    create: 'createStorageCopy', delete: 'deleteStorageCopy', createPreset: 'quick', reports: 'storage', patch: STORAGE_PATCH, needs: ['storage'],
  },
  // Once what the services use is there: their databases, Redis, the Secret and the claims they mount.
  // The ways in (DNS, load balancer, VPN) are not waited for.
  {
    id: 'manifests', title: 'Services', phase: 'after', included: always, create: 'applyManifests', delete: 'deleteManifests', createPreset: 'long', reports: 'runs',
    needs: ['mongo', 'mysql', 'postgres', 'redis', 'namespace', 'credentials', 'storage'],
  },
  // After the services: the availability alerts name their Deployments and StatefulSets.
  {
    id: 'monitoring', title: 'Monitoring and alerts', phase: 'after', included: (p) => p.monitoring === true,
    create: 'createMonitoring', delete: 'deleteMonitoring', createPreset: 'quick', patch: MONITORING_PATCH, needs: ['manifests'],
  },
];

const PHASES: readonly Phase[] = ['before', 'parallel', 'after'];

/** The rows in the order they are made: by phase, then table order. */
export function creationOrder(rows: readonly ResourceRow[] = RESOURCES): ResourceRow[] {
  return PHASES.flatMap((phase) => rows.filter((r) => r.phase === phase));
}

/** The rows an environment with `plan` has, in creation order. */
export function rowsFor(plan: EnvironmentPlan): ResourceRow[] {
  return creationOrder().filter((r) => r.included(plan));
}

/** Destroy removes in the exact reverse of creation, every row (what to remove comes from the ledger). */
export function destructionOrder(): ResourceRow[] {
  return creationOrder().reverse();
}

/**
 * The ids of the rows `row` waits for, among `rows` (a plan's rows in creation order, `row` one of
 * them), in a create from ROWS_BY_NEED_PATCH on: the `before` rows above it, and its `needs` the plan
 * has (or, without `needs`, what its phase waits for). Each is above `row` in `rows`.
 */
export function prerequisites(row: ResourceRow, rows: readonly ResourceRow[]): string[] {
  const at = rows.findIndex((r) => r.id === row.id);
  if (at < 0) throw new Error(`${row.id} is not one of the plan's rows`);
  const above = rows.slice(0, at);
  const before = above.filter((r) => r.phase === 'before');
  const needed = row.needs
    ? above.filter((r) => row.needs!.includes(r.id))
    : row.phase === 'after' ? above.filter((r) => r.phase !== 'before') : [];
  return [...new Set([...before, ...needed].map((r) => r.id))];
}

/** Whether a create of an environment with `plan` runs the row's seed. */
export function seedsOnCreate(plan: EnvironmentPlan, row: ResourceRow): boolean {
  return row.seed !== undefined && (plan.seeded === undefined || plan.seeded.includes(row.id));
}

/** The rows a reset of `which` re-seeds, for an environment with `plan`. */
export function resetRows(plan: EnvironmentPlan, which: ResetTarget): ResourceRow[] {
  return rowsFor(plan).filter((r) => r.seed && r.resetBy?.includes(which));
}

/** Steps that are not resources: the operation's own bookkeeping at its start and end. */
export const BOOKKEEPING = {
  claim: 'Reserve the environment',
  sources: 'Fetch seeds and templates',
  rollout: 'Services become ready',
  ready: 'Ready',
  begin: { destroy: 'Mark the environment as being destroyed', expire: 'Mark the environment as being destroyed', reset: 'Mark the environment as resetting' },
  destroyed: 'Destroyed',
  removed: 'Credentials',
} as const;

export interface StepSpec {
  id: string;
  title: string;
}

const sourcesStep = (fetch: boolean): StepSpec[] => (fetch ? [{ id: 'sources', title: BOOKKEEPING.sources }] : []);

/**
 * The steps of a create building `rows` (the plan's), as the progress message lists them; `fetch`:
 * it fetches sources first; `rollout`: it waits for the services to be available before `ready`.
 */
export function createSteps(plan: EnvironmentPlan, rows: readonly ResourceRow[] = rowsFor(plan), fetch = plan.sources === true, rollout = true): StepSpec[] {
  return [
    { id: 'claim', title: BOOKKEEPING.claim },
    ...sourcesStep(fetch),
    ...rows.map((r) => ({ id: r.id, title: r.title })),
    ...(rollout ? [{ id: 'rollout', title: BOOKKEEPING.rollout }] : []),
    { id: 'ready', title: BOOKKEEPING.ready },
  ];
}

/** The steps of a destroy (or an expiry) removing `rows`, in that order. */
export function destroySteps(operation: 'destroy' | 'expire', rows: readonly ResourceRow[] = destructionOrder()): StepSpec[] {
  return [
    { id: 'begin', title: BOOKKEEPING.begin[operation] },
    ...rows.map((r) => ({ id: r.id, title: r.id === 'secrets' ? BOOKKEEPING.removed : r.title })),
    { id: 'done', title: BOOKKEEPING.destroyed },
  ];
}

/** The steps of a reset; `fetch`: it fetches sources first. */
export function resetSteps(rows: readonly ResourceRow[], fetch = false): StepSpec[] {
  return [{ id: 'begin', title: BOOKKEEPING.begin.reset }, ...sourcesStep(fetch), ...rows.map((r) => ({ id: r.id, title: `Re-seed ${r.title}` })), { id: 'done', title: BOOKKEEPING.ready }];
}

/** The title of a step or resource id (as a failed card's "rolled back" list names them). */
export function stepTitle(id: string): string {
  if (id === 'claim') return BOOKKEEPING.claim;
  if (id === 'sources') return BOOKKEEPING.sources;
  if (id === 'rollout') return BOOKKEEPING.rollout;
  if (id === 'ready') return BOOKKEEPING.ready;
  return RESOURCES.find((r) => r.id === id)?.title ?? id;
}

/** Every activity name the table refers to (the worker must register each). */
export function tableActivities(): string[] {
  return [...new Set(RESOURCES.flatMap((r) => [r.create, r.delete, ...(r.seed ? [r.seed] : [])]))];
}

/** The query every operation workflow answers with its live progress; the CLI and the core ask it. */
export const PROGRESS_QUERY = 'progress';
export const progressQuery = defineQuery<Progress>(PROGRESS_QUERY);
