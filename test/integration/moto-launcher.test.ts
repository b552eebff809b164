// The project's moto launcher (scripts/services/moto_launcher.py), started here on a port of the
// test's own so that it runs this checkout's launcher whatever the shared moto was started with:
// a DataSync copy from a bucket tagged with a transfer rate stays TRANSFERRING, its bytes growing, for
// as long as its bytes take at that rate (the storage bench's slow copy); one from any other bucket
// moves on one status per look, as moto's own does.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { CreateLocationS3Command, CreateTaskCommand, DataSyncClient, DescribeTaskExecutionCommand, StartTaskExecutionCommand } from '@aws-sdk/client-datasync';
import { CreateBucketCommand, PutBucketTaggingCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, until } from '../support/slack.js';
import { repoRoot, required, testSettings } from '../support/settings.js';

const MiB = 1024 * 1024;

describe('moto launcher: DataSync copy time', () => {
  let moto: ChildProcess;
  let s3: S3Client;
  let dataSync: DataSyncClient;

  beforeAll(async () => {
    // moto lives in the services' Python venv, beside the Temporal test server.
    const python = join(dirname(required(testSettings().env.TEMPORAL_TEST_SERVER_PATH, 'TEMPORAL_TEST_SERVER_PATH')), 'python');
    const port = await freePort();
    moto = spawn(python, [join(repoRoot, 'scripts', 'services', 'moto_launcher.py'), '127.0.0.1', String(port)], { stdio: 'ignore' });
    const endpoint = `http://127.0.0.1:${port}`;
    await until('moto to answer', async () => (await fetch(`${endpoint}/moto-api/data.json`).catch(() => undefined))?.ok, 30_000);
    const config = { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, forcePathStyle: true };
    s3 = new S3Client(config);
    dataSync = new DataSyncClient(config);
  }, 40_000);

  afterAll(() => {
    s3?.destroy();
    dataSync?.destroy();
    moto?.kill('SIGTERM');
  });

  /** A task copying s3://<bucket>/p/ (one object of `bytes`), started; the bucket tagged with `rate` when given. */
  async function startCopy(bucket: string, bytes: number, rate?: number): Promise<string> {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    if (rate) await s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: [{ Key: 'moto-launcher:datasync-bytes-per-second', Value: String(rate) }] } }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'p/a.bin', Body: Buffer.alloc(bytes, 1) }));
    const location = async (dir: string) =>
      (await dataSync.send(new CreateLocationS3Command({ S3BucketArn: `arn:aws:s3:::${bucket}`, Subdirectory: dir, S3Config: { BucketAccessRoleArn: 'arn:aws:iam::123456789012:role/r' } }))).LocationArn!;
    const task = (await dataSync.send(new CreateTaskCommand({ SourceLocationArn: await location('/p/'), DestinationLocationArn: await location('/q/') }))).TaskArn!;
    return (await dataSync.send(new StartTaskExecutionCommand({ TaskArn: task }))).TaskExecutionArn!;
  }

  /** Looks every `everyMs` until the copy ends: each look's time, status and bytes. */
  async function follow(execution: string, everyMs: number) {
    const t0 = Date.now();
    const looks: { at: number; status: string; bytes: number }[] = [];
    for (;;) {
      const d = await dataSync.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: execution }));
      looks.push({ at: Date.now() - t0, status: d.Status!, bytes: d.BytesTransferred ?? 0 });
      if (d.Status === 'SUCCESS' || d.Status === 'ERROR') return looks;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  it('holds a copy from a rate-tagged bucket TRANSFERRING for its bytes / rate, its bytes growing', async () => {
    const bytes = 20 * MiB;
    const looks = await follow(await startCopy('rated', bytes, 10 * MiB), 250);
    const transferring = looks.filter((l) => l.status === 'TRANSFERRING');
    // 2 s at 10 MiB/s, measured from the first look that saw it TRANSFERRING.
    expect(transferring.at(-1)!.at - transferring[0]!.at).toBeGreaterThanOrEqual(1900);
    expect(transferring.at(-1)!.at - transferring[0]!.at).toBeLessThan(3500);
    const grown = transferring.map((l) => l.bytes);
    expect(grown).toEqual([...grown].sort((a, b) => a - b));
    expect(grown.some((b) => b > 0 && b < bytes)).toBe(true);
    expect(looks.at(-1)).toMatchObject({ status: 'SUCCESS', bytes });
  }, 30_000);

  it('moves a copy from any other bucket one status on per look', async () => {
    const looks = await follow(await startCopy('plain', MiB), 100);
    expect(looks.map((l) => l.status)).toEqual(['INITIALIZING', 'PREPARING', 'TRANSFERRING', 'VERIFYING', 'SUCCESS']);
    expect(looks.at(-1)!.bytes).toBe(MiB);
  }, 30_000);
});
