// Storage, measured in one run on the local servers: time to ready for projb-qa when its media volume
// is filled from 1 GiB in S3, against the end of that first copy. Ready must not wait for the copy.
//
// What is real and what is simulated: the 1 GiB is real bytes in moto's S3 (8 objects of 128 MiB in a
// bucket of this run's own; moto spools objects to temporary files, so they are not all held in
// memory), and the counts DataSync reports come from them. moto copies nothing: how long the copy
// takes is simulated by the project's moto launcher, which keeps an execution TRANSFERRING for as
// long as moving the bucket's bytes at the rate tagged on the bucket would take (RATE below). A moto
// started before the launcher could do that moves a copy on one status per look; the bench says so.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  PutBucketTaggingCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { awsClientConfig } from '../shared/clients/aws.js';
import { workflowId } from '../shared/names.js';
import { projectRoot } from '../shared/paths.js';
import type { Settings } from '../shared/settings.js';
import type { StorageCopyResult } from '../workflows/storage-copy.js';
import { runOnce } from './provisioning.bench.js';

const MiB = 1024 * 1024;
const OBJECTS = 8;
const OBJECT_BYTES = 128 * MiB;
const TOTAL = OBJECTS * OBJECT_BYTES;
/** The simulated transfer rate: 1 GiB in 32 s. */
const RATE = 32 * MiB;
/** How often the copy looks at DataSync here (30 s in production): the copy's end is known to within this. */
const POLL_SECONDS = 2;
/** Where the moto launcher reads the rate from. */
const RATE_TAG = 'moto-launcher:datasync-bytes-per-second';

type Print = (line: string) => void;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function storageBench(settings: Settings, print: Print): Promise<void> {
  const s3 = new S3Client(awsClientConfig(settings));
  const bucket = `envbot-bench-${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'envbot-bench-storage-'));
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: [{ Key: RATE_TAG, Value: String(RATE) }] } }));
    const body = Buffer.alloc(OBJECT_BYTES, 7);
    const u0 = performance.now();
    for (let i = 0; i < OBJECTS; i++) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `projb/media-${i}.bin`, Body: body }));
    print(`put ${OBJECTS} objects of ${OBJECT_BYTES / MiB} MiB (1 GiB) in moto's S3 in ${s(performance.now() - u0)}`);

    // The example catalogue, with projb's media volume filled from this bucket.
    cpSync(join(projectRoot, 'examples'), dir, { recursive: true });
    const file = join(dir, 'envbot.yaml');
    const yaml = readFileSync(file, 'utf8');
    if (!yaml.includes('source: s3://envbot-media/projb/')) throw new Error('examples/envbot.yaml no longer fills projb media from s3://envbot-media/projb/: update the bench');
    writeFileSync(file, yaml.replace('source: s3://envbot-media/projb/', `source: s3://${bucket}/projb/`));

    await runOnce(settings, file, `projb-qa, media volume filled from 1 GiB in S3`, print, {
      storageCopyPoll: `${POLL_SECONDS} seconds`,
      async afterReady({ environment, client, t0, wall }) {
        const copy = client.workflow.getHandle(workflowId('storage-copy', environment));
        const result = (await copy.result()) as StorageCopyResult;
        const copyEnd = performance.now() - t0;
        const d = await copy.describe();
        const copyRan = d.closeTime!.getTime() - d.startTime.getTime();
        const media = result.volumes.find((v) => v.volume === 'media');
        if (media?.state !== 'copied' || media.bytes !== TOTAL) throw new Error(`the copy ended ${media?.state} with ${media?.bytes} bytes, not ${TOTAL}`);
        print(`  ready at ${s(wall)}; the copy of 1 GiB ended at ${s(copyEnd)} (it ran ${s(copyRan)}, looking every ${POLL_SECONDS} s)`);
        print(`  ready / copy end = ${(wall / copyEnd).toFixed(2)}; ready came ${s(copyEnd - wall)} before the copy ended`);
        const simulated = TOTAL / RATE;
        if (copyRan / 1000 < simulated / 2) {
          print(`  NOTE: moto ran the copy in ${s(copyRan)}, not the ${simulated.toFixed(0)} s its bytes take at ${RATE / MiB} MiB/s: ` +
            'the moto server running was started before its launcher simulated transfer time; restart it to measure a long copy');
        } else {
          print(`  (moto simulated the transfer at ${RATE / MiB} MiB/s: ${simulated.toFixed(0)} s of transferring for 1 GiB)`);
        }
      },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket })).catch(() => undefined);
    const keys = (listed?.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } })).catch(() => undefined);
    await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    s3.destroy();
  }
}
