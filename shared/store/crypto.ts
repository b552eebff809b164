// AES-256-GCM for secrets at rest. The first key encrypts; any key in the ring decrypts by its id.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SettingsError } from '../errors.js';
import type { SecretKey } from '../settings.js';

export interface Sealed {
  keyId: string;
  iv: Buffer;
  ciphertext: Buffer;
  authTag: Buffer;
}

/** Binds a ciphertext to its row, so a value copied to another environment or name fails to open. */
function aad(environment: string, name: string): Buffer {
  return Buffer.from(`envbot:${environment}:${name}`);
}

export function seal(keys: readonly SecretKey[], environment: string, name: string, plaintext: string): Sealed {
  const current = keys[0];
  if (!current) throw new SettingsError('ENVBOT_SECRET_KEYS is not set: envbot needs a key to store secrets encrypted.');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', current.key, iv);
  cipher.setAAD(aad(environment, name));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { keyId: current.id, iv, ciphertext, authTag: cipher.getAuthTag() };
}

export function open(keys: readonly SecretKey[], environment: string, name: string, sealed: Sealed): string {
  const key = keys.find((k) => k.id === sealed.keyId);
  if (!key) {
    throw new SettingsError(`secret ${environment}/${name} is encrypted with key "${sealed.keyId}", which is not in ENVBOT_SECRET_KEYS; add that key back.`);
  }
  const decipher = createDecipheriv('aes-256-gcm', key.key, sealed.iv);
  decipher.setAAD(aad(environment, name));
  decipher.setAuthTag(sealed.authTag);
  return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8');
}
