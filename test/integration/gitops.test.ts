// Services that follow git branches, end to end over the real servers: a local bare repository
// holds the service's template (its image and tag written in it), two environments are built from
// it (one on the default branch, one on the branch the create form chose), and signed push
// webhooks over HTTP re-render and server-side apply the service where it follows the pushed
// branch, on the real kube-apiserver. The webhook's guard is attacked: unsigned, forged, wrong
// secret, a body changed by one byte, header variants, oversized.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatCore } from '../../bot/core/chat-core.js';
import type { Actor, Reply } from '../../bot/core/model.js';
import { createHttpApp, listen } from '../../bot/http.js';
import { gitWebhookRouter } from '../../bot/webhooks/git.js';
import { githubSignature } from '../../bot/webhooks/git-signature.js';
import { loadCatalogue, type LoadedCatalogue } from '../../shared/catalogue/load.js';
import type { EnvRef, Requester } from '../../shared/model.js';
import type { GitPushResult } from '../../workflows/git-push.js';
import { uniqueEnv } from '../support/deps.js';
import { provisioningHarness, type Harness } from '../support/provisioning.js';
import { repoRoot, testSettings } from '../support/settings.js';

const requester: Requester = { id: 'cli:test', platform: 'cli' };
const SECRET = `whsec-${randomUUID()}`;
const GITLAB_TOKEN = `glpat-${randomUUID()}`;
const work = mkdtempSync(join(tmpdir(), 'envbot-gitops-test-'));
const bare = join(work, 'apps.git');
const clone = join(work, 'clone');
const REPO_URL = `file://${bare}`;
const CHANNEL = 'C0GITOPS001';
const PM: Actor = { platform: 'slack', userId: 'U0PM0000001', groups: [], channel: CHANNEL }; // group pm: may create proja-like environments
const READER: Actor = { platform: 'slack', userId: 'U0READER001', groups: [], channel: CHANNEL }; // read only ("*")

const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=test@envbot', '-c', 'user.name=test', ...args], { cwd: clone, encoding: 'utf8' }).trim();

/** The service's template with its image and tag written in it, as a service's repository keeps them. */
const template = (tag: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{SERVICE}}
spec:
  replicas: 1
  selector:
    matchLabels: { app: {{SERVICE}} }
  template:
    metadata:
      labels: { app: {{SERVICE}} }
    spec:
      containers:
        - name: {{SERVICE}}
          image: registry.example.com/gitops-web:${tag}
          ports: [{ containerPort: {{PORT}} }]
`;

/** Commits `text` as the template on `branch` (made from main when new) and pushes it; the commit id. */
function commit(branch: string, text: string): string {
  git('checkout', '--quiet', '-B', branch, ...(git('branch', '--list', branch) ? [] : ['main']));
  writeFileSync(join(clone, 'gitops', 'web.yaml.hbs'), text);
  git('commit', '--quiet', '-am', `${branch}: ${text.length}`);
  git('push', '--quiet', '--force', bare, branch);
  return git('rev-parse', 'HEAD');
}

/** proja without data, its one service `web` from the repository (default branch main). */
function catalogue(): LoadedCatalogue {
  const loaded = loadCatalogue(join(repoRoot, 'examples', 'envbot.yaml'), testSettings().env);
  const proja = loaded.catalogue.projects.proja!;
  const gitops = {
    ...proja,
    channels: { slack: ['C0GITOPS001'], teams: [] },
    databases: {},
    redis: undefined,
    secrets: { generated: {}, shared: {} },
    services: { web: { ...proja.services.web!, template: { kind: 'git' as const, repo: REPO_URL, ref: 'main', path: 'gitops/web.yaml.hbs', raw: `git+${REPO_URL}#main:gitops/web.yaml.hbs` } } },
    readyTimeout: '60s',
  };
  return { ...loaded, catalogue: { ...loaded.catalogue, projects: { ...loaded.catalogue.projects, gitops } } };
}

/** A push event body in GitHub's documented format (the fields envbot reads, and some it does not). */
function githubPush(branch: string, after: string, before = '0'.repeat(40)): string {
  return JSON.stringify({
    ref: `refs/heads/${branch}`,
    before,
    after,
    created: false,
    deleted: false,
    forced: false,
    repository: { id: 1, name: 'apps', full_name: 'example/apps', clone_url: REPO_URL, html_url: 'https://github.com/example/apps', ssh_url: 'git@github.com:example/apps.git' },
    pusher: { name: 'octocat', email: 'octocat@example.com' },
    sender: { login: 'octocat', id: 1 },
    head_commit: { id: after, message: 'change', timestamp: new Date().toISOString() },
    commits: [{ id: after, message: 'change' }],
  });
}

describe('services follow their branches', () => {
  let h: Harness;
  let apps: AppsV1Api;
  let server: Server;
  let url: string;
  const dev = uniqueEnv('gitops', 'dev');
  const qa = uniqueEnv('gitops', 'qa');
  let first: string;
  let formCommit: string;
  let chatCore: ChatCore;
  const say = (actor: Actor, text: string): Promise<Reply> => chatCore.handleText(actor, text, { platform: 'slack', channel: CHANNEL });
  /** Runs `/env track …` as `actor` and waits for the move to end; the reply and the workflow's result (or error). */
  const track = async (actor: Actor, text: string) => {
    const reply = await say(actor, text);
    if (reply.kind !== 'started') return { reply };
    const outcome = await h.client.workflow.getHandle(reply.workflowId).result().then((value: unknown) => ({ value }), (error: Error) => ({ error }));
    return { reply, ...outcome };
  };

  const post = (body: string | Buffer, headers: Record<string, string>) =>
    fetch(url, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers: { 'content-type': 'application/json', ...headers } });
  const signed = (body: string, delivery = randomUUID(), secret = SECRET) =>
    post(body, { 'x-github-event': 'push', 'x-github-delivery': delivery, 'x-hub-signature-256': githubSignature(secret, body) });
  const image = async (ref: EnvRef) => (await apps.readNamespacedDeployment({ name: 'web', namespace: ref.environment })).spec?.template.spec?.containers[0]?.image;
  const pushed = async (res: Response): Promise<GitPushResult> => {
    const answer = (await res.json()) as { handled: string; workflowId: string };
    expect(answer.handled).toBe('push');
    return h.client.workflow.getHandle(answer.workflowId).result() as Promise<GitPushResult>;
  };
  const history = (ref: EnvRef) => h.deps.store.deployments.history(ref.environment, 'web');

  beforeAll(async () => {
    execFileSync('git', ['init', '--quiet', '--bare', bare]);
    execFileSync('git', ['init', '--quiet', '-b', 'main', clone]);
    mkdirSync(join(clone, 'gitops'));
    writeFileSync(join(clone, 'gitops', 'web.yaml.hbs'), template('1.0.0'));
    git('add', '.');
    git('commit', '--quiet', '-m', 'web 1.0.0');
    git('push', '--quiet', bare, 'main');
    first = git('rev-parse', 'HEAD');
    formCommit = commit('feature/form', template('0.9.0-form'));
    git('checkout', '--quiet', 'main');

    h = await provisioningHarness('gitops', { catalogue: catalogue() });
    apps = h.deps.kube.makeApiClient(AppsV1Api);
    chatCore = new ChatCore({ core: h.core, store: h.deps.store, catalogue: h.deps.catalogue.catalogue, log: h.deps.log });
    const app = createHttpApp({ checks: {}, routers: [gitWebhookRouter({ secrets: { githubSecret: SECRET, gitlabToken: GITLAB_TOKEN }, core: h.core, store: h.deps.store, log: h.deps.log, catalogue: h.deps.catalogue.catalogue })], maxBodyBytes: 64 * 1024 });
    server = await listen(app, 0);
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/webhooks/git`;
    // dev on the default branch; qa on the branch chosen in the create form.
    const [a, b] = await Promise.all([
      h.core.create({ project: 'gitops', stage: 'dev', suffix: dev.suffix!, requester }),
      h.core.create({ project: 'gitops', stage: 'qa', suffix: qa.suffix!, requester, branches: { web: 'feature/form' } }),
    ]);
    await Promise.all([a.handle.result(), b.handle.result()]);
  }, 300_000);

  afterAll(async () => {
    server?.close();
    await Promise.all([dev, qa].map((r) => h?.core.destroy({ environment: r.environment, requester }).then((s) => s.handle.result()).catch(() => undefined)));
    await h?.stop();
  }, 300_000);

  it("renders the create form's branch, and records what each service follows and runs (why: create)", async () => {
    expect(await image(dev)).toBe('registry.example.com/gitops-web:1.0.0');
    expect(await image(qa)).toBe('registry.example.com/gitops-web:0.9.0-form');
    expect(await h.deps.store.deployments.of(dev.environment)).toMatchObject([{ service: 'web', branch: 'main', commit: first, image: 'registry.example.com/gitops-web:1.0.0' }]);
    expect(await h.deps.store.deployments.of(qa.environment)).toMatchObject([{ service: 'web', branch: 'feature/form', commit: formCommit, image: 'registry.example.com/gitops-web:0.9.0-form' }]);
    expect(await history(qa)).toMatchObject([{ why: 'create', who: 'cli:test', commit: formCommit }]);
  });

  it('refuses a create whose form names a branch that is not a branch, or a service that follows none', async () => {
    await expect(h.core.create({ project: 'gitops', stage: 'dev', suffix: 'x1', requester, branches: { web: '--upload-pack=evil' } })).rejects.toThrow(/not a branch name envbot accepts/);
    await expect(h.core.create({ project: 'gitops', stage: 'dev', suffix: 'x1', requester, branches: { nope: 'main' } })).rejects.toThrow(/no service "nope"/);
  });

  it('a signed push to main updates the environment tracking main, leaves the other, and the same delivery twice applies once', async () => {
    const second = commit('main', template('1.1.0'));
    const body = githubPush('main', second, first);
    const delivery = randomUUID();
    const result = await pushed(await signed(body, delivery));
    expect(result.rounds).toEqual([{ commit: second, delivery: `github:${delivery}`, outcomes: [{ environment: dev.environment, service: 'web', state: 'applied' }] }]);
    expect(await image(dev)).toBe('registry.example.com/gitops-web:1.1.0');
    expect(await image(qa)).toBe('registry.example.com/gitops-web:0.9.0-form');
    const again = await signed(body, delivery);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ handled: 'replay', delivery });
    expect((await history(dev)).map((e) => [e.why, e.commit, e.who])).toEqual([
      ['push', second, 'github:octocat'],
      ['create', first, 'cli:test'],
    ]);
    expect((await history(qa)).map((e) => e.why)).toEqual(['create']);
  }, 120_000);

  it('after "/env track <dev> web feature/x" in chat, a push to feature/x updates only dev, and status shows the branch and commit', async () => {
    const x = commit('feature/x', template('2.0.0-x'));
    // Who may not create may not move a service either; nothing moves.
    const refused = await say(READER, `track ${dev.environment} web feature/x`);
    expect(refused).toMatchObject({ kind: 'refused', action: 'create' });
    expect((await h.deps.store.deployments.of(dev.environment))[0]).toMatchObject({ branch: 'main' });
    const moved = await track(PM, `track ${dev.environment} web feature/x`);
    expect(moved.reply).toMatchObject({ kind: 'started', operation: 'track', environment: dev.environment });
    expect(moved).toMatchObject({ value: { branch: 'feature/x', commit: x, image: 'registry.example.com/gitops-web:2.0.0-x' } });
    expect(await image(dev)).toBe('registry.example.com/gitops-web:2.0.0-x');
    expect((await history(dev))[0]).toMatchObject({ why: 'manual', who: 'slack:U0PM0000001', branch: 'feature/x', commit: x });
    const said = h.chat.sent.filter((s) => s.target.channel === CHANNEL && JSON.stringify(s.message).includes(`web follows feature/x now, at ${x.slice(0, 7)}`));
    expect(said).toHaveLength(1);

    const x2 = commit('feature/x', template('2.1.0-x'));
    const result = await pushed(await signed(githubPush('feature/x', x2, x)));
    expect(result.rounds[0]!.outcomes).toEqual([{ environment: dev.environment, service: 'web', state: 'applied' }]);
    expect(await image(dev)).toBe('registry.example.com/gitops-web:2.1.0-x');
    expect(await image(qa)).toBe('registry.example.com/gitops-web:0.9.0-form');
    // A push to main no longer reaches dev.
    const main = commit('main', template('1.2.0'));
    expect((await pushed(await signed(githubPush('main', main)))).rounds[0]!.outcomes).toEqual([]);
    expect(await image(dev)).toBe('registry.example.com/gitops-web:2.1.0-x');

    const status = await say(READER, `status ${dev.environment}`);
    expect(status).toMatchObject({ kind: 'status', runs: [{ service: 'web', branch: 'feature/x', defaultBranch: 'main', commit: x2 }] });
  }, 120_000);

  it('"/env track" to a branch that does not exist says so in the channel and changes nothing; a service that follows no branch is refused at once', async () => {
    const before = await h.deps.store.deployments.of(dev.environment);
    const moved = await track(PM, `track ${dev.environment} web no-such-branch`);
    expect(moved).toMatchObject({ reply: { kind: 'started' }, error: expect.anything() });
    expect(await h.deps.store.deployments.of(dev.environment)).toEqual(before);
    const said = h.chat.sent.filter((s) => s.target.channel === CHANNEL && JSON.stringify(s.message).includes('web was not moved to no-such-branch'));
    expect(said).toHaveLength(1);
    expect(await say(PM, `track ${dev.environment} nope main`)).toMatchObject({ kind: 'error', text: expect.stringMatching(/no service "nope"/) });
    expect(await say(PM, `track ${dev.environment} web`)).toMatchObject({ kind: 'help', note: expect.stringMatching(/track needs an environment, a service and a branch/) });
  }, 120_000);

  it('a GitLab push with the right token is applied too; a template that no longer renders is said in the channel and nothing changes', async () => {
    const broken = commit('feature/x', 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{NO_SUCH_VARIABLE}}\n');
    const body = JSON.stringify({ object_kind: 'push', ref: 'refs/heads/feature/x', before: '0'.repeat(40), after: broken, checkout_sha: broken, user_username: 'alice', project: { git_http_url: REPO_URL, web_url: 'https://gitlab.example.com/example/apps' } });
    const res = await post(body, { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': GITLAB_TOKEN, 'x-gitlab-event-uuid': randomUUID() });
    const result = await pushed(res);
    expect(result.rounds[0]!.outcomes).toMatchObject([{ environment: dev.environment, state: 'failed', detail: expect.stringMatching(/NO_SUCH_VARIABLE/) }]);
    expect(await image(dev)).toBe('registry.example.com/gitops-web:2.1.0-x');
    const said = h.chat.sent.filter((s) => s.target.channel === 'C0GITOPS001' && JSON.stringify(s.message).includes('was not updated to feature/x'));
    expect(said).toHaveLength(1);
    expect(JSON.stringify(said[0]!.message)).toContain('gitlab:alice');
  }, 120_000);

  it('"/env track <dev> web default" moves dev back to main at its head; "/env history" lists every deployment, newest first', async () => {
    const head = git('rev-parse', 'main');
    const moved = await track(PM, `track ${dev.environment} web default`);
    expect(moved).toMatchObject({ value: { branch: 'main', commit: head, before: { branch: 'feature/x' } } });
    expect(await image(dev)).toBe('registry.example.com/gitops-web:1.2.0');
    expect((await h.deps.store.deployments.of(dev.environment))[0]).toMatchObject({ branch: 'main', commit: head });
    const reply = await say(READER, `history ${dev.environment} web`);
    expect(reply.kind).toBe('history');
    const entries = (reply as Extract<Reply, { kind: 'history' }>).entries;
    expect(entries.map((e) => [e.why, e.branch, e.who])).toEqual([
      ['manual', 'main', 'slack:U0PM0000001'],
      ['push', 'feature/x', 'github:octocat'],
      ['manual', 'feature/x', 'slack:U0PM0000001'],
      ['push', 'main', 'github:octocat'],
      ['create', 'main', 'cli:test'],
    ]);
    expect(entries[0]).toMatchObject({ commit: head, image: 'registry.example.com/gitops-web:1.2.0' });
    expect(await say(READER, `history ${dev.environment} nope`)).toMatchObject({ kind: 'error', text: expect.stringMatching(/no service "nope"/) });
  }, 120_000);

  describe('the signature guard', () => {
    const body = () => githubPush('main', 'a'.repeat(40));
    const refused = async (res: Response) => {
      expect(res.status).toBe(401);
      return ((await res.json()) as { error: string }).error;
    };

    it('refuses a push without a signature, with the old SHA-1 signature only, or with both platforms at once', async () => {
      expect(await refused(await post(body(), { 'x-github-event': 'push', 'x-github-delivery': randomUUID() }))).toMatch(/neither signed/);
      expect(await refused(await post(body(), { 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature': 'sha1=0000' }))).toMatch(/only X-Hub-Signature-256/);
      const b = body();
      expect(await refused(await post(b, { 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': githubSignature(SECRET, b), 'x-gitlab-token': GITLAB_TOKEN }))).toMatch(/one platform/);
    });

    it.each([
      ['a wrong secret', (b: string) => githubSignature('not-the-secret', b)],
      ['upper-case hex', (b: string) => githubSignature(SECRET, b).toUpperCase().replace('SHA256=', 'sha256=')],
      ['no "sha256=" prefix', (b: string) => githubSignature(SECRET, b).slice('sha256='.length)],
      ['a truncated signature', (b: string) => githubSignature(SECRET, b).slice(0, 40)],
      ['a space after "sha256="', (b: string) => githubSignature(SECRET, b).replace('=', '= ')],
      ['a signature with one more digit', (b: string) => `${githubSignature(SECRET, b)}0`],
    ])('refuses %s', async (_what, sign) => {
      const b = body();
      expect(await refused(await post(b, { 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': sign(b) }))).toMatch(/X-Hub-Signature-256/);
    });

    it('refuses a body changed by one byte after it was signed', async () => {
      const b = body();
      const changed = Buffer.from(b);
      const at = b.indexOf('octocat');
      changed[at] = changed[at]! ^ 0x20; // octocat → Octocat
      expect(changed.equals(Buffer.from(b))).toBe(false);
      expect(await refused(await post(changed, { 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': githubSignature(SECRET, b) }))).toMatch(/does not match the body/);
      // The same bytes unchanged pass: the refusal above is the change's doing.
      expect((await post(b, { 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': githubSignature(SECRET, b) })).status).toBe(200);
    });

    it('refuses a wrong GitLab token and one differing only in length', async () => {
      for (const token of ['nope', `${GITLAB_TOKEN}x`, GITLAB_TOKEN.slice(0, -1), '']) {
        expect(await refused(await post(body(), { 'x-gitlab-event': 'Push Hook', 'x-gitlab-event-uuid': randomUUID(), 'x-gitlab-token': token }))).toMatch(/X-Gitlab-Token/);
      }
    });

    it('refuses a body over the limit with 413 before reading it, signed or not', async () => {
      const big = JSON.stringify({ ref: 'refs/heads/main', padding: 'x'.repeat(70 * 1024) });
      expect((await signed(big)).status).toBe(413);
    });

    it('a refused request records no delivery: the same id signed right afterwards is handled', async () => {
      const delivery = randomUUID();
      const b = githubPush('no-such-branch-anywhere', 'b'.repeat(40));
      expect((await post(b, { 'x-github-event': 'push', 'x-github-delivery': delivery, 'x-hub-signature-256': githubSignature('wrong', b) })).status).toBe(401);
      const ok = (await (await signed(b, delivery)).json()) as { handled: string };
      expect(ok.handled).toBe('push');
    });
  });
});
