// The Grafana dashboard for envbot itself (deploy/helm/envbot/dashboards/envbot.json) queries only
// metrics envbot's registry (shared/metrics.ts) really exports, with their real labels, and shows
// every metric of envbot's own.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Histogram } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../shared/metrics.js';
import { repoRoot } from '../support/settings.js';

interface Panel {
  title: string;
  targets?: { expr: string }[];
}
const dashboard = JSON.parse(readFileSync(join(repoRoot, 'deploy', 'helm', 'envbot', 'dashboards', 'envbot.json'), 'utf8')) as {
  panels: Panel[];
  templating: { list: { name: string; query?: string | { query: string } }[] };
};

/** The registry's series: name → label names (a histogram's _bucket, _count and _sum too; `le` on the buckets). */
async function exported(): Promise<Map<string, Set<string>>> {
  const metrics = new Metrics();
  const series = new Map<string, Set<string>>();
  for (const m of metrics.registry.getMetricsAsArray() as unknown as { name: string; labelNames?: string[] }[]) {
    const labels = new Set(m.labelNames ?? []);
    if (m instanceof Histogram) {
      series.set(`${m.name}_bucket`, new Set([...labels, 'le']));
      series.set(`${m.name}_count`, labels);
      series.set(`${m.name}_sum`, labels);
    } else series.set(m.name, labels);
  }
  return series;
}

/** Every envbot_ series an expression names, and the labels it groups by or matches on. */
function queried(expr: string): { metrics: string[]; labels: string[] } {
  const metrics = [...expr.matchAll(/\b(envbot_[a-z0-9_]+)/g)].map((m) => m[1]!);
  const by = [...expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((l) => l.trim()));
  const matchers = [...expr.matchAll(/[{,]\s*([a-z_]+)\s*=~?/g)].map((m) => m[1]!);
  return { metrics, labels: [...by, ...matchers] };
}

function problems(panels: Panel[], series: Map<string, Set<string>>): string[] {
  const out: string[] = [];
  for (const p of panels) {
    for (const t of p.targets ?? []) {
      const q = queried(t.expr);
      for (const m of q.metrics) {
        const labels = series.get(m);
        if (!labels) {
          out.push(`${p.title}: ${m} is not exported`);
          continue;
        }
        // `instance` is Prometheus's own target label.
        for (const l of q.labels) if (l !== 'instance' && !labels.has(l)) out.push(`${p.title}: ${m} has no label ${l}`);
      }
    }
  }
  return out;
}

describe('Grafana dashboard for envbot', () => {
  it('queries only metrics and labels the registry exports', async () => {
    const series = await exported();
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []);
    expect(exprs.length).toBeGreaterThan(10);
    expect(problems(dashboard.panels, series)).toEqual([]);
    const variable = dashboard.templating.list.find((v) => v.name === 'instance')!.query as { query: string };
    for (const m of queried(variable.query).metrics) expect(series.has(m), m).toBe(true);
  });

  it('shows every metric of envbot’s own (not only the process figures)', async () => {
    const own = [...(await exported()).keys()].filter((n) => !/^envbot_(process|nodejs)_/.test(n) && !/_sum$/.test(n));
    const shown = new Set(dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => queried(t.expr).metrics)));
    const bases = new Set([...shown].map((n) => n.replace(/_(bucket|count)$/, '')));
    const missing = own.filter((n) => !shown.has(n) && !bases.has(n.replace(/_(bucket|count)$/, '')));
    expect(missing).toEqual([]);
  });

  it('catches a misspelt metric and a label the metric does not have (the check can fail)', async () => {
    const series = await exported();
    const bad: Panel[] = [
      { title: 'typo', targets: [{ expr: 'sum(rate(envbot_operation_started_total[5m]))' }] },
      { title: 'label', targets: [{ expr: 'sum by (project) (rate(envbot_operations_started_total[5m]))' }] },
    ];
    expect(problems(bad, series)).toEqual(['typo: envbot_operation_started_total is not exported', 'label: envbot_operations_started_total has no label project']);
  });
});
