// Where the local stack keeps its state, caches and logs, and what every server definition provides.
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Context {
  /** The repository root. */
  repoRoot: string;
  /** scripts/services: wrapper Go modules, requirements.txt, launchers. */
  toolDir: string;
  /** Per-checkout state: data, logs, pid files, services.env (git-ignored `.envbot/`). */
  stateDir: string;
  /** Built binaries and the Python venv, shared by checkouts, keyed by version. */
  cacheDir: string;
  /** Added to every server's standard port, so a second stack (a fresh clone, a test) can run beside this one. */
  portOffset: number;
  /** A server's port: its standard one plus portOffset. */
  port: (standard: number) => number;
  /** Fixed credentials of the local, loopback-only servers. */
  user: string;
  password: string;
  log: (message: string) => void;
  dataDir: (name: string) => string;
  logFile: (name: string) => string;
  pidFile: (name: string) => string;
}

export interface Server {
  name: string;
  /** Standard ports it listens on, first the main one (ctx.port() gives the ones in use). */
  ports: number[];
  /** Other servers that must be ready first. */
  after?: string[];
  /** True when a server answers on the port with the credentials envbot writes to services.env. */
  ready(ctx: Context): Promise<boolean>;
  /**
   * Installs (or builds, cached) what start needs. `up` runs every install before it starts any
   * server, so no readiness wait competes with a compile for the CPU.
   */
  install?(ctx: Context): Promise<unknown>;
  /** Starts it from what install made, returning once it is ready. */
  start(ctx: Context): Promise<void>;
  /** Idempotent set-up after it is ready (users, databases). */
  setup?(ctx: Context): Promise<void>;
  /** Connection settings for services.env. */
  env(ctx: Context): Record<string, string>;
}

export interface ContextOptions {
  quiet?: boolean;
  /** Default: ENVBOT_STATE_DIR, else `<repo>/.envbot`. */
  stateDir?: string;
  /** Default: ENVBOT_PORT_OFFSET, else 0. */
  portOffset?: number;
}

export function createContext(opts: ContextOptions = {}): Context {
  const toolDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const repoRoot = resolve(toolDir, '..', '..');
  const stateDir = resolve(opts.stateDir ?? process.env.ENVBOT_STATE_DIR ?? join(repoRoot, '.envbot'));
  const cacheDir = resolve(process.env.ENVBOT_CACHE_DIR ?? join(homedir(), '.cache', 'envbot'));
  const portOffset = opts.portOffset ?? Number(process.env.ENVBOT_PORT_OFFSET ?? 0);
  if (!Number.isInteger(portOffset) || portOffset < 0 || portOffset > 30_000) {
    throw new Error(`ENVBOT_PORT_OFFSET must be a whole number from 0 to 30000 (got ${portOffset})`);
  }
  for (const d of ['data', 'logs', 'run']) mkdirSync(join(stateDir, d), { recursive: true });
  mkdirSync(cacheDir, { recursive: true });
  return {
    repoRoot,
    toolDir,
    stateDir,
    cacheDir,
    portOffset,
    port: (standard) => standard + portOffset,
    user: 'envbot',
    password: 'envbot-local',
    log: opts.quiet ? () => undefined : (m) => process.stderr.write(`[services] ${m}\n`),
    dataDir: (name) => {
      const d = join(stateDir, 'data', name);
      mkdirSync(d, { recursive: true });
      return d;
    },
    logFile: (name) => join(stateDir, 'logs', `${name}.log`),
    pidFile: (name) => join(stateDir, 'run', `${name}.pid`),
  };
}
