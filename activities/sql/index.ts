// sql: each environment's MySQL/MariaDB and PostgreSQL databases, its one user per engine, and
// their seeds (examples/README.md, "MySQL / MariaDB and PostgreSQL"). Admin work uses the
// catalogue's server URL (remembered for destroy); seeding runs as the environment's own user, so a
// seed can do only what the environment itself could. Destroy works from the ledger alone, so it
// still works once the project or its server is gone from the catalogue. Passwords and URLs with
// passwords are never logged. The engines are in mysql.ts and postgres.ts, the seed folder in seed-files.ts.
import { isAbsolute, relative } from 'node:path';
import type { Location } from '../../shared/catalogue/schema.js';
import type { EnvRef, SqlEngine } from '../../shared/model.js';
import { LEDGER_KINDS } from '../../shared/store/ledger.js';
import type { LedgerEntry } from '../../shared/store/store.js';
import { databasePassword } from '../credentials.js';
import { databaseClients, type ActivityDeps } from '../deps.js';
import { resolveEnv, type ResolvedEnv } from '../environment.js';
import { sourcePath, withSourceNames } from '../sources/index.js';
import { pulse } from '../heartbeat.js';
import { baseVars, renderer } from '../render.js';
import { adminUrlForCreate, adminUrlForDelete, serverLocation, serverOfLocation } from '../servers.js';
import type { Admin, Log, Session } from './engine.js';
import { mysqlAdmin, mysqlSession } from './mysql.js';
import { postgresAdmin, postgresSession } from './postgres.js';
import { runSeedFile } from './seed.js';
import { seedFiles } from './seed-files.js';

export { isSeedError } from './errors.js';
export { scramVerifier } from './postgres.js';
export { seedFiles, type SeedFile } from './seed-files.js';

export interface SqlInput {
  ref: EnvRef;
  engine: SqlEngine;
}

export interface CreateSqlResult {
  engine: SqlEngine;
  /** The environment's user on every server of this engine (no password here). */
  user: string;
  /** Physical database names, in catalogue order. */
  databases: string[];
}

export interface SeedSqlResult {
  engine: SqlEngine;
  /** SQL and CSV files run. */
  files: number;
  /** Rows loaded by the `data/` files: INSERT affected rows, COPY and LOAD DATA rows. */
  rows: number;
}

export interface DeleteSqlResult {
  engine: SqlEngine;
  /** Databases and users dropped, or found already gone. */
  dropped: string[];
}

interface Engine {
  /** Ledger kinds of the engine's resources. */
  kinds: { database: string; user: string };
  /** Admin work on the server at `url`, over a connection of the worker's pool for it. */
  admin(deps: ActivityDeps, url: string): Promise<Admin>;
  session(url: string, db: string, user: string, password: string, log: Log): Promise<Session>;
}

const ENGINES: Record<SqlEngine, Engine> = {
  mysql: { kinds: { database: LEDGER_KINDS.database.mysql, user: 'mysql-user' }, admin: (deps, url) => mysqlAdmin(databaseClients(deps).mysql(url)), session: mysqlSession },
  postgres: {
    kinds: { database: LEDGER_KINDS.database.postgres, user: 'postgres-user' },
    admin: (deps, url) => postgresAdmin(databaseClients(deps).postgres(url), url, deps.log),
    session: postgresSession,
  },
};

interface Target {
  logical: string;
  physical: string;
  server: string;
  seed?: Location;
}

function targetsOf(r: ResolvedEnv, engine: SqlEngine): Target[] {
  return Object.entries(r.project.databases)
    .filter(([, db]) => db.engine === engine)
    .map(([logical, db]) => ({
      logical,
      physical: engine === 'mysql' ? r.names.mysqlDatabase(logical) : r.names.postgresDatabase(logical),
      server: db.server,
      ...(db.seed ? { seed: db.seed } : {}),
    }));
}

function userOf(r: ResolvedEnv, engine: SqlEngine): string {
  return engine === 'mysql' ? r.names.mysqlUser : r.names.postgresUser;
}

/** `items` by the key each has, in first-seen order. */
function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) out.set(key(item), [...(out.get(key(item)) ?? []), item]);
  return out;
}

export function createSqlActivities(deps: ActivityDeps) {
  const log = deps.log;

  /** A path as the catalogue's author knows it: relative to envbot.yaml's folder when inside it. */
  function shown(file: string): string {
    const rel = relative(deps.catalogue.root, file);
    return rel.startsWith('..') || isAbsolute(rel) ? file : rel;
  }

  return {
    /** Creates the environment's databases and user of `engine`; existing ones are kept (idempotent). */
    async createSql({ ref, engine }: SqlInput): Promise<CreateSqlResult> {
      deps.faults?.check('createSql');
      const r = resolveEnv(deps.catalogue, ref);
      const { kinds } = ENGINES[engine];
      const user = userOf(r, engine);
      const targets = targetsOf(r, engine);
      if (!targets.length) return { engine, user, databases: [] };
      const password = await databasePassword(deps, r, engine);
      const servers = groupBy(targets, (t) => t.server);
      const urls = new Map<string, string>();
      // Ledger first, on every server: a database another environment holds stops the create before
      // any server is touched (ensureDatabase would grant it, or hand its schema, to this user).
      // The URLs are remembered before anything is recorded or made there, so destroy can always reach them.
      for (const server of servers.keys()) urls.set(server, await adminUrlForCreate(deps, engine, server));
      await deps.store.recordResources([...servers].flatMap(([server, dbs]) => {
        const location = serverLocation(engine, server);
        return [
          { environment: r.env.name, kind: kinds.user, name: user, location },
          ...dbs.map((db) => ({ environment: r.env.name, kind: kinds.database, name: db.physical, location, details: { logical: db.logical } })),
        ];
      }));
      for (const [server, dbs] of servers) {
        const a = await ENGINES[engine].admin(deps, urls.get(server)!);
        try {
          await a.ensureUser(user, password);
          for (const db of dbs) await a.ensureDatabase(db.physical, user);
        } finally {
          await a.close();
        }
        log.info({ environment: r.env.name, engine, server, user, databases: dbs.map((d) => d.physical) }, 'sql databases created');
      }
      return { engine, user, databases: targets.map((t) => t.physical) };
    },

    /**
     * Empties each seeded database and loads its seed again, as the environment's user, streaming
     * every file; heartbeats throughout, and stops (the server ending the session) when cancelled.
     */
    async seedSql({ ref, engine }: SqlInput): Promise<SeedSqlResult> {
      deps.faults?.check('seedSql');
      const r = resolveEnv(deps.catalogue, ref);
      const user = userOf(r, engine);
      const seeded = targetsOf(r, engine).filter((t) => t.seed);
      if (!seeded.length) return { engine, files: 0, rows: 0 };
      const password = await databasePassword(deps, r, engine);
      const vars = baseVars(r);
      // Taken now: stream and timer callbacks heartbeat through it.
      const p = pulse();
      let files = 0;
      let rows = 0;
      for (const db of seeded) {
        const folder = await sourcePath(deps, r, db.seed!, `projects.${r.env.project}.databases.${db.logical}.seed`, p);
        const plan = await seedFiles(folder, r.env.stage);
        const url = await adminUrlForCreate(deps, engine, db.server);
        p.check();
        const session = await ENGINES[engine].session(url, db.physical, user, password, log);
        let dbRows = 0;
        try {
          await p.during(() => ({ database: db.physical, emptying: true }), () => session.reset(), () => session.abort());
          for (const f of plan) {
            const file = shown(f.path);
            const added = await withSourceNames(deps, () => runSeedFile({ session, engine, pulse: p, render: renderer(r, vars, file) }, f, file, (n) => p.beat({ file, rows: rows + n })));
            rows += added;
            dbRows += added;
            files += 1;
            log.debug({ environment: r.env.name, engine, database: db.physical, file, rows: added }, 'seed file run');
            p.beat({ file, rows });
          }
        } finally {
          // After a cancellation the session is gone already.
          await session.close().catch((err: unknown) => log.debug({ err: (err as Error).message }, 'closing the seeding session failed'));
        }
        log.info({ environment: r.env.name, engine, server: db.server, database: db.physical, files: plan.length, rows: dbRows }, 'sql database seeded');
      }
      return { engine, files, rows };
    },

    /**
     * Drops what the ledger says the environment has of `engine`, databases before users; ones
     * already gone count as dropped. Reads no catalogue entry of the project: it may be gone.
     */
    async deleteSql({ ref, engine }: SqlInput): Promise<DeleteSqlResult> {
      const environment = ref.environment;
      const { kinds } = ENGINES[engine];
      const live: { server: string; entry: LedgerEntry }[] = [];
      for (const entry of await deps.store.liveResources(environment)) {
        const server = serverOfLocation(engine, entry.location);
        if (server !== undefined && (entry.kind === kinds.database || entry.kind === kinds.user)) live.push({ server, entry });
      }
      const dropped: string[] = [];
      for (const [server, found] of groupBy(live, (l) => l.server)) {
        // A PostgreSQL role that still owns a database cannot be dropped: databases first.
        const entries = [kinds.database, kinds.user].flatMap((kind) => found.map((f) => f.entry).filter((e) => e.kind === kind));
        const a = await ENGINES[engine].admin(deps, await adminUrlForDelete(deps, engine, server));
        try {
          for (const e of entries) {
            await (e.kind === kinds.database ? a.dropDatabase(e.name) : a.dropUser(e.name));
            await deps.store.markResourceDeleted(e);
            dropped.push(e.name);
          }
        } finally {
          await a.close();
        }
        log.info({ environment, engine, server, dropped: entries.map((e) => e.name) }, 'sql databases deleted');
      }
      return { engine, dropped: [...new Set(dropped)] };
    },
  };
}
