// The Kubernetes client configuration: KUBECONFIG when set, otherwise the default (in-cluster or ~/.kube/config).
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { KubeConfig, type ApiType, type Configuration, type RequestContext } from '@kubernetes/client-node';
import type { Settings } from '../settings.js';

type AgentOptions = https.AgentOptions;

/** What makes two agents interchangeable: the TLS material and checks, compared by digest. */
function agentKey(kind: string, o: AgentOptions): string {
  const h = createHash('sha256').update(kind);
  for (const v of [o.ca, o.cert, o.key, o.pfx, o.passphrase, o.servername, o.rejectUnauthorized]) {
    h.update('\0');
    if (v !== undefined) h.update(Array.isArray(v) ? v.map((x) => String(x)).join('\0') : typeof v === 'object' && !Buffer.isBuffer(v) ? JSON.stringify(v) : String(v));
  }
  return h.digest('hex');
}

/**
 * A KubeConfig whose API clients reuse connections. The client library makes a new `https.Agent`
 * for every request (KubeConfig.applySecurityAuthentication), so each call to the API server opened
 * a new TCP connection and TLS handshake, on both sides the largest share of a create's CPU. Here the
 * agent it made is swapped for a keep-alive one kept per TLS material (so rotated client certificates
 * still get a new agent). Proxy agents are left as made. API clients are kept per class too.
 */
export class PooledKubeConfig extends KubeConfig {
  private readonly agents = new Map<string, http.Agent>();
  private readonly apis = new Map<unknown, unknown>();

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const made = context.getAgent();
    if (!made || (made.constructor !== https.Agent && made.constructor !== http.Agent)) return;
    const isHttps = made.constructor === https.Agent;
    const options = (made as https.Agent).options;
    const key = agentKey(isHttps ? 'https' : 'http', options);
    let agent = this.agents.get(key);
    if (!agent) {
      agent = isHttps ? new https.Agent({ ...options, keepAlive: true }) : new http.Agent({ ...options, keepAlive: true });
      this.agents.set(key, agent);
    }
    context.setAgent(agent);
  }

  /** One API client of each kind for the life of this configuration. */
  override makeApiClient<T extends ApiType>(apiClientType: new (config: Configuration) => T): T {
    let api = this.apis.get(apiClientType) as T | undefined;
    if (!api) this.apis.set(apiClientType, (api = super.makeApiClient(apiClientType)));
    return api;
  }

  /** Closes the kept connections (on shutdown). */
  destroy(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}

export function kubeConfig(settings: Pick<Settings, 'kubeconfig'>): PooledKubeConfig {
  const kc = new PooledKubeConfig();
  if (settings.kubeconfig) kc.loadFromFile(settings.kubeconfig);
  else kc.loadFromDefault();
  return kc;
}
