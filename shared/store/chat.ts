// Chat: requests already handled (so a replay starts nothing twice), the messages each operation
// sent (so a retried send edits instead of posting twice), and channel subscriptions.
import type pg from 'pg';
import type { ChatTarget } from '../model.js';
import type { Locks } from './locks.js';

export type ChatPlatform = 'slack' | 'teams';
/** Who sent a request kept in chat_requests: a chat platform, or SNS (its MessageId) for /webhooks/s3. */
export type RequestSource = ChatPlatform | 'sns' | 'alertmanager';

/** An operation's message: the workflow run that sends it and what it is within that run. */
export interface MessageKey {
  platform: ChatTarget['platform'];
  channel: string;
  /** The workflow run (`<workflow id>:<run id>`). */
  operation: string;
  /** 'progress' (edited into the final card), 'outcome', 'warning-<deadline>', ... */
  kind: string;
  environment: string;
}

/** What is known of the message under a key. */
export interface HeldMessage {
  /** The message's reference (Slack ts), once a post under the key was answered. */
  ref?: string;
  /** True when this call made the key: nothing was ever posted under it. */
  fresh: boolean;
  /** When the key was first held (just before its first post). */
  since: Date;
  /** When a final state (a card, a notice) was last sent under the key, by any worker: progress must not follow it. */
  finalAt?: Date;
}

/** One send under a message's key, on the session that holds the key's lock (Chat.exclusive). */
export interface MessageTurn {
  /** The message's reference and when a final state last went under the key, as the store has them now. */
  state(): Promise<{ ref?: string; finalAt?: Date }>;
  /** Records what was sent: its reference, and whether the state was a final one (then final_at is now). */
  sent(ref: string, final: boolean): Promise<void>;
}

export class Chat {
  constructor(
    private readonly pool: pg.Pool,
    private readonly locks: Locks,
  ) {}

  /**
   * True the first time a chat request key (a Slack signature, a Teams activity id) is seen; false for
   * a replay. Keys older than a day are forgotten (the platforms refuse requests older than minutes).
   */
  async firstSeen(platform: RequestSource, key: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'INSERT INTO chat_requests (platform, request_key) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [platform, key],
    );
    if (Math.random() < 0.01) await this.pool.query("DELETE FROM chat_requests WHERE received_at < now() - interval '1 day'");
    return rowCount === 1;
  }

  /** Forgets a request key whose handling failed, so the sender's retry is handled. */
  async forget(platform: RequestSource, key: string): Promise<void> {
    await this.pool.query('DELETE FROM chat_requests WHERE platform = $1 AND request_key = $2', [platform, key]);
  }

  /** Holds `key` for a send: made on first use, or what an earlier send under it learned. */
  async holdMessage(key: MessageKey): Promise<HeldMessage> {
    const made = await this.pool.query<{ created_at: Date }>(
      `INSERT INTO chat_messages (platform, channel, operation, kind, environment) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (platform, operation, kind) DO NOTHING RETURNING created_at`,
      [key.platform, key.channel, key.operation, key.kind, key.environment],
    );
    if (made.rows[0]) return { fresh: true, since: made.rows[0].created_at };
    const { rows } = await this.pool.query<{ message_ref: string | null; created_at: Date; final_at: Date | null }>(
      'SELECT message_ref, created_at, final_at FROM chat_messages WHERE platform = $1 AND operation = $2 AND kind = $3',
      [key.platform, key.operation, key.kind],
    );
    const row = rows[0]!;
    return { ...(row.message_ref ? { ref: row.message_ref } : {}), fresh: false, since: row.created_at, ...(row.final_at ? { finalAt: row.final_at } : {}) };
  }

  /**
   * Runs one send under `key` holding the key's lock (a PostgreSQL advisory lock): workers send the
   * states of one message one at a time, so a progress state that finds no final state in the store
   * cannot be passed by a card another worker is sending meanwhile.
   */
  async exclusive<T>(key: MessageKey, work: (turn: MessageTurn) => Promise<T>): Promise<T> {
    const where = [key.platform, key.operation, key.kind];
    return this.locks.with(`chat/${where.join('/')}`, (session) =>
      work({
        async state() {
          const { rows } = await session.query<{ message_ref: string | null; final_at: Date | null }>(
            'SELECT message_ref, final_at FROM chat_messages WHERE platform = $1 AND operation = $2 AND kind = $3',
            where,
          );
          const row = rows[0];
          return { ...(row?.message_ref ? { ref: row.message_ref } : {}), ...(row?.final_at ? { finalAt: row.final_at } : {}) };
        },
        async sent(ref, final) {
          await session.query(
            `UPDATE chat_messages SET message_ref = $4, final_at = CASE WHEN $5 THEN now() ELSE final_at END
              WHERE platform = $1 AND operation = $2 AND kind = $3`,
            [...where, ref, final],
          );
        },
      }),
    );
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

  /**
   * The channels subscribed to `project`, oldest subscription first, each as a chat target: with the
   * conversation reference kept at `subscribe` where the platform needs one to post (Teams).
   */
  async subscriptions(project: string): Promise<{ platform: ChatPlatform; channel: string; conversation?: Record<string, unknown> }[]> {
    const { rows } = await this.pool.query<{ platform: ChatPlatform; channel: string; conversation: Record<string, unknown> | null }>(
      'SELECT platform, channel, conversation FROM channel_subscriptions WHERE project = $1 ORDER BY created_at',
      [project],
    );
    return rows.map(({ conversation, ...r }) => ({ ...r, ...(conversation && Object.keys(conversation).length ? { conversation } : {}) }));
  }
}
