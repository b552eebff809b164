// etcd 3.6, built from the Go module proxy: the store behind the local kube-apiserver.
import { goBuild } from '../lib/install.js';
import { spawnDetached, waitUntil } from '../lib/proc.js';
import type { Server } from '../lib/context.js';

const PORT = 2379;
const PEER_PORT = 2380;
export const ETCD_VERSION = 'v3.6.16';

async function healthy(): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${PORT}/health`, { signal: AbortSignal.timeout(2000) });
  return res.ok && ((await res.json()) as { health?: string }).health === 'true';
}

export const etcd: Server = {
  name: 'etcd',
  ports: [PORT, PEER_PORT],
  ready: () => healthy().catch(() => false),
  async start(ctx) {
    const bin = await goBuild(ctx, { name: 'etcd', version: ETCD_VERSION, module: 'etcd', pkg: 'go.etcd.io/etcd/server/v3', minutes: 3 });
    const logFile = ctx.logFile('etcd');
    const peer = `http://127.0.0.1:${PEER_PORT}`;
    const pid = spawnDetached(bin, [
      '--name=envbot', `--data-dir=${ctx.dataDir('etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${PORT}`, `--advertise-client-urls=http://127.0.0.1:${PORT}`,
      `--listen-peer-urls=${peer}`, `--initial-advertise-peer-urls=${peer}`, `--initial-cluster=envbot=${peer}`,
      '--unsafe-no-fsync=true', '--log-level=warn',
    ], { logFile, pidFile: ctx.pidFile('etcd') });
    await waitUntil('etcd', healthy, { timeoutMs: 60_000, logFile, pid });
  },
  env: () => ({}),
};
