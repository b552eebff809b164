// Secrets at rest: AES-256-GCM bound to environment and name, decryptable after key rotation.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { open, seal } from '../../shared/store/crypto.js';

const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };

describe('seal / open', () => {
  it('round-trips and never stores the plaintext', () => {
    const sealed = seal([k1], 'projb-qa', 'api-token', 'canary-value-123');
    expect(sealed.keyId).toBe('k1');
    expect(sealed.ciphertext.toString('utf8')).not.toContain('canary');
    expect(open([k1], 'projb-qa', 'api-token', sealed)).toBe('canary-value-123');
  });

  it('opens values sealed with an older key after rotation, and seals new ones with the newest', () => {
    const old = seal([k1], 'projb-qa', 'api-token', 'v');
    expect(open([k2, k1], 'projb-qa', 'api-token', old)).toBe('v');
    expect(seal([k2, k1], 'projb-qa', 'api-token', 'v').keyId).toBe('k2');
  });

  it('refuses a value moved to another environment or tampered with', () => {
    const sealed = seal([k1], 'projb-qa', 'api-token', 'v');
    expect(() => open([k1], 'proja-dev', 'api-token', sealed)).toThrow(/authenticate/);
    const tampered = { ...sealed, ciphertext: Buffer.from(sealed.ciphertext.map((b) => b ^ 1)) };
    expect(() => open([k1], 'projb-qa', 'api-token', tampered)).toThrow(/authenticate/);
  });

  it('names the missing key when it was removed from the ring', () => {
    const sealed = seal([k1], 'projb-qa', 'api-token', 'v');
    expect(() => open([k2], 'projb-qa', 'api-token', sealed)).toThrow(/key "k1", which is not in ENVBOT_SECRET_KEYS/);
  });
});
