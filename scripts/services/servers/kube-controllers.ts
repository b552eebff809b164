// kube-controller-manager and kube-scheduler 1.34, built from the same wrapper module (and so the
// same module versions) as kube-apiserver. With them (and kwok's fake nodes) Deployments make Pods
// that get scheduled, PVCs bind to their PVs and a deleted namespace is emptied and removed.
// Both use the admin kubeconfig that kube-apiserver's setup writes; the controller manager signs
// each controller's service-account tokens with the API server's service-account key.
import { Agent, get } from 'node:https';
import { join } from 'node:path';
import { launch, PROBE_TIMEOUT_MS } from '../lib/proc.js';
import type { Context, Server } from '../lib/context.js';
import { buildKube, kubeFiles } from './kube-apiserver.js';

const CONTROLLER_MANAGER_PORT = 10257;
const SCHEDULER_PORT = 10259;

/** `/healthz` over HTTPS (self-signed serving certificate; always allowed without credentials). */
function healthz(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/healthz', agent: new Agent({ rejectUnauthorized: false }), timeout: PROBE_TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

/** The flags both share: who they are to the API server, where they serve /healthz, no leader election. */
function common(ctx: Context, port: number, name: string): string[] {
  const { kubeconfig } = kubeFiles(ctx);
  return [
    `--kubeconfig=${kubeconfig}`, `--authentication-kubeconfig=${kubeconfig}`, `--authorization-kubeconfig=${kubeconfig}`,
    '--leader-elect=false', '--bind-address=127.0.0.1', `--secure-port=${ctx.port(port)}`,
    // Its own self-signed serving certificate, kept per checkout (the default is the working directory).
    `--cert-dir=${join(ctx.dataDir(name), 'certs')}`, '--v=0',
  ];
}

export const kubeControllerManager: Server = {
  name: 'kube-controller-manager',
  ports: [CONTROLLER_MANAGER_PORT],
  after: ['kube-apiserver'],
  ready: (ctx) => healthz(ctx.port(CONTROLLER_MANAGER_PORT)),
  install: (ctx) => buildKube(ctx, 'kube-controller-manager', 15),
  async start(ctx) {
    const f = kubeFiles(ctx);
    await launch(ctx, 'kube-controller-manager', await buildKube(ctx, 'kube-controller-manager', 15), [
      ...common(ctx, CONTROLLER_MANAGER_PORT, 'kube-controller-manager'),
      `--service-account-private-key-file=${f.saKey}`, `--root-ca-file=${join(f.certDir, 'apiserver.crt')}`,
      '--use-service-account-credentials=true', '--cluster-name=envbot-local',
      // No cloud, no Pod network to hand out: the node IPAM, cloud node, service load-balancer and
      // route controllers have nothing to do here. The node lifecycle controller stays: it lifts the
      // not-ready taint new nodes get, without which nothing is scheduled.
      '--controllers=*,-nodeipam,-cloud-node-lifecycle,-service,-route',
    ], () => healthz(ctx.port(CONTROLLER_MANAGER_PORT)));
  },
  env: () => ({}),
};

export const kubeScheduler: Server = {
  name: 'kube-scheduler',
  ports: [SCHEDULER_PORT],
  after: ['kube-apiserver'],
  ready: (ctx) => healthz(ctx.port(SCHEDULER_PORT)),
  install: (ctx) => buildKube(ctx, 'kube-scheduler', 5),
  async start(ctx) {
    await launch(ctx, 'kube-scheduler', await buildKube(ctx, 'kube-scheduler', 5), common(ctx, SCHEDULER_PORT, 'kube-scheduler'), () =>
      healthz(ctx.port(SCHEDULER_PORT)),
    );
  },
  env: () => ({}),
};
