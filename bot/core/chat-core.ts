// The chat core: a parsed command from a person in a channel becomes a checked request to the
// engine and a platform-neutral reply. Slack and Teams adapters call this and only translate.
// It never waits for provisioning: it starts or signals a workflow and answers.
import type { Catalogue, Action } from '../../shared/catalogue/schema.js';
import { EnvbotError, NotFoundError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { ChatTarget, Requester, ResetTarget } from '../../shared/model.js';
import { parseEnvironmentName } from '../../shared/names.js';
import type { EnvironmentRecord, Store } from '../../shared/store/store.js';
import { allowedActions, authorise } from './authorise.js';
import type { EnvbotCore } from './core.js';
import type { Actor, Command, EnvironmentSummary, Reply } from './model.js';
import { helpReply } from './parse.js';

export function requesterOf(actor: Actor): Requester {
  return { id: `${actor.platform}:${actor.userId}`, platform: actor.platform, channel: actor.channel };
}

function summary(r: EnvironmentRecord): EnvironmentSummary {
  return {
    name: r.name,
    project: r.project,
    stage: r.stage,
    state: r.state,
    createdBy: r.createdBy,
    ...(r.expiresAt ? { expiresAt: r.expiresAt.toISOString() } : {}),
  };
}

export class ChatCore {
  constructor(
    private readonly o: { core: EnvbotCore; store: Store; catalogue: Catalogue; log: Logger },
  ) {}

  get catalogue(): Catalogue {
    return this.o.catalogue;
  }

  /** Answers a command. Errors a person can act on become `error` replies; others are logged. */
  async handle(actor: Actor, command: Command, target: ChatTarget, confirmed = false): Promise<Reply> {
    try {
      return await this.dispatch(actor, command, target, confirmed);
    } catch (err) {
      if (err instanceof EnvbotError) return { kind: 'error', ephemeral: true, text: err.message };
      this.o.log.error({ err, command: command.name, user: actor.userId }, 'chat command failed');
      return { kind: 'error', ephemeral: true, text: 'Something went wrong on envbot\'s side; the request may be partly done. "/env status <environment>" shows where it stands; try again, and tell the envbot admins if it keeps happening.' };
    }
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
    const all = await this.o.core.list();
    return all.filter((r) => r.createdBy === requesterOf(actor).id).map(summary);
  }

  private check(actor: Actor, action: Action, project: string): Reply | undefined {
    const verdict = authorise(this.o.catalogue, actor, action, project);
    return verdict.ok ? undefined : { kind: 'refused', ephemeral: true, action, project, text: verdict.text, allowed: verdict.allowed };
  }

  private async record(text: string): Promise<EnvironmentRecord> {
    const name = parseEnvironmentName(text, Object.keys(this.o.catalogue.projects), this.o.catalogue.stages).name;
    const record = await this.o.store.getEnvironment(name);
    if (!record || record.state === 'destroyed') throw new NotFoundError(`${name} does not exist; "/env list" shows the environments there are.`);
    return record;
  }

  private async dispatch(actor: Actor, c: Command, target: ChatTarget, confirmed = false): Promise<Reply> {
    const requester = requesterOf(actor);
    switch (c.name) {
      case 'help':
        return helpReply();
      case 'create': {
        if (!c.project || !c.stage) {
          const projects = Object.entries(this.o.catalogue.projects)
            .filter(([name]) => authorise(this.o.catalogue, actor, 'create', name).ok)
            .map(([name, p]) => ({ name, stages: p.stages ?? this.o.catalogue.stages, services: Object.keys(p.services) }));
          if (!projects.length) return { kind: 'error', ephemeral: true, text: 'You may not create environments of any project here. Ask an envbot admin to add you to envbot.yaml.' };
          return { kind: 'open-create-form', ephemeral: true, projects, ...(c.project ? { project: c.project } : {}), ...(c.stage ? { stage: c.stage } : {}) };
        }
        const refused = this.check(actor, 'create', c.project);
        if (refused) return refused;
        const s = await this.o.core.create({
          project: c.project, stage: c.stage, requester, target,
          ...(c.suffix ? { suffix: c.suffix } : {}), ...(c.ttl ? { ttl: c.ttl } : {}), ...(c.branches ? { branches: c.branches } : {}),
        });
        return { kind: 'started', ephemeral: false, environment: s.environment, operation: 'create', workflowId: s.workflowId, by: requester.id, text: `Creating ${s.environment}…` };
      }
      case 'list': {
        if (c.project) {
          const refused = this.check(actor, 'read', c.project);
          if (refused) return refused;
        }
        const rows = (await this.o.core.list(c.project)).filter((r) => authorise(this.o.catalogue, actor, 'read', r.project).ok);
        return { kind: 'list', ephemeral: true, ...(c.project ? { project: c.project } : {}), environments: rows.map(summary) };
      }
      case 'status': {
        const record = await this.record(c.environment);
        const refused = this.check(actor, 'read', record.project);
        if (refused) return refused;
        const { progress } = await this.o.core.status(record.name);
        return { kind: 'status', ephemeral: true, environment: summary(record), ...(progress ? { progress } : {}) };
      }
      case 'destroy': {
        const record = await this.record(c.environment);
        const refused = this.check(actor, 'destroy', record.project);
        if (refused) return refused;
        if (!confirmed) return { kind: 'confirm', ephemeral: true, environment: record.name, operation: 'destroy', text: `Destroy ${record.name}? Its services, databases, DNS records and secrets are deleted.` };
        const s = await this.o.core.destroy({ environment: record.name, requester, target });
        return { kind: 'started', ephemeral: false, environment: s.environment, operation: 'destroy', workflowId: s.workflowId, by: requester.id, text: `Destroying ${s.environment} (asked by ${requester.id})…` };
      }
      case 'reset-db': {
        const record = await this.record(c.environment);
        const refused = this.check(actor, 'reset', record.project);
        if (refused) return refused;
        if (!confirmed) return { kind: 'confirm', ephemeral: true, environment: record.name, operation: 'reset-db', which: c.which, text: `Reset ${c.which === 'all' ? 'every database' : c.which} of ${record.name} to its seed? Changes made since are lost.` };
        const s = await this.o.core.resetDatabases({ environment: record.name, which: c.which, requester, target });
        return { kind: 'started', ephemeral: false, environment: s.environment, operation: 'reset', workflowId: s.workflowId, by: requester.id, text: `Resetting ${c.which} of ${s.environment} (asked by ${requester.id})…` };
      }
      case 'extend': {
        const record = await this.record(c.environment);
        const refused = this.check(actor, 'extend', record.project);
        if (refused) return refused;
        const res = await this.o.core.extend({ environment: record.name, duration: c.duration, requester, target: { ...target, messageRef: undefined } });
        return { kind: 'extended', ephemeral: false, environment: res.environment, expiresAt: res.expiresAt, by: requester.id, text: `${res.environment} now expires at ${res.expiresAt} (extended by ${requester.id}).` };
      }
      case 'secrets': {
        const record = await this.record(c.environment);
        const refused = this.check(actor, 'credentials', record.project);
        if (refused) return refused;
        const names = await this.o.store.secretNames(record.name);
        const values = [];
        for (const name of names) values.push({ name, value: (await this.o.store.getSecret(record.name, name)) ?? '' });
        await this.o.store.audit({ actor: requester.id, platform: actor.platform, channel: actor.channel, action: 'credentials', environment: record.name, outcome: 'shown', details: { names } });
        return { kind: 'secrets', ephemeral: true, environment: record.name, values };
      }
      case 'subscribe': {
        const refused = this.check(actor, 'read', c.project);
        if (refused) return refused;
        await this.o.store.subscribe({ platform: actor.platform, channel: actor.channel, project: c.project, createdBy: requester.id });
        return { kind: 'subscribed', ephemeral: false, project: c.project, subscribed: true, text: `This channel now gets ${c.project}'s promotion and monitoring alerts.` };
      }
      case 'unsubscribe': {
        const removed = await this.o.store.unsubscribe(actor.platform, actor.channel, c.project);
        const what = c.project ?? (removed.length ? removed.join(', ') : 'any project');
        return { kind: 'subscribed', ephemeral: false, project: c.project ?? removed.join(', '), subscribed: false, text: removed.length ? `This channel no longer gets alerts of ${what}.` : `This channel was not subscribed to ${what}.` };
      }
    }
  }
}
