// Installers for the local stack: Debian packages, one cached Python venv, Go builds cached by version.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { have, run, runLong } from './proc.js';
import type { Context } from './context.js';

let aptUpdated = false;
let aptQueue: Promise<unknown> = Promise.resolve();

/** Installs Debian packages (serialised: apt holds one lock). Needs root, as CI and the dev machines run. */
export function aptInstall(ctx: Context, packages: string[]): Promise<void> {
  const job = aptQueue.then(async () => {
    if (process.getuid?.() !== 0) {
      throw new Error(
        `Debian packages ${packages.join(', ')} are missing and installing them needs root: ` +
          `run "sudo apt-get install -y ${packages.join(' ')}" and try again.`,
      );
    }
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    if (!aptUpdated) {
      ctx.log(`apt-get update`);
      await run('apt-get', ['update', '-qq'], { env });
      aptUpdated = true;
    }
    ctx.log(`apt-get install ${packages.join(' ')}`);
    await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { env });
  });
  aptQueue = job.catch(() => undefined);
  return job;
}

let venvJob: Promise<string> | undefined;

/** Where the venv for the current requirements.txt lives. */
export function venvDir(ctx: Context): string {
  const requirements = join(ctx.toolDir, 'requirements.txt');
  const key = createHash('sha256').update(readFileSync(requirements)).digest('hex').slice(0, 12);
  return join(ctx.cacheDir, `pyvenv-${key}`);
}

/** The cached venv holding temporal, temporal-test-server and moto; keyed by requirements.txt. */
export function pythonVenv(ctx: Context): Promise<string> {
  venvJob ??= (async () => {
    const requirements = join(ctx.toolDir, 'requirements.txt');
    const venv = venvDir(ctx);
    const marker = join(venv, '.complete');
    if (existsSync(marker)) return venv;
    const python = (await have('python3')) ? 'python3' : undefined;
    if (!python) await aptInstall(ctx, ['python3', 'python3-venv']);
    rmSync(venv, { recursive: true, force: true });
    ctx.log(`creating Python venv ${venv} (temporal, moto); once per requirements change`);
    try {
      await run('python3', ['-m', 'venv', venv]);
    } catch {
      await aptInstall(ctx, ['python3-venv']);
      await run('python3', ['-m', 'venv', venv]);
    }
    const pipArgs = ['install', '-q', '--disable-pip-version-check', '-r', requirements];
    await runLong('pip install (temporal, moto)', join(venv, 'bin', 'pip'), pipArgs, { logFile: join(venv, 'pip-install.log'), onWait: ctx.log });
    await run('touch', [marker]);
    return venv;
  })();
  return venvJob;
}

let goQueue: Promise<unknown> = Promise.resolve();

/**
 * Builds `pkg` inside the wrapper module `scripts/services/go/<module>` into
 * `<cache>/<name>-<version>/<name>`, once. Go builds run one at a time: two at once
 * on two cores only make both slower and double the memory. No fixed time limit (a busy
 * machine takes much longer); a build fails when go fails or stops using the CPU.
 */
export function goBuild(
  ctx: Context,
  spec: {
    name: string;
    version: string;
    module: string;
    pkg: string;
    ldflags?: string;
    minutes: number;
    /** Files to add to the vendored dependencies before building (path under vendor/ → content). */
    vendorFiles?: Record<string, string>;
  },
): Promise<string> {
  const dir = join(ctx.cacheDir, `${spec.name}-${spec.version}`);
  const bin = join(dir, spec.name);
  if (existsSync(bin)) return Promise.resolve(bin);
  const job = goQueue.then(async () => {
    if (existsSync(bin)) return bin;
    if (!(await have('go'))) {
      throw new Error(`Go is needed to build ${spec.name} ${spec.version} once: install Go 1.26 or newer (kwok v0.8 needs it) and try again.`);
    }
    mkdirSync(dir, { recursive: true });
    const started = Date.now();
    ctx.log(`building ${spec.name} ${spec.version} from the Go module proxy (once; about ${spec.minutes} min)`);
    const tmp = `${bin}.partial`;
    const logFile = join(dir, 'build.log');
    // Niced: the machine is shared (other checkouts' tests, a developer's editor); a build may wait.
    const go = (what: string, goArgs: string[], cwd: string) => runLong(what, 'nice', ['-n', '15', 'go', ...goArgs], { cwd, logFile, onWait: ctx.log });
    const args = ['build', '-p', '2', '-trimpath', '-o', tmp];
    args.push('-ldflags', `-s -w ${spec.ldflags ?? ''}`.trim());
    let cwd = join(ctx.toolDir, 'go', spec.module);
    const vendorFiles = Object.entries(spec.vendorFiles ?? {});
    if (vendorFiles.length > 0) {
      // Generated files a module's own build would make (the module cache is read-only), added to a vendored copy.
      const work = join(dir, 'build');
      rmSync(work, { recursive: true, force: true });
      cpSync(cwd, work, { recursive: true });
      await go(`go mod vendor for ${spec.name}`, ['mod', 'vendor'], work);
      for (const [path, content] of vendorFiles) writeFileSync(join(work, 'vendor', path), content);
      args.push('-mod=vendor');
      cwd = work;
    }
    args.push(spec.pkg);
    await go(`building ${spec.name}`, args, cwd);
    renameSync(tmp, bin);
    rmSync(join(dir, 'build'), { recursive: true, force: true });
    ctx.log(`built ${spec.name} in ${Math.round((Date.now() - started) / 1000)}s`);
    return bin;
  });
  goQueue = job.catch(() => undefined);
  return job;
}
