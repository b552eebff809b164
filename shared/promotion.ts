// Production promotion (issue 11, item 3): which of two container images is newer, by the rule a
// service's catalogue entry names (`newer`: semver by default, a date-stamped tag, or any change),
// and the alert that tells channels what reached where. Pure: the promotion workflow and its tests
// use it as it is.

export const NEWER_RULES = ['semver', 'date', 'any'] as const;
export type NewerRule = (typeof NEWER_RULES)[number];

/** The tag of an image reference (`registry:5000/app:1.5.0` → `1.5.0`); undefined for none or a digest only. */
export function tagOf(image: string): string | undefined {
  const noDigest = image.split('@')[0]!;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(colon + 1) : undefined;
}

/** What people read for an image: its tag, or the image itself when it has none. */
export function versionOf(image: string): string {
  return tagOf(image) ?? image;
}

interface SemVer {
  core: [number, number, number];
  pre: string[];
}

const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$/;

function semver(tag: string | undefined): SemVer | undefined {
  const m = tag ? SEMVER.exec(tag) : null;
  if (!m) return undefined;
  return { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ? m[4].split('.') : [] };
}

/** Semantic Versioning 2.0.0 precedence: negative when a < b, 0 when equal, positive when a > b (build metadata ignored). */
export function compareSemver(a: SemVer, b: SemVer): number {
  for (let i = 0; i < 3; i++) if (a.core[i] !== b.core[i]) return a.core[i]! - b.core[i]!;
  if (!a.pre.length || !b.pre.length) return (a.pre.length ? -1 : 0) - (b.pre.length ? -1 : 0);
  for (let i = 0; i < Math.max(a.pre.length, b.pre.length); i++) {
    const x = a.pre[i];
    const y = b.pre[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) return Number(x) - Number(y);
    if (nx !== ny) return nx ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/** The date stamp in a tag (`2026-11-30`, `20261130`, `20261130-1542`, `release-20261130.2`) as comparable digits. */
function dateStamp(tag: string | undefined): string | undefined {
  const m = tag ? /(20\d{2})-?(0[1-9]|1[0-2])-?(0[1-9]|[12]\d|3[01])(?:[-T_.]?([01]\d|2[0-3])([0-5]\d)([0-5]\d)?)?(?:[-._](\d+))?/.exec(tag) : null;
  if (!m) return undefined;
  return `${m[1]}${m[2]}${m[3]}${m[4] ?? '00'}${m[5] ?? '00'}${m[6] ?? '00'}.${(m[7] ?? '0').padStart(9, '0')}`;
}

/**
 * Whether `candidate` (production's image) is newer than `current` (a lower environment's) under
 * `rule`; `comparable` false when the rule cannot read one of them (the environment is left alone,
 * and the reason listed).
 */
export function compareImages(candidate: string, current: string, rule: NewerRule): { newer: boolean; comparable: boolean; reason?: string } {
  if (candidate === current) return { newer: false, comparable: true };
  if (rule === 'any') return { newer: true, comparable: true };
  if (rule === 'semver') {
    const a = semver(tagOf(candidate));
    const b = semver(tagOf(current));
    if (!a || !b) return { newer: false, comparable: false, reason: `${versionOf(a ? current : candidate)} is not a semantic version` };
    return { newer: compareSemver(a, b) > 0, comparable: true };
  }
  const a = dateStamp(tagOf(candidate));
  const b = dateStamp(tagOf(current));
  if (!a || !b) return { newer: false, comparable: false, reason: `${versionOf(a ? current : candidate)} has no date stamp` };
  return { newer: a > b, comparable: true };
}

/** What one promotion did in one project, for its alert. */
export interface PromotionOutcome {
  project: string;
  service: string;
  /** Production's image. */
  image: string;
  /** Each environment updated, with the image it ran before. */
  reached: { environment: string; from: string | null }[];
  /** Environments left alone, and why (`tracks feature/x`, `runs 1.6.0, newer`). */
  skipped: { environment: string; reason: string }[];
  /** Environments whose update failed, and why. */
  failed: { environment: string; reason: string }[];
}

/** The alert: `projb: service1 1.4.2 → 1.5.0 reached projb-dev, projb-qa (promoted from production); projb-uat skipped: tracks feature/x`. */
export function promotionText(o: PromotionOutcome): string {
  const froms = [...new Set(o.reached.map((r) => (r.from ? versionOf(r.from) : 'nothing recorded')))];
  const head = `${o.project}: ${o.service} ${froms.join(', ')} → ${versionOf(o.image)}`;
  const parts = [o.reached.length ? `${head} reached ${o.reached.map((r) => r.environment).join(', ')} (promoted from production)` : `${head} reached no environment`];
  for (const s of o.skipped) parts.push(`${s.environment} skipped: ${s.reason}`);
  for (const f of o.failed) parts.push(`${f.environment} failed: ${f.reason}`);
  return parts.join('; ');
}
