// Settings: read once from the environment (and dotenv files), with messages that say what to do.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SettingsError } from '../../shared/errors.js';
import { temporalTls } from '../../shared/clients/temporal.js';
import { readSettings } from '../../shared/settings.js';

const key = Buffer.alloc(32, 7).toString('base64');

describe('readSettings', () => {
  it('takes defaults, and static AWS credentials only when both keys are set', () => {
    const s = readSettings({ DATABASE_URL: 'postgres://u:p@h/db', AWS_ACCESS_KEY_ID: 'a' });
    expect(s.temporal).toEqual({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'envbot', uiUrl: undefined });
    expect(s.http.port).toBe(3000);
    expect(s.aws.credentials).toBeUndefined();
    const t = readSettings({ DATABASE_URL: 'postgres://u:p@h/db', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' });
    expect(t.aws.credentials).toEqual({ accessKeyId: 'a', secretAccessKey: 'b' });
  });

  it('connects to Temporal over mTLS from PEM files when TEMPORAL_TLS_CERT and _KEY are set, and says what is wrong', () => {
    const dir = mkdtempSync(join(tmpdir(), 'envbot-tls-'));
    for (const f of ['tls.crt', 'tls.key', 'ca.crt']) writeFileSync(join(dir, f), `-----BEGIN ${f}-----\n`);
    const base = { DATABASE_URL: 'postgres://h/db' };
    expect(readSettings(base).temporal.tls).toBeUndefined();
    expect(temporalTls(readSettings(base))).toBeUndefined();
    const s = readSettings({ ...base, TEMPORAL_TLS_CERT: join(dir, 'tls.crt'), TEMPORAL_TLS_KEY: join(dir, 'tls.key'), TEMPORAL_TLS_CA: join(dir, 'ca.crt'), TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' });
    const tls = temporalTls(s)!;
    expect(Buffer.from(tls.clientCertPair!.crt).toString()).toContain('tls.crt');
    expect(Buffer.from(tls.clientCertPair!.key).toString()).toContain('tls.key');
    expect(Buffer.from(tls.serverRootCACertificate!).toString()).toContain('ca.crt');
    expect(tls.serverNameOverride).toBe('temporal.internal');
    expect(() => readSettings({ ...base, TEMPORAL_TLS_CERT: join(dir, 'tls.crt') })).toThrow(/TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together/);
    const missing = readSettings({ ...base, TEMPORAL_TLS_CERT: join(dir, 'nope.crt'), TEMPORAL_TLS_KEY: join(dir, 'tls.key') });
    expect(() => temporalTls(missing)).toThrow(/TEMPORAL_TLS_CERT: cannot read .*nope\.crt \(ENOENT\)/);
  });

  it('fills unset variables from dotenv files; the real environment wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'envbot-settings-'));
    const file = join(dir, 'services.env');
    writeFileSync(file, 'DATABASE_URL=postgres://file/db\nPORT=4000\nREDIS_URL=redis://file\n');
    const s = readSettings({ PORT: '5000' }, [file]);
    expect(s.databaseUrl).toBe('postgres://file/db');
    expect(s.http.port).toBe(5000);
    expect(s.servers.redis).toBe('redis://file');
  });

  it('says where DATABASE_URL comes from when it is missing', () => {
    expect(() => readSettings({})).toThrow(/DATABASE_URL is not set.*scripts\/services\/services up/);
  });

  it('reads a key ring, newest first, and explains a malformed one', () => {
    const s = readSettings({ DATABASE_URL: 'postgres://h/db', ENVBOT_SECRET_KEYS: `k2:${key},k1:${key}` });
    expect(s.secretKeys.map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(() => readSettings({ DATABASE_URL: 'postgres://h/db', ENVBOT_SECRET_KEYS: 'k1:short' })).toThrow(SettingsError);
    expect(() => readSettings({ DATABASE_URL: 'postgres://h/db', ENVBOT_SECRET_KEYS: 'k1:short' })).toThrow(/32 random bytes.*make a key with/);
  });

  it('reads the S3 webhook settings: off by default; topic ARNs checked; the test origin only on loopback', () => {
    const db = { DATABASE_URL: 'postgres://h/db' };
    expect(readSettings(db).s3Webhook).toEqual({ topicArns: [], testOrigin: undefined, debounceSeconds: 60, concurrency: 4 });
    const s = readSettings({ ...db, ENVBOT_SNS_TOPIC_ARNS: 'arn:aws:sns:us-east-1:123456789012:a, arn:aws-cn:sns:cn-north-1:123456789012:b', ENVBOT_SNS_TEST_ORIGIN: 'http://127.0.0.1:8443', ENVBOT_S3_REFRESH_DEBOUNCE_SECONDS: '30', ENVBOT_S3_REFRESH_CONCURRENCY: '2' });
    expect(s.s3Webhook).toEqual({ topicArns: ['arn:aws:sns:us-east-1:123456789012:a', 'arn:aws-cn:sns:cn-north-1:123456789012:b'], testOrigin: 'http://127.0.0.1:8443', debounceSeconds: 30, concurrency: 2 });
    expect(() => readSettings({ ...db, ENVBOT_SNS_TOPIC_ARNS: 'my-topic' })).toThrow(/"my-topic" is not an SNS topic ARN/);
    for (const origin of ['https://sns.us-east-1.amazonaws.com.evil.com', 'http://10.0.0.1:80', 'http://127.0.0.1:8443/path', 'file:///tmp/cert.pem']) {
      expect(() => readSettings({ ...db, ENVBOT_SNS_TEST_ORIGIN: origin })).toThrow(/ENVBOT_SNS_TEST_ORIGIN must be a loopback origin/);
    }
    expect(() => readSettings({ ...db, ENVBOT_S3_REFRESH_CONCURRENCY: '0' })).toThrow(SettingsError);
    expect(readSettings(db).storageCopy).toEqual({ pollSeconds: 30 });
    expect(readSettings({ ...db, ENVBOT_STORAGE_COPY_POLL_SECONDS: '2' }).storageCopy).toEqual({ pollSeconds: 2 });
    expect(() => readSettings({ ...db, ENVBOT_STORAGE_COPY_POLL_SECONDS: '0' })).toThrow(/ENVBOT_STORAGE_COPY_POLL_SECONDS/);
  });

  it("reads the chat outbox's edit budget: Slack's Tier 3 by default, a positive whole number when set", () => {
    const db = { DATABASE_URL: 'postgres://h/db' };
    expect(readSettings(db).chat).toEqual({ editsPerMinute: 50 });
    expect(readSettings({ ...db, ENVBOT_CHAT_EDITS_PER_MINUTE: '20' }).chat).toEqual({ editsPerMinute: 20 });
    for (const bad of ['0', '-3', '2.5', 'many']) expect(() => readSettings({ ...db, ENVBOT_CHAT_EDITS_PER_MINUTE: bad })).toThrow(/ENVBOT_CHAT_EDITS_PER_MINUTE/);
  });
});
