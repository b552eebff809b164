// Entra ID group membership for teams-group: principals, from Microsoft Graph's checkMemberGroups
// (application permissions User.Read.All and GroupMember.Read.All): envbot asks only about the group ids envbot.yaml
// names, keeps each user's answer a few minutes, and trusts only ids it asked about.
import type { Logger } from '../../shared/logger.js';

/** Graph could not be asked (token, network, an error status, an answer of the wrong shape). */
export class GroupLookupError extends Error {
  override readonly name = 'GroupLookupError';
}

/** Entra ID object ids are GUIDs; anything else is never put in a Graph URL. */
const OBJECT_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** checkMemberGroups takes at most 20 group ids a call. */
const PER_CALL = 20;

export interface GroupMembershipOptions {
  graphUrl: string;
  /** An app-only Graph token (client credentials). */
  token: () => Promise<string>;
  /** The group ids envbot.yaml names (teams-group:<id>); nobody is asked about others. */
  groupIds: string[];
  log: Logger;
  ttlMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

export class GroupMembership {
  private readonly groupIds: string[];
  private readonly cache = new Map<string, { at: number; groups: string[] }>();
  private readonly ttlMs: number;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly o: GroupMembershipOptions) {
    this.groupIds = [...new Set(o.groupIds.map((g) => g.toLowerCase()))];
    this.ttlMs = o.ttlMs ?? 5 * 60_000;
    this.fetch = o.fetch ?? fetch;
    this.now = o.now ?? Date.now;
  }

  /** The named groups `userId` is a (transitive) member of; throws GroupLookupError when Graph cannot tell. */
  async of(userId: string): Promise<string[]> {
    if (this.groupIds.length === 0) return [];
    if (!OBJECT_ID.test(userId)) {
      this.o.log.warn({ userId: userId.slice(0, 80) }, 'Teams user id is not an Entra ID object id: no groups looked up');
      return [];
    }
    const key = userId.toLowerCase();
    const hit = this.cache.get(key);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.groups;
    const groups: string[] = [];
    for (let i = 0; i < this.groupIds.length; i += PER_CALL) groups.push(...(await this.check(key, this.groupIds.slice(i, i + PER_CALL))));
    if (this.cache.size >= 10_000) for (const [k, v] of this.cache) if (this.now() - v.at >= this.ttlMs) this.cache.delete(k);
    this.cache.set(key, { at: this.now(), groups });
    return groups;
  }

  private async check(userId: string, asked: string[]): Promise<string[]> {
    let token: string;
    try {
      token = await this.o.token();
    } catch (err) {
      throw new GroupLookupError(`no Microsoft Graph token: ${(err as Error).message}`);
    }
    const url = `${this.o.graphUrl}/v1.0/users/${encodeURIComponent(userId)}/checkMemberGroups`;
    let res: Response;
    try {
      res = await this.fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ groupIds: asked }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new GroupLookupError(`Microsoft Graph unreachable: ${(err as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) {
      // 403 Authorization_RequestDenied: a permission is not granted (or not admin-consented).
      throw new GroupLookupError(`Microsoft Graph answered ${res.status} to checkMemberGroups: ${text.slice(0, 300)}`);
    }
    let value: unknown;
    try {
      value = (JSON.parse(text) as { value?: unknown }).value;
    } catch {
      value = undefined;
    }
    if (!Array.isArray(value)) throw new GroupLookupError('Microsoft Graph answered checkMemberGroups without a list of group ids');
    // Only the ids asked about count: an answer naming any other group grants nothing.
    const said = new Set(value.filter((v): v is string => typeof v === 'string').map((v) => v.toLowerCase()));
    return asked.filter((g) => said.has(g));
  }
}
