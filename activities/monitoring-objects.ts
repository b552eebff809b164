// The monitoring objects of one environment, as pure functions of the environment and what the
// cluster runs: a ServiceMonitor per service that exposes metrics, one PrometheusRule (each
// service's availability and the project's own alerts) and a Grafana dashboard in a ConfigMap
// labelled for Grafana's dashboard sidecar. monitoring.ts applies them.
import type { KubernetesObject } from '@kubernetes/client-node';
import { routeUrl } from '../shared/names.js';
import type { ResolvedEnv } from './environment.js';
import { baseVars, render } from './render.js';

export const MONITORING_API = 'monitoring.coreos.com/v1';
/** The label Grafana's dashboard sidecar looks for (its default `sidecar.dashboards.label`), and its value. */
export const DASHBOARD_LABEL = 'grafana_dashboard';
/** The annotation the sidecar reads a dashboard's folder from (`sidecar.dashboards.folderAnnotation` in Grafana's chart). */
export const FOLDER_ANNOTATION = 'grafana_folder';

export type MonitoringObject = KubernetesObject & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
};

/** The Deployments and StatefulSets of each service (by the envbot.io/service label envbot puts on them). */
export type Workloads = Record<string, { deployments: string[]; statefulSets: string[] }>;

const quote = (s: string) => JSON.stringify(s);

/** Each service's URL. */
export function serviceUrls(r: ResolvedEnv): { service: string; url: string }[] {
  return Object.entries(r.project.services).map(([service, s]) => ({ service, url: routeUrl(r.names.route(s.hosts[0]!, r.project.addressing)) }));
}

/** The dashboard's address, when the catalogue names its Grafana. */
export function dashboardUrl(r: ResolvedEnv): string | undefined {
  const grafana = r.catalogue.catalogue.grafana;
  return grafana ? `${grafana.url}${r.names.dashboardPath}` : undefined;
}

/** An expression that is true while none of a service's workloads has an available replica; undefined when it has none. */
export function unavailableExpr(namespace: string, w: Workloads[string] | undefined): string | undefined {
  if (!w) return undefined;
  const parts = [
    ...w.deployments.map((d) => `kube_deployment_status_replicas_available{namespace=${quote(namespace)},deployment=${quote(d)}} < 1`),
    ...w.statefulSets.map((s) => `kube_statefulset_status_replicas_ready{namespace=${quote(namespace)},statefulset=${quote(s)}} < 1`),
  ];
  return parts.length ? parts.join(' or ') : undefined;
}

export function monitoringObjects(r: ResolvedEnv, workloads: Workloads, file: string): MonitoringObject[] {
  const m = r.project.monitoring!;
  const ns = r.names.namespace;
  const labels = { ...r.names.labels };
  const envLabels = { environment: r.env.name, project: r.env.project, stage: r.env.stage };
  const dashboard = dashboardUrl(r);
  const links = dashboard ? { dashboard } : {};

  const monitors: MonitoringObject[] = Object.entries(r.project.services)
    .filter(([, s]) => s.metrics)
    .map(([service, s]) => ({
      apiVersion: MONITORING_API,
      kind: 'ServiceMonitor',
      metadata: { name: r.names.serviceMonitor(service), labels: { ...labels, 'envbot.io/service': service } },
      spec: {
        selector: { matchLabels: { 'envbot.io/environment': r.env.name, 'envbot.io/service': service } },
        endpoints: [{ port: s.metrics!.port, path: s.metrics!.path, interval: s.metrics!.interval }],
        // Every series scraped carries the environment and the catalogue's service name.
        targetLabels: ['envbot.io/environment', 'envbot.io/service'],
      },
    }));

  const availability = Object.keys(r.project.services).flatMap((service) => {
    const expr = unavailableExpr(ns, workloads[service]);
    if (!expr) return [];
    return [{
      alert: 'ServiceUnavailable',
      expr,
      for: m.unavailableFor,
      labels: { ...envLabels, service, severity: 'critical' },
      annotations: { summary: `${service} of ${r.env.name} has no available replica`, ...links },
    }];
  });
  const own = m.rules.map((rule, i) => ({
    alert: rule.alert,
    expr: render(r, rule.expr, baseVars(r), `${file} (projects.${r.env.project}.monitoring.rules.${i}.expr)`),
    ...(rule.for ? { for: rule.for } : {}),
    labels: { ...envLabels, severity: rule.severity },
    annotations: { summary: render(r, rule.summary, baseVars(r), `${file} (projects.${r.env.project}.monitoring.rules.${i}.summary)`), ...links },
  }));
  const prometheusRule: MonitoringObject = {
    apiVersion: MONITORING_API,
    kind: 'PrometheusRule',
    metadata: { name: r.names.prometheusRule, labels },
    spec: { groups: [{ name: `envbot-${r.env.name}`, rules: [...availability, ...own] }] },
  };

  const configMap: MonitoringObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: r.names.dashboardConfigMap,
      labels: { ...labels, [DASHBOARD_LABEL]: '1' },
      ...(m.grafanaFolder ? { annotations: { [FOLDER_ANNOTATION]: m.grafanaFolder } } : {}),
    },
    data: { [`${r.names.dashboardUid}.json`]: JSON.stringify(dashboardJson(r, workloads), null, 2) },
  };
  return [...monitors, prometheusRule, configMap];
}

/** The environment's Grafana dashboard (Grafana's dashboard JSON model). */
export function dashboardJson(r: ResolvedEnv, workloads: Workloads): Record<string, unknown> {
  const ns = r.names.namespace;
  const urls = serviceUrls(r);
  const text = [
    `**${r.env.name}**: project ${r.env.project}, stage ${r.env.stage}, namespace \`${ns}\`.`,
    '',
    ...urls.map((u) => `- ${u.service}: [${u.url}](${u.url})`),
  ].join('\n');
  let id = 1;
  const panels: Record<string, unknown>[] = [{ id: id++, type: 'text', title: 'Environment', gridPos: { x: 0, y: 0, w: 24, h: 4 }, options: { mode: 'markdown', content: text } }];
  Object.keys(r.project.services).forEach((service, i) => {
    const w = workloads[service];
    const targets = [
      ...(w?.deployments ?? []).map((d) => ({ refId: `D${d}`, expr: `kube_deployment_status_replicas_available{namespace=${quote(ns)},deployment=${quote(d)}}`, legendFormat: d })),
      ...(w?.statefulSets ?? []).map((s) => ({ refId: `S${s}`, expr: `kube_statefulset_status_replicas_ready{namespace=${quote(ns)},statefulset=${quote(s)}}`, legendFormat: s })),
    ];
    panels.push({ id: id++, type: 'stat', title: `${service}: available replicas`, gridPos: { x: (i % 3) * 8, y: 4 + Math.floor(i / 3) * 4, w: 8, h: 4 }, datasource: { type: 'prometheus', uid: '${datasource}' }, targets });
  });
  const scraped = Object.entries(r.project.services).filter(([, s]) => s.metrics).map(([service]) => service);
  if (scraped.length) {
    panels.push({
      id: id++, type: 'timeseries', title: 'Scrape targets up', gridPos: { x: 0, y: 40, w: 24, h: 8 }, datasource: { type: 'prometheus', uid: '${datasource}' },
      targets: [{ refId: 'up', expr: `up{namespace=${quote(ns)}}`, legendFormat: '{{envbot_io_service}} {{pod}}' }],
    });
  }
  return {
    uid: r.names.dashboardUid,
    title: `envbot ${r.env.name}`,
    tags: ['envbot', r.env.project, r.env.stage],
    timezone: 'browser',
    schemaVersion: 39,
    time: { from: 'now-6h', to: 'now' },
    templating: { list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Data source' }] },
    links: urls.map((u) => ({ title: u.service, url: u.url, type: 'link', targetBlank: true })),
    panels,
  };
}
