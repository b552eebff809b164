// Handlebars rendering of templates and seed files for one environment: {{ENV_NAME}},
// {{host "service2"}}, {{volume "media"}}, {{mountPath "media"}}, {{database "catalog"}} and friends
// (examples/README.md).
import Handlebars from 'handlebars';
import { CatalogueError } from '../shared/errors.js';
import type { ResolvedEnv } from './environment.js';

export type Vars = Record<string, string | number>;

export function baseVars(r: ResolvedEnv): Vars {
  return {
    ENV_NAME: r.env.name,
    PROJECT: r.env.project,
    STAGE: r.env.stage,
    NAMESPACE: r.names.namespace,
    BASE_DOMAIN: r.catalogue.catalogue.baseDomain,
    SECRET_NAME: r.names.kubernetesSecret,
  };
}

/** The variables of one service's template. */
export function serviceVars(r: ResolvedEnv, service: string): Vars {
  const s = r.project.services[service];
  if (!s) throw new Error(`service ${service} is not in project ${r.env.project}`);
  return { ...baseVars(r), SERVICE: service, IMAGE: s.image, PORT: s.port, HOST: r.names.host(s.hosts[0]!) };
}

/**
 * Renders `text` strictly: an unknown variable or helper is an error naming the file, so a
 * typo in a template never ships as an empty string.
 */
export function render(r: ResolvedEnv, text: string, vars: Vars, file: string): string {
  return renderer(r, vars, file)(text);
}

/** A helper's last argument: the render's data frame carries the environment. */
type HelperOptions = { data: { envbotEnv: ResolvedEnv } };

/**
 * One Handlebars for every environment: its helpers read the environment from the render's data
 * (`{ data: { envbotEnv } }`), so a template's text compiles once and serves every environment.
 */
const hb = Handlebars.create();
hb.registerHelper('host', (service: string, o: HelperOptions) => {
  const r = o.data.envbotEnv;
  const svc = r.project.services[service];
  return r.names.host(svc?.hosts[0] ?? service);
});
// A volume the project does not have would name a claim nobody makes: the Pod would wait forever.
function volumeOf(r: ResolvedEnv, helper: string, name: string) {
  const v = Object.hasOwn(r.project.storage, name) ? r.project.storage[name] : undefined;
  if (!v) {
    const has = Object.keys(r.project.storage);
    throw new Error(`{{${helper} "${name}"}}: project ${r.env.project} has no storage volume "${name}" (${has.length ? `its volumes: ${has.join(', ')}` : 'it has none'})`);
  }
  return v;
}
hb.registerHelper('volume', (name: string, o: HelperOptions) => (volumeOf(o.data.envbotEnv, 'volume', name), o.data.envbotEnv.names.volume(name)));
hb.registerHelper('mountPath', (name: string, o: HelperOptions) => volumeOf(o.data.envbotEnv, 'mountPath', name).mountPath);
hb.registerHelper('database', (name: string, o: HelperOptions) => {
  const r = o.data.envbotEnv;
  const db = r.project.databases[name];
  if (!db) throw new Error(`{{database "${name}"}}: project ${r.env.project} has no database "${name}"`);
  return db.engine === 'mongo' ? r.names.mongoDatabase(name) : db.engine === 'mysql' ? r.names.mysqlDatabase(name) : r.names.postgresDatabase(name);
});

/** Compiled templates by text, newest used last; texts longer than CACHE_TEXT_CHARS are compiled each time. */
const compiled = new Map<string, HandlebarsTemplateDelegate>();
const CACHE_ENTRIES = 512;
const CACHE_TEXT_CHARS = 256 * 1024;

function compile(text: string): HandlebarsTemplateDelegate {
  const hit = compiled.get(text);
  if (hit) {
    compiled.delete(text); // kept as the newest
    compiled.set(text, hit);
    return hit;
  }
  const t = hb.compile(text, { strict: true, noEscape: true });
  if (text.length <= CACHE_TEXT_CHARS) {
    if (compiled.size >= CACHE_ENTRIES) compiled.delete(compiled.keys().next().value!);
    compiled.set(text, t);
  }
  return t;
}

/**
 * Renders the pieces of one file as it streams (the statements of a SQL file, the elements of a
 * JSON array); a piece without `{{` passed through as it is. A block helper cannot span two pieces.
 * Errors name the file and the piece's line.
 */
export function renderer(r: ResolvedEnv, vars: Vars, file: string): (text: string, line?: number) => string {
  const data = { envbotEnv: r };
  return (text, line) => {
    if (!text.includes('{{')) return text;
    try {
      return compile(text)(vars, { data });
    } catch (err) {
      // A template that does not render is wrong in the catalogue's files: permanent, not retried.
      throw new CatalogueError(file, [{ path: '', problem: `cannot render: ${(err as Error).message}`, ...(line ? { line } : {}) }]);
    }
  };
}
