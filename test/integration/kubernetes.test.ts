// kube-apiserver round trip through @kubernetes/client-node: a namespace and an object in it,
// created, read back and deleted.
import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { kubeConfig } from '../../shared/clients/kubernetes.js';
import { testSettings } from '../support/settings.js';

describe('kube-apiserver', () => {
  const core = kubeConfig(testSettings()).makeApiClient(CoreV1Api);
  const namespace = `roundtrip-${randomBytes(3).toString('hex')}`;

  afterAll(async () => {
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it('creates a namespace with labels and reads it back', async () => {
    await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'app.kubernetes.io/managed-by': 'envbot' } } } });
    const ns = await core.readNamespace({ name: namespace });
    expect(ns.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('envbot');
    expect(ns.status?.phase).toBe('Active');
  });

  it('stores a ConfigMap in the namespace and validates objects', async () => {
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'settings' }, data: { ENV_NAME: namespace } } });
    const cm = await core.readNamespacedConfigMap({ namespace, name: 'settings' });
    expect(cm.data).toEqual({ ENV_NAME: namespace });
    await expect(
      core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'Not_A_Valid_Name' } } }),
    ).rejects.toMatchObject({ code: 422 });
  });

  it('deletes a namespace for real: Terminating while the controller manager empties it, then gone', async () => {
    await core.deleteNamespace({ name: namespace });
    const ns = await core.readNamespace({ name: namespace }).catch(() => undefined);
    // Already gone on a fast machine; otherwise Terminating, never Active.
    if (ns) expect(ns.status?.phase).toBe('Terminating');
    const started = Date.now();
    while (await core.readNamespace({ name: namespace }).then(() => true, () => false)) {
      expect(Date.now() - started, 'the namespace controller removes the namespace within a minute').toBeLessThan(60_000);
      await new Promise((r) => setTimeout(r, 500));
    }
    await expect(core.readNamespace({ name: namespace })).rejects.toMatchObject({ code: 404 });
  }, 90_000);
});
