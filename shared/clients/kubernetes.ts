// The Kubernetes client configuration: KUBECONFIG when set, otherwise the default (in-cluster or ~/.kube/config).
import { KubeConfig } from '@kubernetes/client-node';
import type { Settings } from '../settings.js';

export function kubeConfig(settings: Pick<Settings, 'kubeconfig'>): KubeConfig {
  const kc = new KubeConfig();
  if (settings.kubeconfig) kc.loadFromFile(settings.kubeconfig);
  else kc.loadFromDefault();
  return kc;
}
