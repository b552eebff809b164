// Seeds in an S3 bucket (moto) and templates in a git repository on this machine (made here with
// the system git): projb-qa built from them equals projb-qa built from the disk copies; a new commit
// or upload is taken by the next create or reset and shows in /env status; a bucket or ref that is
// not there fails the create naming the location and leaves nothing; concurrent creates fetch once.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AppsV1Api } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceCache } from '../../activities/sources/cache.js';
import { Sources } from '../../activities/sources/index.js';
import { systemGit, type GitRunner } from '../../activities/sources/git.js';
import { ChatCore } from '../../bot/core/chat-core.js';
import type { Actor, Reply } from '../../bot/core/model.js';
import { replyMessage } from '../../bot/slack/blocks/index.js';
import { parseCatalogue, type LoadedCatalogue } from '../../shared/catalogue/load.js';
import type { EnvRef, Requester } from '../../shared/model.js';
import { workflowId } from '../../shared/names.js';
import { uniqueEnv } from '../support/deps.js';
import { recordHistory } from '../support/histories.js';
import { inventory, leftovers } from '../support/inspect.js';
import { provisioningHarness, type Harness } from '../support/provisioning.js';
import { repoRoot, testSettings } from '../support/settings.js';

const requester: Requester = { id: 'cli:test', platform: 'cli' };
const actor: Actor = { platform: 'cli', userId: 'cli:test', groups: [], channel: 'cli' };
const exampleFile = join(repoRoot, 'examples', 'envbot.yaml');
const seedsDir = join(repoRoot, 'examples', 'seeds', 'projb');
const bucket = `envbot-seeds-${randomBytes(4).toString('hex')}`;
const work = mkdtempSync(join(tmpdir(), 'envbot-sources-test-'));
const bare = join(work, 'templates.git');
const clone = join(work, 'clone');
/** A ref with a slash, as release branches are often named. */
const REF = 'release/qa';

const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.email=test@envbot', '-c', 'user.name=test', ...args], { cwd, encoding: 'utf8' }).trim();

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** projb's seeds in the bucket, its templates in the repository; everything else as in the example. */
function remoteCatalogue(text = readFileSync(exampleFile, 'utf8')): LoadedCatalogue {
  const edited = text
    .replace('seed: seeds/projb/mongo/catalog', `seed: s3://${bucket}/projb/mongo/catalog`)
    .replace('seed: seeds/projb/mysql/shop', `seed: s3://${bucket}/projb/mysql/shop/`)
    .replace('seed: seeds/projb/postgres/orders', `seed: s3://${bucket}/projb/postgres/orders`)
    .replace('seed: seeds/projb/redis.json', `seed: s3://${bucket}/projb/redis.json`)
    .replace('template: templates/projb/service1.yaml.hbs', `template: git+file://${bare}#${REF}:projb/service1.yaml.hbs`)
    .replace('template: templates/projb/service2.yaml.hbs', `template: git+file://${bare}#${REF}:/projb/service2.yaml.hbs`);
  expect(edited.split(`s3://${bucket}/`)).toHaveLength(5);
  expect(edited.split(`git+file://${bare}#`)).toHaveLength(3);
  return parseCatalogue(edited, exampleFile, testSettings().env);
}

describe('seeds from S3 and templates from git', () => {
  let disk: Harness;
  let remote: Harness;
  let broken: Harness;
  let s3: S3Client;
  let gets = 0;
  const gitCalls: string[][] = [];
  const made: { h: () => Harness; ref: EnvRef }[] = [];

  const countingGit: GitRunner = (args, signal) => {
    gitCalls.push(args);
    return systemGit(args, signal);
  };
  const fetches = () => gitCalls.filter((a) => a.includes('fetch'));

  const create = async (h: Harness, ref: EnvRef) => {
    made.push({ h: () => h, ref });
    const s = await h.core.create({ project: ref.project, stage: ref.stage, suffix: ref.suffix!, requester });
    return s.handle.result();
  };
  const status = async (h: Harness, ref: EnvRef) => {
    const chat = new ChatCore({ core: h.core, store: h.deps.store, catalogue: h.deps.catalogue.catalogue, log: h.deps.log });
    const reply = await chat.handleText(actor, `status ${ref.environment}`, { platform: 'console', channel: 'cli' });
    expect(reply.kind).toBe('status');
    return reply as Extract<Reply, { kind: 'status' }>;
  };
  const upload = async (key: string, body: string | Buffer) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));

  beforeAll(async () => {
    const settings = testSettings();
    s3 = new S3Client({ region: settings.aws.region, endpoint: settings.aws.endpoint!, forcePathStyle: true, ...(settings.aws.credentials ? { credentials: settings.aws.credentials } : {}) });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    // The media volume's source (projb's storage row copies from it).
    await s3.send(new CreateBucketCommand({ Bucket: 'envbot-media' })).catch(() => undefined);
    for (const f of filesUnder(seedsDir)) await upload(`projb/${relative(seedsDir, f)}`, readFileSync(f));

    execFileSync('git', ['init', '--quiet', '--bare', bare]);
    execFileSync('git', ['init', '--quiet', clone]);
    cpSync(join(repoRoot, 'examples', 'templates'), clone, { recursive: true });
    writeFileSync(join(clone, 'projc', 'bad.yaml.hbs'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{NO_SUCH_VARIABLE}}\n');
    git(clone, 'checkout', '--quiet', '-b', REF);
    git(clone, 'add', '.');
    git(clone, 'commit', '--quiet', '-m', 'templates');
    git(clone, 'push', '--quiet', bare, REF);

    [disk, remote] = await Promise.all([provisioningHarness('sources-disk'), provisioningHarness('sources-remote', { catalogue: remoteCatalogue() })]);
    // A fetcher with a cache of its own, whose S3 downloads and git runs are counted.
    const counted = new S3Client({ ...remote.deps.aws });
    counted.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetObjectCommand') gets++;
        return next(args);
      },
      { step: 'initialize', name: 'countGets' },
    );
    remote.deps.sources = new Sources({ cache: new SourceCache(join(work, 'cache')), s3: () => counted, git: countingGit });

    const text = readFileSync(exampleFile, 'utf8')
      .replace('seed: seeds/projb/mongo/catalog', 'seed: s3://envbot-no-such-bucket-0/projb/mongo/catalog')
      .replace('template: templates/proja/web.yaml.hbs', `template: git+file://${bare}#no-such-branch:proja/web.yaml.hbs`)
      .replace('template: templates/projc/shop.yaml.hbs', `template: git+file://${bare}#${REF}:projc/bad.yaml.hbs`);
    broken = await provisioningHarness('sources-broken', { catalogue: parseCatalogue(text, exampleFile, testSettings().env) });
    broken.deps.sources = new Sources({ cache: new SourceCache(join(work, 'cache-broken')), s3: () => counted });
  }, 120_000);

  afterAll(async () => {
    for (const { h, ref } of made) {
      await h()
        .core.destroy({ environment: ref.environment, requester })
        .then((s) => s.handle.result())
        .catch(() => undefined);
    }
    await Promise.all([disk?.stop(), remote?.stop(), broken?.stop()]);
    s3?.destroy();
    rmSync(work, { recursive: true, force: true });
  }, 300_000);

  const fromDisk = uniqueEnv('projb', 'qa');
  const first = uniqueEnv('projb', 'qa');
  const second = uniqueEnv('projb', 'qa');
  let commit = '';

  it('builds projb-qa from S3 and git as from disk; two concurrent creates fetch each version once', async () => {
    commit = git(clone, 'rev-parse', 'HEAD');
    const results = await Promise.all([create(disk, fromDisk), create(remote, first), create(remote, second)]);
    expect(results.map((r) => r.status)).toEqual(['ready', 'ready', 'ready']);
    await recordHistory(remote.client, workflowId('create', first.environment), 'create-projb-qa-sources');

    // One shallow fetch of the one commit; each S3 object downloaded once, for both creates.
    expect(fetches()).toHaveLength(1);
    expect(fetches()[0]).toContain(commit);
    expect(gets).toBe(filesUnder(seedsDir).length);

    const expected = await inventory(disk, fromDisk);
    expect(expected).toEqual(expect.arrayContaining([expect.stringMatching(/^mysql rows customers \d+$/), expect.stringMatching(/^redis key site:banner string \d+$/), expect.stringMatching(/^kubernetes Deployment service1 \{/)]));
    expect(await inventory(remote, first)).toEqual(expected);
    expect(await inventory(remote, second)).toEqual(expected);

    const shown = await status(remote, first);
    const sources = shown.environment.sources ?? [];
    expect(sources).toContainEqual({ location: `s3://${bucket}/projb/redis.json`, version: expect.stringMatching(/^[0-9a-f]{12}$/), uses: ['seed redis'] });
    expect(sources).toContainEqual({ location: `git+file://${bare}#${REF}:projb/service1.yaml.hbs`, version: commit.slice(0, 7), uses: ['template service1'] });
    expect(sources).toHaveLength(6);
    const slack = replyMessage(shown);
    expect(slack.text).toContain(`template service1: git+file://${bare}#${REF}:projb/service1.yaml.hbs@${commit.slice(0, 7)}`);
    expect(JSON.stringify(slack.blocks)).toContain(`seed catalog: s3://${bucket}/projb/mongo/catalog@`);
    // A disk-only environment has none.
    expect((await status(disk, fromDisk)).environment.sources).toBeUndefined();
  }, 400_000);

  it('takes a new upload at the next reset and a new commit at the next create, and status shows the new versions', async () => {
    const before = (await status(remote, first)).environment.sources!;
    const redisBefore = before.find((s) => s.uses.includes('seed redis'))!.version;
    const seeds = JSON.parse(readFileSync(join(seedsDir, 'redis.json'), 'utf8')) as unknown[];
    await upload('projb/redis.json', JSON.stringify([...seeds, { key: 'uploaded-later', type: 'string', value: 'yes' }]));

    const reset = await remote.core.resetDatabases({ environment: first.environment, which: 'redis', requester });
    await reset.handle.result();
    await recordHistory(remote.client, workflowId('reset', first.environment), 'reset-projb-qa-sources');
    const after = (await status(remote, first)).environment.sources!;
    const redisAfter = after.find((s) => s.uses.includes('seed redis'))!.version;
    expect(redisAfter).not.toBe(redisBefore);
    // Only the reset's seeds were fetched again; the templates' version stays.
    expect(after.find((s) => s.uses.includes('template service1'))).toEqual(before.find((s) => s.uses.includes('template service1')));
    const index = await remote.deps.store.redisIndexOf('main', first.environment);
    const redis = new Redis(remote.deps.catalogue.catalogue.servers.redis.main!.url, { db: index! });
    try {
      expect(await redis.get('uploaded-later')).toBe('yes');
    } finally {
      redis.disconnect();
    }

    const template = join(clone, 'projb', 'service1.yaml.hbs');
    writeFileSync(template, readFileSync(template, 'utf8').replace('\n  replicas: 1\n', '\n  replicas: 2\n'));
    expect(readFileSync(template, 'utf8')).toContain('replicas: 2');
    git(clone, 'commit', '--quiet', '-am', 'revision two');
    git(clone, 'push', '--quiet', bare, REF);
    const newCommit = git(clone, 'rev-parse', 'HEAD');

    const third = uniqueEnv('projb', 'qa');
    expect((await create(remote, third)).status).toBe('ready');
    const shown = (await status(remote, third)).environment.sources!;
    expect(shown.find((s) => s.uses.includes('template service1'))!.version).toBe(newCommit.slice(0, 7));
    expect(shown.find((s) => s.uses.includes('seed redis'))!.version).toBe(redisAfter);
    const apps = remote.deps.kube.makeApiClient(AppsV1Api);
    expect((await apps.readNamespacedDeployment({ name: 'service1', namespace: third.environment })).spec?.replicas).toBe(2);
    expect((await apps.readNamespacedDeployment({ name: 'service1', namespace: first.environment })).spec?.replicas).toBe(1);
    // The first environment still shows the commit it was built from.
    expect((await status(remote, first)).environment.sources!.find((s) => s.uses.includes('template service1'))!.version).toBe(commit.slice(0, 7));
  }, 400_000);

  it('refuses S3 keys that would leave the cache folder, naming the key, and writes nothing', async () => {
    const cacheDir = join(work, 'cache-evil');
    const sources = new Sources({ cache: new SourceCache(cacheDir), s3: () => s3 });
    for (const [prefix, key] of [['evil-1', 'evil-1/../../etc/passwd'], ['evil-2', 'evil-2/a//b'], ['evil-3', 'evil-3/./x']] as const) {
      await upload(key, 'root:x:0:0');
      await upload(`${prefix}/fine.json`, '[]');
      const loc = { kind: 's3' as const, bucket, prefix, raw: `s3://${bucket}/${prefix}` };
      await expect(sources.resolve(loc, 'seed test')).rejects.toThrow(new RegExp(`${key.replaceAll('.', '\\.')}: envbot does not fetch this object: it has an empty, "\\." or "\\.\\." part`));
    }
    expect(filesUnder(work).filter((f) => f.startsWith(cacheDir) || f.endsWith('passwd'))).toEqual([]);
  }, 60_000);

  it('names a template from git that does not render by its location, not by the cache folder', async () => {
    const ref = uniqueEnv('projc', 'qa');
    const err = await create(broken, ref).catch((e: unknown) => e as Error);
    const result = ((err as { cause?: { details?: unknown[] } }).cause?.details?.[0] ?? {}) as { failedStep?: string; error?: string };
    expect(result.failedStep).toBe('manifests');
    expect(result.error).toMatch(new RegExp(`^git\\+file://${bare}#release/qa:projc/bad\\.yaml\\.hbs: cannot render: .*NO_SUCH_VARIABLE`));
    expect(await leftovers(broken, ref)).toEqual([]);
  }, 180_000);

  it.each([
    ['a bucket that does not exist', 'projb', /projects\.projb\.databases\.catalog\.seed: s3:\/\/envbot-no-such-bucket-0\/projb\/mongo\/catalog: the bucket "envbot-no-such-bucket-0" does not exist/],
    ['a ref that does not exist', 'proja', /projects\.proja\.services\.web\.template: git\+file:\/\/.*#no-such-branch:proja\/web\.yaml\.hbs: .* has no branch or tag "no-such-branch"/],
  ])('fails the create on %s, naming the location, and leaves nothing', async (_what, project, message) => {
    const ref = uniqueEnv(project, 'qa');
    const err = await create(broken, ref).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    const result = ((err as { cause?: { details?: unknown[] } }).cause?.details?.[0] ?? {}) as { failedStep?: string; error?: string };
    expect(result.failedStep).toBe('sources');
    expect(result.error).toMatch(message);
    expect(await leftovers(broken, ref)).toEqual([]);
    expect((await broken.deps.store.getEnvironment(ref.environment))?.state).toBe('failed');
  }, 120_000);
});
