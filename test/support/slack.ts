// Slack for tests: requests signed the way Slack signs them, in Slack's documented payload formats,
// and a local recorder that answers the Web API like Slack and keeps every call.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { endWorkflowsOn } from './leftover-workflows.js';
import { repoRoot, testSettings } from './settings.js';

export const SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';

/** Headers of a request signed with HMAC-SHA256 over `v0:{timestamp}:{body}`. */
export function signedHeaders(body: string, opts: { secret?: string; timestamp?: number; contentType?: string } = {}): Record<string, string> {
  const ts = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const sig = createHmac('sha256', opts.secret ?? SIGNING_SECRET).update(`v0:${ts}:${body}`).digest('hex');
  return {
    'content-type': opts.contentType ?? 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(ts),
    'x-slack-signature': `v0=${sig}`,
  };
}

export interface SlackUser {
  id: string;
  team?: string;
}

/** A slash command as Slack posts it (application/x-www-form-urlencoded). */
export function slashCommand(text: string, user: SlackUser, channel: string, responseUrl: string): string {
  return new URLSearchParams({
    token: 'legacy-verification-token',
    team_id: user.team ?? 'T0TEST0001',
    team_domain: 'envbot-test',
    channel_id: channel,
    channel_name: 'projb',
    user_id: user.id,
    user_name: user.id.toLowerCase(),
    command: '/env',
    text,
    api_app_id: 'A0ENVBOT01',
    is_enterprise_install: 'false',
    response_url: responseUrl,
    trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
  }).toString();
}

/** An interaction (block_actions, view_submission) as Slack posts it: `payload=<json>`. */
export function interaction(payload: Record<string, unknown>): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export function blockAction(actionId: string, value: string, user: SlackUser, channel: string, responseUrl: string): string {
  return interaction({
    type: 'block_actions',
    user: { id: user.id, username: user.id.toLowerCase(), team_id: user.team ?? 'T0TEST0001' },
    api_app_id: 'A0ENVBOT01',
    token: 'legacy-verification-token',
    container: { type: 'message', message_ts: '1700000000.000100', channel_id: channel, is_ephemeral: false },
    trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
    team: { id: user.team ?? 'T0TEST0001', domain: 'envbot-test' },
    channel: { id: channel, name: 'projb' },
    response_url: responseUrl,
    actions: [{ action_id: actionId, block_id: 'actions', type: 'button', value, action_ts: `${Date.now() / 1000}` }],
  });
}

export function viewSubmission(values: Record<string, Record<string, unknown>>, user: SlackUser, privateMetadata: string): string {
  return interaction({
    type: 'view_submission',
    team: { id: user.team ?? 'T0TEST0001', domain: 'envbot-test' },
    user: { id: user.id, username: user.id.toLowerCase(), team_id: user.team ?? 'T0TEST0001' },
    api_app_id: 'A0ENVBOT01',
    token: 'legacy-verification-token',
    trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
    view: {
      id: 'V0TEST0001',
      team_id: user.team ?? 'T0TEST0001',
      type: 'modal',
      callback_id: 'env_create',
      private_metadata: privateMetadata,
      state: { values },
      hash: 'h',
      title: { type: 'plain_text', text: 'New environment' },
    },
  });
}

export interface RecordedCall {
  method: string;
  body: Record<string, unknown>;
  at: number;
  /** The HTTP status answered, when not 200. */
  status?: number;
}

/** A message as it stands in a channel: posted, then perhaps edited. */
export interface ChannelMessage {
  ts: string;
  text?: unknown;
  blocks?: unknown;
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
}

/**
 * How the next call of a method goes wrong: answered late, then with an error (HTTP 500); or, with
 * `retryAfter`, refused at once as Slack refuses a rate-limited call (HTTP 429, Retry-After seconds).
 */
export interface Fault {
  delayMs: number;
  /** Whether Slack did the work before failing to answer (a post is in the channel all the same). */
  done: boolean;
  /** The Retry-After header as sent: seconds, or any text (an HTTP date); null sends a 429 without one. */
  retryAfter?: number | string | null;
}

/**
 * Answers Web API calls (POST /api/<method>) like Slack would, and records them; keeps what each
 * channel shows (posts, edits, metadata) and answers conversations.history from it.
 */
export class SlackRecorder {
  readonly calls: RecordedCall[] = [];
  private readonly channels = new Map<string, ChannelMessage[]>();
  private readonly faults = new Map<string, Fault[]>();
  private server: Server | undefined;
  /** The newest message's time, in microseconds: Slack's ts is the post's time (seconds.micros). */
  private micros = 0;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
        const body = this.parse(raw, req.headers['content-type'] ?? '');
        const call: RecordedCall = { method, body, at: Date.now() };
        this.calls.push(call);
        res.setHeader('content-type', 'application/json');
        const fault = this.faults.get(method)?.shift();
        if (!fault) {
          res.end(JSON.stringify(this.answer(method, body)));
          return;
        }
        if (fault.retryAfter !== undefined) {
          call.status = 429;
          res.statusCode = 429;
          if (fault.retryAfter !== null) res.setHeader('retry-after', String(fault.retryAfter));
          res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
          return;
        }
        if (fault.done) this.answer(method, body);
        setTimeout(() => {
          res.statusCode = 500;
          res.end(JSON.stringify({ ok: false, error: 'internal_error' }));
        }, fault.delayMs);
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** The next call of `method` goes wrong as `fault` says (faults queue up, one a call). */
  failNext(method: string, fault: Fault): void {
    this.faults.set(method, [...(this.faults.get(method) ?? []), fault]);
  }

  /** The messages `channel` shows now, oldest first. */
  messagesIn(channel: string): ChannelMessage[] {
    return [...(this.channels.get(channel) ?? [])];
  }

  /** Calls of `method`, optionally only those to `channel`. */
  of(method: string, channel?: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method && (channel === undefined || c.body.channel === channel));
  }

  private parse(raw: string, type: string): Record<string, unknown> {
    if (type.includes('json')) return JSON.parse(raw || '{}') as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, v] of new URLSearchParams(raw)) {
      try {
        out[k] = ['blocks', 'attachments', 'view', 'metadata'].includes(k) ? JSON.parse(v) : v;
      } catch {
        out[k] = v;
      }
    }
    return out;
  }

  private answer(method: string, body: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://envbot-test.slack.com/', team: 'envbot-test', user: 'envbot', team_id: 'T0TEST0001', user_id: 'U0ENVBOT01', bot_id: 'B0ENVBOT01' };
      case 'chat.postMessage': {
        this.micros = Math.max(this.micros + 1, Date.now() * 1000);
        const ts = `${Math.floor(this.micros / 1e6)}.${String(this.micros % 1e6).padStart(6, '0')}`;
        const list = this.channels.get(String(body.channel)) ?? [];
        list.push({ ts, text: body.text, blocks: body.blocks, ...(body.metadata ? { metadata: body.metadata as ChannelMessage['metadata'] } : {}) });
        this.channels.set(String(body.channel), list);
        return { ok: true, channel: body.channel, ts, message: { text: body.text } };
      }
      case 'chat.update': {
        const message = this.channels.get(String(body.channel))?.find((m) => m.ts === body.ts);
        if (!message) return { ok: false, error: 'message_not_found' };
        Object.assign(message, { text: body.text, blocks: body.blocks }, body.metadata ? { metadata: body.metadata } : {});
        return { ok: true, channel: body.channel, ts: body.ts, text: body.text };
      }
      case 'conversations.history': {
        // Newest first, as Slack answers; metadata only when asked for.
        const oldest = Number(body.oldest ?? 0);
        const messages = this.messagesIn(String(body.channel))
          .filter((m) => Number(m.ts) > oldest)
          .reverse()
          .slice(0, Number(body.limit ?? 100))
          .map(({ metadata, ...m }) => ({ type: 'message', ...m, ...(String(body.include_all_metadata) === 'true' && metadata ? { metadata } : {}) }));
        return { ok: true, messages, has_more: false };
      }
      case 'chat.postEphemeral':
        return { ok: true, message_ts: `${(Date.now() / 1000).toFixed(6)}` };
      case 'views.open':
      case 'views.publish':
        return { ok: true, view: { id: 'V0TEST0001', ...(body.view as object) } };
      case 'usergroups.list':
        return { ok: true, usergroups: [{ id: 'S0DEVOPS001', users: ['U0GROUPED01'] }] };
      default:
        return { ok: true };
    }
  }
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `fn` every 200 ms until it returns something other than undefined or false. */
export async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface EnvbotProcess {
  child: ChildProcess;
  /** http://127.0.0.1:<port> */
  base: string;
  /** Everything it has written to stdout and stderr so far. */
  output(): string;
  /** Ends the workflows left on its task queue, then SIGINT, and waits for it to exit. */
  stop(): Promise<void>;
}

/** The real envbot (bot/main.ts) in its own process, Slack over HTTP, answering /healthz. */
export async function startEnvbot(o: {
  databaseUrl: string;
  taskQueue: string;
  /** The Web API recorder's URL; without it Slack is off (a Teams-only envbot). */
  slackApiUrl?: string;
  env?: Record<string, string>;
  compiled?: boolean;
  /** How long to wait for /healthz (60 s unless set). */
  readyMs?: number;
}): Promise<EnvbotProcess> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let output = '';
  // compiled: as `npm start` runs it (bin/envbot-server, the build `npm run build` made); else under tsx.
  const command = o.compiled ? join(repoRoot, 'bin', 'envbot-server') : process.execPath;
  const args = o.compiled ? [] : ['--import', 'tsx', join(repoRoot, 'bot', 'main.ts')];
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: o.databaseUrl, PORT: String(port), TEMPORAL_TASK_QUEUE: o.taskQueue,
      ...(o.slackApiUrl ? { SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_API_URL: o.slackApiUrl } : {}), ...o.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const stop = async () => {
    if (child.exitCode !== null) return;
    // Its worker still runs: workflows left on its task queue (a create's storage copy) end now.
    const connection = await Connection.connect({ address: testSettings().temporal.address });
    try {
      await endWorkflowsOn(new Client({ connection, namespace: testSettings().temporal.namespace }), o.taskQueue);
    } finally {
      await connection.close();
    }
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
  };
  try {
    await until('envbot to answer /healthz', async () => {
      if (child.exitCode !== null) throw new Error(`envbot exited:\n${output}`);
      return (await fetch(`${base}/healthz`).catch(() => undefined))?.ok;
    }, o.readyMs);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${output}`, { cause: err });
  }
  return { child, base, output: () => output, stop };
}
