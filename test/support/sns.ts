// Amazon SNS as a test plays it: a signing key and a self-signed X.509 certificate (made by the
// openssl CLI: node:crypto verifies certificates but cannot make one), messages in SNS's documented
// JSON and signed as SNS signs them, and a local HTTP server standing in for the SNS host: it serves
// the certificate and answers SubscribeURL, counting what it was asked.
import { execFileSync } from 'node:child_process';
import { createSign, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringToSign, type SnsMessage } from '../../bot/webhooks/sns-signature.js';

export interface SigningKey {
  key: string;
  certificate: string;
}

/** A 2048-bit RSA key and a certificate for it, valid from now for `days` (SNS's certificates name sns.amazonaws.com). */
export function signingKey(days = 2): SigningKey {
  const dir = mkdtempSync(join(tmpdir(), 'envbot-sns-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', String(days), '-subj', '/CN=sns.amazonaws.com'], { stdio: 'pipe' });
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), certificate: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type Unsigned<T> = T extends unknown ? Omit<T, 'Signature' | 'SignatureVersion' | 'SigningCertURL'> : never;

/** Signs `m` as SNS does: RSA over the type's string to sign, SHA1 for version 1, SHA256 for 2. */
export function sign(m: Unsigned<SnsMessage>, key: string, certUrl: string, version: '1' | '2' = '2'): SnsMessage {
  const unsigned = { ...m, SignatureVersion: version, Signature: '', SigningCertURL: certUrl } as SnsMessage;
  const signature = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256').update(stringToSign(unsigned), 'utf8').sign(key, 'base64');
  return { ...unsigned, Signature: signature };
}

export const TOPIC = 'arn:aws:sns:us-east-1:123456789012:envbot-media-changes';

/** An S3 event notification's Message for objects of `bucket` (keys URL-encoded, as S3 sends them). */
export function s3EventMessage(bucket: string, keys: string[], eventName = 'ObjectCreated:Put'): string {
  return JSON.stringify({
    Records: keys.map((key) => ({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      eventTime: new Date().toISOString(),
      eventName,
      s3: { s3SchemaVersion: '1.0', bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` }, object: { key: encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+'), size: 10, sequencer: '0055AED6DCD90281E5' } },
    })),
  });
}

/** A Notification from `topic` carrying `message`, stamped now unless told. */
export function notification(message: string, o: { topic?: string; timestamp?: string; messageId?: string } = {}): Unsigned<SnsMessage> {
  return {
    Type: 'Notification',
    MessageId: o.messageId ?? randomUUID(),
    TopicArn: o.topic ?? TOPIC,
    Subject: 'Amazon S3 Notification',
    Message: message,
    Timestamp: o.timestamp ?? new Date().toISOString(),
    UnsubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${TOPIC}:${randomUUID()}`,
  };
}

export interface FakeSnsHost {
  origin: string;
  certUrl: string;
  /** Every path (with query) asked, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** The SNS host's part, on loopback: the certificate at /SimpleNotificationService-test.pem, 200 for ConfirmSubscription. */
export async function snsHost(certificate: string): Promise<FakeSnsHost> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/SimpleNotificationService-test.pem') {
      res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(certificate);
    } else if (req.url?.startsWith('/?Action=ConfirmSubscription')) {
      res.writeHead(200, { 'content-type': 'text/xml' }).end('<ConfirmSubscriptionResponse><ConfirmSubscriptionResult><SubscriptionArn>arn</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    certUrl: `${origin}/SimpleNotificationService-test.pem`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
