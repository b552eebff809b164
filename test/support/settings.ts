// Settings for tests: the real local servers that `npm test` brought up (scripts/services up).
import { existsSync } from 'node:fs';
import { projectRoot, servicesEnvFile } from '../../shared/paths.js';
import { readSettings, type Settings } from '../../shared/settings.js';

export const repoRoot = projectRoot;
const servicesEnv = servicesEnvFile;

let cached: Settings | undefined;

/** The local stack's settings; fails loudly (never skips) when the stack was not brought up. */
export function testSettings(): Settings {
  if (!existsSync(servicesEnv)) {
    throw new Error(`${servicesEnv} is missing: run "npm test" (which starts the servers) or "scripts/services/services up" first.`);
  }
  cached ??= readSettings({ ...process.env, ENVBOT_CONFIG: undefined }, [servicesEnv]);
  return cached;
}

export function required(value: string | undefined, name: string): string {
  if (!value) throw new Error(`${name} is not set in ${servicesEnv}; run "scripts/services/services up".`);
  return value;
}
