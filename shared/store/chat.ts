// Chat: requests already handled (so a replay starts nothing twice) and channel subscriptions.
import type pg from 'pg';

export type ChatPlatform = 'slack' | 'teams';

export class Chat {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * True the first time a chat request key (a Slack signature, a Teams activity id) is seen; false for
   * a replay. Keys older than a day are forgotten (the platforms refuse requests older than minutes).
   */
  async firstSeen(platform: ChatPlatform, key: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'INSERT INTO chat_requests (platform, request_key) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [platform, key],
    );
    if (Math.random() < 0.01) await this.pool.query("DELETE FROM chat_requests WHERE received_at < now() - interval '1 day'");
    return rowCount === 1;
  }

  async subscribe(s: { platform: ChatPlatform; channel: string; project: string; createdBy: string; conversation?: Record<string, unknown> }): Promise<void> {
    await this.pool.query(
      `INSERT INTO channel_subscriptions (platform, channel, project, conversation, created_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (platform, channel, project) DO NOTHING`,
      [s.platform, s.channel, s.project, s.conversation ?? {}, s.createdBy],
    );
  }

  /** Removes the channel's subscription to `project`, or to every project; returns the projects removed. */
  async unsubscribe(platform: ChatPlatform, channel: string, project?: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ project: string }>(
      'DELETE FROM channel_subscriptions WHERE platform = $1 AND channel = $2 AND ($3::text IS NULL OR project = $3) RETURNING project',
      [platform, channel, project ?? null],
    );
    return rows.map((r) => r.project);
  }

  /** The channels subscribed to `project`, oldest subscription first. */
  async subscriptions(project: string): Promise<{ platform: ChatPlatform; channel: string }[]> {
    const { rows } = await this.pool.query<{ platform: ChatPlatform; channel: string }>(
      'SELECT platform, channel FROM channel_subscriptions WHERE project = $1 ORDER BY created_at',
      [project],
    );
    return rows;
  }
}
