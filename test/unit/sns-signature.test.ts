// The SNS message check: the documented string to sign for each type, signatures of both versions
// made with a local key, and every way a message is refused (topic, age, certificate host, signature).
import { describe, expect, it } from 'vitest';
import { parseSnsMessage, SnsMalformed, SnsRefused, SnsVerifier, snsUrl, stringToSign, type SnsMessage } from '../../bot/webhooks/sns-signature.js';
import { s3Changes } from '../../bot/webhooks/s3-event.js';
import { notification, s3EventMessage, sign, signingKey, TOPIC } from '../support/sns.js';

const CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem';
const key = signingKey();
const other = signingKey();

/** A verifier whose only certificate is `certificate`, counting how often it was fetched. */
function verifier(certificate = key.certificate, o: { now?: () => number } = {}) {
  const fetched: string[] = [];
  const v = new SnsVerifier({
    topicArns: [TOPIC],
    ...o,
    fetch: (async (url: string | URL) => {
      fetched.push(String(url));
      return new Response(certificate);
    }) as typeof fetch,
  });
  return { v, fetched };
}

const refusal = (p: Promise<unknown>) => p.then(() => 'accepted', (e: unknown) => (e instanceof SnsRefused ? `refused: ${e.message}` : `error: ${String(e)}`));

describe('SNS string to sign', () => {
  it('a Notification: Message, MessageId, Subject (when present), Timestamp, TopicArn, Type', () => {
    const m = { Type: 'Notification', MessageId: 'id-1', TopicArn: TOPIC, Subject: 'S', Message: 'line1\nline2', Timestamp: '2026-01-01T00:00:00.000Z', SignatureVersion: '1', Signature: 'x', SigningCertURL: CERT_URL } as SnsMessage;
    expect(stringToSign(m)).toBe(`Message\nline1\nline2\nMessageId\nid-1\nSubject\nS\nTimestamp\n2026-01-01T00:00:00.000Z\nTopicArn\n${TOPIC}\nType\nNotification\n`);
    const { Subject: _, ...noSubject } = m as Extract<SnsMessage, { Type: 'Notification' }>;
    expect(stringToSign(noSubject as SnsMessage)).toBe(`Message\nline1\nline2\nMessageId\nid-1\nTimestamp\n2026-01-01T00:00:00.000Z\nTopicArn\n${TOPIC}\nType\nNotification\n`);
  });

  it('a SubscriptionConfirmation: Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type', () => {
    const m = { Type: 'SubscriptionConfirmation', MessageId: 'id-2', TopicArn: TOPIC, Message: 'confirm', Timestamp: 'T', Token: 'tok', SubscribeURL: 'https://u', SignatureVersion: '2', Signature: 'x', SigningCertURL: CERT_URL } as SnsMessage;
    expect(stringToSign(m)).toBe(`Message\nconfirm\nMessageId\nid-2\nSubscribeURL\nhttps://u\nTimestamp\nT\nToken\ntok\nTopicArn\n${TOPIC}\nType\nSubscriptionConfirmation\n`);
  });
});

describe('SNS message check', () => {
  it.each(['1', '2'] as const)('accepts a message signed with SignatureVersion %s, fetching the certificate once', async (version) => {
    const { v, fetched } = verifier();
    const m = sign(notification(s3EventMessage('b', ['k'])), key.key, CERT_URL, version);
    await v.verify(parseSnsMessage(JSON.stringify(m)));
    await v.verify(sign(notification('another'), key.key, CERT_URL, version));
    expect(fetched).toEqual([CERT_URL]);
  });

  it('refuses a changed message, another key\'s signature, and a version 1 signature claimed as version 2', async () => {
    const { v } = verifier();
    const m = sign(notification('the original'), key.key, CERT_URL);
    expect(await refusal(v.verify({ ...m, Message: 'changed' }))).toMatch(/^refused: the signature of message .* does not match/);
    expect(await refusal(v.verify(sign(notification('x'), other.key, CERT_URL)))).toMatch(/^refused: the signature/);
    const v1 = sign(notification('x'), key.key, CERT_URL, '1');
    expect(await refusal(v.verify({ ...v1, SignatureVersion: '2' }))).toMatch(/^refused: the signature/);
    expect(await refusal(v.verify({ ...m, Signature: 'not base64 at all!' }))).toMatch(/^refused: the signature/);
  });

  it.each([
    ['a look-alike host', 'https://sns.us-east-1.amazonaws.com.evil.com/cert.pem'],
    ['plain http', 'http://sns.us-east-1.amazonaws.com/cert.pem'],
    ['another region', 'https://sns.eu-west-1.amazonaws.com/cert.pem'],
    ['another port', 'https://sns.us-east-1.amazonaws.com:8443/cert.pem'],
    ['user info', 'https://evil.com@sns.us-east-1.amazonaws.com/cert.pem'],
    ['the China host for a topic outside China', 'https://sns.us-east-1.amazonaws.com.cn/cert.pem'],
    ['not a .pem', 'https://sns.us-east-1.amazonaws.com/?cert'],
    ['not a URL', 'sns.us-east-1.amazonaws.com/cert.pem'],
  ])('refuses a certificate URL on %s, fetching nothing', async (_what, url) => {
    const { v, fetched } = verifier();
    expect(await refusal(v.verify(sign(notification('x'), key.key, url)))).toMatch(/^refused: SigningCertURL/);
    expect(fetched).toEqual([]);
  });

  it('takes the China partition\'s host for a China topic, and only the test origin besides the SNS hosts', () => {
    expect(snsUrl('https://sns.cn-north-1.amazonaws.com.cn/c.pem', 'arn:aws-cn:sns:cn-north-1:123456789012:t', 'SigningCertURL').hostname).toBe('sns.cn-north-1.amazonaws.com.cn');
    expect(() => snsUrl('https://sns.cn-north-1.amazonaws.com/c.pem', 'arn:aws-cn:sns:cn-north-1:123456789012:t', 'SigningCertURL')).toThrow(SnsRefused);
    expect(snsUrl('http://127.0.0.1:9/c.pem', TOPIC, 'SigningCertURL', 'http://127.0.0.1:9').origin).toBe('http://127.0.0.1:9');
    expect(() => snsUrl('http://127.0.0.1:10/c.pem', TOPIC, 'SigningCertURL', 'http://127.0.0.1:9')).toThrow(SnsRefused);
  });

  it('refuses a message of a topic not configured, before fetching anything, however well signed', async () => {
    const { v, fetched } = verifier();
    const m = sign(notification('x', { topic: 'arn:aws:sns:us-east-1:999999999999:attackers-topic' }), key.key, CERT_URL);
    expect(await refusal(v.verify(m))).toMatch(/^refused: topic arn:aws:sns:us-east-1:999999999999:attackers-topic is not one envbot accepts/);
    expect(fetched).toEqual([]);
  });

  it('refuses a message older than an hour or stamped in the future', async () => {
    const { v } = verifier();
    const at = (ms: number) => sign(notification('x', { timestamp: new Date(Date.now() + ms).toISOString() }), key.key, CERT_URL);
    expect(await refusal(v.verify(at(-61 * 60_000)))).toMatch(/^refused: the message is stale/);
    expect(await refusal(v.verify(at(10 * 60_000)))).toMatch(/^refused: the message is stamped .* in the future/);
    expect(await refusal(v.verify(at(-59 * 60_000)))).toBe('accepted');
  });

  it('refuses when the certificate is not valid now', async () => {
    const { v } = verifier(key.certificate, { now: () => Date.now() + 3 * 86_400_000 });
    const m = sign(notification('x', { timestamp: new Date(Date.now() + 3 * 86_400_000).toISOString() }), key.key, CERT_URL);
    expect(await refusal(v.verify(m))).toMatch(/^refused: the signing certificate .* is not valid now/);
  });

  it('refuses a certificate URL that does not serve a certificate', async () => {
    const { v } = verifier('<html>not a certificate</html>');
    expect(await refusal(v.verify(sign(notification('x'), key.key, CERT_URL)))).toMatch(/is not an X.509 certificate/);
  });
});

describe('SNS and S3 parsing', () => {
  it.each([
    ['not JSON', 'hello', /not JSON/],
    ['no Type', JSON.stringify({ MessageId: 'x' }), /Type/],
    ['an unknown Type', JSON.stringify({ Type: 'Gossip' }), /Type/],
    ['a missing Signature', JSON.stringify({ ...sign(notification('x'), key.key, CERT_URL), Signature: undefined }), /Signature/],
    ['an unknown SignatureVersion', JSON.stringify({ ...sign(notification('x'), key.key, CERT_URL), SignatureVersion: '3' }), /SignatureVersion/],
    ['a Timestamp that is no date', JSON.stringify({ ...sign(notification('x'), key.key, CERT_URL), Timestamp: 'yesterday' }), /Timestamp/],
  ])('%s is malformed', (_what, body, message) => {
    expect(() => parseSnsMessage(body)).toThrow(SnsMalformed);
    expect(() => parseSnsMessage(body)).toThrow(message);
  });

  it('reads S3 records (keys decoded), skips other events and S3\'s test event, refuses what is not an S3 event', () => {
    expect(s3Changes(s3EventMessage('media', ['projb/a b+c.png']))).toEqual([{ bucket: 'media', key: 'projb/a b+c.png', event: 'ObjectCreated:Put' }]);
    expect(s3Changes(s3EventMessage('media', ['projb/x'], 'ObjectRemoved:Delete'))).toHaveLength(1);
    expect(s3Changes(s3EventMessage('media', ['projb/x'], 'ObjectRestore:Post'))).toEqual([]);
    expect(s3Changes(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'media' }))).toEqual([]);
    expect(() => s3Changes('plain text')).toThrow(SnsMalformed);
    expect(() => s3Changes(JSON.stringify({ hello: 1 }))).toThrow(SnsMalformed);
  });
});
