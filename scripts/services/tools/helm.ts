// helm, built once from the Go module proxy (scripts/services/go/helm) and cached by version: the
// tests lint envbot's chart (deploy/helm/envbot) and dry-run its rendering into the local cluster.
// Not a server: `up` builds it with the servers' installs, before any server starts.
import { join } from 'node:path';
import { goBuild } from '../lib/install.js';
import type { Context } from '../lib/context.js';

export const HELM_VERSION = 'v3.22.0';
/**
 * The Kubernetes version helm assumes without a cluster (`helm template`, `helm lint`): helm's
 * Makefile derives it from the k8s.io/client-go it builds with (v0.37.0 in go/helm/go.mod: 1.37).
 * Without it helm says v1.20.0 and refuses the chart's kubeVersion.
 */
const KUBE_MAJOR = '1';
const KUBE_MINOR = '37';

/** Where the built helm lives (it may not be built yet). */
export function helmPath(ctx: Context): string {
  return join(ctx.cacheDir, `helm-${HELM_VERSION}`, 'helm');
}

/** Builds helm once (measured from a cold Go build cache on 2 busy cores: see scripts/services/README.md). */
export function buildHelm(ctx: Context): Promise<string> {
  return goBuild(ctx, {
    name: 'helm', version: HELM_VERSION, module: 'helm', pkg: 'helm.sh/helm/v3/cmd/helm', minutes: 3,
    ldflags: [
      `-X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}`,
      ...['pkg/lint/rules', 'pkg/chartutil'].flatMap((p) => [`-X helm.sh/helm/v3/${p}.k8sVersionMajor=${KUBE_MAJOR}`, `-X helm.sh/helm/v3/${p}.k8sVersionMinor=${KUBE_MINOR}`]),
    ].join(' '),
  });
}
