// How long an environment may be kept: the rules for a create's time to live and for extensions.
// Pure. An extension never brings the expiry closer (that would let `extend` do what only `destroy`
// may), never below a minimum, never beyond the project's maximum.
import type { Catalogue } from '../../shared/catalogue/schema.js';
import { parseDuration } from '../../shared/duration.js';

/** The shortest time an environment can be given: an extension to "now" would be a destroy. */
export const MIN_TTL = '1h';

export interface ExpiryRules {
  minMs: number;
  maxMs: number;
  max: string;
}

export function expiryRules(catalogue: Catalogue, project: string): ExpiryRules {
  const max = catalogue.projects[project]?.maxTtl ?? catalogue.defaults.maxTtl;
  return { minMs: parseDuration(MIN_TTL), maxMs: parseDuration(max), max };
}

/** Why `duration` cannot be a time to live for `project` (a sentence with the allowed range), or undefined. */
export function ttlProblem(catalogue: Catalogue, project: string, duration: string): string | undefined {
  const rules = expiryRules(catalogue, project);
  const ms = parseDuration(duration);
  if (ms < rules.minMs || ms > rules.maxMs) return `${project} environments can be kept from ${MIN_TTL} to ${rules.max}; "${duration}" is outside that.`;
  return undefined;
}

/**
 * Why extending `environment` (of `project`, now expiring at `current`) by `duration` from `now` is
 * refused, or undefined. `mayShorten`: the person may also destroy it, so may bring the expiry closer.
 */
export function extensionProblem(o: {
  catalogue: Catalogue;
  project: string;
  environment: string;
  duration: string;
  now: number;
  current: Date | null;
  mayShorten: boolean;
}): string | undefined {
  const range = ttlProblem(o.catalogue, o.project, o.duration);
  if (range) return range;
  const until = o.now + parseDuration(o.duration);
  if (o.current && until < o.current.getTime() && !o.mayShorten) {
    return `${o.environment} already expires at ${o.current.toISOString()}, later than ${o.duration} from now; an extension never brings it closer (that needs destroy permission).`;
  }
  return undefined;
}
