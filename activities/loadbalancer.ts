// loadbalancer: per environment and service, an ELBv2 target group (health check on the service's
// `healthPath`) and a rule on the catalogue's internal listener forwarding the service's routes to it:
// its host (`service1.projb-qa.example.com`) or, in the path style, its path on the environment's
// shared host (`services.projb-qa.example.com/service1`). Rule priorities are slots of the allocation
// pool `lb/<listener arn>`, so concurrent creates never take the same one. Everything is recorded in
// the ledger before it is made, made with tags naming the environment and the object, and its ARN
// recorded as soon as it exists; a crash in between is adopted by its tags. Deletes read only the ledger.
import {
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteRuleCommand,
  DeleteTargetGroupCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  type ElasticLoadBalancingV2Client,
  type LoadBalancer,
  type Rule,
  type RuleCondition,
  type Tag,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Catalogue } from '../shared/catalogue/schema.js';
import { awsError, awsErrorName } from '../shared/clients/aws.js';
import { CatalogueError, ConflictError } from '../shared/errors.js';
import type { EnvRef } from '../shared/model.js';
import { routeKey, serviceRoutes, type Route } from '../shared/names.js';
import { awsClients, type ActivityDeps } from './deps.js';
import { resolveEnv, type ResolvedEnv } from './environment.js';
import { ENV_LABEL } from './kubernetes.js';

export interface LoadBalancerInput {
  ref: EnvRef;
}

export interface LoadBalancerResult {
  listenerArn: string;
  rules: { service: string; priority: number; targetGroup: string; routes: string[] }[];
}

export interface DeleteLoadBalancerResult {
  /** What was removed (or found already gone), as `kind name`. */
  deleted: string[];
}

/** The listener and its load balancer, as DNS aliases and target groups need them. */
export interface ListenerTarget {
  listenerArn: string;
  loadBalancerArn: string;
  vpcId: string;
  /** The load balancer's DNS name (Route 53 alias target) and its canonical hosted zone. */
  dnsName: string;
  canonicalHostedZoneId: string;
}

const KIND = {
  /** A route (`host` or `host/path`) on a listener: one environment's, so two never route the same requests. */
  route: 'lb-route',
  /** A target group, recorded before it is made, by name (unique in the region). */
  targetGroup: 'elb-target-group',
  /** A listener rule, recorded before it is made, as `<env>/<service>` (also its priority's owner). */
  rule: 'elb-listener-rule',
  /** The ARN of one of those, recorded as soon as it exists (details.object names which). */
  arn: 'elb-arn',
} as const;

const OBJECT_TAG = 'envbot.io/object';

/** The allocation pool of a listener's rule priorities. */
export const rulePool = (listenerArn: string): string => `lb/${listenerArn}`;

const matches = (err: unknown, code: string) => new RegExp(`^${code}(Exception)?$`).test(awsErrorName(err) ?? '');

/** The listener the catalogue names (by ARN, or by load balancer name and port) and its load balancer. */
export async function resolveListener(elb: ElasticLoadBalancingV2Client, lb: NonNullable<Catalogue['loadBalancer']>, file: string): Promise<ListenerTarget> {
  const refuse = (path: string, problem: string): never => {
    throw new CatalogueError(file, [{ path, problem }]);
  };
  let listenerArn = lb.listenerArn;
  let loadBalancerArn: string | undefined;
  // Looked up by name, the load balancer's description is at hand; through a listener ARN, it is asked for below.
  let found: LoadBalancer | undefined;
  try {
    if (listenerArn) {
      const { Listeners = [] } = await elb.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] })).catch((err: unknown) => {
        if (matches(err, 'ListenerNotFound') || matches(err, 'ValidationError')) return refuse('loadBalancer.listenerArn', `no listener ${listenerArn}; write the ARN of the internal load balancer's listener`);
        throw err;
      });
      loadBalancerArn = Listeners[0]?.LoadBalancerArn;
    } else {
      const { LoadBalancers = [] } = await elb.send(new DescribeLoadBalancersCommand({ Names: [lb.name!] })).catch((err: unknown) => {
        if (matches(err, 'LoadBalancerNotFound')) return refuse('loadBalancer.name', `no load balancer named "${lb.name}"`);
        throw err;
      });
      found = LoadBalancers[0];
      loadBalancerArn = found?.LoadBalancerArn;
      const { Listeners = [] } = await elb.send(new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn }));
      const port = lb.port ?? (Listeners.length === 1 ? Listeners[0]!.Port : undefined);
      const listener = Listeners.find((l) => l.Port === port);
      if (!listener?.ListenerArn) {
        return refuse('loadBalancer.port', `load balancer "${lb.name}" has ${lb.port ? `no listener on port ${lb.port}` : `${Listeners.length} listeners`} (ports: ${Listeners.map((l) => l.Port).join(', ') || 'none'}); write the port of the listener envbot adds rules to`);
      }
      listenerArn = listener.ListenerArn;
    }
    found ??= (await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [loadBalancerArn!] }))).LoadBalancers?.[0];
    if (!found?.DNSName || !found.VpcId) throw new Error(`load balancer ${loadBalancerArn} has no DNS name or VPC`);
    if (lb.vpcId && lb.vpcId !== found.VpcId) refuse('loadBalancer.vpcId', `the load balancer is in ${found.VpcId}, not ${lb.vpcId}; correct vpcId or leave it out`);
    return { listenerArn: listenerArn!, loadBalancerArn: loadBalancerArn!, vpcId: found.VpcId, dnsName: found.DNSName, canonicalHostedZoneId: found.CanonicalHostedZoneId ?? '' };
  } catch (err) {
    throw awsError(err, `finding the load balancer listener of ${file}`);
  }
}

/**
 * How long a worker keeps a listener it resolved: the load balancer is long-lived infrastructure that
 * every create asks about twice (its rules and its DNS aliases, two ELBv2 calls each time). A failed
 * call that names the listener or its VPC drops it at once (forgetListener), so the retry looks again.
 */
export const LISTENER_TTL_MS = 60_000;
const listeners = new WeakMap<ElasticLoadBalancingV2Client, Map<string, { at: number; target: Promise<ListenerTarget> }>>();

/** resolveListener, kept per client and catalogue entry for LISTENER_TTL_MS (a failed lookup is not kept). */
export function cachedListener(elb: ElasticLoadBalancingV2Client, lb: NonNullable<Catalogue['loadBalancer']>, file: string): Promise<ListenerTarget> {
  let kept = listeners.get(elb);
  if (!kept) listeners.set(elb, (kept = new Map()));
  const key = JSON.stringify([lb.listenerArn, lb.name, lb.port, lb.vpcId]);
  const hit = kept.get(key);
  if (hit && Date.now() - hit.at < LISTENER_TTL_MS) return hit.target;
  const target = resolveListener(elb, lb, file);
  const entry = { at: Date.now(), target };
  kept.set(key, entry);
  target.catch(() => {
    if (kept.get(key) === entry) kept.delete(key);
  });
  return target;
}

/** Drops every listener kept for `elb`: after a failed call that named the listener or its VPC, the retry looks again. */
export function forgetListener(elb: ElasticLoadBalancingV2Client): void {
  listeners.delete(elb);
}

/** Each service's routes, in the project's addressing style. */
export const routesOf = (r: ResolvedEnv): { service: string; routes: Route[] }[] => serviceRoutes(r.names, r.project.services, r.project.addressing);

/** The rule conditions of a service's routes: its hosts, and in the path style its paths (`/service1`, `/service1/*`). */
function conditionsOf(routes: Route[]): RuleCondition[] {
  const hosts = [...new Set(routes.map((x) => x.host))];
  const paths = routes.flatMap((x) => (x.path ? [x.path, `${x.path}/*`] : []));
  return [{ Field: 'host-header', HostHeaderConfig: { Values: hosts } }, ...(paths.length ? [{ Field: 'path-pattern', PathPatternConfig: { Values: paths } }] : [])];
}

function valuesOf(rule: Rule, field: string): string[] {
  return rule.Conditions?.filter((c) => c.Field === field).flatMap((c) => c.Values ?? (field === 'host-header' ? c.HostHeaderConfig?.Values : c.PathPatternConfig?.Values) ?? []) ?? [];
}

/** Whether `rule` routes some of the same requests as `routes`: a shared host, and a shared path (or no path on either side). */
function overlaps(rule: Rule, routes: Route[]): boolean {
  const hosts = valuesOf(rule, 'host-header').map((h) => h.toLowerCase());
  const paths = valuesOf(rule, 'path-pattern');
  return routes.some((x) => hosts.includes(x.host) && (x.path ? paths.length === 0 || paths.includes(x.path) || paths.includes(`${x.path}/*`) : paths.length === 0));
}

const tagValue = (tags: Tag[] | undefined, key: string) => tags?.find((t) => t.Key === key)?.Value;

export function createLoadBalancerActivities(deps: ActivityDeps) {
  const elb = () => awsClients(deps).elbv2();
  const region = `elbv2/${deps.aws.region}`;

  async function tagsOf(arns: string[]): Promise<Map<string, Tag[]>> {
    const out = new Map<string, Tag[]>();
    for (let i = 0; i < arns.length; i += 20) {
      const { TagDescriptions = [] } = await elb().send(new DescribeTagsCommand({ ResourceArns: arns.slice(i, i + 20) }));
      for (const d of TagDescriptions) out.set(d.ResourceArn!, d.Tags ?? []);
    }
    return out;
  }

  async function rulesOf(listenerArn: string): Promise<Rule[]> {
    const rules: Rule[] = [];
    let marker: string | undefined;
    do {
      const page = await elb().send(new DescribeRulesCommand({ ListenerArn: listenerArn, ...(marker ? { Marker: marker } : {}) }));
      rules.push(...(page.Rules ?? []));
      marker = page.NextMarker;
    } while (marker);
    return rules;
  }

  /** The target group named `name` when it carries the environment's tags; one of anyone else is a ConflictError. */
  async function findTargetGroup(name: string, environment: string): Promise<string | undefined> {
    let arn: string | undefined;
    try {
      arn = (await elb().send(new DescribeTargetGroupsCommand({ Names: [name] }))).TargetGroups?.[0]?.TargetGroupArn;
    } catch (err) {
      if (matches(err, 'TargetGroupNotFound')) return undefined;
      throw err;
    }
    if (!arn) return undefined;
    const tags = (await tagsOf([arn])).get(arn);
    const holder = tagValue(tags, ENV_LABEL);
    if (holder === environment) return arn;
    throw new ConflictError(
      `target group ${name} exists and ${holder ? `belongs to environment ${holder}` : 'was not made by envbot'}, so ${environment} leaves it alone and stops; ` +
        `${holder ? `destroy ${holder} first` : 'delete or rename that target group'}, then create ${environment} again.`,
    );
  }

  /** The ARN the ledger holds for `object`, if its make got that far. */
  async function arnOf(environment: string, object: string): Promise<string | undefined> {
    return (await deps.store.liveResources(environment)).find((e) => e.kind === KIND.arn && e.details?.object === object)?.name;
  }

  return {
    /**
     * Per service: the route entries (all services first, so another environment's or a hand-made rule
     * for the same requests stops the create before anything is made), a priority, the target group
     * and the listener rule. Running it again changes nothing.
     */
    async createLoadBalancerRules({ ref }: LoadBalancerInput): Promise<LoadBalancerResult> {
      deps.faults?.check('createLoadBalancerRules');
      const r = resolveEnv(deps.catalogue, ref);
      const lb = r.catalogue.catalogue.loadBalancer;
      if (!lb) throw new CatalogueError(r.catalogue.file, [{ path: 'loadBalancer', problem: 'no load balancer in the catalogue, but the plan has load-balancer rules' }]);
      const environment = r.env.name;
      const target = await cachedListener(elb(), lb, r.catalogue.file);
      const { listenerArn } = target;
      const services = routesOf(r);
      await deps.store.recordResources(services.flatMap((s) => s.routes.map((route) => ({ environment, kind: KIND.route, name: routeKey(route), location: listenerArn, details: { service: s.service } }))));
      const existing = await rulesOf(listenerArn).catch((err: unknown) => {
        forgetListener(elb());
        throw awsError(err, `listing the rules of listener ${listenerArn}`);
      });
      const candidates = existing.filter((rule) => !rule.IsDefault && services.some((s) => overlaps(rule, s.routes)));
      const tags = await tagsOf(candidates.map((c) => c.RuleArn!));
      const ownRule = (service: string) => candidates.find((c) => tagValue(tags.get(c.RuleArn!), ENV_LABEL) === environment && tagValue(tags.get(c.RuleArn!), OBJECT_TAG) === r.names.ruleOwner(service));
      for (const s of services) {
        const other = candidates.find((c) => overlaps(c, s.routes) && c !== ownRule(s.service));
        if (other) {
          const holder = tagValue(tags.get(other.RuleArn!), ENV_LABEL);
          for (const route of s.routes) await deps.store.markResourceDeleted({ environment, kind: KIND.route, name: routeKey(route), location: listenerArn });
          throw new ConflictError(
            `listener ${listenerArn} already routes ${s.routes.map(routeKey).join(', ')} with rule ${other.RuleArn} (priority ${other.Priority}), ` +
              `${holder ? `made for environment ${holder}` : 'which envbot did not make'}, so ${environment} leaves it alone and stops; remove that rule (or rename the service's host in envbot.yaml) and create ${environment} again.`,
          );
        }
      }
      const out: LoadBalancerResult['rules'] = [];
      for (const { service, routes } of services) {
        const svc = r.project.services[service]!;
        const owner = r.names.ruleOwner(service);
        const tgName = r.names.targetGroup(service);
        const objectTags = (object: string): Tag[] => [{ Key: 'Name', Value: tgName }, { Key: ENV_LABEL, Value: environment }, { Key: OBJECT_TAG, Value: object }];
        // The target group.
        await deps.store.recordResource({ environment, kind: KIND.targetGroup, name: tgName, location: region, details: { service } });
        let tgArn = await arnOf(environment, `tg:${tgName}`);
        if (!tgArn) {
          try {
            tgArn = await findTargetGroup(tgName, environment);
            tgArn ??= (await elb().send(new CreateTargetGroupCommand({
              Name: tgName,
              Protocol: 'HTTP',
              Port: svc.port,
              VpcId: target.vpcId,
              // Pod IPs, registered by whatever binds the Service to it (the AWS Load Balancer Controller's TargetGroupBinding).
              TargetType: 'ip',
              HealthCheckProtocol: 'HTTP',
              HealthCheckPath: svc.healthPath,
              Matcher: { HttpCode: '200-399' },
              Tags: objectTags(`tg:${tgName}`),
            }))).TargetGroups?.[0]?.TargetGroupArn;
          } catch (err) {
            forgetListener(elb()); // made in the listener's VPC
            if (err instanceof ConflictError) await deps.store.markResourceDeleted({ environment, kind: KIND.targetGroup, name: tgName, location: region });
            throw awsError(err, `creating target group ${tgName}`);
          }
          if (!tgArn) throw new Error(`ELBv2 made target group ${tgName} but returned no ARN`);
          await deps.store.recordResource({ environment, kind: KIND.arn, name: tgArn, location: region, details: { object: `tg:${tgName}`, kind: 'target-group' } });
        }
        deps.faults?.check('createLoadBalancerRules:rule');
        // The rule: recorded first (its name is the priority's owner, so a delete releases the priority), then its priority.
        await deps.store.recordResource({ environment, kind: KIND.rule, name: owner, location: listenerArn, details: { service } });
        const priority = await deps.store.allocations.claim(rulePool(listenerArn), owner, {
          from: lb.priorities.from,
          count: lb.priorities.count,
          // Priorities rules already hold on the listener (hand-made, or another envbot's) are passed over, never touched.
          skip: existing.filter((rule) => !rule.IsDefault && rule.RuleArn !== ownRule(service)?.RuleArn).map((rule) => Number(rule.Priority)),
          exhausted: `all ${lb.priorities.count} rule priorities envbot hands out on listener ${listenerArn} (${lb.priorities.from} to ${lb.priorities.from + lb.priorities.count - 1}) are taken; destroy an environment you no longer need, or widen loadBalancer.priorities in envbot.yaml.`,
        });
        let ruleArn = (await arnOf(environment, `rule:${owner}`)) ?? ownRule(service)?.RuleArn;
        if (!ruleArn) {
          try {
            ruleArn = (await elb().send(new CreateRuleCommand({
              ListenerArn: listenerArn,
              Priority: priority,
              Conditions: conditionsOf(routes),
              Actions: [{ Type: 'forward', TargetGroupArn: tgArn }],
              Tags: objectTags(owner),
            }))).Rules?.[0]?.RuleArn;
          } catch (err) {
            forgetListener(elb());
            if (matches(err, 'PriorityInUse')) {
              // A rule made since the listing above took it: give it back; the retry lists the rules again and passes it over.
              await deps.store.allocations.release(rulePool(listenerArn), owner);
              throw new Error(`priority ${priority} on listener ${listenerArn} was taken by another rule while ${environment} was being created; trying again with another`, { cause: err });
            }
            throw awsError(err, `creating the listener rule of ${service} (priority ${priority})`);
          }
          if (!ruleArn) throw new Error(`ELBv2 made the rule of ${service} but returned no ARN`);
        }
        await deps.store.recordResource({ environment, kind: KIND.arn, name: ruleArn, location: listenerArn, details: { object: `rule:${owner}`, kind: 'rule' } });
        out.push({ service, priority, targetGroup: tgName, routes: routes.map(routeKey) });
      }
      deps.log.info({ environment, listenerArn, rules: out }, 'load balancer rules created');
      return { listenerArn, rules: out };
    },

    /**
     * Rules first (a target group in use cannot go), then target groups, then the priorities and
     * routes; what the ledger names but never got its ARN there is looked for by its tags. Needs no catalogue.
     */
    async deleteLoadBalancerRules({ ref }: LoadBalancerInput): Promise<DeleteLoadBalancerResult> {
      const environment = ref.environment;
      const live = await deps.store.liveResources(environment);
      const deleted: string[] = [];
      const arns = live.filter((e) => e.kind === KIND.arn);
      const gone = (err: unknown) => matches(err, 'RuleNotFound') || matches(err, 'TargetGroupNotFound');
      const deleteArn = async (kind: 'rule' | 'target-group', arn: string) => {
        try {
          if (kind === 'rule') await elb().send(new DeleteRuleCommand({ RuleArn: arn }));
          else await elb().send(new DeleteTargetGroupCommand({ TargetGroupArn: arn }));
        } catch (err) {
          if (!gone(err)) throw awsError(err, `deleting ${kind} ${arn} of ${environment}`);
        }
      };
      for (const intent of live.filter((e) => e.kind === KIND.rule)) {
        const listenerArn = intent.location;
        const made = arns.filter((e) => e.details?.object === `rule:${intent.name}`);
        let found = made.map((e) => e.name);
        if (!found.length) {
          // Recorded, and maybe made, but its ARN never reached the ledger: look for it by its tags.
          try {
            const rules = (await rulesOf(listenerArn)).filter((x) => !x.IsDefault);
            const tags = await tagsOf(rules.map((x) => x.RuleArn!));
            found = rules.filter((x) => tagValue(tags.get(x.RuleArn!), ENV_LABEL) === environment && tagValue(tags.get(x.RuleArn!), OBJECT_TAG) === intent.name).map((x) => x.RuleArn!);
          } catch (err) {
            if (!matches(err, 'ListenerNotFound')) throw awsError(err, `looking for the rule ${intent.name} on ${listenerArn} by its tags`);
          }
        }
        for (const arn of found) await deleteArn('rule', arn);
        for (const e of made) await deps.store.markResourceDeleted(e);
        await deps.store.allocations.release(rulePool(listenerArn), intent.name);
        await deps.store.markResourceDeleted(intent);
        deleted.push(`rule ${intent.name}`);
      }
      for (const intent of live.filter((e) => e.kind === KIND.targetGroup)) {
        const made = arns.filter((e) => e.details?.object === `tg:${intent.name}`);
        let found = made.map((e) => e.name);
        if (!found.length) {
          const arn = await findTargetGroup(intent.name, environment).catch((err: unknown) => {
            // Someone else's group of that name: not ours to delete.
            if (err instanceof ConflictError) return undefined;
            throw awsError(err, `looking for target group ${intent.name}`);
          });
          found = arn ? [arn] : [];
        }
        for (const arn of found) await deleteArn('target-group', arn);
        for (const e of made) await deps.store.markResourceDeleted(e);
        await deps.store.markResourceDeleted(intent);
        deleted.push(`target group ${intent.name}`);
      }
      for (const e of live.filter((x) => x.kind === KIND.route)) await deps.store.markResourceDeleted(e);
      deps.log.info({ environment, deleted }, 'load balancer rules deleted');
      return { deleted };
    },
  };
}

export type LoadBalancerActivities = ReturnType<typeof createLoadBalancerActivities>;
