// Who may do what, from the catalogue's groups, channels and per-project permissions. Pure.
import { ACTIONS, type Action, type Catalogue } from '../../shared/catalogue/schema.js';
import type { Actor } from './model.js';

export type Authorisation =
  | { ok: true }
  | {
      ok: false;
      /** Unknown project, a channel the project is not managed in, or a person not allowed the action. */
      reason: 'action' | 'channel' | 'project';
      /** The action's principal list as written in envbot.yaml (empty for an unknown project), to say who can. */
      allowed: string[];
      /** A sentence for the person refused. Ids are plain, except Slack channels (`<#C…>`). */
      text: string;
    };

/** How each action reads in "You may not … <project> environments". */
const DOING: Record<Action, string> = {
  create: 'create',
  destroy: 'destroy',
  reset: 'reset the databases of',
  extend: 'extend',
  refresh: 'refresh the storage of',
  credentials: 'see the credentials of',
  read: 'see',
};

/** Whether `principal` (as written in envbot.yaml) includes the actor; `seen` guards group cycles. */
function matches(catalogue: Catalogue, actor: Actor, principal: string, seen: Set<string>): boolean {
  if (principal === '*') return true;
  const colon = principal.indexOf(':');
  if (colon < 0) return false;
  const kind = principal.slice(0, colon);
  const id = principal.slice(colon + 1);
  switch (kind) {
    case 'group': {
      if (seen.has(id)) return false;
      seen.add(id);
      const members = Object.hasOwn(catalogue.groups, id) ? catalogue.groups[id] : undefined;
      return (members ?? []).some((m) => matches(catalogue, actor, m, seen));
    }
    case 'slack':
      return actor.platform === 'slack' && actor.userId === id;
    case 'slack-group':
      return actor.platform === 'slack' && actor.groups.includes(id);
    // Entra ID object ids are GUIDs: the catalogue writes them in lowercase, Teams may not.
    case 'teams':
      return actor.platform === 'teams' && actor.userId.toLowerCase() === id.toLowerCase();
    case 'teams-group':
      return actor.platform === 'teams' && actor.groups.some((g) => g.toLowerCase() === id.toLowerCase());
    default:
      return false;
  }
}

/** A principal in words, for the refusal text: `group:pm` → "group pm". */
function describe(principal: string): string {
  if (principal === '*') return 'anyone';
  const colon = principal.indexOf(':');
  const kind = principal.slice(0, colon);
  const id = principal.slice(colon + 1);
  switch (kind) {
    case 'group':
      return `group ${id}`;
    case 'slack':
      return `Slack user ${id}`;
    case 'slack-group':
      return `Slack user group ${id}`;
    case 'teams':
      return `Teams user ${id}`;
    case 'teams-group':
      return `Entra ID group ${id}`;
    default:
      return principal;
  }
}

function orList(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** Whether `actor` may do `action` in `project`, and if not, why and who may. */
export function authorise(catalogue: Catalogue, actor: Actor, action: Action, project: string): Authorisation {
  const p = Object.hasOwn(catalogue.projects, project) ? catalogue.projects[project] : undefined;
  // The operator (the CLI, README "Operating envbot"): whoever can run it holds the store's and
  // Temporal's credentials, which allow everything anyway; it may act on any environment, also of a
  // project that has left the catalogue, but creates only what the catalogue defines.
  if (actor.platform === 'cli' && (p || action !== 'create')) return { ok: true };
  if (!p) {
    const names = Object.keys(catalogue.projects);
    return {
      ok: false,
      reason: 'project',
      allowed: [],
      text: `There is no project "${project}". Projects: ${names.join(', ') || 'none'}.`,
    };
  }

  const raw = p.permissions[action] ?? [];

  const channels = actor.platform === 'cli' ? [] : p.channels[actor.platform];
  if (channels.length > 0 && !channels.includes(actor.channel)) {
    const where = actor.platform === 'slack' ? channels.map((c) => `<#${c}>`) : channels;
    const kind = actor.platform === 'slack' ? 'Slack' : 'Teams';
    return {
      ok: false,
      reason: 'channel',
      allowed: [...raw],
      text: `${project} environments are managed in ${channels.length === 1 ? `its ${kind} channel` : `its ${kind} channels`} ${orList(where)}; ask there.`,
    };
  }

  if (raw.length === 0) {
    return {
      ok: false,
      reason: 'action',
      allowed: [],
      text: `Nobody may ${DOING[action]} ${project} environments; ask an envbot admin to add people to envbot.yaml (projects.${project}.permissions.${action}).`,
    };
  }

  if (raw.some((principal) => matches(catalogue, actor, principal, new Set()))) return { ok: true };
  return {
    ok: false,
    reason: 'action',
    allowed: [...raw],
    text: `You may not ${DOING[action]} ${project} environments. Ask: ${raw.map(describe).join(', ')}.`,
  };
}

/** The actions `actor` may do in `project` (empty for an unknown project or the wrong channel). */
export function allowedActions(catalogue: Catalogue, actor: Actor, project: string): Set<Action> {
  return new Set(ACTIONS.filter((action) => authorise(catalogue, actor, action, project).ok));
}

/** Every id of one principal kind envbot.yaml names (groups and per-project permissions), e.g. the Entra ID groups of teams-group:. */
export function principalIds(catalogue: Catalogue, kind: 'teams-group' | 'slack-group'): string[] {
  const ids = new Set<string>();
  const lists = [...Object.values(catalogue.groups), ...Object.values(catalogue.projects).flatMap((p) => Object.values(p.permissions) as (string[] | undefined)[])];
  for (const list of lists) for (const p of list ?? []) if (p.startsWith(`${kind}:`)) ids.add(p.slice(kind.length + 1).toLowerCase());
  return [...ids];
}
