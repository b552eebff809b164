// Deployments: what each service of each environment tracks (a branch, or nothing: it follows
// production) and runs (commit, image), and the history of how it got there. The push webhook's
// workflow, `/env track`, `/env history`, the card and production promotion all read and write here.
import type pg from 'pg';

export type DeploymentWhy = 'create' | 'push' | 'promotion' | 'manual';

/** What one service of one environment tracks and runs now. */
export interface ServiceDeployment {
  environment: string;
  service: string;
  /** The branch it follows; null: none (it follows production, or its catalogue image). */
  branch: string | null;
  /** The git commit its objects were last rendered from; null when not rendered from git. */
  commit: string | null;
  /** The first container image of its rendered workload. */
  image: string | null;
  updatedAt: Date;
}

/** A deployment as it is recorded: what runs now, why, and who asked. */
export interface Deployed {
  environment: string;
  service: string;
  branch: string | null;
  commit: string | null;
  image: string | null;
  why: DeploymentWhy;
  who: string;
}

/** One deployment, as `/env history` lists it. */
export interface DeploymentEntry extends Deployed {
  id: number;
  at: Date;
}

/** An environment with a service that tracks a given branch (for a push). */
export interface Tracker {
  environment: string;
  project: string;
  stage: string;
  suffix: string | null;
  service: string;
  commit: string | null;
}

const STATE = `environment, service, branch, commit, image, updated_at AS "updatedAt"`;

export class Deployments {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Records deployments, all in one transaction: each service's current state (branch, commit,
   * image) and one history entry. A retried activity records its entry once: an entry the same as
   * the service's newest one (same why, branch, commit and image) is not added again.
   */
  async record(...deployed: Deployed[]): Promise<void> {
    if (!deployed.length) return;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // In one order (by service), so two transactions recording overlapping services cannot deadlock.
      for (const d of [...deployed].sort((a, b) => a.environment.localeCompare(b.environment) || a.service.localeCompare(b.service))) {
        await client.query(
          `INSERT INTO service_deployments (environment, service, branch, commit, image) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (environment, service) DO UPDATE SET branch = EXCLUDED.branch, commit = EXCLUDED.commit,
             image = EXCLUDED.image, updated_at = now()`,
          [d.environment, d.service, d.branch, d.commit, d.image],
        );
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`deployments/${d.environment}/${d.service}`]);
        await client.query(
          `INSERT INTO deployments (environment, service, branch, commit, image, why, who)
           SELECT $1, $2, $3, $4, $5, $6, $7
            WHERE NOT EXISTS (SELECT 1 FROM (SELECT branch, commit, image, why FROM deployments WHERE environment = $1 AND service = $2
                                              ORDER BY at DESC, id DESC LIMIT 1) last
                               WHERE last.why = $6 AND last.branch IS NOT DISTINCT FROM $3 AND last.commit IS NOT DISTINCT FROM $4
                                 AND last.image IS NOT DISTINCT FROM $5)`,
          [d.environment, d.service, d.branch, d.commit, d.image, d.why, d.who],
        );
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Moves a service to another branch (null: none) without deploying; true when the row existed. */
  async track(environment: string, service: string, branch: string | null): Promise<boolean> {
    const { rowCount } = await this.pool.query('UPDATE service_deployments SET branch = $3, updated_at = now() WHERE environment = $1 AND service = $2', [environment, service, branch]);
    return rowCount === 1;
  }

  /** Every service's state in `environment`, by service name. */
  async of(environment: string): Promise<ServiceDeployment[]> {
    const { rows } = await this.pool.query<ServiceDeployment>(`SELECT ${STATE} FROM service_deployments WHERE environment = $1 ORDER BY service`, [environment]);
    return rows;
  }

  /** The services of `services` that track `branch`, in ready environments. */
  async tracking(branch: string, services: readonly { project: string; service: string }[]): Promise<Tracker[]> {
    if (!services.length) return [];
    const { rows } = await this.pool.query<Tracker>(
      `SELECT d.environment, e.project, e.stage, e.suffix, d.service, d.commit
         FROM service_deployments d JOIN environments e ON e.name = d.environment
        WHERE d.branch = $1 AND e.state = 'ready'
          AND (e.project, d.service) IN (SELECT * FROM unnest($2::text[], $3::text[]))
        ORDER BY d.environment, d.service`,
      [branch, services.map((s) => s.project), services.map((s) => s.service)],
    );
    return rows;
  }

  /** The newest `limit` deployments of `environment` (of one service, when given), newest first. */
  async history(environment: string, service?: string, limit = 20): Promise<DeploymentEntry[]> {
    const { rows } = await this.pool.query<DeploymentEntry>(
      `SELECT id::int AS id, environment, service, branch, commit, image, why, who, at FROM deployments
        WHERE environment = $1 AND ($2::text IS NULL OR service = $2) ORDER BY at DESC, id DESC LIMIT $3`,
      [environment, service ?? null, limit],
    );
    return rows;
  }

  /** Forgets an environment's current state (its destroy); the history stays. */
  async forget(environment: string): Promise<void> {
    await this.pool.query('DELETE FROM service_deployments WHERE environment = $1', [environment]);
  }

  /** True the first time a webhook delivery id is seen; deliveries older than 30 days are forgotten. */
  async firstDelivery(source: 'github' | 'gitlab', id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('INSERT INTO webhook_deliveries (source, delivery_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [source, id]);
    if (Math.random() < 0.01) await this.pool.query("DELETE FROM webhook_deliveries WHERE received_at < now() - interval '30 days'");
    return rowCount === 1;
  }

  /** Forgets a delivery whose handling failed, so the sender's retry is handled. */
  async forgetDelivery(source: 'github' | 'gitlab', id: string): Promise<void> {
    await this.pool.query('DELETE FROM webhook_deliveries WHERE source = $1 AND delivery_id = $2', [source, id]);
  }
}
