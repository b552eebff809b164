// The Node.js guard (scripts/node/check) and bootstrap (scripts/node/ensure) that `npm start`, `npm test`,
// scripts/services, bin/envbot and .ci/run go through. The `node` on PATH is a stand-in that only prints
// a version: the versions under test (20, 22.12, none at all) are not installed here. Fetching the pinned
// Node from the registry (50 MB) is not run here: the cached copy is, and so is the node running this test.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/settings.js';

const check = join(repoRoot, 'scripts', 'node', 'check');
const ensure = join(repoRoot, 'scripts', 'node', 'ensure');
/** bash, env, uname, dirname and the rest: after the stand-in, so they never decide the node. */
const SYSTEM_PATH = '/usr/local/bin:/usr/bin:/bin';

/** A folder whose `node` prints `version` (or fails, printing nothing, when it is undefined). */
function standIn(version: string | undefined): string {
  const dir = mkdtempSync(join(tmpdir(), 'envbot-node-'));
  writeFileSync(join(dir, 'node'), version === undefined ? '#!/bin/sh\nexit 127\n' : `#!/bin/sh\necho ${version}\n`);
  chmodSync(join(dir, 'node'), 0o755);
  return dir;
}

function run(script: string, path: string, env: Record<string, string> = {}) {
  const r = spawnSync(script, [], { env: { PATH: path, HOME: mkdtempSync(join(tmpdir(), 'envbot-home-')), ...env }, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('scripts/node/check', () => {
  it.each([
    ['v20.20.2', 1],
    ['v22.12.0', 1],
    ['v22.13.0', 0],
    ['v22.23.5', 0],
    ['v24.22.3', 0],
    ['v26.1.0', 0],
  ])('node %s exits %i', (version, status) => {
    const r = run(check, `${standIn(version)}:${SYSTEM_PATH}`);
    expect(r.status).toBe(status);
    if (status === 0) expect(r.stderr).toBe('');
    else {
      expect(r.stderr).toContain(`envbot needs Node.js 22.13 or newer (22 or 24); the node on PATH is ${version}.`);
      expect(r.stderr).toContain(`export PATH="$(${ensure}):$PATH"`);
    }
  });

  it('says the node is missing when there is none that answers', () => {
    const r = run(check, `${standIn(undefined)}:${SYSTEM_PATH}`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the node on PATH is missing.');
  });

  it('--quiet sets only the exit code', () => {
    const r = spawnSync(check, ['--quiet'], { env: { PATH: `${standIn('v20.20.2')}:${SYSTEM_PATH}` }, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('');
  });

  it('accepts the node running these tests (the suite runs on a supported Node)', () => {
    expect(run(check, `${dirname(process.execPath)}:${SYSTEM_PATH}`).status).toBe(0);
  });
});

describe('scripts/node/ensure', () => {
  const pinned = /^version=(\S+)$/m.exec(readFileSync(ensure, 'utf8'))![1];
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';

  it('prints the folder of the node on PATH when that one is supported, and fetches nothing', () => {
    const cache = mkdtempSync(join(tmpdir(), 'envbot-cache-'));
    const r = run(ensure, `${dirname(process.execPath)}:${SYSTEM_PATH}`, { ENVBOT_CACHE_DIR: cache });
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(r.stdout.trim()).toBe(dirname(process.execPath));
  });

  it('prints the cached pinned Node when the node on PATH is too old, without fetching it again', () => {
    const cache = mkdtempSync(join(tmpdir(), 'envbot-cache-'));
    const bin = join(cache, `node-v${pinned}-linux-${arch}`, 'bin');
    mkdirSync(bin, { recursive: true });
    symlinkSync(process.execPath, join(bin, 'node'));
    const r = run(ensure, `${standIn('v20.20.2')}:${SYSTEM_PATH}`, { ENVBOT_CACHE_DIR: cache });
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(r.stdout.trim()).toBe(bin);
  });

  it('pins a Node 24, the one the README names', () => {
    expect(pinned).toMatch(/^24\.\d+\.\d+$/);
    expect(readFileSync(join(repoRoot, 'README.md'), 'utf8')).toContain(`Node ${pinned}, fetched once`);
  });
});
