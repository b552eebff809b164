// What envbot lets through to Bolt. One signed Slack request runs once, whatever is done to its
// signing headers (Bolt alone accepts `v0=<sig>=x`, `<ts>.0`, `0<ts>`, ...); an oversized body is
// refused with 413 before it is read, whether its size is declared or it comes chunked.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp, listen, rawBody } from '../../bot/http.js';
import { malformedSlackHeaders, slackRequestKey } from '../../bot/slack/app.js';
import { Store } from '../../shared/store/store.js';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { signedHeaders, SlackRecorder, slashCommand, startEnvbot, until, type EnvbotProcess } from '../support/slack.js';

const OPS = { id: 'U0OPS000001' }; // group devops: may see projb's credentials (examples/envbot.yaml)
const CHANNEL = 'C0PROJB0001';
const MB = 1024 * 1024;

/**
 * POSTs with node:http, so header values go on the wire exactly as given (fetch trims them): one body
 * with its Content-Length, or several parts sent chunked.
 */
function post(url: string, headers: Record<string, string>, body: string | Buffer | string[]): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const length = Array.isArray(body) ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = request(url, { method: 'POST', headers: { ...headers, ...length } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    for (const part of Array.isArray(body) ? body : [body]) req.write(part);
    req.end();
  });
}

/** Sends a chunked body (no Content-Length) for as long as the server reads it, up to `max` bytes; the answer and the bytes sent. */
function streamUntilAnswered(url: string, max: number): Promise<{ status: number; sent: number }> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    let answered = false;
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      answered = true;
      res.resume();
      resolve({ status: res.statusCode ?? 0, sent });
    });
    // The server drops the connection after answering; a write failing after that is expected.
    req.on('error', (err) => (answered ? undefined : reject(err)));
    const pump = () => {
      while (!answered && sent < max) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

function rssBytes(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (!kb) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb) * 1024;
}

describe('the inbound body limit (createHttpApp)', () => {
  const LIMIT = 1000;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const router = Router();
    router.post('/echo', (req, res) => void res.json({ bytes: rawBody(req).length }));
    server = await listen(createHttpApp({ checks: {}, routers: [router], maxBodyBytes: LIMIT }), 0);
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/echo`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('hands a body up to the limit to the router, read', async () => {
    expect(await post(url, {}, Buffer.alloc(LIMIT))).toEqual({ status: 200, text: JSON.stringify({ bytes: LIMIT }) });
    expect(await post(url, {}, '')).toEqual({ status: 200, text: JSON.stringify({ bytes: 0 }) });
  });

  it('answers 413 to a Content-Length over the limit', async () => {
    expect((await post(url, {}, Buffer.alloc(LIMIT + 1))).status).toBe(413);
  });

  it('answers 413 to a chunked body once it passes the limit, and reads no further', async () => {
    const res = await streamUntilAnswered(url, 64 * MB);
    expect(res.status).toBe(413);
    expect(res.sent).toBeLessThan(16 * MB); // what the sockets' buffers hold, not the 64 MB offered
  });

  it('reads a chunked body up to the limit', async () => {
    expect(await post(url, {}, ['a'.repeat(600), 'b'.repeat(400)])).toEqual({ status: 200, text: JSON.stringify({ bytes: LIMIT }) });
  });
});

describe('Slack signing headers', () => {
  const now = 1_700_000_000_000;
  const ts = String(now / 1000);
  const sig = `v0=${'ab12'.repeat(16)}`;
  const headers = (t: string, s: string): IncomingHttpHeaders => ({ 'x-slack-request-timestamp': t, 'x-slack-signature': s });

  it('accepts them exactly as Slack writes them', () => {
    expect(malformedSlackHeaders(headers(ts, sig), now)).toBeUndefined();
  });

  it.each([
    ['a suffix on the signature', ts, `${sig}=x`],
    ['upper-case hex', ts, sig.toUpperCase().replace('V0', 'v0')],
    ['a short signature', ts, sig.slice(0, -1)],
    ['another version', ts, sig.replace('v0', 'v1')],
    ['a fractional timestamp', `${ts}.0`, sig],
    ['a leading zero', `0${ts}`, sig],
    ['a sign', `+${ts}`, sig],
    ['a hex timestamp', `0x${(now / 1000).toString(16)}`, sig],
    ['an exponent', '1.7e9', sig],
    ['a timestamp six minutes old', String(now / 1000 - 360), sig],
    ['a timestamp six minutes ahead', String(now / 1000 + 360), sig],
    ['two signatures', ts, `${sig}, ${sig}`],
  ])('refuses %s', (_what, t, s) => {
    expect(malformedSlackHeaders(headers(t, s), now)).toBeDefined();
  });

  it('refuses missing headers', () => {
    expect(malformedSlackHeaders({ 'x-slack-signature': sig }, now)).toBeDefined();
    expect(malformedSlackHeaders({ 'x-slack-request-timestamp': ts }, now)).toBeDefined();
  });

  it('keys a request by its timestamp and body, an event by its id', () => {
    const req = (body: string, parsed: unknown, t = ts) => ({ headers: headers(t, sig), rawBody: Buffer.from(body), body: parsed }) as unknown as Parameters<typeof slackRequestKey>[0];
    expect(slackRequestKey(req('a=1', { a: '1' }))).toBe(slackRequestKey(req('a=1', { a: '1' })));
    expect(slackRequestKey(req('a=1', { a: '1' }))).toMatch(new RegExp(`^${ts}:[0-9a-f]{64}$`));
    expect(slackRequestKey(req('a=1', { a: '1' }))).not.toBe(slackRequestKey(req('a=2', { a: '2' })));
    expect(slackRequestKey(req('a=1', { a: '1' }))).not.toBe(slackRequestKey(req('a=1', { a: '1' }, String(Number(ts) + 1))));
    expect(slackRequestKey(req('{"event_id":"Ev1"}', { event_id: 'Ev1' }))).toBe('event:Ev1');
  });
});

describe('Slack guard, end to end', () => {
  const recorder = new SlackRecorder();
  let storeDb: ScratchDatabase;
  let store: Store;
  let envbot: EnvbotProcess;
  const suffix = randomBytes(3).toString('hex');
  const env = `projb-qa-${suffix}`;
  const slackUrl = () => `${envbot.base}/slack/events`;

  beforeAll(async () => {
    await recorder.start();
    storeDb = await scratchPostgres('store_slack_guard', { migrate: true });
    store = new Store(storeDb.url, [{ id: 'test', key: randomBytes(32) }]);
    // A record is all `secrets` needs: it reads the store, writes an audit row and answers ephemerally.
    await store.claimEnvironment({ name: env, project: 'projb', stage: 'qa', suffix, createdBy: OPS.id, runId: `slack-guard-${suffix}` });
    envbot = await startEnvbot({ databaseUrl: storeDb.url, taskQueue: `slack-guard-${randomUUID()}`, slackApiUrl: recorder.url });
  }, 120_000);

  afterAll(async () => {
    await envbot?.stop();
    await store?.close();
    await storeDb?.drop();
    await recorder.stop();
  }, 60_000);

  it('runs one signed request sent 50 times with varied headers exactly once', async () => {
    const body = slashCommand(`secrets ${env}`, OPS, CHANNEL, `${recorder.url}response`);
    const signed = signedHeaders(body);
    const ts = signed['x-slack-request-timestamp']!;
    const sig = signed['x-slack-signature']!;
    const hex = sig.slice('v0='.length);
    // Variants Bolt alone accepts (and upper-case hex, which it refuses): envbot refuses them all.
    const malformed: Array<[string, string]> = [
      [ts, `${sig}=x`], [ts, `${sig}=`], [ts, `${sig}=${randomBytes(2).toString('hex')}`],
      [`${ts}.0`, sig], [`${ts}.000`, sig], [`0${ts}`, sig], [`00${ts}`, sig], [`+${ts}`, sig],
      [`0x${Number(ts).toString(16)}`, sig], [`${ts}e0`, sig], [`0${ts}.0`, `${sig}=x`],
      [ts, `v0=${hex.toUpperCase()}`], [ts, `V0=${hex}`],
    ];
    // Whitespace around a value is not part of it (HTTP): the same request as the original, on the wire.
    const same: Array<[string, string]> = [[` ${ts} `, sig], [ts, `  ${sig} `], [`\t${ts}`, `${sig}\t`]];
    const variants = [...malformed, ...same];
    const sends = [{ t: ts, s: sig, ok: true }];
    for (let i = 0; sends.length < 50; i++) {
      const [t, s] = variants[i % variants.length]!;
      sends.push({ t, s, ok: same.some(([a, b]) => a === t && b === s) });
    }
    const results = await Promise.all(
      sends.map(async ({ t, s, ok }) => ({ ok, ...(await post(slackUrl(), { ...signed, 'x-slack-request-timestamp': t, 'x-slack-signature': s }, body)) })),
    );
    expect(results.filter((r) => r.ok).map((r) => r.status)).toEqual(Array(results.filter((r) => r.ok).length).fill(200));
    expect(results.filter((r) => !r.ok).map((r) => r.status)).toEqual(Array(results.filter((r) => !r.ok).length).fill(401));

    const answers = () => recorder.of('chat.postEphemeral', CHANNEL).filter((c) => c.body.user === OPS.id && JSON.stringify(c.body).includes(env));
    await until('the credentials answer', () => answers().length > 0);
    await new Promise((r) => setTimeout(r, 1500)); // time for a second run, were there one
    expect(answers()).toHaveLength(1);
    const audits = await store.pool.query("SELECT count(*)::int AS n FROM audit_log WHERE action = 'credentials' AND environment = $1", [env]);
    expect(audits.rows[0].n).toBe(1);
  });

  it('refuses a correctly signed request dated more than five minutes ahead (Bolt alone accepts it)', async () => {
    const body = slashCommand(`secrets ${env}`, OPS, CHANNEL, `${recorder.url}response`);
    const calls = recorder.calls.length;
    expect((await post(slackUrl(), signedHeaders(body, { timestamp: Math.floor(Date.now() / 1000) + 600 }), body)).status).toBe(401);
    await new Promise((r) => setTimeout(r, 500));
    expect(recorder.calls.length).toBe(calls);
  });

  it('handles an event once though Slack retries it with a new timestamp and signature', async () => {
    const event = JSON.stringify({
      token: 'legacy-verification-token', team_id: 'T0TEST0001', api_app_id: 'A0ENVBOT01', type: 'event_callback',
      event_id: `Ev${randomBytes(4).toString('hex')}`, event_time: Math.floor(Date.now() / 1000),
      event: { type: 'app_home_opened', user: OPS.id, channel: 'D0OPS00001', tab: 'home', event_ts: `${Date.now() / 1000}` },
    });
    const now = Math.floor(Date.now() / 1000);
    for (const timestamp of [now - 2, now]) {
      expect((await post(slackUrl(), signedHeaders(event, { contentType: 'application/json', timestamp }), event)).status).toBe(200);
    }
    await until('views.publish', () => recorder.of('views.publish').some((c) => c.body.user_id === OPS.id));
    await new Promise((r) => setTimeout(r, 1000));
    expect(recorder.of('views.publish').filter((c) => c.body.user_id === OPS.id)).toHaveLength(1);
  });

  it('answers 413 to 10 MB bodies without reading them, and its memory barely moves', async () => {
    const pid = envbot.child.pid!;
    const before = rssBytes(pid);
    const big = Buffer.alloc(10 * MB, 'a');
    const statuses = await Promise.all(
      Array.from({ length: 3 }, async () => (await fetch(slackUrl(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: big })).status),
    );
    expect(statuses).toEqual([413, 413, 413]);
    await new Promise((r) => setTimeout(r, 500));
    expect(rssBytes(pid) - before).toBeLessThan(20 * MB);
  });

  it('answers 413 to a chunked body as soon as it passes 1 MB', async () => {
    const pid = envbot.child.pid!;
    const before = rssBytes(pid);
    const res = await streamUntilAnswered(slackUrl(), 200 * MB);
    expect(res.status).toBe(413);
    expect(res.sent).toBeLessThan(20 * MB);
    expect(rssBytes(pid) - before).toBeLessThan(20 * MB);
  });

  it('still serves a normal request afterwards', async () => {
    expect((await fetch(`${envbot.base}/healthz`)).status).toBe(200);
  });
});
