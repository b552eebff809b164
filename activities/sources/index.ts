// sources: seeds and templates kept in S3 or git. At the start of a create or reset the
// resolveSources activity resolves every such location of the environment to a version (S3: a
// digest of its keys and ETags; git: the commit its ref names now), fetches each version into the
// local cache once (cache.ts), and records the versions on the environment. The steps after it
// read the tree of the recorded version (sourcePath), so one operation never mixes two versions;
// a worker without that tree in its cache fetches the same version again (a git commit by its id;
// S3 only while the objects are still those, else the operation fails and says to run it again).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { diskPath } from '../../shared/catalogue/load.js';
import { shortVersion, type Location, type Project } from '../../shared/catalogue/schema.js';
import { templateAt, trackedSource } from '../../shared/catalogue/tracked.js';
import { awsError } from '../../shared/clients/aws.js';
import { CatalogueError, ConflictError, NotFoundError } from '../../shared/errors.js';
import type { EnvRef } from '../../shared/model.js';
import type { SourceVersion } from '../../shared/store/store.js';
import { awsClients, type ActivityDeps } from '../deps.js';
import { currentRun } from '../environments.js';
import { resolveEnv, type ResolvedEnv } from '../environment.js';
import { pulse, type Pulse } from '../heartbeat.js';
import { SourceCache } from './cache.js';
import { fetchCommit, gitPath, resolveRef, systemGit, type GitLocation, type GitRunner } from './git.js';
import { downloadS3, listS3, type S3Location } from './s3.js';

export type RemoteLocation = S3Location | GitLocation;

/** One use of an S3 or git location by the project: what uses it, and where the catalogue says so. */
export interface SourceUse {
  location: RemoteLocation;
  /** `seed catalog`, `seed redis`, `template service1`. */
  use: string;
  /** The path in envbot.yaml, for messages. */
  where: string;
}

const isRemote = (l: Location | undefined): l is RemoteLocation => l?.kind === 's3' || l?.kind === 'git';

/**
 * The project's seeds and templates kept in S3 or git. `only`: the resource rows a reset re-seeds
 * (mongo, mysql, postgres, redis), whose seeds alone are taken; absent (a create), every one.
 */
export function remoteUses(project: string, p: Project, only?: readonly string[], branches: Readonly<Record<string, string>> = {}): SourceUse[] {
  const out: SourceUse[] = [];
  const at = (...path: string[]) => ['projects', project, ...path].join('.');
  if (!only) {
    for (const [svc, s] of Object.entries(p.services)) {
      // A service that follows a branch: its template on that branch (the create form's choice, or the default).
      const template = templateAt(s, (trackedSource(s) && branches[svc]) || (s.template.kind === 'git' ? s.template.ref : ''));
      if (isRemote(template)) out.push({ location: template, use: `template ${svc}`, where: at('services', svc, 'template') });
    }
  }
  for (const [db, d] of Object.entries(p.databases)) {
    if (isRemote(d.seed) && (!only || only.includes(d.engine))) out.push({ location: d.seed, use: `seed ${db}`, where: at('databases', db, 'seed') });
  }
  if (isRemote(p.redis?.seed) && (!only || only.includes('redis'))) out.push({ location: p.redis.seed, use: 'seed redis', where: at('redis', 'seed') });
  return out;
}

/** The branch per service a create was asked for (`spec.branches`, recorded by beginOperation). */
export function createBranches(spec: Record<string, unknown> | undefined): Record<string, string> {
  const b = spec?.branches;
  if (!b || typeof b !== 'object') return {};
  return Object.fromEntries(Object.entries(b as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

export interface SourcesOptions {
  cache: SourceCache;
  s3: () => S3Client;
  git?: GitRunner;
}

/** Resolves and fetches S3 and git locations into the cache; one per worker process. */
export class Sources {
  readonly cache: SourceCache;
  private readonly s3: () => S3Client;
  private readonly git: GitRunner;
  /** Local paths handed out → how to name a file under each, as the catalogue's author knows it. */
  private readonly names = new Map<string, (rest: string) => string>();

  constructor(o: SourcesOptions) {
    this.cache = o.cache;
    this.s3 = o.s3;
    this.git = o.git ?? systemGit;
  }

  private s3Key(loc: S3Location, version: string, file: boolean): string {
    return `s3${file ? 'file' : ''}-${digest(`${loc.bucket}/${loc.prefix}`)}-${version.slice(0, 32)}`;
  }

  private gitKey(loc: GitLocation, commit: string): string {
    return `git-${digest(loc.repo)}-${commit}`;
  }

  /** Fetches an S3 location as it is now; its version and local path. */
  private async fetchS3(loc: S3Location, where: string, p?: Pulse): Promise<{ version: string; path: string }> {
    const list = () => listS3(this.s3(), loc, where);
    const listing = p ? await p.during(() => ({ location: loc.raw, listing: true }), list) : await list();
    let done = 0;
    const download = (into: string) =>
      downloadS3(this.s3(), loc, listing, into, where, (n) => (done = n), p?.signal).catch((err: unknown) => {
        throw awsError(err, `fetching ${loc.raw}`);
      });
    const dir = await this.cache.ensure(this.s3Key(loc, listing.version, listing.file !== undefined), (into) =>
      p ? p.during(() => ({ location: loc.raw, objects: done, of: listing.objects.length }), () => download(into)) : download(into),
    );
    return { version: listing.version, path: listing.file ? join(dir, listing.file) : dir };
  }

  /** The commit's tree in the cache (fetched if it is not there), and the location's path in it (which must exist). */
  private async gitTree(loc: GitLocation, commit: string, where: string, p?: Pulse): Promise<string> {
    const tree = await this.cache.ensure(this.gitKey(loc, commit), (into) =>
      p ? p.during(() => ({ location: loc.raw, commit }), () => fetchCommit(this.git, loc, commit, into, where, p.signal)) : fetchCommit(this.git, loc, commit, into, where),
    );
    const path = gitPath(tree, loc);
    if (!existsSync(path)) throw new NotFoundError(`${where}: ${loc.raw}: "${loc.path}" is not in ${loc.repo} at ${loc.ref} (commit ${commit.slice(0, 7)}); fix the path in envbot.yaml or push it`);
    return path;
  }

  /**
   * The version `loc` is at now, fetched into the cache. `refs` remembers the commits resolved
   * during one operation, so locations in one repository and ref share one `git ls-remote`.
   */
  async resolve(loc: RemoteLocation, where: string, p?: Pulse, refs = new Map<string, Promise<string>>()): Promise<string> {
    if (loc.kind === 's3') {
      const { version, path } = await this.fetchS3(loc, where, p);
      this.name(path, loc);
      return version;
    }
    const key = `${loc.repo}#${loc.ref}`;
    let commit = refs.get(key);
    if (!commit) {
      const ask = () => resolveRef(this.git, loc, where);
      refs.set(key, (commit = p ? p.during(() => ({ location: loc.raw, resolving: loc.ref }), ask) : ask()));
    }
    const sha = await commit;
    this.name(await this.gitTree(loc, sha, where, p), loc);
    return sha;
  }

  /** The local path of `loc` at `version` (from the cache, or fetched again as explained above). */
  async path(loc: RemoteLocation, version: string, where: string, p?: Pulse): Promise<string> {
    return this.name(await this.localPath(loc, version, where, p), loc);
  }

  private name(local: string, loc: RemoteLocation): string {
    const base = loc.kind === 's3' ? loc.prefix.replace(/\/$/, '') : loc.path;
    const head = loc.kind === 's3' ? `s3://${loc.bucket}/` : `git+${loc.repo}#${loc.ref}:`;
    this.names.set(local, (rest) => (rest ? `${head}${base ? `${base}/` : ''}${rest}` : loc.raw));
    return local;
  }

  /**
   * A seed or template problem naming a file under a fetched tree, named instead as the catalogue's
   * author knows it (`git+https://host/repo.git#main:projb/service1.yaml.hbs`); anything else as it is.
   */
  named(err: unknown): unknown {
    if (!(err instanceof CatalogueError)) return err;
    for (const [local, name] of this.names) {
      if (err.file === local || err.file.startsWith(`${local}/`)) return new CatalogueError(name(err.file.slice(local.length + 1)), err.problems);
    }
    return err;
  }

  private async localPath(loc: RemoteLocation, version: string, where: string, p?: Pulse): Promise<string> {
    if (loc.kind === 'git') return this.gitTree(loc, version, where, p);
    const folder = await this.cache.lookup(this.s3Key(loc, version, false));
    if (folder) return folder;
    const file = await this.cache.lookup(this.s3Key(loc, version, true));
    if (file) return join(file, basename(loc.prefix));
    const now = await this.fetchS3(loc, where, p);
    if (now.version !== version) {
      throw new ConflictError(
        `${where}: ${loc.raw} changed after this operation fetched it (version ${shortVersion(loc.raw, version)}, now ${shortVersion(loc.raw, now.version)}) and this worker no longer has the version it started with; run the operation again`,
      );
    }
    return now.path;
  }
}

/** The worker's fetcher: the one handed in, or made once from the deps. */
export function sourcesOf(deps: ActivityDeps): Sources {
  return (deps.sources ??= new Sources({ cache: new SourceCache(deps.sourceCache ?? join(tmpdir(), 'envbot-sources')), s3: () => awsClients(deps).s3() }));
}

/**
 * The local path of a seed or template: a disk location as it is; an S3 or git one at the version
 * this environment's operation recorded (resolved now when none is recorded: an environment made
 * before envbot fetched sources, or an activity run alone).
 */
export async function sourcePath(deps: ActivityDeps, r: ResolvedEnv, loc: Location, where: string, p?: Pulse): Promise<string> {
  if (loc.kind === 'disk') return diskPath(deps.catalogue, loc);
  const sources = sourcesOf(deps);
  const recorded = (await deps.store.getEnvironment(r.env.name))?.sources[loc.raw]?.version;
  return sources.path(loc, recorded ?? (await sources.resolve(loc, where, p)), where, p);
}

/** Runs `fn`; a seed or template problem it throws names its file by location, not by cache folder. */
export async function withSourceNames<T>(deps: ActivityDeps, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw deps.sources ? deps.sources.named(err) : err;
  }
}

export interface ResolveSourcesInput {
  ref: EnvRef;
  /** A reset: the rows it re-seeds; only their seeds are fetched. Absent: a create, everything. */
  only?: string[];
}

export interface ResolveSourcesResult {
  /** Location → version, of what this operation will read. */
  sources: { location: string; version: string; uses: string[] }[];
}

export function createSourcesActivities(deps: ActivityDeps) {
  return {
    /**
     * Resolves every S3 and git seed and template of the environment (of a reset: the seeds it
     * re-seeds) to its version, fetches each version into the cache once, and records the versions
     * on the environment. A bucket, prefix, repository, ref or path that is not there fails with
     * the location and where envbot.yaml names it.
     */
    async resolveSources({ ref, only }: ResolveSourcesInput): Promise<ResolveSourcesResult> {
      deps.faults?.check('resolveSources');
      const r = resolveEnv(deps.catalogue, ref);
      const sources = sourcesOf(deps);
      const p = pulse();
      const removed = await sources.cache.clean().catch((err: unknown) => {
        deps.log.warn({ err }, 'could not clean the source cache');
        return [];
      });
      if (removed.length) deps.log.info({ removed }, 'source cache: removed versions not used lately');
      const byLocation = new Map<string, { use: SourceUse; uses: string[] }>();
      const branches = only ? {} : createBranches((await deps.store.getEnvironment(r.env.name))?.spec);
      for (const u of remoteUses(r.env.project, r.project, only, branches)) {
        const seen = byLocation.get(u.location.raw);
        if (seen) seen.uses.push(u.use);
        else byLocation.set(u.location.raw, { use: u, uses: [u.use] });
      }
      const refs = new Map<string, Promise<string>>();
      const recorded: Record<string, SourceVersion> = {};
      for (const [raw, { use, uses }] of byLocation) {
        p.check();
        const version = await sources.resolve(use.location, use.where, p, refs);
        recorded[raw] = { version, uses };
        deps.log.info({ environment: r.env.name, location: raw, version, uses }, 'source resolved');
      }
      if (byLocation.size && !(await deps.store.recordSources(r.env.name, recorded, currentRun()))) {
        throw new ConflictError(`${r.env.name} is no longer this operation's: another one took it over, so its sources were not recorded`);
      }
      return { sources: Object.entries(recorded).map(([location, v]) => ({ location, ...v })) };
    },
  };
}
