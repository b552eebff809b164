// Loads envbot.yaml: YAML → ${VAR} substitution → schema → cross-references → disk locations
// (S3 and git locations are fetched by the operations that use them, not here).
// Every problem names the file, the line, the path in it and what is expected.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { CatalogueError, InvalidNameError, type CatalogueProblem } from '../errors.js';
import { environmentName, namesFor, PATH_STYLE_HOST } from '../names.js';
import { catalogueSchema, type Catalogue, type Database, type Location } from './schema.js';
import { branchProblem } from './tracked.js';

export interface LoadedCatalogue {
  file: string;
  /** The folder disk locations are relative to. */
  root: string;
  catalogue: Catalogue;
  /** Fields that are accepted but do nothing yet, as `file:line: path: ...` lines to show once at start. */
  warnings?: string[];
}

type Path = (string | number)[];

function lineOf(doc: Document, lines: LineCounter, path: Path): number | undefined {
  // Walk up until a node exists: a missing key is reported at its parent.
  for (let p = path; p.length >= 0; p = p.slice(0, -1)) {
    const node = p.length === 0 ? doc.contents : doc.getIn(p, true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) return lines.linePos(range[0]).line;
    if (p.length === 0) return undefined;
  }
  return undefined;
}

/** Replaces `${NAME}` in every string scalar from `env`; a missing variable is a problem at that path. */
function substitute(value: unknown, env: Record<string, string | undefined>, path: Path, problems: { path: Path; problem: string }[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (_, name: string) => {
      const v = env[name];
      if (v === undefined || v === '') {
        problems.push({ path, problem: `uses \${${name}}, but the environment variable ${name} is not set; set it or write the value here` });
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, env, [...path, i], problems));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, env, [...path, k], problems)]));
  }
  return value;
}

const ENGINE_TITLES: Record<Database['engine'], string> = { mongo: 'MongoDB', mysql: 'MySQL', postgres: 'PostgreSQL' };

/**
 * Databases of one engine that two environments would share. A physical name is
 * `<database>_<project>_<stage>[_<suffix>]` with every '-' made '_' (shared/names.ts), and catalogue
 * keys hold no '_', so two (environment, database) pairs get the same name exactly when
 * `<database>-<project>-<stage>` is the same for both (shop + orders-eu, eu-shop + orders), or when one
 * is the other's plus "-<word>": a suffix is any short word, so the shorter one's environment with
 * that suffix meets the longer one's without (shop-qa-x + orders, project qa stage x + orders-shop).
 * Both are looked for, and every name compared is made by shared/names.ts.
 */
function databaseCollisions(c: Catalogue): { path: Path; problem: string }[] {
  interface Use { project: string; stage: string; db: string; engine: Database['engine'] }
  const physical = (u: Use, suffix?: string): { env: string; name: string } | undefined => {
    try {
      const env = environmentName(u.project, u.stage, suffix);
      const n = namesFor(env, c.baseDomain);
      return { env: env.name, name: { mongo: n.mongoDatabase, mysql: n.mysqlDatabase, postgres: n.postgresDatabase }[u.engine](u.db) };
    } catch (err) {
      // A name envbot cannot make (an invalid project, stage or suffix) belongs to no environment.
      if (err instanceof InvalidNameError) return undefined;
      throw err;
    }
  };
  const problems: { path: Path; problem: string }[] = [];
  const report = (a: Use, aEnv: string, b: Use, bEnv: string, name: string): void => {
    problems.push({
      path: ['projects', b.project, 'databases', b.db],
      problem:
        `database "${b.db}" of project "${b.project}" (in ${bEnv}) and database "${a.db}" of project "${a.project}" (in ${aEnv}) would both be the ${ENGINE_TITLES[b.engine]} database "${name}", ` +
        `and one environment would take over the other's data; rename one of these two databases (or one of the projects)`,
    });
  };
  const byWords = new Map<string, Use>();
  const byName = new Map<string, { use: Use; env: string }>();
  for (const [project, p] of Object.entries(c.projects)) {
    for (const stage of p.stages ?? c.stages) {
      for (const [db, d] of Object.entries(p.databases)) {
        const use: Use = { project, stage, db, engine: d.engine };
        const made = physical(use);
        if (!made) continue;
        byWords.set(`${d.engine} ${db}-${project}-${stage}`, use);
        const other = byName.get(`${d.engine} ${made.name}`);
        if (other) report(other.use, other.env, use, made.env, made.name);
        else byName.set(`${d.engine} ${made.name}`, { use, env: made.env });
      }
    }
  }
  for (const [words, use] of byWords) {
    const cut = words.lastIndexOf('-');
    const shorter = byWords.get(words.slice(0, cut));
    if (!shorter) continue;
    const a = physical(shorter, words.slice(cut + 1));
    const b = physical(use);
    // Not a suffix envbot accepts, or the same environment name: projects that collide, refused above.
    if (!a || !b || a.name !== b.name || (a.env === b.env && shorter.db === use.db)) continue;
    report(shorter, `${a.env}, an environment with suffix "${words.slice(cut + 1)}"`, use, b.env, b.name);
  }
  return problems;
}

function crossCheck(c: Catalogue, root: string): { path: Path; problem: string }[] {
  const problems: { path: Path; problem: string }[] = [];
  const checkLocation = (loc: Location | undefined, path: Path): void => {
    if (loc?.kind === 'disk' && !existsSync(resolve(root, loc.path))) {
      problems.push({ path, problem: `"${loc.path}" does not exist (paths are relative to the folder of envbot.yaml: ${root})` });
    }
  };
  const groupNames = new Set(Object.keys(c.groups));
  const checkPrincipals = (list: readonly string[] | undefined, path: Path): void => {
    list?.forEach((p, i) => {
      if (p.startsWith('group:') && !groupNames.has(p.slice(6))) {
        problems.push({ path: [...path, i], problem: `group "${p.slice(6)}" is not defined under groups (defined: ${[...groupNames].join(', ') || 'none'})` });
      }
    });
  };
  for (const [g, members] of Object.entries(c.groups)) checkPrincipals(members, ['groups', g]);
  for (const a of Object.keys(c.projects)) {
    for (const b of Object.keys(c.projects)) {
      const rest = b.startsWith(`${a}-`) ? b.slice(a.length + 1) : undefined;
      if (rest && c.stages.some((s) => rest === s || rest.startsWith(`${s}-`))) {
        problems.push({ path: ['projects', b], problem: `project "${b}" makes the same environment names as project "${a}" with stage "${rest.split('-')[0]}"; rename one of them` });
      }
    }
  }
  problems.push(...databaseCollisions(c));
  for (const [name, p] of Object.entries(c.projects)) {
    const at = (...rest: Path): Path => ['projects', name, ...rest];
    p.stages?.forEach((s, i) => {
      if (!c.stages.includes(s)) problems.push({ path: at('stages', i), problem: `stage "${s}" is not one of the catalogue's stages (${c.stages.join(', ')})` });
    });
    for (const [svc, s] of Object.entries(p.services)) {
      checkLocation(s.template, at('services', svc, 'template'));
      const problem = branchProblem(s);
      if (problem) problems.push({ path: at('services', svc, 'branch'), problem });
    }
    for (const [db, d] of Object.entries(p.databases)) {
      if (!c.servers[d.engine][d.server]) {
        problems.push({ path: at('databases', db, 'server'), problem: `no ${d.engine} server "${d.server}" under servers.${d.engine} (defined: ${Object.keys(c.servers[d.engine]).join(', ') || 'none'})` });
      }
      checkLocation(d.seed, at('databases', db, 'seed'));
    }
    if (p.redis) {
      if (!c.servers.redis[p.redis.server]) {
        problems.push({ path: at('redis', 'server'), problem: `no redis server "${p.redis.server}" under servers.redis` });
      }
      checkLocation(p.redis.seed, at('redis', 'seed'));
    }
    if (Object.keys(p.storage).length > 0 && !c.storage) {
      problems.push({ path: at('storage'), problem: 'the project uses storage, but the catalogue has no top-level "storage" (EFS file system, DataSync subnet and security groups)' });
    }
    if (Object.keys(p.storage).length > 0 && c.storage && !c.storage.dataSyncRoleArn) {
      problems.push({ path: ['storage'], problem: `project "${name}" fills storage volumes from S3, so "dataSyncRoleArn" (the IAM role DataSync reads the bucket as) is needed` });
    }
    for (const [vol, v] of Object.entries(p.storage)) {
      if (v.source.kind !== 's3') problems.push({ path: at('storage', vol, 'source'), problem: `"${v.source.raw}": a volume is filled from S3 by DataSync; write s3://<bucket>/<prefix>` });
    }
    for (const [action, list] of Object.entries(p.permissions)) checkPrincipals(list, at('permissions', action));
    if (p.vpn && !c.vpn) {
      problems.push({ path: at('vpn'), problem: 'the project names a VPN group, but the catalogue has no top-level "vpn" (clientVpnEndpointId and cidr)' });
    }
    if (p.addressing === 'path' && Object.values(p.services).some((s) => s.hosts.includes(PATH_STYLE_HOST))) {
      problems.push({ path: at('addressing'), problem: `with "addressing: path" every service is reached on the host "${PATH_STYLE_HOST}.<environment>.${c.baseDomain}", so no service may have the host "${PATH_STYLE_HOST}"; rename that host` });
    }
    const hosts = new Map<string, string>();
    for (const [svc, s] of Object.entries(p.services)) {
      for (const h of s.hosts) {
        const other = hosts.get(h);
        if (other) problems.push({ path: at('services', svc, 'hosts'), problem: `host "${h}" is also used by service "${other}"` });
        hosts.set(h, svc);
      }
    }
  }
  return problems;
}

/**
 * Fields envbot reads but does not act on yet. Written in envbot.yaml, each gets one warning at
 * start; defaults filled in by the schema are not warned about. Each later feature removes its line.
 */
const NOT_YET: { path: (string | '*')[]; what: string }[] = [
  { path: ['projects', '*', 'channels', 'teams'], what: 'Microsoft Teams is not supported yet: these channels are not used' },
];

/** Every path in `value` matching `pattern` ('*': any key). */
function pathsOf(value: unknown, pattern: (string | '*')[], at: Path = []): Path[] {
  if (pattern.length === 0) return [at];
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  const [head, ...rest] = pattern;
  const keys = head === '*' ? Object.keys(value) : Object.hasOwn(value, head!) ? [head!] : [];
  return keys.flatMap((k) => pathsOf((value as Record<string, unknown>)[k], rest, [...at, k]));
}

/**
 * Warnings for fields written but not implemented. S3 and git locations are not checked here: the
 * catalogue loads without reaching S3 or git (at start, offline, in CI); a bucket, prefix,
 * repository, ref or path that is not there fails the create or reset that fetches it, naming the
 * location and its path in envbot.yaml (activities/sources).
 */
function notImplemented(raw: unknown): { path: Path; problem: string }[] {
  return NOT_YET.flatMap((n) => pathsOf(raw, n.path).map((path) => ({ path, problem: `${n.what} (ignored)` })));
}

function zodProblems(error: z.ZodError): { path: Path; problem: string }[] {
  return error.issues.map((i) => ({ path: i.path.filter((p): p is string | number => typeof p !== 'symbol'), problem: i.message }));
}

/** Parses catalogue text; `file` is used for messages and as the base of relative paths. */
export function parseCatalogue(text: string, file: string, env: Record<string, string | undefined> = {}): LoadedCatalogue {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const fail = (problems: { path: Path; problem: string }[]): never => {
    const list: CatalogueProblem[] = problems.map((p) => {
      const line = lineOf(doc, lines, p.path);
      return line === undefined ? { path: p.path.join('.'), problem: p.problem } : { path: p.path.join('.'), problem: p.problem, line };
    });
    throw new CatalogueError(file, list);
  };
  if (doc.errors.length > 0) {
    throw new CatalogueError(
      file,
      doc.errors.map((e) => ({ path: '', problem: `not valid YAML: ${e.message.split('\n')[0]}`, line: e.linePos?.[0]?.line ?? lines.linePos(e.pos[0]).line })),
    );
  }
  if (doc.contents === null) fail([{ path: [], problem: 'the file is empty; see examples/envbot.yaml' }]);
  const substituted: { path: Path; problem: string }[] = [];
  const raw = substitute(doc.toJS(), env, [], substituted);
  if (substituted.length) fail(substituted);
  const parsed = catalogueSchema.safeParse(raw);
  if (!parsed.success) fail(zodProblems(parsed.error));
  const catalogue = parsed.data as Catalogue;
  const root = dirname(resolve(file));
  const warnings = notImplemented(raw);
  const cross = crossCheck(catalogue, root);
  if (cross.length) fail(cross);
  const warned = warnings.map((w) => {
    const line = lineOf(doc, lines, w.path);
    return `${file}${line ? `:${line}` : ''}: ${w.path.join('.')}: ${w.problem}`;
  });
  return { file, root, catalogue, warnings: warned };
}

/** Reads and parses the catalogue file; an unreadable file is a CatalogueError too. */
export function loadCatalogue(file: string, env: Record<string, string | undefined> = {}): LoadedCatalogue {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CatalogueError(file, [{ path: '', problem: `cannot read the catalogue (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set ENVBOT_CONFIG to its path` }]);
  }
  return parseCatalogue(text, file, env);
}

/** The absolute path of a disk location. */
export function diskPath(loaded: LoadedCatalogue, loc: Location): string {
  if (loc.kind !== 'disk') throw new Error(`not a disk location: ${loc.raw}`);
  return isAbsolute(loc.path) ? loc.path : resolve(loaded.root, loc.path);
}
