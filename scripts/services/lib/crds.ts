// The CustomResourceDefinitions the local cluster needs beyond Kubernetes' own: prometheus-operator's
// ServiceMonitor and PrometheusRule (vendored in ../crds, see its README for version and source), so
// the monitoring objects envbot makes are validated by the API server as a real cluster with the
// operator would. Server-side applied under one field manager: running `up` again changes nothing.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Context } from './context.js';
import { waitUntil } from './proc.js';
import { kubeRequest } from '../servers/kube-apiserver.js';

const FIELD_MANAGER = 'envbot-services';

interface Crd {
  metadata: { name: string };
}

/** Every vendored CRD manifest (one document per file). */
export function vendoredCrds(ctx: Pick<Context, 'toolDir'>): Crd[] {
  const dir = join(ctx.toolDir, 'crds', 'prometheus-operator');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => parse(readFileSync(join(dir, f), 'utf8')) as Crd);
}

async function established(ctx: Context, name: string): Promise<boolean> {
  const { status, body } = await kubeRequest(ctx, 'GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
  const conditions = (body as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ?? [];
  return status === 200 && conditions.some((c) => c.type === 'Established' && c.status === 'True');
}

/** Applies each vendored CRD and waits until the API server serves its kind. */
export async function installCrds(ctx: Context): Promise<void> {
  for (const crd of vendoredCrds(ctx)) {
    const name = crd.metadata.name;
    const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}?fieldManager=${FIELD_MANAGER}&force=true`;
    const { status, body } = await kubeRequest(ctx, 'PATCH', path, crd, 'application/apply-patch+yaml');
    if (status !== 200 && status !== 201) throw new Error(`applying CustomResourceDefinition ${name} failed (HTTP ${status}): ${JSON.stringify(body).slice(0, 500)}`);
    await waitUntil(`CustomResourceDefinition ${name} to be established`, () => established(ctx, name), { stallMs: 60_000, onWait: ctx.log });
  }
}
