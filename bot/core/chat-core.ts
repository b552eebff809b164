// The chat core: a parsed command from a person in a channel becomes a checked request to the
// engine and a platform-neutral reply. Slack and Teams adapters call this and only translate.
// It never waits for provisioning: it starts or signals a workflow and answers.
import { shortVersion, type Catalogue, type Action } from '../../shared/catalogue/schema.js';
import { parseDuration } from '../../shared/duration.js';
import { EnvbotError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { ChatTarget, Requester, ResetTarget } from '../../shared/model.js';
import { environmentName } from '../../shared/names.js';
import type { EnvironmentRecord, Store } from '../../shared/store/store.js';
import { allowedActions, authorise } from './authorise.js';
import type { EnvbotCore } from './core.js';
import type { Actor, Command, CreateForm, EnvironmentSummary, FormErrors, Reply } from './model.js';
import { helpReply, parseCommand } from './parse.js';
import { ttlProblem } from './expiry.js';
import { findEnvironment, isBusy, listEnvironments } from './lookup.js';
import { planFor } from './plan.js';
import { statusCard } from './status-card.js';
import { branchChoiceProblem, runsOf } from './tracking.js';
import { trackedSource } from '../../shared/catalogue/tracked.js';

export function requesterOf(actor: Actor): Requester {
  return actor.platform === 'cli'
    ? { id: `cli:${actor.userId}`, platform: 'cli' }
    : { id: `${actor.platform}:${actor.userId}`, platform: actor.platform, channel: actor.channel };
}

/** A sentence for each field of a create form that cannot be used as it is; empty when it can. */
export function createFormErrors(catalogue: Catalogue, form: CreateForm): FormErrors {
  const errors: FormErrors = {};
  const { project, stage, suffix, ttl } = form;
  if (!project) errors.project = 'Choose a project.';
  if (!stage) errors.stage = 'Choose a stage.';
  const problem = (fn: () => unknown): string | undefined => {
    try {
      fn();
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  };
  if (project && stage) {
    const plan = problem(() => planFor(catalogue, project, stage));
    if (plan) errors[catalogue.projects[project] ? 'stage' : 'project'] = plan;
    const name = problem(() => environmentName(project, stage, suffix));
    if (name) errors[suffix ? 'suffix' : 'project'] ??= name;
  }
  const p = project ? catalogue.projects[project] : undefined;
  for (const [service, branch] of Object.entries(form.branches ?? {})) {
    const bad = p ? branchChoiceProblem(p, service, branch) : undefined;
    if (bad) errors[`branch:${service}`] = bad;
  }
  if (ttl) {
    const bad = problem(() => parseDuration(ttl)) ?? (project && catalogue.projects[project] ? ttlProblem(catalogue, project, ttl) : undefined);
    if (bad) errors.ttl = bad;
  }
  return errors;
}

function summary(r: EnvironmentRecord): EnvironmentSummary {
  return {
    name: r.name,
    project: r.project,
    stage: r.stage,
    state: r.state,
    createdBy: r.createdBy,
    ...(r.expiresAt ? { expiresAt: r.expiresAt.toISOString() } : {}),
    ...(r.lastError ? { lastError: r.lastError } : {}),
    ...(Object.keys(r.sources ?? {}).length
      ? { sources: Object.entries(r.sources).map(([location, s]) => ({ location, version: shortVersion(location, s.version), uses: s.uses })) }
      : {}),
  };
}

export class ChatCore {
  private connecting?: Promise<EnvbotCore>;

  /**
   * `core` may be given as a function that connects it: the engine is then loaded and connected only
   * for a command that starts or asks a workflow (the CLI's `list` never loads it).
   */
  constructor(
    private readonly o: { core: EnvbotCore | (() => Promise<EnvbotCore>); store: Store; catalogue: Catalogue; log: Logger },
  ) {}

  /** The engine, connected on first use when `core` was given as a function. */
  private engine(): Promise<EnvbotCore> {
    const core = this.o.core;
    if (typeof core !== 'function') return Promise.resolve(core);
    this.connecting ??= core();
    return this.connecting;
  }

  get catalogue(): Catalogue {
    return this.o.catalogue;
  }

  /** Answers a command. Errors a person can act on become `error` replies; others are logged. */
  async handle(actor: Actor, command: Command, target: ChatTarget | undefined, confirmed = false): Promise<Reply> {
    try {
      return await this.dispatch(actor, command, target, confirmed);
    } catch (err) {
      if (err instanceof EnvbotError) return { kind: 'error', ephemeral: true, text: err.message };
      this.o.log.error({ err, command: command.name, user: actor.userId }, 'chat command failed');
      return { kind: 'error', ephemeral: true, text: 'Something went wrong on envbot\'s side; the request may be partly done. "/env status <environment>" shows where it stands; try again, and tell the envbot admins if it keeps happening.' };
    }
  }

  /**
   * Answers what someone typed after the command prefix (`/env` in Slack, `env` in Teams): a command
   * that does not parse gets the help, headed by what was wrong and the closest command.
   */
  async handleText(actor: Actor, text: string, target: ChatTarget, prefix = '/env'): Promise<Reply> {
    const parsed = parseCommand(text, prefix);
    if ('error' in parsed) return helpReply(parsed.suggestion ? `${parsed.error}. Did you mean "${parsed.suggestion}"?` : parsed.error);
    return this.handle(actor, parsed, target);
  }

  /** A submitted create form: its field errors, or the create started (or refused) as a reply. */
  async submitCreateForm(actor: Actor, form: CreateForm, target: ChatTarget): Promise<{ errors: FormErrors } | { reply: Reply }> {
    const errors = createFormErrors(this.o.catalogue, form);
    if (Object.keys(errors).length) return { errors };
    const { project, stage, suffix, ttl } = form;
    const branches = form.branches && Object.keys(form.branches).length ? { branches: form.branches } : {};
    return { reply: await this.handle(actor, { name: 'create', project: project!, stage: stage!, ...(suffix ? { suffix } : {}), ...(ttl ? { ttl } : {}), ...branches }, target) };
  }

  /**
   * True the first time a request key is seen, false for a replay or a platform's retry of a request
   * already handled. The key is made by the adapter from what it verified (Slack: the signed
   * timestamp and a hash of the body, or the event id; Teams: the activity id).
   */
  firstSeen(platform: 'slack' | 'teams', key: string): Promise<boolean> {
    return this.o.store.firstSeen(platform, key);
  }

  /** Runs a destroy or reset the person confirmed (a button click). */
  async confirmed(actor: Actor, operation: 'destroy' | 'reset-db', environment: string, target: ChatTarget, which: ResetTarget = 'all'): Promise<Reply> {
    return this.handle(actor, operation === 'destroy' ? { name: 'destroy', environment } : { name: 'reset-db', environment, which }, target, true);
  }

  /** Which actions `actor` may take on `project` (to decide which buttons to show). */
  allowed(actor: Actor, project: string): Set<Action> {
    return allowedActions(this.o.catalogue, actor, project);
  }

  /** The environments `actor` created, for the Home tab. */
  async mine(actor: Actor): Promise<EnvironmentSummary[]> {
    const all = await listEnvironments(this.o.store, this.o.catalogue);
    return all.filter((r) => r.createdBy === requesterOf(actor).id).map(summary);
  }

  private check(actor: Actor, action: Action, project: string): Reply | undefined {
    const verdict = authorise(this.o.catalogue, actor, action, project);
    return verdict.ok ? undefined : { kind: 'refused', ephemeral: true, action, project, text: verdict.text, allowed: verdict.allowed };
  }

  /** The environment a command names, loaded once for the whole request. */
  private record(text: string): Promise<EnvironmentRecord> {
    return findEnvironment(this.o.store, this.o.catalogue, text);
  }

  private async dispatch(actor: Actor, c: Command, target: ChatTarget | undefined, confirmed = false): Promise<Reply> {
    const requester = requesterOf(actor);
    switch (c.name) {
      case 'help':
        return helpReply();
      case 'create': {
        if (!c.project || !c.stage) {
          const projects = Object.entries(this.o.catalogue.projects)
            .filter(([name]) => authorise(this.o.catalogue, actor, 'create', name).ok)
            .map(([name, p]) => ({
              name,
              stages: p.stages ?? this.o.catalogue.stages,
              services: Object.keys(p.services),
              branches: Object.entries(p.services).flatMap(([service, s]) => {
                const t = trackedSource(s);
                return t ? [{ service, defaultBranch: t.defaultBranch }] : [];
              }),
            }));
          if (!projects.length) return { kind: 'error', ephemeral: true, text: 'You may not create environments of any project here. Ask an envbot admin to add you to envbot.yaml.' };
          return { kind: 'open-create-form', ephemeral: true, projects, ...(c.project ? { project: c.project } : {}), ...(c.stage ? { stage: c.stage } : {}) };
        }
        const refused = this.check(actor, 'create', c.project);
        if (refused) return refused;
        const s = await (await this.engine()).create({
          project: c.project, stage: c.stage, requester, ...(target ? { target } : {}),
          ...(c.suffix ? { suffix: c.suffix } : {}), ...(c.ttl ? { ttl: c.ttl } : {}),
          ...(c.branches && Object.keys(c.branches).length ? { branches: c.branches } : {}),
        });
        return { kind: 'started', ephemeral: false, environment: s.environment, operation: 'create', workflowId: s.workflowId, by: requester.id, text: `Creating ${s.environment}…` };
      }
      case 'list': {
        if (c.project) {
          const refused = this.check(actor, 'read', c.project);
          if (refused) return refused;
        }
        const rows = (await listEnvironments(this.o.store, this.o.catalogue, c.project)).filter((r) => authorise(this.o.catalogue, actor, 'read', r.project).ok);
        return { kind: 'list', ephemeral: true, ...(c.project ? { project: c.project } : {}), environments: rows.map(summary) };
      }
      case 'status': {
        const record = await this.record(c.environment);
        const refused = this.check(actor, 'read', record.project);
        if (refused) return refused;
        const progress = isBusy(record) ? await (await this.engine()).progress(record) : undefined;
        const runs = runsOf(this.o.catalogue.projects[record.project], await this.o.store.deployments.of(record.name));
        const card = statusCard(record, this.o.catalogue, await this.o.store.liveResources(record.name));
        return { kind: 'status', ephemeral: true, environment: summary(record), ...(progress ? { progress } : {}), ...(card ? { card } : {}), ...(runs.length ? { runs } : {}) };
      }
      case 'destroy': {
        const record = await this.record(c.environment);
        const refused = this.check(actor, 'destroy', record.project);
        if (refused) return refused;
        if (!confirmed) return { kind: 'confirm', ephemeral: true, environment: record.name, operation: 'destroy', text: `Destroy ${record.name}? Its services, databases, DNS records and secrets are deleted.` };
        const s = await (await this.engine()).destroy({ environment: record, requester, ...(target ? { target } : {}) });
        return { kind: 'started', ephemeral: false, environment: s.environment, operation: 'destroy', workflowId: s.workflowId, by: requester.id, text: `Destroying ${s.environment} (asked by ${requester.id})…` };
      }
      case 'reset-db': {
        const record = await this.record(c.environment);
        const refused = this.check(actor, 'reset', record.project);
        if (refused) return refused;
        if (!confirmed) return { kind: 'confirm', ephemeral: true, environment: record.name, operation: 'reset-db', which: c.which, text: `Reset ${c.which === 'all' ? 'every database' : c.which} of ${record.name} to its seed? Changes made since are lost.` };
        const s = await (await this.engine()).resetDatabases({ environment: record, which: c.which, requester, ...(target ? { target } : {}) });
        return { kind: 'started', ephemeral: false, environment: s.environment, operation: 'reset', workflowId: s.workflowId, by: requester.id, text: `Resetting ${c.which} of ${s.environment} (asked by ${requester.id})…` };
      }
      case 'extend': {
        const record = await this.record(c.environment);
        const refused = this.check(actor, 'extend', record.project);
        if (refused) return refused;
        // Bringing the expiry closer is a kind of destroy: only for those who may destroy.
        const mayShorten = authorise(this.o.catalogue, actor, 'destroy', record.project).ok;
        const res = await (await this.engine()).extend({ environment: record, duration: c.duration, requester, mayShorten, ...(target ? { target: { ...target, messageRef: undefined } } : {}) });
        return { kind: 'extended', ephemeral: false, environment: res.environment, expiresAt: res.expiresAt, by: requester.id, text: `${res.environment} now expires at ${res.expiresAt} (extended by ${requester.id}).` };
      }
      case 'refresh': {
        const record = await this.record(c.environment);
        const refused = this.check(actor, 'refresh', record.project);
        if (refused) return refused;
        const s = await (await this.engine()).copyStorage({ environment: record, ...(c.volume ? { volumes: [c.volume] } : {}), requester, ...(target ? { target } : {}) });
        return { kind: 'started', ephemeral: false, environment: s.environment, operation: 'refresh', workflowId: s.workflowId, by: requester.id, text: `Refreshing ${s.volumes.join(', ')} of ${s.environment} from S3 (asked by ${requester.id})…` };
      }
      case 'secrets': {
        const record = await this.record(c.environment);
        const refused = this.check(actor, 'credentials', record.project);
        if (refused) return refused;
        const names = await this.o.store.secretNames(record.name);
        const stored = await this.o.store.getSecrets(record.name, names);
        const values = names.map((name) => ({ name, value: stored.get(name) ?? '' }));
        await this.o.store.audit({ actor: requester.id, platform: actor.platform, channel: actor.channel, action: 'credentials', environment: record.name, outcome: 'shown', details: { names } });
        return { kind: 'secrets', ephemeral: true, environment: record.name, values };
      }
      case 'silence': {
        const record = await this.record(c.environment);
        const refused = this.check(actor, 'extend', record.project);
        if (refused) return refused;
        const until = new Date(Date.now() + parseDuration(c.duration));
        await this.o.store.alerts.silence(record.name, until, requester.id);
        await this.o.store.audit({ actor: requester.id, platform: actor.platform, channel: actor.channel, action: 'silence', environment: record.name, outcome: 'silenced', details: { until: until.toISOString() } });
        const text = `${record.name}'s alerts are muted until ${until.toISOString()} (by ${requester.id}); alerts already posted are still edited when they resolve.`;
        return { kind: 'silenced', ephemeral: false, environment: record.name, until: until.toISOString(), by: requester.id, text };
      }
      case 'track': {
        const record = await this.record(c.environment);
        const refused = this.check(actor, 'create', record.project);
        if (refused) return refused;
        const s = await (await this.engine()).track({ environment: record, service: c.service, branch: c.branch, requester, ...(target ? { target } : {}) });
        const to = c.branch ?? 'its default branch';
        return { kind: 'started', ephemeral: false, environment: s.environment, operation: 'track', workflowId: s.workflowId, by: requester.id, text: `Moving ${c.service} of ${s.environment} to ${to} (asked by ${requester.id})…` };
      }
      case 'history': {
        const record = await this.record(c.environment);
        const refused = this.check(actor, 'read', record.project);
        if (refused) return refused;
        const project = this.o.catalogue.projects[record.project];
        if (c.service && project && !Object.hasOwn(project.services, c.service)) {
          return { kind: 'error', ephemeral: true, text: `${record.project} has no service "${c.service}" (services: ${Object.keys(project.services).join(', ')}).` };
        }
        const rows = await this.o.store.deployments.history(record.name, c.service, 20);
        const entries = rows.map((e) => ({ service: e.service, branch: e.branch, commit: e.commit, image: e.image, why: e.why, who: e.who, at: e.at.toISOString() }));
        return { kind: 'history', ephemeral: true, environment: record.name, ...(c.service ? { service: c.service } : {}), entries };
      }
      case 'promotions': {
        const refused = this.check(actor, 'read', c.project);
        if (refused) return refused;
        const s = await (await this.engine()).checkPromotions({ project: c.project, by: requester.id, ...(target ? { target } : {}) });
        return { kind: 'promotion-check', ephemeral: false, project: c.project, workflowId: s.workflowId, by: requester.id, text: `Checking what ${c.project}'s production runs (asked by ${requester.id})…` };
      }
      case 'subscribe':
      case 'unsubscribe': {
        const { platform } = actor;
        if (platform === 'cli') return { kind: 'error', ephemeral: true, text: `${c.name} is for chat channels: run it in Slack.` };
        return c.name === 'subscribe' ? this.subscribe({ ...actor, platform }, c.project, target) : this.unsubscribe({ ...actor, platform }, c.project);
      }
    }
  }

  private async subscribe(actor: Actor & { platform: 'slack' | 'teams' }, project: string, target: ChatTarget | undefined): Promise<Reply> {
    const requester = requesterOf(actor);
    const refused = this.check(actor, 'read', project);
    if (refused) return refused;
    // The conversation reference (Teams needs it to post proactively) is kept with the subscription.
    await this.o.store.subscribe({ platform: actor.platform, channel: actor.channel, project, createdBy: requester.id, ...(target?.conversation ? { conversation: target.conversation } : {}) });
    // Say only what runs: monitoring alerts come; promotions only for a project that names its production.
    const promotes = !!this.o.catalogue.projects[project]?.production;
    const news = promotes
      ? `production promotions of ${project} are announced here too (which environments each new version reached, and which were skipped)`
      : `${project} names no production, so no promotion is announced (an envbot admin adds projects.${project}.production to envbot.yaml)`;
    return { kind: 'subscribed', ephemeral: false, project, subscribed: true, text: `This channel is subscribed to ${project}: its environments' expiry warnings, monitoring alerts and storage-refresh summaries come here too; ${news}.` };
  }

  private async unsubscribe(actor: Actor & { platform: 'slack' | 'teams' }, project: string | undefined): Promise<Reply> {
    const removed = await this.o.store.unsubscribe(actor.platform, actor.channel, project);
    const what = project ?? (removed.length ? removed.join(', ') : 'any project');
    return { kind: 'subscribed', ephemeral: false, project: project ?? removed.join(', '), subscribed: false, text: removed.length ? `This channel is no longer subscribed to ${what}.` : `This channel was not subscribed to ${what}.` };
  }
}
