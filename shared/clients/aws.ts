// AWS SDK v3 clients, built in one place: the default credential chain in production, an endpoint
// (moto locally) when AWS_ENDPOINT_URL is set. One client per service per process, reused by every
// activity; errors are rethrown with what was being done (awsError).
import { DataSyncClient } from '@aws-sdk/client-datasync';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { EFSClient } from '@aws-sdk/client-efs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EnvbotError } from '../errors.js';
import type { Settings } from '../settings.js';

export interface AwsClientConfig {
  region: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export function awsClientConfig(settings: Pick<Settings, 'aws'>): AwsClientConfig {
  const { region, endpoint, credentials } = settings.aws;
  return {
    region,
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    ...(credentials ? { credentials } : {}),
  };
}

/**
 * The SDK retries throttling (`Throttling`, `PriorRequestNotComplete`), 5xx and network errors with
 * backoff up to this many attempts in all; when they run out the error is rethrown and Temporal's
 * retry policy tries the activity again (every AWS step of envbot is idempotent).
 */
const MAX_ATTEMPTS = 8;

interface Destroyable {
  destroy(): void;
}

export class AwsClients {
  private readonly made = new Map<string, Destroyable>();

  constructor(readonly config: AwsClientConfig) {}

  private get<T extends Destroyable>(name: string, make: () => T): T {
    let client = this.made.get(name) as T | undefined;
    if (!client) this.made.set(name, (client = make()));
    return client;
  }

  route53(): Route53Client {
    return this.get('route53', () => new Route53Client({ ...this.config, maxAttempts: MAX_ATTEMPTS }));
  }

  efs(): EFSClient {
    return this.get('efs', () => new EFSClient({ ...this.config, maxAttempts: MAX_ATTEMPTS }));
  }

  dataSync(): DataSyncClient {
    return this.get('datasync', () => new DataSyncClient({ ...this.config, maxAttempts: MAX_ATTEMPTS }));
  }

  elbv2(): ElasticLoadBalancingV2Client {
    return this.get('elbv2', () => new ElasticLoadBalancingV2Client({ ...this.config, maxAttempts: MAX_ATTEMPTS }));
  }

  /**
   * EC2, for Client VPN; `region` when the VPN endpoint is in another region than the rest. Its SDK
   * (about 90 MB resident) is loaded on first use, so envbot without a VPN never carries it.
   */
  async ec2(region?: string): Promise<EC2Client> {
    const r = region ?? this.config.region;
    const { EC2Client } = await import('@aws-sdk/client-ec2');
    return this.get(`ec2/${r}`, () => new EC2Client({ ...this.config, region: r, maxAttempts: MAX_ATTEMPTS }));
  }

  s3(): S3Client {
    return this.get('s3', () => new S3Client({ ...this.config, maxAttempts: MAX_ATTEMPTS }));
  }

  secretsManager(): SecretsManagerClient {
    return this.get('secrets-manager', () => new SecretsManagerClient({ ...this.config, maxAttempts: MAX_ATTEMPTS }));
  }

  destroy(): void {
    for (const c of this.made.values()) c.destroy();
    this.made.clear();
  }
}

const wrapped = new WeakSet<Error>();

/**
 * An AWS error rethrown with what was being done, keeping its name (the SDK's error code) so retry
 * decisions and callers can still tell errors apart. envbot's own errors pass through unchanged.
 */
export function awsError(err: unknown, what: string): Error {
  if (err instanceof EnvbotError || (err instanceof Error && wrapped.has(err))) return err;
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const out = new Error(`${what} failed${status ? ` (HTTP ${status} ${e.name ?? ''})` : e.name ? ` (${e.name})` : ''}: ${e.message ?? String(err)}`);
  out.name = e.name && e.name !== 'Error' ? e.name : 'AwsError';
  wrapped.add(out);
  return out;
}

/** The SDK's error code (its `name`), for deciding what an error means. */
export function awsErrorName(err: unknown): string | undefined {
  return (err as { name?: string } | undefined)?.name;
}
