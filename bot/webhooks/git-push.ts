// A push event's body, GitHub's or GitLab's, read into what envbot needs: the repository's URLs, the
// branch, the commit it points at now and who pushed. Pushes of tags and branch deletions are not
// pushes to follow (undefined).
import { branchNameProblem } from '../../shared/catalogue/tracked.js';
import type { GitPlatform } from './git-signature.js';

export interface PushEvent {
  urls: string[];
  branch: string;
  commit: string;
  who: string;
}

/** A body that is not the push event it says it is: answered 400. */
export class GitPushMalformed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GitPushMalformed';
  }
}

const ZERO = /^0{40}$/;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** The push in `body`; undefined for a tag push or a deleted branch (nothing to render). */
export function parsePush(platform: GitPlatform, body: Buffer): PushEvent | { ignored: string } {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new GitPushMalformed('the body is not JSON (set the webhook\'s content type to application/json)');
  }
  if (!json || typeof json !== 'object') throw new GitPushMalformed('the body is not a JSON object');
  const ref = str(json.ref);
  const after = str(json.after);
  if (!ref || !after) throw new GitPushMalformed('a push event has "ref" and "after"');
  if (!ref.startsWith('refs/heads/')) return { ignored: `${ref} is not a branch` };
  if (ZERO.test(after) || json.deleted === true) return { ignored: `${ref} was deleted` };
  if (!/^[0-9a-f]{40}$/.test(after)) throw new GitPushMalformed(`"after" (${after.slice(0, 50)}) is not a commit id`);
  const branch = ref.slice('refs/heads/'.length);
  const bad = branchNameProblem(branch);
  if (bad) return { ignored: `${bad}` };
  const repo = (json.repository ?? {}) as Record<string, unknown>;
  const project = (json.project ?? {}) as Record<string, unknown>;
  const urls =
    platform === 'github'
      ? [repo.clone_url, repo.ssh_url, repo.git_url, repo.html_url, repo.url]
      : [project.git_http_url, project.git_ssh_url, project.web_url, repo.git_http_url, repo.git_ssh_url, repo.homepage, repo.url];
  const named = [...new Set(urls.map(str).filter((u): u is string => u !== undefined))];
  if (!named.length) throw new GitPushMalformed(platform === 'github' ? 'repository.clone_url is missing' : 'project.git_http_url is missing');
  const pusher = (json.pusher ?? {}) as Record<string, unknown>;
  const sender = (json.sender ?? {}) as Record<string, unknown>;
  const who = platform === 'github' ? (str(sender.login) ?? str(pusher.name) ?? 'unknown') : (str(json.user_username) ?? str(json.user_name) ?? 'unknown');
  return { urls: named, branch, commit: after, who: `${platform}:${who}` };
}
