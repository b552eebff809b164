// Amazon SNS messages delivered over HTTP(S): their JSON shape, the string SNS signs for each type,
// and the check of every message before anything acts on it: an allowed topic, a recent timestamp,
// a signing certificate on an SNS host of the topic's region (fetched over HTTPS, cached), and a
// valid signature (SignatureVersion 1: SHA1 with RSA, 2: SHA256 with RSA). See AWS's "Verifying the
// signatures of Amazon SNS messages". The certificate's trust comes from where it is fetched: HTTPS
// (TLS checked against the system's CAs) from the SNS host of the message's own region.
import { createVerify, X509Certificate } from 'node:crypto';
import { z } from 'zod';

/** A request that is not an SNS message: answered 400. */
export class SnsMalformed extends Error {
  override readonly name = 'SnsMalformed';
}

/** A message that may not be trusted (forged, stale, wrong topic or host): answered 403. */
export class SnsRefused extends Error {
  override readonly name = 'SnsRefused';
}

const common = {
  MessageId: z.string().min(1).max(200),
  TopicArn: z.string().regex(/^arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$/, 'an SNS topic ARN'),
  Message: z.string(),
  Timestamp: z.string().min(1),
  SignatureVersion: z.enum(['1', '2']),
  Signature: z.string().min(1).max(2048),
  SigningCertURL: z.string().min(1).max(2048),
};

const snsMessage = z.discriminatedUnion('Type', [
  z.object({ Type: z.literal('Notification'), ...common, Subject: z.string().optional(), UnsubscribeURL: z.string().optional() }),
  z.object({ Type: z.literal('SubscriptionConfirmation'), ...common, Token: z.string().min(1), SubscribeURL: z.string().min(1) }),
  z.object({ Type: z.literal('UnsubscribeConfirmation'), ...common, Token: z.string().min(1), SubscribeURL: z.string().min(1) }),
]);

export type SnsMessage = z.output<typeof snsMessage>;

/** The message in a request body, or SnsMalformed saying what is wrong with it. */
export function parseSnsMessage(body: Buffer | string): SnsMessage {
  let json: unknown;
  try {
    json = JSON.parse(body.toString());
  } catch {
    throw new SnsMalformed('the body is not JSON: POST an Amazon SNS message');
  }
  const parsed = snsMessage.safeParse(json);
  if (!parsed.success) {
    throw new SnsMalformed(`not an Amazon SNS message: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
  }
  if (Number.isNaN(Date.parse(parsed.data.Timestamp))) throw new SnsMalformed(`Timestamp "${parsed.data.Timestamp}" is not a date`);
  return parsed.data;
}

/**
 * The string SNS signs: `Key\nValue\n` for each field of the type's list, in byte order of the keys
 * (Subject only when the message has one).
 */
export function stringToSign(m: SnsMessage): string {
  const fields: [string, string | undefined][] =
    m.Type === 'Notification'
      ? [['Message', m.Message], ['MessageId', m.MessageId], ['Subject', m.Subject], ['Timestamp', m.Timestamp], ['TopicArn', m.TopicArn], ['Type', m.Type]]
      : [['Message', m.Message], ['MessageId', m.MessageId], ['SubscribeURL', m.SubscribeURL], ['Timestamp', m.Timestamp], ['Token', m.Token], ['TopicArn', m.TopicArn], ['Type', m.Type]];
  return fields.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}\n${v}\n`).join('');
}

/** The SNS host of a topic's region: sns.<region>.amazonaws.com, or .amazonaws.com.cn in China. */
export function snsHostOf(topicArn: string): string {
  const [, partition, , region] = topicArn.split(':');
  return `sns.${region}.amazonaws.com${partition === 'aws-cn' ? '.cn' : ''}`;
}

/**
 * `raw` as a URL when it is https on the SNS host of the topic's region (or on the test origin, when
 * one is set); SnsRefused otherwise. `what` names the field in the refusal.
 */
export function snsUrl(raw: string, topicArn: string, what: string, testOrigin?: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SnsRefused(`${what} "${raw}" is not a URL`);
  }
  if (testOrigin && url.origin === testOrigin) return url;
  const host = snsHostOf(topicArn);
  if (url.protocol !== 'https:' || url.hostname !== host || url.port !== '' || url.username || url.password) {
    throw new SnsRefused(`${what} "${raw}" is not on https://${host}/, the SNS host of the topic's region`);
  }
  return url;
}

export interface SnsVerifierOptions {
  /** The topics whose messages are accepted. */
  topicArns: readonly string[];
  /** Tests only: a loopback origin accepted beside the SNS hosts. */
  testOrigin?: string | undefined;
  /** How old a message may be; an hour unless set. */
  maxAgeMs?: number;
  now?: () => number;
  fetch?: typeof fetch;
}

/** A message stamped this far in the future is refused too (clocks differ by seconds, not minutes). */
const MAX_SKEW_MS = 5 * 60_000;
const MAX_CERTIFICATE_BYTES = 64 * 1024;
const CACHED_CERTIFICATES = 50;

export class SnsVerifier {
  private readonly certificates = new Map<string, Promise<X509Certificate>>();
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private readonly maxAgeMs: number;

  constructor(private readonly o: SnsVerifierOptions) {
    this.fetch = o.fetch ?? fetch;
    this.now = o.now ?? Date.now;
    this.maxAgeMs = o.maxAgeMs ?? 60 * 60_000;
  }

  /** Resolves when `m` may be trusted; SnsRefused saying why not otherwise. */
  async verify(m: SnsMessage): Promise<void> {
    // An SNS topic of anyone's can sign messages to this endpoint: only the configured ones count.
    if (!this.o.topicArns.includes(m.TopicArn)) throw new SnsRefused(`topic ${m.TopicArn} is not one envbot accepts (ENVBOT_SNS_TOPIC_ARNS)`);
    const age = this.now() - Date.parse(m.Timestamp);
    if (age > this.maxAgeMs) throw new SnsRefused(`the message is stale: stamped ${m.Timestamp}, more than ${Math.round(this.maxAgeMs / 60_000)} minutes ago`);
    if (age < -MAX_SKEW_MS) throw new SnsRefused(`the message is stamped ${m.Timestamp}, in the future`);
    const url = snsUrl(m.SigningCertURL, m.TopicArn, 'SigningCertURL', this.o.testOrigin);
    if (!url.pathname.endsWith('.pem')) throw new SnsRefused(`SigningCertURL "${m.SigningCertURL}" does not name a .pem certificate`);
    const certificate = await this.certificate(url.href);
    const at = this.now();
    if (at < Date.parse(certificate.validFrom) || at > Date.parse(certificate.validTo)) {
      throw new SnsRefused(`the signing certificate at ${url.href} is not valid now (${certificate.validFrom} to ${certificate.validTo})`);
    }
    const verifier = createVerify(m.SignatureVersion === '1' ? 'RSA-SHA1' : 'RSA-SHA256').update(stringToSign(m), 'utf8');
    let valid: boolean;
    try {
      valid = verifier.verify(certificate.publicKey, m.Signature, 'base64');
    } catch {
      valid = false; // a key the algorithm cannot use
    }
    if (!valid) throw new SnsRefused(`the signature of message ${m.MessageId} does not match its signing certificate`);
  }

  /** The certificate at `url`, fetched once and kept (a failed fetch is forgotten, so the next message tries again). */
  private certificate(url: string): Promise<X509Certificate> {
    let cached = this.certificates.get(url);
    if (!cached) {
      cached = this.download(url);
      cached.catch(() => this.certificates.delete(url));
      if (this.certificates.size >= CACHED_CERTIFICATES) this.certificates.delete(this.certificates.keys().next().value!);
      this.certificates.set(url, cached);
    }
    return cached;
  }

  private async download(url: string): Promise<X509Certificate> {
    let res: Response;
    try {
      res = await this.fetch(url, { redirect: 'error', signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      throw new Error(`fetching the SNS signing certificate ${url}: ${(err as Error).message}`, { cause: err });
    }
    if (!res.ok) throw new SnsRefused(`the SNS signing certificate ${url} answered ${res.status}`);
    const body = await res.arrayBuffer();
    if (body.byteLength > MAX_CERTIFICATE_BYTES) throw new SnsRefused(`the SNS signing certificate ${url} is over ${MAX_CERTIFICATE_BYTES} bytes`);
    try {
      return new X509Certificate(Buffer.from(body));
    } catch {
      throw new SnsRefused(`${url} is not an X.509 certificate`);
    }
  }
}
