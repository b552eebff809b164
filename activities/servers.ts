// Admin connections to the database servers the catalogue names. Creates use the catalogue's URL
// and remember it (encrypted, in envbot's store); deletes use the catalogue's URL while the server
// is still there, otherwise the remembered one, so an environment whose server (or project) was
// removed from envbot.yaml can still be destroyed. URLs carry passwords: never log them.
import { GoneError } from '../shared/errors.js';
import type { ActivityDeps } from './deps.js';

export type ServerEngine = 'mongo' | 'mysql' | 'postgres' | 'redis';

/** The ledger location of a server's resources: `mongo/main`. */
export const serverLocation = (engine: ServerEngine, server: string): string => `${engine}/${server}`;

/** The server named by a ledger location of `engine`, or undefined for another engine's location. */
export function serverOfLocation(engine: ServerEngine, location: string): string | undefined {
  return location.startsWith(`${engine}/`) ? location.slice(engine.length + 1) : undefined;
}

/** The catalogue's admin URL of `server`, remembered for a later destroy. For creating things. */
export async function adminUrlForCreate(deps: ActivityDeps, engine: ServerEngine, server: string): Promise<string> {
  const url = deps.catalogue.catalogue.servers[engine][server]?.url;
  if (!url) throw new GoneError(`no ${engine} server "${server}" in the catalogue (servers.${engine}.${server})`);
  await deps.store.rememberServer(engine, server, url);
  return url;
}

/**
 * The admin URL of `server` for removing what envbot made there: the catalogue's, or the one
 * remembered when the resources were made. Neither: a GoneError that says how to fix it (no retry helps).
 */
export async function adminUrlForDelete(deps: ActivityDeps, engine: ServerEngine, server: string): Promise<string> {
  const url = deps.catalogue.catalogue.servers[engine][server]?.url ?? (await deps.store.rememberedServer(engine, server));
  if (url) return url;
  throw new GoneError(
    `the ${engine} server "${server}" is no longer in the catalogue and envbot kept no connection to it; add servers.${engine}.${server} back to envbot.yaml and run destroy again`,
  );
}
