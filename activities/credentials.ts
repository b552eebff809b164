// Credentials of an environment, resolved inside activities only: generated values come from
// envbot's encrypted store, shared ones from AWS Secrets Manager. Callers pass references (names).
import { randomInt } from 'node:crypto';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { awsError, awsErrorName } from '../shared/clients/aws.js';
import { CatalogueError, NotFoundError } from '../shared/errors.js';
import { DATABASE_PASSWORDS, type SqlEngine } from '../shared/model.js';
import { awsClients, type ActivityDeps } from './deps.js';
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

/** Every secret envbot generates for the environment: one password per database engine used (Redis too), and the catalogue's. */
export function generatedSpecs(r: ResolvedEnv): GeneratedSpec[] {
  const engines = new Set<keyof typeof DATABASE_PASSWORDS>(Object.values(r.project.databases).map((d) => d.engine));
  if (r.project.redis) engines.add('redis');
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

const notStored = (r: ResolvedEnv, name: string) => new NotFoundError(`secret "${name}" of ${r.env.name} is not in envbot's store (the secrets step has not run)`);

/** A generated secret's value; missing means the secrets step has not run for this environment. */
export async function generatedSecret(deps: ActivityDeps, r: ResolvedEnv, name: string): Promise<string> {
  const value = await deps.store.getSecret(r.env.name, name);
  if (value === undefined) throw notStored(r, name);
  return value;
}

export function databasePassword(deps: ActivityDeps, r: ResolvedEnv, engine: 'mongo' | 'redis' | SqlEngine): Promise<string> {
  return generatedSecret(deps, r, DATABASE_PASSWORDS[engine]);
}

/** A shared secret from AWS Secrets Manager, by its catalogue name. */
export async function sharedSecret(deps: ActivityDeps, r: ResolvedEnv, name: string): Promise<string> {
  const ref = r.project.secrets.shared[name];
  if (!ref) throw new NotFoundError(`project ${r.env.project} has no shared secret "${name}"`);
  try {
    const res = await awsClients(deps).secretsManager().send(new GetSecretValueCommand({ SecretId: ref.secretsManager }));
    const text = res.SecretString ?? '';
    if (!ref.jsonKey) return text;
    const value = (JSON.parse(text) as Record<string, unknown>)[ref.jsonKey];
    if (typeof value !== 'string') throw new NotFoundError(`Secrets Manager secret ${ref.secretsManager} has no string key "${ref.jsonKey}"`);
    return value;
  } catch (err) {
    if (awsErrorName(err) === 'ResourceNotFoundException') {
      throw new NotFoundError(`shared secret "${name}" (${ref.secretsManager}) is not in AWS Secrets Manager; create it or fix secrets.shared.${name} in the catalogue`);
    }
    throw awsError(err, `reading shared secret "${name}" (${ref.secretsManager}) from AWS Secrets Manager`);
  }
}

/** The admin URL of a database server named in the catalogue. */
export function serverUrl(r: ResolvedEnv, engine: 'mongo' | 'mysql' | 'postgres' | 'redis', server: string): string {
  const s = r.catalogue.catalogue.servers[engine][server];
  if (!s) throw new NotFoundError(`no ${engine} server "${server}" in the catalogue`);
  return s.url;
}

/** `scheme://[userinfo@]hosts[/path][?query]`; hosts may be a list (mongodb://a:1,b:2). */
function splitUrl(url: string, what: string): { scheme: string; userinfo?: string; hosts: string; query: URLSearchParams } {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(?:([^@/?#]*)@)?([^/?#]+)(\/[^?#]*)?(?:\?([^#]*))?/i.exec(url);
  if (!m) throw new CatalogueError('envbot.yaml', [{ path: what, problem: 'is not a URL of the form scheme://[user:password@]host:port' }]);
  return { scheme: m[1]!, ...(m[2] !== undefined ? { userinfo: m[2] } : {}), hosts: m[3]!, query: new URLSearchParams(m[5] ?? '') };
}

function withQuery(base: string, query: URLSearchParams): string {
  const q = query.toString();
  return q ? `${base}?${q}` : base;
}

/** The connection URL of one database for the environment's own user, on the server's host and port. */
export function databaseUrl(admin: string, where: string, user: string, password: string, database: string, engine: 'mongo' | 'mysql' | 'postgres'): string {
  const u = splitUrl(admin, where);
  // Connection options of the server (tls, sslmode, replicaSet) carry over; its credentials never do.
  for (const k of ['user', 'username', 'password', 'authSource']) u.query.delete(k);
  if (engine === 'mongo') u.query.set('authSource', 'admin');
  return withQuery(`${u.scheme}://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${u.hosts}/${encodeURIComponent(database)}`, u.query);
}

/** The environment's Redis URL: its own ACL user on the server's host and port, and `/<index>`; the server's credentials never carry over. */
function redisUrl(admin: string, where: string, user: string, password: string, index: number): string {
  const u = splitUrl(admin, where);
  for (const k of ['user', 'username', 'password', 'db']) u.query.delete(k);
  return withQuery(`${u.scheme}://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${u.hosts}/${index}`, u.query);
}

/**
 * Every credential of the environment by its key in the Kubernetes Secret: generated and shared
 * secrets, and a connection URL per database (the environment's own user) and for Redis. Values
 * never leave activities.
 */
export async function environmentCredentials(deps: ActivityDeps, r: ResolvedEnv): Promise<Map<string, string>> {
  const data = new Map<string, string>();
  const put = (key: string, value: string, from: string) => {
    if (data.has(key)) {
      throw new CatalogueError(r.catalogue.file, [{ path: from, problem: `makes Secret key "${key}", which another secret or database URL of ${r.env.project} already uses; rename one` }]);
    }
    data.set(key, value);
  };
  const specs = generatedSpecs(r);
  const generated = await deps.store.getSecrets(r.env.name, specs.map((spec) => spec.name));
  const stored = (name: string): string => {
    const value = generated.get(name);
    if (value === undefined) throw notStored(r, name);
    return value;
  };
  for (const spec of specs) put(spec.name, stored(spec.name), `projects.${r.env.project}.secrets.generated.${spec.name}`);
  for (const name of Object.keys(r.project.secrets.shared)) put(name, await sharedSecret(deps, r, name), `projects.${r.env.project}.secrets.shared.${name}`);
  for (const [db, spec] of Object.entries(r.project.databases)) {
    const where = `servers.${spec.engine}.${spec.server}.url`;
    const admin = serverUrl(r, spec.engine, spec.server);
    const password = stored(DATABASE_PASSWORDS[spec.engine]);
    const url =
      spec.engine === 'mongo'
        ? databaseUrl(admin, where, r.names.mongoUser, password, r.names.mongoDatabase(db), 'mongo')
        : spec.engine === 'mysql'
          ? databaseUrl(admin, where, r.names.mysqlUser, password, r.names.mysqlDatabase(db), 'mysql')
          : databaseUrl(admin, where, r.names.postgresUser, password, r.names.postgresDatabase(db), 'postgres');
    put(`${spec.engine}-${db}-url`, url, `projects.${r.env.project}.databases.${db}`);
  }
  if (r.project.redis) {
    const server = r.project.redis.server;
    const index = await deps.store.redisIndexOf(server, r.env.name);
    // No index claimed yet (the Redis step has not run): the key is left out rather than guessed.
    if (index !== undefined) {
      const url = redisUrl(serverUrl(r, 'redis', server), `servers.redis.${server}.url`, r.names.redisUser, stored(DATABASE_PASSWORDS.redis), index);
      put('redis-url', url, `projects.${r.env.project}.redis`);
    }
  }
  return data;
}
