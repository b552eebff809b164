// secrets: the environment's generated secrets (database passwords, the catalogue's own), stored
// encrypted in envbot's store. Values never leave this module's callers: results carry names only.
import type { EnvRef } from '../shared/model.js';
import { generatedSpecs, generateValue } from './credentials.js';
import type { ActivityDeps } from './deps.js';
import { resolveEnv } from './environment.js';

export interface SecretsInput {
  ref: EnvRef;
}

export interface SecretsResult {
  /** Names of the secrets, never their values. */
  names: string[];
}

/** The store's secrets table, where a secret's key is (environment, name): the ledger location says whose it is. */
const locationOf = (environment: string) => `envbot-store/${environment}`;

export function createSecretsActivities(deps: ActivityDeps) {
  return {
    /** Generates each missing secret; ones already stored keep their value (idempotent). */
    async createSecrets({ ref }: SecretsInput): Promise<SecretsResult> {
      deps.faults?.check('createSecrets');
      const r = resolveEnv(deps.catalogue, ref);
      const specs = generatedSpecs(r);
      const names = specs.map((spec) => spec.name);
      // All in the ledger first, then all stored (a value already stored is kept), one statement each.
      await deps.store.recordResources(names.map((name) => ({ environment: r.env.name, kind: 'secret', name, location: locationOf(r.env.name) })));
      await deps.store.putSecrets(r.env.name, specs.map((spec) => [spec.name, generateValue(spec)] as const));
      deps.log.info({ environment: r.env.name, secrets: names }, 'secrets generated');
      return { names };
    },

    /** Deletes every stored secret of the environment (the ledger says which); needs no catalogue. */
    async deleteSecrets({ ref }: SecretsInput): Promise<SecretsResult> {
      const name = ref.environment;
      const live = (await deps.store.liveResources(name)).filter((e) => e.kind === 'secret');
      await deps.store.deleteSecrets(name);
      for (const e of live) await deps.store.markResourceDeleted(e);
      deps.log.info({ environment: name, secrets: live.map((e) => e.name) }, 'secrets deleted');
      return { names: live.map((e) => e.name) };
    },
  };
}
