// The audit log: who asked for what, from where, and how it went. Append only.
import type pg from 'pg';

export interface AuditEntry {
  actor: string;
  platform: 'slack' | 'teams' | 'cli' | 'system' | 'webhook';
  channel?: string;
  action: string;
  environment?: string;
  outcome?: string;
  details?: Record<string, unknown>;
}

export class AuditLog {
  constructor(private readonly pool: pg.Pool) {}

  async append(e: AuditEntry): Promise<void> {
    await this.pool.query(
      `INSERT INTO audit_log (actor, platform, channel, action, environment, outcome, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [e.actor, e.platform, e.channel ?? null, e.action, e.environment ?? null, e.outcome ?? 'requested', e.details ?? {}],
    );
  }
}
