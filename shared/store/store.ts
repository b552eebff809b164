// envbot's own store in PostgreSQL: one pool, small typed operations. Callers never write SQL.
import pg from 'pg';
import { ResourceExhaustedError } from '../errors.js';
import type { SecretKey } from '../settings.js';
import { open, seal } from './crypto.js';

export interface LedgerEntry {
  environment: string;
  kind: string;
  name: string;
  location: string;
  details?: Record<string, unknown>;
}

export interface AuditEntry {
  actor: string;
  platform: 'slack' | 'teams' | 'cli' | 'system' | 'webhook';
  channel?: string;
  action: string;
  environment?: string;
  outcome?: string;
  details?: Record<string, unknown>;
}

export type EnvironmentState = 'creating' | 'ready' | 'failed' | 'resetting' | 'destroying' | 'destroyed';

export interface EnvironmentRecord {
  name: string;
  project: string;
  stage: string;
  suffix: string | null;
  state: EnvironmentState;
  spec: Record<string, unknown>;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date | null;
  workflowId: string | null;
  lastError: string | null;
}

const ENV_COLUMNS = `name, project, stage, suffix, state, spec, created_by AS "createdBy", created_at AS "createdAt",
  updated_at AS "updatedAt", expires_at AS "expiresAt", workflow_id AS "workflowId", last_error AS "lastError"`;

export class Store {
  readonly pool: pg.Pool;

  constructor(
    databaseUrl: string,
    private readonly keys: readonly SecretKey[],
  ) {
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
    // An idle connection that the server drops (restart, failover) must not take the process down:
    // the pool discards it and the next query opens a new one.
    this.pool.on('error', () => undefined);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  // --- environments ----------------------------------------------------------------------------

  /**
   * Marks an environment as being created by `runId`. Succeeds when it does not exist, was destroyed
   * or failed, or is already claimed by the same run (a retried activity); returns false otherwise.
   */
  async claimEnvironment(e: { name: string; project: string; stage: string; suffix?: string; createdBy: string; runId: string; spec?: Record<string, unknown> }): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO environments (name, project, stage, suffix, state, spec, created_by, workflow_id)
       VALUES ($1, $2, $3, $4, 'creating', $5, $6, $7)
       ON CONFLICT (name) DO UPDATE SET state = 'creating', spec = EXCLUDED.spec, created_by = EXCLUDED.created_by,
         workflow_id = EXCLUDED.workflow_id, created_at = now(), updated_at = now(), expires_at = NULL, last_error = NULL
       WHERE environments.state IN ('destroyed', 'failed') OR environments.workflow_id = EXCLUDED.workflow_id`,
      [e.name, e.project, e.stage, e.suffix ?? null, e.spec ?? {}, e.createdBy, e.runId],
    );
    return rowCount === 1;
  }

  /** Moves an environment to `state` when it is in one of `from` (any state when omitted). */
  /**
   * Moves an environment to `state` when it is in one of `from` (any state when omitted) and, with
   * `ifRun`, only while that workflow run still owns it (a run never overwrites another's outcome).
   * `runId` makes the given run the owner.
   */
  async setEnvironmentState(
    name: string,
    state: EnvironmentState,
    opts: { from?: EnvironmentState[]; error?: string | null; expiresAt?: Date | null; runId?: string; ifRun?: string } = {},
  ): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE environments SET state = $2, updated_at = now(),
         last_error = CASE WHEN $3::boolean THEN $4 ELSE last_error END,
         expires_at = CASE WHEN $5::boolean THEN $6::timestamptz ELSE expires_at END,
         workflow_id = COALESCE($8, workflow_id)
       WHERE name = $1 AND ($7::text[] IS NULL OR state = ANY($7::text[])) AND ($9::text IS NULL OR workflow_id = $9)`,
      [name, state, opts.error !== undefined, opts.error ?? null, opts.expiresAt !== undefined, opts.expiresAt ?? null, opts.from ?? null, opts.runId ?? null, opts.ifRun ?? null],
    );
    return rowCount === 1;
  }

  /** Sets only the expiry of an environment that is ready. */
  async setExpiry(name: string, expiresAt: Date): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      "UPDATE environments SET expires_at = $2, updated_at = now() WHERE name = $1 AND state = 'ready'",
      [name, expiresAt],
    );
    return rowCount === 1;
  }

  async getEnvironment(name: string): Promise<EnvironmentRecord | undefined> {
    const { rows } = await this.pool.query<EnvironmentRecord>(`SELECT ${ENV_COLUMNS} FROM environments WHERE name = $1`, [name]);
    return rows[0];
  }

  /** Environments that are not destroyed, optionally of one project, newest first. */
  async listEnvironments(project?: string): Promise<EnvironmentRecord[]> {
    const { rows } = await this.pool.query<EnvironmentRecord>(
      `SELECT ${ENV_COLUMNS} FROM environments WHERE state <> 'destroyed' AND ($1::text IS NULL OR project = $1)
       ORDER BY created_at DESC`,
      [project ?? null],
    );
    return rows;
  }

  /** The Redis index an environment holds on `server`, if any. */
  async redisIndexOf(server: string, environment: string): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ db_index: number }>(
      'SELECT db_index FROM redis_allocations WHERE server = $1 AND environment = $2',
      [server, environment],
    );
    return rows[0]?.db_index;
  }

  // --- secrets -------------------------------------------------------------------------------

  /** Stores a generated secret encrypted; keeps the existing value when there is one (idempotent). */
  async putSecret(environment: string, name: string, value: string): Promise<void> {
    const s = seal(this.keys, environment, name, value);
    await this.pool.query(
      `INSERT INTO secrets (environment, name, key_id, iv, ciphertext, auth_tag) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (environment, name) DO NOTHING`,
      [environment, name, s.keyId, s.iv, s.ciphertext, s.authTag],
    );
  }

  async getSecret(environment: string, name: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ key_id: string; iv: Buffer; ciphertext: Buffer; auth_tag: Buffer }>(
      'SELECT key_id, iv, ciphertext, auth_tag FROM secrets WHERE environment = $1 AND name = $2',
      [environment, name],
    );
    const r = rows[0];
    return r ? open(this.keys, environment, name, { keyId: r.key_id, iv: r.iv, ciphertext: r.ciphertext, authTag: r.auth_tag }) : undefined;
  }

  async deleteSecrets(environment: string): Promise<void> {
    await this.pool.query('DELETE FROM secrets WHERE environment = $1', [environment]);
  }

  // --- ledger --------------------------------------------------------------------------------

  /** Records a resource as created; recording it again is a no-op. */
  async recordResource(e: LedgerEntry): Promise<void> {
    await this.pool.query(
      `INSERT INTO resources (environment, kind, name, location, details) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (environment, kind, location, name) WHERE deleted_at IS NULL DO NOTHING`,
      [e.environment, e.kind, e.name, e.location, e.details ?? {}],
    );
  }

  async markResourceDeleted(e: Omit<LedgerEntry, 'details'>): Promise<void> {
    await this.pool.query(
      `UPDATE resources SET deleted_at = now()
       WHERE environment = $1 AND kind = $2 AND location = $3 AND name = $4 AND deleted_at IS NULL`,
      [e.environment, e.kind, e.location, e.name],
    );
  }

  async liveResources(environment: string): Promise<LedgerEntry[]> {
    const { rows } = await this.pool.query<LedgerEntry>(
      `SELECT environment, kind, name, location, details FROM resources
       WHERE environment = $1 AND deleted_at IS NULL ORDER BY id`,
      [environment],
    );
    return rows;
  }

  // --- Redis database indexes ----------------------------------------------------------------

  /**
   * Claims the lowest free database index below `databases` on `server` for `environment`,
   * or returns the one it already holds. The table's primary key settles races.
   */
  async claimRedisIndex(server: string, environment: string, databases: number): Promise<number> {
    for (let attempt = 0; attempt < databases + 1; attempt++) {
      const held = await this.pool.query<{ db_index: number }>(
        'SELECT db_index FROM redis_allocations WHERE server = $1 AND environment = $2',
        [server, environment],
      );
      if (held.rows[0]) return held.rows[0].db_index;
      const { rows } = await this.pool.query<{ db_index: number }>(
        `INSERT INTO redis_allocations (server, db_index, environment)
         SELECT $1, i, $2 FROM generate_series(0, $3::int - 1) AS i
         WHERE NOT EXISTS (SELECT 1 FROM redis_allocations a WHERE a.server = $1 AND a.db_index = i)
         ORDER BY i LIMIT 1
         ON CONFLICT DO NOTHING
         RETURNING db_index`,
        [server, environment, databases],
      );
      if (rows[0]) return rows[0].db_index;
      const { rows: count } = await this.pool.query<{ n: string }>(
        'SELECT count(*) AS n FROM redis_allocations WHERE server = $1 AND db_index < $2',
        [server, databases],
      );
      if (Number(count[0]?.n) >= databases) {
        throw new ResourceExhaustedError(
          `all ${databases} Redis databases on ${server} are taken; destroy an environment you no longer need, or raise "databases" in that server's redis.conf.`,
        );
      }
      // Lost a race for the index another claim took at the same moment: try the next one.
    }
    // Contention, not exhaustion: other claims kept taking the free index first. Retryable.
    throw new Error(`lost the race for a free Redis database on ${server} ${databases + 1} times; the step will be retried`);
  }

  async releaseRedisIndex(server: string, environment: string): Promise<void> {
    await this.pool.query('DELETE FROM redis_allocations WHERE server = $1 AND environment = $2', [server, environment]);
  }

  // --- chat ----------------------------------------------------------------------------------

  /**
   * True the first time a chat request key (a Slack signature, a Teams activity id) is seen; false for
   * a replay. Keys older than a day are forgotten (the platforms refuse requests older than minutes).
   */
  async firstSeen(platform: 'slack' | 'teams', key: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'INSERT INTO chat_requests (platform, request_key) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [platform, key],
    );
    if (Math.random() < 0.01) await this.pool.query("DELETE FROM chat_requests WHERE received_at < now() - interval '1 day'");
    return rowCount === 1;
  }

  async subscribe(s: { platform: 'slack' | 'teams'; channel: string; project: string; createdBy: string; conversation?: Record<string, unknown> }): Promise<void> {
    await this.pool.query(
      `INSERT INTO channel_subscriptions (platform, channel, project, conversation, created_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (platform, channel, project) DO NOTHING`,
      [s.platform, s.channel, s.project, s.conversation ?? {}, s.createdBy],
    );
  }

  /** Removes the channel's subscription to `project`, or to every project; returns the projects removed. */
  async unsubscribe(platform: 'slack' | 'teams', channel: string, project?: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ project: string }>(
      'DELETE FROM channel_subscriptions WHERE platform = $1 AND channel = $2 AND ($3::text IS NULL OR project = $3) RETURNING project',
      [platform, channel, project ?? null],
    );
    return rows.map((r) => r.project);
  }

  async subscriptions(project: string): Promise<{ platform: 'slack' | 'teams'; channel: string }[]> {
    const { rows } = await this.pool.query<{ platform: 'slack' | 'teams'; channel: string }>(
      'SELECT platform, channel FROM channel_subscriptions WHERE project = $1 ORDER BY created_at',
      [project],
    );
    return rows;
  }

  /** Names of the generated secrets stored for an environment. */
  async secretNames(environment: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ name: string }>('SELECT name FROM secrets WHERE environment = $1 ORDER BY name', [environment]);
    return rows.map((r) => r.name);
  }

  // --- audit ---------------------------------------------------------------------------------

  async audit(e: AuditEntry): Promise<void> {
    await this.pool.query(
      `INSERT INTO audit_log (actor, platform, channel, action, environment, outcome, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [e.actor, e.platform, e.channel ?? null, e.action, e.environment ?? null, e.outcome ?? 'requested', e.details ?? {}],
    );
  }
}
