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
  /** Ports it listens on, first the main one. */
  ports: number[];
  /** Other servers that must be ready first. */
  after?: string[];
  /** True when a server answers on the port with the credentials envbot writes to services.env. */
  ready(ctx: Context): Promise<boolean>;
  /** Installs (cached) and starts it, returning once it is ready. */
  start(ctx: Context): Promise<void>;
  /** Idempotent set-up after it is ready (users, databases). */
  setup?(ctx: Context): Promise<void>;
  /** Connection settings for services.env. */
  env(ctx: Context): Record<string, string>;
}

export function createContext(opts: { quiet?: boolean } = {}): Context {
  const toolDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const repoRoot = resolve(toolDir, '..', '..');
  const stateDir = resolve(process.env.ENVBOT_STATE_DIR ?? join(repoRoot, '.envbot'));
  const cacheDir = resolve(process.env.ENVBOT_CACHE_DIR ?? join(homedir(), '.cache', 'envbot'));
  for (const d of ['data', 'logs', 'run']) mkdirSync(join(stateDir, d), { recursive: true });
  mkdirSync(cacheDir, { recursive: true });
  return {
    repoRoot,
    toolDir,
    stateDir,
    cacheDir,
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
