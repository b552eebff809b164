// kwok (sigs.k8s.io/kwok, a Kubernetes SIG project): fake nodes and Pod lifecycles without a
// kubelet, so the local cluster runs what envbot applies. Its Stage objects (kwok/stages.yaml) make
// a scheduled Pod Running and Ready (after the delay its `kwok.envbot.io/ready-delay` annotation
// asks for), keep the nodes' heartbeats, and fail a Pod whose image sits on a `.invalid` host
// with ErrImagePull. It manages only the nodes annotated `kwok.x-k8s.io/node: fake`, which its
// setup creates.
import { join } from 'node:path';
import { goBuild } from '../lib/install.js';
import { launch, PROBE_TIMEOUT_MS, waitUntil } from '../lib/proc.js';
import type { Context, Server } from '../lib/context.js';
import { kubeFiles, kubeRequest } from './kube-apiserver.js';

const PORT = 10247;
export const KWOK_VERSION = 'v0.8.0';
/** How many fake nodes, and what each offers: room for every environment the tests make at once. */
export const FAKE_NODES = ['kwok-node-0', 'kwok-node-1', 'kwok-node-2'];
const NODE_ANNOTATION = 'kwok.x-k8s.io/node';

const build = (ctx: Context) => goBuild(ctx, { name: 'kwok', version: KWOK_VERSION, module: 'kwok', pkg: 'sigs.k8s.io/kwok/cmd/kwok', minutes: 5 });

async function healthy(ctx: Context): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${ctx.port(PORT)}/healthz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  return res.ok;
}

function fakeNode(name: string) {
  const resources = { cpu: '32', memory: '256Gi', pods: '110', 'ephemeral-storage': '1Ti' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok' },
    },
    status: { allocatable: resources, capacity: resources, nodeInfo: { kubeletVersion: `kwok-${KWOK_VERSION}`, operatingSystem: 'linux', architecture: 'amd64' } },
  };
}

interface NodeStatus {
  spec?: { taints?: { key: string }[] };
  status?: { conditions?: { type: string; status: string }[] };
}

/** Every fake node is Ready (kwok's node stage) and carries no taint (the node lifecycle controller lifted it). */
async function nodesSchedulable(ctx: Context): Promise<boolean> {
  for (const name of FAKE_NODES) {
    const { status, body } = await kubeRequest(ctx, 'GET', `/api/v1/nodes/${name}`);
    if (status !== 200) return false;
    const node = body as NodeStatus;
    if (node.status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') return false;
    if ((node.spec?.taints ?? []).length > 0) return false;
  }
  return true;
}

export const kwok: Server = {
  name: 'kwok',
  ports: [PORT],
  after: ['kube-controller-manager', 'kube-scheduler'],
  ready: (ctx) => healthy(ctx).catch(() => false),
  install: build,
  async start(ctx) {
    await launch(ctx, 'kwok', await build(ctx), [
      `--kubeconfig=${kubeFiles(ctx).kubeconfig}`, `--config=${join(ctx.toolDir, 'kwok', 'stages.yaml')}`,
      '--manage-all-nodes=false', `--manage-nodes-with-annotation-selector=${NODE_ANNOTATION}=fake`,
      '--cidr=10.0.0.1/24', '--node-ip=10.0.0.1', `--server-address=127.0.0.1:${ctx.port(PORT)}`,
    ], () => healthy(ctx).catch(() => false));
  },
  /** The fake nodes (made once; 409 means they are there), then a wait until Pods can be scheduled on them. */
  async setup(ctx) {
    for (const name of FAKE_NODES) {
      const { status, body } = await kubeRequest(ctx, 'POST', '/api/v1/nodes', fakeNode(name));
      if (status !== 201 && status !== 409) throw new Error(`creating fake node ${name} failed (HTTP ${status}): ${JSON.stringify(body).slice(0, 500)}`);
    }
    await waitUntil('the fake nodes to become Ready and untainted', () => nodesSchedulable(ctx), { stallMs: 120_000, onWait: ctx.log });
  },
  env: () => ({}),
};
