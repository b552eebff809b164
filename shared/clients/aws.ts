// AWS SDK v3 client settings from envbot's settings: the default credential chain in production,
// an endpoint (moto locally) when AWS_ENDPOINT_URL is set.
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
