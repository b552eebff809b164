// envbot's own store in PostgreSQL: one pool, small typed operations by concern. Callers never write SQL.
// `Store` is the one object callers hold; its parts share the pool. The methods below the parts are
// the older flat API, each a delegation to a part, kept so callers can move to the parts at their pace.
import pg from 'pg';
import type { SecretKey } from '../settings.js';
import { Alerts } from './alerts.js';
import { Allocations } from './allocations.js';
import { AuditLog } from './audit.js';
import { Chat } from './chat.js';
import { Deployments } from './deployments.js';
import { Environments } from './environments.js';
import { Ledger } from './ledger.js';
import { Locks } from './locks.js';
import { Secrets } from './secrets.js';

export type { Allocation, SlotRange } from './allocations.js';
export type { AuditEntry } from './audit.js';
export type { ChatPlatform } from './chat.js';
export type { Deployed, DeploymentEntry, DeploymentWhy, ServiceDeployment, Tracker } from './deployments.js';
export type { EnvironmentRecord, EnvironmentState, SourceVersion } from './environments.js';
export type { LedgerEntry } from './ledger.js';

/** The allocation pool of a Redis server's database indexes. */
export const redisPool = (server: string): string => `redis/${server}`;

export class Store {
  readonly pool: pg.Pool;
  readonly environments: Environments;
  readonly ledger: Ledger;
  readonly secrets: Secrets;
  readonly allocations: Allocations;
  readonly chat: Chat;
  /** Alert messages and silences (Alertmanager's webhook). */
  readonly alerts: Alerts;
  readonly locks: Locks;
  /** What each service tracks and runs, and the deployments history. */
  readonly deployments: Deployments;
  /** The audit log (`store.audit(e)` appends to it). */
  readonly auditLog: AuditLog;

  constructor(databaseUrl: string, keys: readonly SecretKey[]) {
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
    // An idle connection that the server drops (restart, failover) must not take the process down:
    // the pool discards it and the next query opens a new one.
    this.pool.on('error', () => undefined);
    this.environments = new Environments(this.pool);
    this.ledger = new Ledger(this.pool);
    this.secrets = new Secrets(this.pool, keys);
    this.allocations = new Allocations(this.pool);
    this.locks = new Locks(this.pool);
    this.chat = new Chat(this.pool, this.locks);
    this.alerts = new Alerts(this.pool);
    this.deployments = new Deployments(this.pool);
    this.auditLog = new AuditLog(this.pool);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  // --- Redis database indexes: slots of the pool `redis/<server>` -------------------------------

  /**
   * Claims the lowest free database index from 1 to `databases` - 1 on `server` for `environment`,
   * or returns the one it already holds. Index 0 is never handed out: every client that selects no
   * database (and every environment's user, until it selects its own) is there.
   */
  claimRedisIndex(server: string, environment: string, databases: number): Promise<number> {
    const count = databases - 1;
    return this.allocations.claim(redisPool(server), environment, {
      from: 1,
      count,
      exhausted: `all ${count} Redis databases on ${server} that envbot hands out (1 to ${count}; 0 is kept for clients that select none) are taken; destroy an environment you no longer need, or raise "databases" in that server's redis.conf.`,
      contended: `lost the race for a free Redis database on ${server} ${count + 1} times; the step will be retried`,
    });
  }

  /** The Redis index an environment holds on `server`, if any. */
  redisIndexOf(server: string, environment: string): Promise<number | undefined> {
    return this.allocations.slotOf(redisPool(server), environment);
  }

  async releaseRedisIndex(server: string, environment: string): Promise<void> {
    await this.allocations.release(redisPool(server), environment);
  }

  // --- the flat API: one-line delegations to the parts ------------------------------------------

  claimEnvironment(...a: Parameters<Environments['claim']>) { return this.environments.claim(...a); }
  setEnvironmentState(...a: Parameters<Environments['setState']>) { return this.environments.setState(...a); }
  setExpiry(...a: Parameters<Environments['setExpiry']>) { return this.environments.setExpiry(...a); }
  getEnvironment(...a: Parameters<Environments['get']>) { return this.environments.get(...a); }
  recordSources(...a: Parameters<Environments['recordSources']>) { return this.environments.recordSources(...a); }
  listEnvironments(...a: Parameters<Environments['list']>) { return this.environments.list(...a); }

  putSecret(...a: Parameters<Secrets['put']>) { return this.secrets.put(...a); }
  putSecrets(...a: Parameters<Secrets['putAll']>) { return this.secrets.putAll(...a); }
  getSecret(...a: Parameters<Secrets['get']>) { return this.secrets.get(...a); }
  getSecrets(...a: Parameters<Secrets['getAll']>) { return this.secrets.getAll(...a); }
  secretNames(...a: Parameters<Secrets['names']>) { return this.secrets.names(...a); }
  deleteSecrets(...a: Parameters<Secrets['deleteAll']>) { return this.secrets.deleteAll(...a); }
  rememberServer(...a: Parameters<Secrets['rememberServer']>) { return this.secrets.rememberServer(...a); }
  rememberedServer(...a: Parameters<Secrets['rememberedServer']>) { return this.secrets.rememberedServer(...a); }

  recordResource(...a: Parameters<Ledger['record']>) { return this.ledger.record(...a); }
  recordResources(...a: Parameters<Ledger['recordAll']>) { return this.ledger.recordAll(...a); }
  markResourceDeleted(...a: Parameters<Ledger['markDeleted']>) { return this.ledger.markDeleted(...a); }
  liveResources(...a: Parameters<Ledger['live']>) { return this.ledger.live(...a); }

  firstSeen(...a: Parameters<Chat['firstSeen']>) { return this.chat.firstSeen(...a); }
  subscribe(...a: Parameters<Chat['subscribe']>) { return this.chat.subscribe(...a); }
  unsubscribe(...a: Parameters<Chat['unsubscribe']>) { return this.chat.unsubscribe(...a); }
  subscriptions(...a: Parameters<Chat['subscriptions']>) { return this.chat.subscriptions(...a); }

  audit(...a: Parameters<AuditLog['append']>) { return this.auditLog.append(...a); }
}
