// Credentials of an environment, resolved inside activities only: generated values come from
// envbot's encrypted store, shared ones from AWS Secrets Manager. Callers pass references (names).
import { randomInt } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { NotFoundError } from '../shared/errors.js';
import { DATABASE_PASSWORDS, type SqlEngine } from '../shared/model.js';
import type { ActivityDeps } from './deps.js';
import type { ResolvedEnv } from './environment.js';

export interface GeneratedSpec {
  name: string;
  length: number;
  alphabet: 'alphanumeric' | 'hex' | 'base64url';
}

const ALPHABETS = {
  alphanumeric: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
  hex: '0123456789abcdef',
  base64url: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
} as const;

/** Every secret envbot generates for the environment: one password per database engine used, and the catalogue's. */
export function generatedSpecs(r: ResolvedEnv): GeneratedSpec[] {
  const engines = new Set(Object.values(r.project.databases).map((d) => d.engine));
  const specs: GeneratedSpec[] = [...engines].map((e) => ({ name: DATABASE_PASSWORDS[e], length: 32, alphabet: 'alphanumeric' as const }));
  for (const [name, g] of Object.entries(r.project.secrets.generated)) specs.push({ name, length: g.length, alphabet: g.alphabet });
  return specs;
}

export function generateValue(spec: GeneratedSpec): string {
  const chars = ALPHABETS[spec.alphabet];
  let out = '';
  for (let i = 0; i < spec.length; i++) out += chars[randomInt(chars.length)];
  return out;
}

/** A generated secret's value; missing means the secrets step has not run for this environment. */
export async function generatedSecret(deps: ActivityDeps, r: ResolvedEnv, name: string): Promise<string> {
  const value = await deps.store.getSecret(r.env.name, name);
  if (value === undefined) throw new NotFoundError(`secret "${name}" of ${r.env.name} is not in envbot's store (the secrets step has not run)`);
  return value;
}

export function databasePassword(deps: ActivityDeps, r: ResolvedEnv, engine: 'mongo' | SqlEngine): Promise<string> {
  return generatedSecret(deps, r, DATABASE_PASSWORDS[engine]);
}

/** A shared secret from AWS Secrets Manager, by its catalogue name. */
export async function sharedSecret(deps: ActivityDeps, r: ResolvedEnv, name: string): Promise<string> {
  const ref = r.project.secrets.shared[name];
  if (!ref) throw new NotFoundError(`project ${r.env.project} has no shared secret "${name}"`);
  const client = new SecretsManagerClient(deps.aws);
  try {
    const res = await client.send(new GetSecretValueCommand({ SecretId: ref.secretsManager }));
    const text = res.SecretString ?? '';
    if (!ref.jsonKey) return text;
    const value = (JSON.parse(text) as Record<string, unknown>)[ref.jsonKey];
    if (typeof value !== 'string') throw new NotFoundError(`Secrets Manager secret ${ref.secretsManager} has no string key "${ref.jsonKey}"`);
    return value;
  } catch (err) {
    if ((err as { name?: string }).name === 'ResourceNotFoundException') {
      throw new NotFoundError(`shared secret "${name}" (${ref.secretsManager}) is not in AWS Secrets Manager; create it or fix secrets.shared.${name} in the catalogue`);
    }
    throw err;
  } finally {
    client.destroy();
  }
}

/** The admin URL of a database server named in the catalogue. */
export function serverUrl(r: ResolvedEnv, engine: 'mongo' | 'mysql' | 'postgres' | 'redis', server: string): string {
  const s = r.catalogue.catalogue.servers[engine][server];
  if (!s) throw new NotFoundError(`no ${engine} server "${server}" in the catalogue`);
  return s.url;
}
