// The S3 sources storage volumes are filled from, as the catalogue names them, and which of them an
// object key falls under. One source (bucket and prefix) may fill volumes of many projects.
import type { Catalogue, Project } from './catalogue/schema.js';

export interface StorageSource {
  bucket: string;
  /** The prefix as a folder: no leading '/', a trailing '/' unless it is the whole bucket (''). */
  prefix: string;
  /** `s3://<bucket>/<prefix>`, as the refresh and its messages name it. */
  raw: string;
}

/** DataSync copies a prefix as a folder (`projb` is `projb/`), so a key is under it when it starts with `projb/`. */
export function folderPrefix(prefix: string): string {
  const p = prefix.replace(/^\/+/, '');
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}

function sourceOf(bucket: string, prefix: string): StorageSource {
  const p = folderPrefix(prefix);
  return { bucket, prefix: p, raw: `s3://${bucket}/${p}` };
}

/** The project's volumes filled from `source`. */
export function volumesUsing(project: Project, source: StorageSource): string[] {
  return Object.entries(project.storage).flatMap(([volume, v]) =>
    v.source.kind === 's3' && v.source.bucket === source.bucket && folderPrefix(v.source.prefix) === source.prefix ? [volume] : []);
}

/** Every distinct S3 source of the catalogue's volumes. */
export function storageSources(catalogue: Catalogue): StorageSource[] {
  const seen = new Map<string, StorageSource>();
  for (const project of Object.values(catalogue.projects)) {
    for (const v of Object.values(project.storage)) {
      if (v.source.kind !== 's3') continue;
      const s = sourceOf(v.source.bucket, v.source.prefix);
      seen.set(s.raw, s);
    }
  }
  return [...seen.values()];
}

/** The sources an object `key` of `bucket` is under. */
export function sourcesContaining(catalogue: Catalogue, bucket: string, key: string): StorageSource[] {
  return storageSources(catalogue).filter((s) => s.bucket === bucket && key.startsWith(s.prefix));
}
