// Values envbot must keep secret, AES-256-GCM encrypted at rest (crypto.ts): the secrets it generated
// for environments, and the admin connections of database servers it made things on, so a destroy can
// still reach a server that was removed from the catalogue. Server URLs carry admin passwords: they
// are never logged, never listed with an environment's secrets, and never open as one.
import type pg from 'pg';
import type { SecretKey } from '../settings.js';
import { open, seal, type Sealed } from './crypto.js';

interface SealedRow {
  key_id: string;
  iv: Buffer;
  ciphertext: Buffer;
  auth_tag: Buffer;
}

const SEALED_COLUMNS = 'key_id, iv, ciphertext, auth_tag';
const sealedParams = (s: Sealed): unknown[] => [s.keyId, s.iv, s.ciphertext, s.authTag];

/**
 * What a server's connection is sealed with in place of (environment, secret name). An environment's
 * secret is bound to `envbot:<environment>:<name>`, and an environment name holds only lowercase
 * letters, digits and '-' (the environments table checks it); `server/<engine>` is no such name, so a
 * row copied from one table to the other fails to open, whatever the secret's name.
 */
const serverContext = (engine: string, server: string): [string, string] => [`server/${engine}`, server];

export class Secrets {
  constructor(
    private readonly pool: pg.Pool,
    private readonly keys: readonly SecretKey[],
  ) {}

  /** Stores a generated secret encrypted; keeps the existing value when there is one (idempotent). */
  async put(environment: string, name: string, value: string): Promise<void> {
    await this.putAll(environment, [[name, value]]);
  }

  /** Stores several generated secrets as `put` does each, in one statement. */
  async putAll(environment: string, values: readonly (readonly [name: string, value: string])[]): Promise<void> {
    if (!values.length) return;
    const params: unknown[] = [environment];
    const rows = values.map(([name, value]) => {
      const at = params.length;
      params.push(name, ...sealedParams(seal(this.keys, environment, name, value)));
      return `($1, ${[1, 2, 3, 4, 5].map((i) => `$${at + i}`).join(', ')})`;
    });
    await this.pool.query(`INSERT INTO secrets (environment, name, ${SEALED_COLUMNS}) VALUES ${rows.join(', ')} ON CONFLICT (environment, name) DO NOTHING`, params);
  }

  async get(environment: string, name: string): Promise<string | undefined> {
    return this.openOne(`SELECT ${SEALED_COLUMNS} FROM secrets WHERE environment = $1 AND name = $2`, [environment, name]);
  }

  /** The stored values of `names` (those stored; a missing one is left out), read in one statement. */
  async getAll(environment: string, names: readonly string[]): Promise<Map<string, string>> {
    const { rows } = await this.pool.query<SealedRow & { name: string }>(`SELECT name, ${SEALED_COLUMNS} FROM secrets WHERE environment = $1 AND name = ANY($2)`, [environment, names]);
    return new Map(rows.map((r) => [r.name, open(this.keys, environment, r.name, { keyId: r.key_id, iv: r.iv, ciphertext: r.ciphertext, authTag: r.auth_tag })]));
  }

  /** Names of the generated secrets stored for an environment (never a server's connection). */
  async names(environment: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ name: string }>('SELECT name FROM secrets WHERE environment = $1 ORDER BY name', [environment]);
    return rows.map((r) => r.name);
  }

  async deleteAll(environment: string): Promise<void> {
    await this.pool.query('DELETE FROM secrets WHERE environment = $1', [environment]);
  }

  /** Remembers (or updates) the admin URL of `engine` server `server`, encrypted. */
  async rememberServer(engine: string, server: string, url: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO server_connections (engine, server, ${SEALED_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (engine, server) DO UPDATE SET key_id = EXCLUDED.key_id, iv = EXCLUDED.iv,
         ciphertext = EXCLUDED.ciphertext, auth_tag = EXCLUDED.auth_tag, updated_at = now()`,
      [engine, server, ...sealedParams(seal(this.keys, ...serverContext(engine, server), url))],
    );
  }

  /** The admin URL last remembered for `engine` server `server`, if any. */
  async rememberedServer(engine: string, server: string): Promise<string | undefined> {
    return this.openOne(`SELECT ${SEALED_COLUMNS} FROM server_connections WHERE engine = $1 AND server = $2`, [engine, server], serverContext(engine, server));
  }

  /** Decrypts the one row `sql` selects, bound to `context` (the row's own key by default). */
  private async openOne(sql: string, key: [string, string], context: [string, string] = key): Promise<string | undefined> {
    const { rows } = await this.pool.query<SealedRow>(sql, key);
    const r = rows[0];
    return r ? open(this.keys, ...context, { keyId: r.key_id, iv: r.iv, ciphertext: r.ciphertext, authTag: r.auth_tag }) : undefined;
  }
}
