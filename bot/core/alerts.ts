// Alerts from Alertmanager, platform-neutral: each alert group (per environment it names) becomes
// one message in the environment's project channels and the channels subscribed to the project,
// posted once and edited as the group changes and when it resolves (the message of each group and
// channel is kept in the store), with a link to the environment's dashboard. A silenced
// environment's alerts are not posted. bot/webhooks/alertmanager.ts authenticates and parses.
import type { AlertMessage, ChatPort } from '../../shared/chat.js';
import type { Catalogue } from '../../shared/catalogue/schema.js';
import type { Logger } from '../../shared/logger.js';
import type { ChatTarget } from '../../shared/model.js';
import { namesFor, parseEnvironmentName } from '../../shared/names.js';
import type { Store } from '../../shared/store/store.js';

/** One alert of Alertmanager's webhook payload (version 4). */
export interface AlertmanagerAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
  fingerprint?: string;
}

/** Alertmanager's webhook payload, version 4 (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). */
export interface AlertmanagerPayload {
  version: '4';
  groupKey: string;
  truncatedAlerts?: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: AlertmanagerAlert[];
}

/** What one delivery did, per environment it named. */
export interface AlertOutcome {
  environment: string;
  status: 'firing' | 'resolved';
  /** `posted` and `edited`: channels (`slack:C…`); `silenced`: until when. */
  posted: string[];
  edited: string[];
  silencedUntil?: string;
}

export interface AlertsResult {
  environments: AlertOutcome[];
  /** Alerts without an environment label envbot knows, not posted. */
  ignored: number;
}

export interface AlertCoreOptions {
  catalogue: Catalogue;
  store: Pick<Store, 'alerts' | 'chat'>;
  chat: ChatPort;
  log: Logger;
  now?: () => Date;
}

export class AlertCore {
  constructor(private readonly o: AlertCoreOptions) {}

  async handle(p: AlertmanagerPayload): Promise<AlertsResult> {
    const projects = Object.keys(this.o.catalogue.projects);
    const byEnv = new Map<string, { project: string; alerts: AlertmanagerAlert[] }>();
    let ignored = 0;
    for (const a of p.alerts) {
      const label = a.labels.environment ?? p.commonLabels.environment;
      let project: string | undefined;
      try {
        project = label ? parseEnvironmentName(label, projects, this.stagesOf()).project : undefined;
      } catch {
        project = undefined;
      }
      if (!label || !project) {
        ignored++;
        continue;
      }
      const entry = byEnv.get(label) ?? { project, alerts: [] };
      entry.alerts.push(a);
      byEnv.set(label, entry);
    }
    const environments: AlertOutcome[] = [];
    for (const [environment, { project, alerts }] of byEnv) environments.push(await this.post(p, environment, project, alerts));
    if (ignored) this.o.log.warn({ groupKey: p.groupKey, ignored }, 'alerts without a known environment label were not posted');
    return { environments, ignored };
  }

  private stagesOf(): string[] {
    const c = this.o.catalogue;
    return [...new Set([...c.stages, ...Object.values(c.projects).flatMap((p) => p.stages ?? [])])];
  }

  private async targets(project: string): Promise<ChatTarget[]> {
    const own = (this.o.catalogue.projects[project]?.channels.slack ?? []).map((channel) => ({ platform: 'slack' as const, channel }));
    const subscribed: ChatTarget[] = await this.o.store.chat.subscriptions(project);
    const seen = new Set<string>();
    return [...own, ...subscribed].filter((t) => !seen.has(`${t.platform}:${t.channel}`) && seen.add(`${t.platform}:${t.channel}`));
  }

  private async post(p: AlertmanagerPayload, environment: string, project: string, alerts: AlertmanagerAlert[]): Promise<AlertOutcome> {
    const status = alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved';
    const outcome: AlertOutcome = { environment, status, posted: [], edited: [] };
    const key = `${p.groupKey}|${environment}`;
    const silenced = await this.o.store.alerts.silencedUntil(environment, this.o.now?.() ?? new Date());
    const grafana = this.o.catalogue.grafana;
    const message: AlertMessage = {
      environment,
      status,
      alerts: alerts.map((a) => ({
        name: a.labels.alertname ?? 'alert',
        status: a.status,
        severity: a.labels.severity,
        service: a.labels.service,
        summary: a.annotations.summary ?? a.annotations.description,
        startsAt: a.startsAt,
      })),
      ...(grafana ? { dashboardUrl: `${grafana.url}${namesFor(parseEnvironmentName(environment, [project], this.stagesOf()), this.o.catalogue.baseDomain).dashboardPath}` } : {}),
      ...(p.truncatedAlerts ? { truncated: p.truncatedAlerts } : {}),
    };
    for (const target of await this.targets(project)) {
      const id = `${target.platform}:${target.channel}`;
      const existing = await this.o.store.alerts.messageOf(key, target.platform, target.channel);
      // A silence mutes new messages; a group already posted is still edited (its resolution included).
      if (!existing && silenced) continue;
      const ref = await this.o.chat.send({ ...target, ...(existing ? { messageRef: existing } : {}) }, { kind: 'alert', alert: message });
      await this.o.store.alerts.saveMessage({ groupKey: key, platform: target.platform, channel: target.channel, environment, messageRef: ref, status });
      (existing ? outcome.edited : outcome.posted).push(id);
    }
    if (silenced) outcome.silencedUntil = silenced.toISOString();
    this.o.log.info({ groupKey: p.groupKey, environment, status, posted: outcome.posted, edited: outcome.edited, silencedUntil: outcome.silencedUntil }, 'alert group');
    return outcome;
  }
}
