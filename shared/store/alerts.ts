// Alerts from Alertmanager: the message each alert group got in each channel (edited, never posted
// twice, when the group changes or resolves), and environments' silences.
import type pg from 'pg';

export type AlertPlatform = 'slack' | 'teams' | 'console';

export class Alerts {
  constructor(private readonly pool: pg.Pool) {}

  /** The message group `groupKey` got in `channel`, if any. */
  async messageOf(groupKey: string, platform: AlertPlatform, channel: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ message_ref: string }>('SELECT message_ref FROM alert_messages WHERE group_key = $1 AND platform = $2 AND channel = $3', [groupKey, platform, channel]);
    return rows[0]?.message_ref;
  }

  async saveMessage(m: { groupKey: string; platform: AlertPlatform; channel: string; environment: string; messageRef: string; status: 'firing' | 'resolved' }): Promise<void> {
    await this.pool.query(
      `INSERT INTO alert_messages (group_key, platform, channel, environment, message_ref, status) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (group_key, platform, channel) DO UPDATE SET message_ref = EXCLUDED.message_ref, status = EXCLUDED.status, updated_at = now()`,
      [m.groupKey, m.platform, m.channel, m.environment, m.messageRef, m.status],
    );
  }

  /** Mutes `environment`'s alerts until `until` (a later silence replaces an earlier one). */
  async silence(environment: string, until: Date, by: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO alert_silences (environment, until, created_by) VALUES ($1, $2, $3)
       ON CONFLICT (environment) DO UPDATE SET until = EXCLUDED.until, created_by = EXCLUDED.created_by, created_at = now()`,
      [environment, until, by],
    );
  }

  /** When `environment`'s silence ends, when it is silenced at `now`. */
  async silencedUntil(environment: string, now = new Date()): Promise<Date | undefined> {
    const { rows } = await this.pool.query<{ until: Date }>('SELECT until FROM alert_silences WHERE environment = $1 AND until > $2', [environment, now]);
    return rows[0]?.until;
  }
}
