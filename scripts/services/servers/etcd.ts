// etcd 3.6, built from the Go module proxy: the store behind the local kube-apiserver.
import { goBuild } from '../lib/install.js';
import { launch, PROBE_TIMEOUT_MS } from '../lib/proc.js';
import type { Context, Server } from '../lib/context.js';

const PORT = 2379;
const PEER_PORT = 2380;
export const ETCD_VERSION = 'v3.6.16';

const build = (ctx: Context) =>
  goBuild(ctx, { name: 'etcd', version: ETCD_VERSION, module: 'etcd', pkg: 'go.etcd.io/etcd/server/v3', minutes: 3 });

async function healthy(ctx: Context): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${ctx.port(PORT)}/health`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  return res.ok && ((await res.json()) as { health?: string }).health === 'true';
}

export const etcd: Server = {
  name: 'etcd',
  ports: [PORT, PEER_PORT],
  ready: (ctx) => healthy(ctx).catch(() => false),
  install: build,
  async start(ctx) {
    const client = `http://127.0.0.1:${ctx.port(PORT)}`;
    const peer = `http://127.0.0.1:${ctx.port(PEER_PORT)}`;
    await launch(ctx, 'etcd', await build(ctx), [
      '--name=envbot', `--data-dir=${ctx.dataDir('etcd')}`,
      `--listen-client-urls=${client}`, `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`, `--initial-advertise-peer-urls=${peer}`, `--initial-cluster=envbot=${peer}`,
      '--unsafe-no-fsync=true', '--log-level=warn',
    ], () => healthy(ctx));
  },
  env: () => ({}),
};
