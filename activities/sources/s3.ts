// An S3 location's tree: the objects under its prefix (a folder), or the one object it names (a
// file such as redis.json), their version (a digest of every key, ETag and size), and the download
// of exactly those objects (If-Match their listed ETag, so a tree is never a mix of two uploads).
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { CatalogueError, ForbiddenError, NotFoundError } from '../../shared/errors.js';
import type { Location } from '../../shared/catalogue/schema.js';

export type S3Location = Extract<Location, { kind: 's3' }>;

export interface S3Object {
  key: string;
  /** Where it goes under the tree's folder. */
  rel: string;
  etag: string;
  size: number;
}

export interface S3Listing {
  objects: S3Object[];
  /** The location names one object (its tree holds that file alone), not a folder. */
  file?: string;
  version: string;
}

/** Why a key cannot be a file under the cache folder, if it cannot. */
function unsafeRel(rel: string): string | undefined {
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return 'it has an empty, "." or ".." part';
  if (rel.includes('\0')) return 'it has a NUL character';
  return undefined;
}

/** The S3 error, as envbot says it: a bucket that does not exist or cannot be read is permanent. */
function s3Failure(err: unknown, loc: S3Location, where: string): unknown {
  const name = (err as { name?: string }).name;
  if (name === 'NoSuchBucket') return new NotFoundError(`${where}: ${loc.raw}: the bucket "${loc.bucket}" does not exist; fix the location in envbot.yaml or create the bucket`);
  if (name === 'AccessDenied' || name === 'AllAccessDisabled') return new ForbiddenError(`${where}: ${loc.raw}: envbot may not read the bucket "${loc.bucket}" (${name}); give its role s3:ListBucket and s3:GetObject there`);
  return err;
}

/** Lists the location; `where` (such as "seed of database catalog") goes into every message. */
export async function listS3(s3: S3Client, loc: S3Location, where: string): Promise<S3Listing> {
  const all: S3Object[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: loc.bucket, Prefix: loc.prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) all.push({ key: o.Key!, rel: '', etag: o.ETag ?? '', size: o.Size ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (err) {
    throw s3Failure(err, loc, where);
  }
  const exact = loc.prefix && !loc.prefix.endsWith('/') ? all.find((o) => o.key === loc.prefix) : undefined;
  const base = !loc.prefix || loc.prefix.endsWith('/') ? loc.prefix : `${loc.prefix}/`;
  const under = all.filter((o) => o.key.startsWith(base) && !o.key.endsWith('/'));
  let objects: S3Object[];
  let file: string | undefined;
  if (exact && under.length === 0) {
    file = exact.key.slice(exact.key.lastIndexOf('/') + 1);
    objects = [{ ...exact, rel: file }];
  } else {
    objects = under.map((o) => ({ ...o, rel: o.key.slice(base.length) }));
  }
  if (objects.length === 0) {
    throw new NotFoundError(`${where}: ${loc.raw}: there is no object ${loc.prefix ? `under "${loc.prefix}" ` : ''}in the bucket "${loc.bucket}"; upload the files or fix the location in envbot.yaml`);
  }
  for (const o of objects) {
    const bad = unsafeRel(o.rel);
    if (bad) throw new CatalogueError(loc.raw, [{ path: o.key, problem: `envbot does not fetch this object: ${bad}; rename it` }]);
  }
  objects.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const hash = createHash('sha256');
  for (const o of objects) hash.update(`${o.rel}\0${o.etag}\0${o.size}\n`);
  return { objects, ...(file ? { file } : {}), version: hash.digest('hex') };
}

/** Downloads the listed objects into `into`; `onObject` is told after each one (heartbeats). */
export async function downloadS3(s3: S3Client, loc: S3Location, listing: S3Listing, into: string, where: string, onObject: (done: number) => void, signal?: AbortSignal): Promise<void> {
  const root = resolve(into);
  let done = 0;
  for (const o of listing.objects) {
    const dest = resolve(join(root, o.rel));
    // Checked again here: nothing is ever written outside the tree's folder.
    if (!dest.startsWith(root + sep)) throw new CatalogueError(loc.raw, [{ path: o.key, problem: 'this key would be written outside the cache folder; rename it' }]);
    await mkdir(dirname(dest), { recursive: true });
    try {
      const got = await s3.send(new GetObjectCommand({ Bucket: loc.bucket, Key: o.key, ...(o.etag ? { IfMatch: o.etag } : {}) }), signal ? { abortSignal: signal } : {});
      await pipeline(got.Body as Readable, createWriteStream(dest, { flags: 'wx' }));
    } catch (err) {
      // Changed since it was listed: a retry lists again and fetches the new version whole.
      if ((err as { name?: string }).name === 'PreconditionFailed') throw new Error(`${where}: ${loc.raw}: ${o.key} changed while it was being fetched; trying again`, { cause: err });
      throw s3Failure(err, loc, where);
    }
    onObject(++done);
  }
}
