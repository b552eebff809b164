// The catalogue's shared secrets live in AWS Secrets Manager (moto here), outside envbot: an operator
// creates them. Tests that build environments create any that are missing, with test values, so no
// test depends on another having run first.
import { CreateSecretCommand, DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ActivityDeps } from '../../activities/deps.js';

export async function ensureSharedSecrets(deps: Pick<ActivityDeps, 'aws' | 'catalogue'>): Promise<void> {
  const sm = new SecretsManagerClient(deps.aws);
  try {
    for (const project of Object.values(deps.catalogue.catalogue.projects)) {
      for (const [name, ref] of Object.entries(project.secrets.shared)) {
        const exists = await sm.send(new DescribeSecretCommand({ SecretId: ref.secretsManager })).then(() => true, () => false);
        if (exists) continue;
        const value = `test-${name}`;
        const secret = ref.jsonKey ? JSON.stringify({ [ref.jsonKey]: value }) : value;
        await sm.send(new CreateSecretCommand({ Name: ref.secretsManager, SecretString: secret })).catch((err: unknown) => {
          if ((err as { name?: string }).name !== 'ResourceExistsException') throw err;
        });
      }
    }
  } finally {
    sm.destroy();
  }
}
