// Chat that keeps up: the real envbot (compiled, as `npm start` runs it) driven over HTTP with signed
// Slack requests, the local recorder standing in for Slack's Web API. It measures one projc create
// alone, then COUNT at once in one channel: time to the last ready environment (provisioned) and to
// its last final card, their ratio, Web API calls per environment, Slack's ack latency (p50/p99 of
// the slash commands and of `/env list` asked every 250 ms meanwhile), CPU-seconds per environment
// (all processes on the machine, from /proc/stat, idle subtracted: anything else running is counted
// too) and `envbot list` wall time.
// projc is the example's shop: its small example seeds are loaded (MongoDB and MySQL).
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { projectRoot } from '../shared/paths.js';
import type { Settings } from '../shared/settings.js';
import { scratchPostgres } from '../test/support/databases.js';
import { depsOn } from '../test/support/deps.js';
import { ensureSharedSecrets } from '../test/support/shared-secrets.js';
import { blockAction, signedHeaders, SlackRecorder, slashCommand, startEnvbot, until, type EnvbotProcess } from '../test/support/slack.js';
import { machineBusy, pct } from './stats.js';

const COUNT = 16;
const PM = { id: 'U0PM0000001' };
const OPS = { id: 'U0OPS000001' };
const CHANNEL = 'C0PROJC0001';
type Print = (line: string) => void;

export async function chatBench(settings: Settings, print: Print): Promise<void> {
  const redis = new Redis(settings.servers.redis ?? 'redis://127.0.0.1:6379');
  const databases = Number(((await redis.config('GET', 'databases')) as string[])[1]);
  redis.disconnect();
  if (databases < COUNT + 8) {
    print(`skipped: the local Redis has ${databases} databases, fewer than the ${COUNT + 8} the bench needs (scripts/services starts it with 64: restart it with \`scripts/services/services down redis && scripts/services/services up\`)`);
    return;
  }
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: projectRoot, stdio: 'inherit' });
  const recorder = new SlackRecorder();
  await recorder.start();
  const storeDb = await scratchPostgres('store_chat_bench', { migrate: true });
  const deps = depsOn(storeDb.url, 'chat-bench');
  await ensureSharedSecrets(deps.deps);
  let envbot: EnvbotProcess | undefined;
  const run = randomBytes(2).toString('hex');
  const made: string[] = [];
  try {
    envbot = await startEnvbot({ databaseUrl: storeDb.url, taskQueue: `chat-bench-${randomUUID()}`, slackApiUrl: recorder.url, compiled: true });
    const base = envbot.base;
    const post = async (body: string): Promise<number> => {
      const t = performance.now();
      const res = await fetch(`${base}/slack/events`, { method: 'POST', headers: signedHeaders(body), body });
      if (res.status !== 200) throw new Error(`Slack endpoint answered ${res.status}: ${await res.text()}`);
      return performance.now() - t;
    };
    const hasCard = (env: string) => recorder.messagesIn(CHANNEL).some((m) => JSON.stringify(m.blocks ?? '').includes(`https://shop.${env}.example.com`));
    const ready = async (env: string) => (await deps.store.getEnvironment(env))?.state === 'ready';

    /** Creates `n` environments at once; times from the first command to the last ready and the last card. */
    const round = async (n: number, tag: string) => {
      const envs = Array.from({ length: n }, (_, i) => ({ env: `projc-dev-${tag}${run}${i}`, suffix: `${tag}${run}${i}` }));
      made.push(...envs.map((e) => e.env));
      const chatCalls = () => recorder.calls.filter((c) => c.method === 'chat.postMessage' || c.method === 'chat.update').length;
      const callsBefore = chatCalls();
      const acks: number[] = [];
      const listAcks: number[] = [];
      const c0 = machineBusy();
      const t0 = performance.now();
      let provisioned = 0;
      let carded = 0;
      let stop = false;
      const pinger = (async () => {
        while (!stop) {
          listAcks.push(await post(slashCommand('list projc', PM, CHANNEL, `${recorder.url}response`)));
          await new Promise((r) => setTimeout(r, 250));
        }
      })();
      acks.push(...(await Promise.all(envs.map((e) => post(slashCommand(`create projc dev ${e.suffix}`, PM, CHANNEL, `${recorder.url}response`))))));
      await until('every environment ready and carded', async () => {
        const now = performance.now() - t0;
        if (!provisioned && (await Promise.all(envs.map((e) => ready(e.env)))).every(Boolean)) provisioned = now;
        if (!carded && envs.every((e) => hasCard(e.env))) carded = now;
        return provisioned > 0 && carded > 0;
      }, 900_000);
      stop = true;
      await pinger;
      const c1 = machineBusy();
      // The environments' messages: posts and edits (the lists' ephemeral answers are not counted).
      const calls = chatCalls() - callsBefore;
      return { provisioned, carded, calls, cpuSeconds: c1 - c0, acks, listAcks };
    };

    const one = await round(1, 'a');
    print(`one create alone: ready ${(one.provisioned / 1000).toFixed(1)} s, card ${(one.carded / 1000).toFixed(1)} s, ${one.calls} chat calls, ${one.cpuSeconds.toFixed(2)} CPU-s on the machine`);
    const many = await round(COUNT, 'b');
    const all = [...many.acks, ...many.listAcks];
    print(`${COUNT} creates in one channel: last ready ${(many.provisioned / 1000).toFixed(1)} s, last card ${(many.carded / 1000).toFixed(1)} s`);
    print(`  last card / last ready = ${(many.carded / many.provisioned).toFixed(2)} (goal <= 1.5); last card / one alone = ${(many.carded / one.carded).toFixed(2)}`);
    print(`  chat Web API calls: ${many.calls}, ${(many.calls / COUNT).toFixed(1)} per environment (goal < 8)`);
    print(`  CPU-seconds per environment: ${(many.cpuSeconds / COUNT).toFixed(2)} (whole machine, busy time: run it on an otherwise idle machine)`);
    print(`  Slack ack latency over ${all.length} requests (${many.acks.length} creates, ${many.listAcks.length} lists meanwhile): p50 ${pct(all, 50).toFixed(0)} ms, p99 ${pct(all, 99).toFixed(0)} ms`);

    const listTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      execFileSync(join(projectRoot, 'bin', 'envbot'), ['list'], { env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: storeDb.url }, stdio: 'ignore' });
      listTimes.push(performance.now() - t);
    }
    print(`envbot list (${made.length} environments): median ${pct(listTimes, 50).toFixed(0)} ms wall over 5 runs (goal < 500 ms)`);
  } finally {
    if (envbot) {
      for (const env of made) {
        // One body, signed as sent (a click's body carries its own time and trigger id).
        const body = blockAction('env_destroy_confirmed', env, OPS, CHANNEL, `${recorder.url}response`);
        const res = await fetch(`${envbot.base}/slack/events`, { method: 'POST', headers: signedHeaders(body), body }).catch((err: unknown) => err as Error);
        if (res instanceof Error || res.status !== 200) print(`cleanup: the destroy of ${env} was not accepted (${res instanceof Error ? res.message : `HTTP ${res.status}`})`);
      }
      await until('the bench environments destroyed', async () => (await Promise.all(made.map(async (e) => ['destroyed', undefined].includes((await deps.store.getEnvironment(e))?.state)))).every(Boolean), 600_000).catch((err: unknown) => print(`cleanup: ${(err as Error).message}`));
      await envbot.stop();
    }
    await deps.store.close();
    await storeDb.drop();
    await recorder.stop();
  }
}
