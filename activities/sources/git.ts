// A git location's tree, with the machine's own `git` (README: "Seeds and templates in S3 or git"):
// `git ls-remote` resolves the ref to a commit, then that one commit is fetched shallowly into a
// scratch repository and checked out (symlinks as plain files, so nothing in the tree points
// outside it). Credentials are git's own (credential helper, SSH keys); git never prompts.
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Location } from '../../shared/catalogue/schema.js';
import { ForbiddenError, NotFoundError } from '../../shared/errors.js';

export type GitLocation = Extract<Location, { kind: 'git' }>;

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs git with arguments (never a shell); injected, so tests can count what is run. */
export type GitRunner = (args: string[], signal?: AbortSignal) => Promise<GitResult>;

export const systemGit: GitRunner = (args, signal) =>
  new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      args,
      {
        maxBuffer: 16 * 1024 * 1024,
        ...(signal ? { signal } : {}),
        // git and ssh may not ask anyone anything: a missing credential is an error.
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes', LC_ALL: 'C' },
      },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          reject((err as NodeJS.ErrnoException).code === 'ENOENT' ? new Error('git is not installed on this worker; install git (README: "Seeds and templates in S3 or git")') : err);
          return;
        }
        resolve({ code: err ? (err.code as unknown as number) : 0, stdout, stderr });
      },
    );
    child.stdin?.end();
  });

/** stderr lines of git that mean the repository is not there or not ours to read: retrying will not help. */
const MISSING = /does not appear to be a git repository|repository .* not found|not found|does not exist|no such file or directory/i;
const DENIED = /authentication failed|permission denied|could not read username|access denied|403/i;

function failure(r: GitResult, loc: GitLocation, where: string, doing: string): Error {
  const said = r.stderr.trim().split('\n').filter((l) => l && !l.startsWith('Please make sure') && !l.startsWith('and the repository')).join(' ').slice(0, 300);
  if (DENIED.test(said)) return new ForbiddenError(`${where}: ${loc.raw}: git may not read ${loc.repo} (${said}); give this worker a credential for it`);
  if (MISSING.test(said)) return new NotFoundError(`${where}: ${loc.raw}: there is no git repository at ${loc.repo} (${said}); fix the location in envbot.yaml`);
  // Network trouble and the like: retried.
  return new Error(`${where}: ${loc.raw}: ${doing} failed (git exit ${r.code}): ${said}`);
}

/** The commit `loc.ref` names now: a branch, then a tag (its commit), or the commit id written. */
export async function resolveRef(git: GitRunner, loc: GitLocation, where: string): Promise<string> {
  if (/^[0-9a-f]{40}$/.test(loc.ref)) return loc.ref;
  const wanted = [`refs/heads/${loc.ref}`, `refs/tags/${loc.ref}^{}`, `refs/tags/${loc.ref}`, loc.ref];
  const r = await git(['ls-remote', '--exit-code', '--', loc.repo, ...new Set(wanted.map((w) => w.replace(/\^\{\}$/, '')))]);
  if (r.code === 2) throw new NotFoundError(`${where}: ${loc.raw}: ${loc.repo} has no branch or tag "${loc.ref}"; fix the ref in envbot.yaml or push it`);
  if (r.code !== 0) throw failure(r, loc, where, 'git ls-remote');
  const refs = new Map(r.stdout.trim().split('\n').map((l) => [l.split('\t')[1] ?? '', l.split('\t')[0] ?? ''] as const));
  for (const w of wanted) {
    const sha = refs.get(w);
    if (sha && /^[0-9a-f]{40}$/.test(sha)) return sha;
  }
  throw new NotFoundError(`${where}: ${loc.raw}: ${loc.repo} has no branch or tag "${loc.ref}"; fix the ref in envbot.yaml or push it`);
}

/** Fetches `commit` of `loc.repo` alone (depth 1) and writes its files into `into` (which must be empty). */
export async function fetchCommit(git: GitRunner, loc: GitLocation, commit: string, into: string, where: string, signal?: AbortSignal): Promise<void> {
  const gitDir = `${into}.git`;
  const run = async (args: string[], doing: string) => {
    const r = await git(args, signal);
    if (r.code !== 0) throw failure(r, loc, where, doing);
  };
  try {
    await run(['init', '--quiet', '--bare', gitDir], 'git init');
    await run(['--git-dir', gitDir, 'fetch', '--quiet', '--depth', '1', '--no-tags', '--', loc.repo, commit], `git fetch of ${commit.slice(0, 7)}`);
    await run(['--git-dir', gitDir, '--work-tree', into, '-c', 'core.symlinks=false', 'checkout', '--quiet', '--force', commit, '--', '.'], 'git checkout');
  } finally {
    await rm(gitDir, { recursive: true, force: true });
  }
}

/** Where a location's path is inside its checked-out tree. */
export function gitPath(tree: string, loc: GitLocation): string {
  return loc.path ? join(tree, loc.path) : tree;
}
