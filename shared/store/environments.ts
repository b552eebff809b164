// Environments: who created each one, what was asked for, and which state it is in.
import type pg from 'pg';

export type EnvironmentState = 'creating' | 'ready' | 'failed' | 'resetting' | 'destroying' | 'destroyed';

/** The version of one S3 or git location the environment was built from, and what in it uses that location. */
export interface SourceVersion {
  /** An S3 location's digest of its keys and ETags, or a git commit id. */
  version: string;
  /** `seed <database>`, `seed redis`, `template <service>`. */
  uses: string[];
}

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
  /** By location (as written in the catalogue): the version fetched at the last create or reset. */
  sources: Record<string, SourceVersion>;
}

const COLUMNS = `name, project, stage, suffix, state, spec, created_by AS "createdBy", created_at AS "createdAt",
  updated_at AS "updatedAt", expires_at AS "expiresAt", workflow_id AS "workflowId", last_error AS "lastError", sources`;

export class Environments {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Marks an environment as being created by `runId`. Succeeds when it does not exist, was destroyed
   * or failed, or is already claimed by the same run (a retried activity); returns false otherwise.
   */
  async claim(e: { name: string; project: string; stage: string; suffix?: string; createdBy: string; runId: string; spec?: Record<string, unknown> }): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO environments (name, project, stage, suffix, state, spec, created_by, workflow_id)
       VALUES ($1, $2, $3, $4, 'creating', $5, $6, $7)
       ON CONFLICT (name) DO UPDATE SET state = 'creating', spec = EXCLUDED.spec, created_by = EXCLUDED.created_by,
         workflow_id = EXCLUDED.workflow_id, created_at = now(), updated_at = now(), expires_at = NULL, last_error = NULL,
         sources = '{}'::jsonb
       WHERE environments.state IN ('destroyed', 'failed') OR environments.workflow_id = EXCLUDED.workflow_id`,
      [e.name, e.project, e.stage, e.suffix ?? null, e.spec ?? {}, e.createdBy, e.runId],
    );
    return rowCount === 1;
  }

  /**
   * Moves an environment to `state` when it is in one of `from` (any state when omitted) and, with
   * `ifRun`, only while that workflow run still owns it (a run never overwrites another's outcome).
   * `runId` makes the given run the owner.
   */
  async setState(
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

  /**
   * Records the versions of the locations an operation fetched, over those of earlier ones (a reset
   * re-fetches only its seeds), while run `ifRun` owns the environment.
   */
  async recordSources(name: string, sources: Record<string, SourceVersion>, ifRun: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'UPDATE environments SET sources = sources || $2::jsonb, updated_at = now() WHERE name = $1 AND workflow_id = $3',
      [name, JSON.stringify(sources), ifRun],
    );
    return rowCount === 1;
  }

  async get(name: string): Promise<EnvironmentRecord | undefined> {
    const { rows } = await this.pool.query<EnvironmentRecord>(`SELECT ${COLUMNS} FROM environments WHERE name = $1`, [name]);
    return rows[0];
  }

  /** Environments that are not destroyed, optionally of one project, newest first. */
  async list(project?: string): Promise<EnvironmentRecord[]> {
    const { rows } = await this.pool.query<EnvironmentRecord>(
      `SELECT ${COLUMNS} FROM environments WHERE state <> 'destroyed' AND ($1::text IS NULL OR project = $1)
       ORDER BY created_at DESC`,
      [project ?? null],
    );
    return rows;
  }

  /** How many environments each project has in each state (destroyed ones included), for /metrics. */
  async countByProjectAndState(): Promise<{ project: string; state: EnvironmentState; count: number }[]> {
    const { rows } = await this.pool.query<{ project: string; state: EnvironmentState; count: string }>('SELECT project, state, count(*) AS count FROM environments GROUP BY project, state ORDER BY project, state');
    return rows.map((r) => ({ project: r.project, state: r.state, count: Number(r.count) }));
  }
}
