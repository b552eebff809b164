// What `status` shows of a whole environment (ready, or being reset): its URLs, databases and Redis
// index, read from the ledger (what envbot made for it and has not deleted) and named as the catalogue
// names them. Pure: the store and the catalogue are read by the caller.
import type { Catalogue } from '../../shared/catalogue/schema.js';
import type { EnvironmentCard } from '../../shared/chat.js';
import { environmentName, namesFor, routeUrl, serviceRoutes } from '../../shared/names.js';
import { LEDGER_KINDS } from '../../shared/store/ledger.js';
import type { EnvironmentRecord, LedgerEntry } from '../../shared/store/store.js';

/** The states in which everything the ledger holds exists: the card then says what the environment has. */
const WHOLE: readonly string[] = ['ready', 'resetting'];

export function statusCard(record: EnvironmentRecord, catalogue: Catalogue, live: readonly LedgerEntry[]): EnvironmentCard | undefined {
  if (!WHOLE.includes(record.state)) return undefined;
  const hosts = new Set(live.filter((e) => e.kind === LEDGER_KINDS.dnsRecord).map((e) => e.name));
  const project = catalogue.projects[record.project];
  const names = namesFor(environmentName(record.project, record.stage, record.suffix ?? undefined), catalogue.baseDomain);
  const routes = project ? serviceRoutes(names, project.services, project.addressing).flatMap((s) => s.routes) : [];
  const urls = routes.filter((r) => hosts.has(r.host)).map(routeUrl);
  // A record no route of the catalogue makes any more (a service removed since the create): its host.
  for (const host of hosts) if (!routes.some((r) => r.host === host)) urls.push(`https://${host}`);
  const databases = Object.entries(LEDGER_KINDS.database).flatMap(([engine, kind]) => live.filter((e) => e.kind === kind).map((e) => ({ engine, name: e.name })));
  const redis = live.find((e) => e.kind === LEDGER_KINDS.redisDatabase);
  if (!urls.length && !databases.length && !redis) return undefined;
  return {
    environment: record.name,
    project: record.project,
    stage: record.stage,
    ...(record.suffix ? { suffix: record.suffix } : {}),
    status: 'ready',
    urls: [...new Set(urls)],
    databases,
    ...(redis ? { redisIndex: Number(redis.name) } : {}),
    ...(record.expiresAt ? { expiresAt: record.expiresAt.toISOString() } : {}),
  };
}
