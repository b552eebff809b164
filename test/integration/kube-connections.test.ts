// The Kubernetes client configuration (shared/clients/kubernetes.ts) against the real API server:
// requests reuse kept-alive connections instead of opening (and TLS-handshaking) a new one each, as
// @kubernetes/client-node does on its own, and the API clients are made once per kind.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { kubeConfig } from '../../shared/clients/kubernetes.js';
import { testSettings } from '../support/settings.js';

/** Requests made while `fn` runs that opened a new connection (not `reusedSocket`), from Node's http.client.response.finish channel. */
async function socketsOpenedBy(fn: () => Promise<void>): Promise<number> {
  let n = 0;
  let requests = 0;
  const count = (m: unknown) => {
    requests++;
    if (!(m as { request: ClientRequest }).request.reusedSocket) n++;
  };
  subscribe('http.client.response.finish', count);
  try {
    await fn();
  } finally {
    unsubscribe('http.client.response.finish', count);
  }
  // The channel must have seen the requests, or a count of 0 proves nothing.
  expect(requests).toBe(5);
  return n;
}

const five = async (api: CoreV1Api) => {
  for (let i = 0; i < 5; i++) await api.listNamespace({ limit: 1 });
};

describe('Kubernetes connections', () => {
  const made: { destroy(): void }[] = [];
  afterEach(() => made.splice(0).forEach((k) => k.destroy()));

  it('the library alone opens a connection per request (what the pooled configuration fixes)', async () => {
    const plain = new KubeConfig();
    plain.loadFromFile(testSettings().kubeconfig!);
    expect(await socketsOpenedBy(() => five(plain.makeApiClient(CoreV1Api)))).toBe(5);
  });

  it('five requests in a row go over one kept-alive connection, through one API client', async () => {
    const kc = kubeConfig(testSettings());
    made.push(kc);
    expect(kc.makeApiClient(CoreV1Api)).toBe(kc.makeApiClient(CoreV1Api));
    expect(await socketsOpenedBy(() => five(kc.makeApiClient(CoreV1Api)))).toBe(1);
    // A second burst reuses it too.
    expect(await socketsOpenedBy(() => five(kc.makeApiClient(CoreV1Api)))).toBe(0);
  });

  it('opens a new connection after the kept one is closed (shutdown), and requests still work', async () => {
    const kc = kubeConfig(testSettings());
    made.push(kc);
    await five(kc.makeApiClient(CoreV1Api));
    kc.destroy();
    expect(await socketsOpenedBy(() => five(kc.makeApiClient(CoreV1Api)))).toBe(1);
  });
});
