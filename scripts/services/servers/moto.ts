// moto server for the AWS APIs (Route 53, Secrets Manager, EFS, S3, ELBv2, DataSync, EC2), via a
// launcher that adds what moto lacks: DataSync's CreateLocationEfs and EC2's Client VPN calls.
import { join } from 'node:path';
import { ensureExampleLoadBalancer } from '../lib/example-load-balancer.js';
import { pythonVenv } from '../lib/install.js';
import { launch, PROBE_TIMEOUT_MS } from '../lib/proc.js';
import type { Context, Server } from '../lib/context.js';

const PORT = 5000;

/** Shared secrets the example catalogue reads from Secrets Manager (examples/envbot.yaml, secrets.shared). */
const EXAMPLE_SHARED_SECRETS: Record<string, string> = {
  'envbot/shared/smtp': JSON.stringify({ password: 'local-smtp-password' }),
};

async function answers(ctx: Context): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${ctx.port(PORT)}/moto-api/data.json`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  return res.ok;
}

export const moto: Server = {
  name: 'moto',
  ports: [PORT],
  ready: (ctx) => answers(ctx).catch(() => false),
  install: pythonVenv,
  async start(ctx) {
    const venv = await pythonVenv(ctx);
    const args = [join(ctx.toolDir, 'moto_launcher.py'), '127.0.0.1', String(ctx.port(PORT))];
    await launch(ctx, 'moto', join(venv, 'bin', 'python'), args, () => answers(ctx), { label: 'moto server' });
  },
  // moto keeps state in memory: after each start, put back what an operator would have made in AWS
  // for the example catalogue (its shared secret, its internal load balancer), so the quick start
  // works with no edits.
  async setup(ctx) {
    const base = `http://127.0.0.1:${ctx.port(PORT)}/`;
    const call = (target: string, body: object) =>
      fetch(base, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': `secretsmanager.${target}`,
          authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0',
        },
        body: JSON.stringify(body),
      });
    for (const [name, value] of Object.entries(EXAMPLE_SHARED_SECRETS)) {
      if ((await call('DescribeSecret', { SecretId: name })).ok) continue;
      const res = await call('CreateSecret', { Name: name, SecretString: value });
      if (!res.ok) throw new Error(`could not create the example secret ${name} in moto: ${res.status} ${await res.text()}`);
    }
    await ensureExampleLoadBalancer(base.replace(/\/$/, ''));
  },
  env: (ctx) => ({
    AWS_ENDPOINT_URL: `http://127.0.0.1:${ctx.port(PORT)}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  }),
};
