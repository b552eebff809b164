// Who sent a git webhook: GitHub signs the raw body with HMAC-SHA256 under the webhook's secret
// (`X-Hub-Signature-256: sha256=<hex>`); GitLab sends the webhook's token as it is
// (`X-Gitlab-Token`). Both are compared in constant time; nothing here reads anything but the
// headers and the raw bytes of the body.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export type GitPlatform = 'github' | 'gitlab';

/** A request that is not from the platform it claims to be from: answered 401. */
export class GitWebhookRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GitWebhookRefused';
  }
}

export interface GitSecrets {
  githubSecret: string | undefined;
  gitlabToken: string | undefined;
}

/** One header's value; a header sent twice (an array) is refused, never guessed between. */
function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  if (Array.isArray(v)) throw new GitWebhookRefused(`${name} is sent more than once`);
  return v;
}

const same = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);

/** `sha256=<hex>` of the body under `secret`, as GitHub sends it. */
export function githubSignature(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * The platform that sent the request, once its signature or token is right; a GitWebhookRefused
 * otherwise (no signature or token, both kinds at once, a platform whose secret is not set, a wrong one).
 */
export function verifyGitWebhook(headers: IncomingHttpHeaders, body: Buffer, secrets: GitSecrets): GitPlatform {
  const signature = single(headers, 'x-hub-signature-256');
  const token = single(headers, 'x-gitlab-token');
  if (signature !== undefined && token !== undefined) throw new GitWebhookRefused('both X-Hub-Signature-256 and X-Gitlab-Token are present; a request comes from one platform');
  if (signature !== undefined) {
    if (!secrets.githubSecret) throw new GitWebhookRefused('GitHub webhooks are off: GITHUB_WEBHOOK_SECRET is not set');
    if (!/^sha256=[0-9a-f]{64}$/.test(signature)) throw new GitWebhookRefused('X-Hub-Signature-256 is not "sha256=" and 64 lowercase hex digits');
    if (!same(Buffer.from(signature), Buffer.from(githubSignature(secrets.githubSecret, body)))) throw new GitWebhookRefused('X-Hub-Signature-256 does not match the body');
    return 'github';
  }
  if (token !== undefined) {
    if (!secrets.gitlabToken) throw new GitWebhookRefused('GitLab webhooks are off: GITLAB_WEBHOOK_TOKEN is not set');
    // Digests of equal length, so the comparison says nothing about the token's length either.
    const digest = (t: string) => createHash('sha256').update(t).digest();
    if (!same(digest(token), digest(secrets.gitlabToken))) throw new GitWebhookRefused('X-Gitlab-Token is not the webhook token');
    return 'gitlab';
  }
  if (headers['x-hub-signature'] !== undefined) throw new GitWebhookRefused('only X-Hub-Signature-256 is accepted (the SHA-1 X-Hub-Signature is not); set a secret on the GitHub webhook');
  throw new GitWebhookRefused('the request is neither signed (X-Hub-Signature-256) nor carries a token (X-Gitlab-Token)');
}
