// The load-balancer activities against moto's ELBv2 and Route 53, read back with clients of the
// test's own: per service a target group (health check on healthPath) and a listener rule matching
// the host (host style) or the shared host and the path (path style), aliases in the private zone,
// distinct priorities for environments created at once, nothing left after a delete or a failure
// half-way, a crash between a make and its ARN adopted, and other people's rules and names refused.
import { join } from 'node:path';
import { ListHostedZonesByNameCommand, ListResourceRecordSetsCommand, Route53Client, type ResourceRecordSet } from '@aws-sdk/client-route-53';
import {
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteRuleCommand,
  DeleteTargetGroupCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
  type Rule,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDnsActivities } from '../../activities/dns.js';
import { awsClients } from '../../activities/deps.js';
import { createLoadBalancerActivities, rulePool } from '../../activities/loadbalancer.js';
import { loadCatalogue, type LoadedCatalogue } from '../../shared/catalogue/load.js';
import { ConflictError } from '../../shared/errors.js';
import type { EnvRef } from '../../shared/model.js';
import { ensureExampleLoadBalancer, EXAMPLE_LOAD_BALANCER } from '../../scripts/services/lib/example-load-balancer.js';
import { testDeps, uniqueEnv, type TestDeps } from '../support/deps.js';
import { leftovers } from '../support/inspect.js';
import { repoRoot, testSettings } from '../support/settings.js';

const run = <A, R>(fn: (input: A) => Promise<R>, input: A): Promise<R> =>
  new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') }).run(fn, input);

/** The example catalogue, with projb in the path style. */
function pathStyle(): LoadedCatalogue {
  const c = loadCatalogue(join(repoRoot, 'examples', 'envbot.yaml'), testSettings().env);
  c.catalogue.projects.projb!.addressing = 'path';
  return c;
}

const hostsOf = (rule: Rule) => rule.Conditions?.flatMap((c) => c.HostHeaderConfig?.Values ?? []) ?? [];
const pathsOf = (rule: Rule) => rule.Conditions?.flatMap((c) => c.PathPatternConfig?.Values ?? []) ?? [];

describe('load balancer rules (ELBv2 and Route 53 on moto)', () => {
  let t: TestDeps;
  let paths: TestDeps;
  let elb: ElasticLoadBalancingV2Client;
  let r53: Route53Client;
  let listenerArn: string;
  let lbDns: string;
  const made: { deps: TestDeps; ref: EnvRef }[] = [];

  /** The listener's rules for `ref`'s hosts, by the test's own client. */
  async function rulesOf(ref: EnvRef): Promise<Rule[]> {
    const { Rules = [] } = await elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }));
    return Rules.filter((r) => hostsOf(r).some((h) => h.endsWith(`.${ref.environment}.example.com`)));
  }

  async function recordsOf(ref: EnvRef): Promise<ResourceRecordSet[]> {
    const zones = (await r53.send(new ListHostedZonesByNameCommand({ DNSName: 'example.com' }))).HostedZones ?? [];
    const out: ResourceRecordSet[] = [];
    for (const z of zones.filter((x) => x.Name === 'example.com.' && x.Config?.PrivateZone)) {
      const { ResourceRecordSets = [] } = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: z.Id! }));
      out.push(...ResourceRecordSets.filter((s) => s.Name?.endsWith(`.${ref.environment}.example.com.`)));
    }
    return out;
  }

  async function create(deps: TestDeps, ref: EnvRef) {
    made.push({ deps, ref });
    const lb = await run(createLoadBalancerActivities(deps.deps).createLoadBalancerRules, { ref });
    const dns = await run(createDnsActivities(deps.deps).createDnsRecords, { ref });
    return { lb, dns };
  }

  async function destroy(deps: TestDeps, ref: EnvRef) {
    await run(createDnsActivities(deps.deps).deleteDnsRecords, { ref });
    await run(createLoadBalancerActivities(deps.deps).deleteLoadBalancerRules, { ref });
  }

  beforeAll(async () => {
    t = await testDeps('lb');
    paths = await testDeps('lb_paths', pathStyle());
    listenerArn = await ensureExampleLoadBalancer(t.deps.aws.endpoint!);
    elb = new ElasticLoadBalancingV2Client(t.deps.aws);
    r53 = new Route53Client(t.deps.aws);
    lbDns = (await elb.send(new DescribeLoadBalancersCommand({ Names: [EXAMPLE_LOAD_BALANCER.name] }))).LoadBalancers![0]!.DNSName!;
  });

  afterAll(async () => {
    // Whatever a failed test left.
    for (const { deps, ref } of made) await destroy(deps, ref).catch(() => undefined);
    elb?.destroy();
    r53?.destroy();
    await paths?.close();
    await t?.close();
  });

  it('host style: a target group and a rule per service host, alias records to the load balancer, all gone after the delete', async () => {
    const ref = uniqueEnv('projb', 'qa');
    const { lb, dns } = await create(t, ref);
    expect(dns.urls).toEqual([`https://service1.${ref.environment}.example.com`, `https://service2.${ref.environment}.example.com`]);

    const rules = await rulesOf(ref);
    expect(rules.map((r) => hostsOf(r)).sort()).toEqual([[`service1.${ref.environment}.example.com`], [`service2.${ref.environment}.example.com`]]);
    expect(rules.every((r) => pathsOf(r).length === 0)).toBe(true);
    expect(rules.map((r) => Number(r.Priority)).sort()).toEqual(lb.rules.map((x) => x.priority).sort());
    for (const rule of rules) {
      const tgArn = rule.Actions?.[0]?.TargetGroupArn;
      expect(rule.Actions?.[0]?.Type).toBe('forward');
      const { TargetGroups = [] } = await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [tgArn!] }));
      const service = hostsOf(rule)[0]!.split('.')[0]!;
      expect(TargetGroups[0]).toMatchObject({ Port: 8080, Protocol: 'HTTP', TargetType: 'ip', HealthCheckPath: service === 'service1' ? '/healthz' : '/' });
    }

    const records = await recordsOf(ref);
    expect(records.map((s) => s.Name).sort()).toEqual([`service1.${ref.environment}.example.com.`, `service2.${ref.environment}.example.com.`]);
    for (const s of records) {
      expect(s.Type).toBe('A');
      expect(s.AliasTarget?.DNSName?.replace(/\.$/, '')).toBe(lbDns);
    }
    // Again: nothing changes, nothing doubles.
    await create(t, ref);
    expect((await rulesOf(ref)).length).toBe(2);

    await destroy(t, ref);
    expect(await rulesOf(ref)).toEqual([]);
    expect(await leftovers(t, ref)).toEqual([]);
  });

  it('path style: one host for the environment, a rule per service path, one alias record', async () => {
    const ref = uniqueEnv('projb', 'qa');
    const { dns } = await create(paths, ref);
    const host = `services.${ref.environment}.example.com`;
    expect(dns.records).toEqual([host]);
    expect(dns.urls).toEqual([`https://${host}/service1`, `https://${host}/service2`]);

    const rules = await rulesOf(ref);
    expect(rules.map((r) => [hostsOf(r), pathsOf(r).sort()]).sort()).toEqual([
      [[host], ['/service1', '/service1/*']],
      [[host], ['/service2', '/service2/*']],
    ]);
    const records = await recordsOf(ref);
    expect(records.map((s) => [s.Name, s.Type, s.AliasTarget?.DNSName?.replace(/\.$/, '')])).toEqual([[`${host}.`, 'A', lbDns]]);

    await destroy(paths, ref);
    expect(await leftovers(paths, ref)).toEqual([]);
  });

  it('10 environments created at once get 10 distinct priorities per service pair, and are all removed', async () => {
    const refs = Array.from({ length: 10 }, () => uniqueEnv('projb', 'qa'));
    const results = await Promise.all(refs.map((ref) => {
      made.push({ deps: t, ref });
      return run(createLoadBalancerActivities(t.deps).createLoadBalancerRules, { ref });
    }));
    const priorities = results.flatMap((r) => r.rules.map((x) => x.priority));
    expect(new Set(priorities).size).toBe(20);
    // What the listener holds, by the test's own client: the same 20 rules, one priority each.
    const onListener = (await Promise.all(refs.map(rulesOf))).flat();
    expect(onListener.map((r) => Number(r.Priority)).sort()).toEqual([...priorities].sort());
    const held = await t.deps.store.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM allocations WHERE pool = $1 AND owner = ANY($2)', [
      rulePool(listenerArn),
      refs.flatMap((r) => [`${r.environment}/service1`, `${r.environment}/service2`]),
    ]);
    expect(held.rows[0]!.n).toBe(20);

    await Promise.all(refs.map((ref) => run(createLoadBalancerActivities(t.deps).deleteLoadBalancerRules, { ref })));
    for (const ref of refs) expect(await leftovers(t, ref)).toEqual([]);
  });

  it.each(['createLoadBalancerRules', 'createLoadBalancerRules:rule'])('a failure at %s, then the delete, leaves nothing', async (step) => {
    const ref = uniqueEnv('projb', 'qa');
    t.faults.clear();
    t.faults.failAt(step, { times: 1 });
    await expect(create(t, ref)).rejects.toThrow(/injected fault/);
    await destroy(t, ref);
    expect(await leftovers(t, ref)).toEqual([]);
  });

  it('a crash between making a rule and recording its ARN is adopted by its tags, not made twice', async () => {
    const ref = uniqueEnv('projb', 'qa');
    await create(t, ref);
    // As if the worker died after each make: the ARNs never reached the ledger.
    await t.deps.store.pool.query("UPDATE resources SET deleted_at = now() WHERE environment = $1 AND kind = 'elb-arn'", [ref.environment]);
    await create(t, ref);
    expect((await rulesOf(ref)).length).toBe(2);
    await t.deps.store.pool.query("UPDATE resources SET deleted_at = now() WHERE environment = $1 AND kind = 'elb-arn'", [ref.environment]);
    await destroy(t, ref);
    expect(await leftovers(t, ref)).toEqual([]);
  });

  it('passes over a priority a rule envbot did not make holds (by hand, or another envbot), leaving that rule alone', async () => {
    const ref = uniqueEnv('projb', 'qa');
    const { from, count } = t.deps.catalogue.catalogue.loadBalancer!.priorities;
    const { Rules = [] } = await elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }));
    const onListener = new Set(Rules.map((r) => Number(r.Priority)));
    const { rows } = await t.deps.store.pool.query<{ slot: number }>('SELECT slot FROM allocations WHERE pool = $1', [rulePool(listenerArn)]);
    const inStore = new Set(rows.map((r) => r.slot));
    // The priority this store would hand out next: taken by hand first.
    const next = Array.from({ length: count }, (_, i) => from + i).find((p) => !onListener.has(p) && !inStore.has(p))!;
    const tg = (await elb.send(new CreateTargetGroupCommand({ Name: `hand-${ref.suffix}`, Protocol: 'HTTP', Port: 80, VpcId: (await elb.send(new DescribeLoadBalancersCommand({ Names: [EXAMPLE_LOAD_BALANCER.name] }))).LoadBalancers![0]!.VpcId!, TargetType: 'ip' }))).TargetGroups![0]!.TargetGroupArn!;
    const hand = (await elb.send(new CreateRuleCommand({
      ListenerArn: listenerArn,
      Priority: next,
      Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [`hand-made-${ref.suffix}.example.com`] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: tg }],
    }))).Rules![0]!;
    try {
      const { lb } = await create(t, ref);
      const priorities = lb.rules.map((x) => x.priority);
      expect(priorities).not.toContain(next);
      expect(priorities.every((p) => !onListener.has(p))).toBe(true);
      const after = (await elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }))).Rules ?? [];
      expect(after.find((r) => r.RuleArn === hand.RuleArn)?.Priority).toBe(String(next));
      await destroy(t, ref);
      expect((await elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }))).Rules?.some((r) => r.RuleArn === hand.RuleArn)).toBe(true);
    } finally {
      await elb.send(new DeleteRuleCommand({ RuleArn: hand.RuleArn! }));
      await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg }));
    }
    expect(await leftovers(t, ref)).toEqual([]);
  });

  it('refuses a host another rule on the listener already routes, and a target group name someone else holds, touching neither', async () => {
    const ref = uniqueEnv('projb', 'qa');
    const tg = (await elb.send(new CreateTargetGroupCommand({ Name: `hand-${ref.suffix}`, Protocol: 'HTTP', Port: 80, VpcId: (await elb.send(new DescribeLoadBalancersCommand({ Names: [EXAMPLE_LOAD_BALANCER.name] }))).LoadBalancers![0]!.VpcId!, TargetType: 'ip' }))).TargetGroups![0]!.TargetGroupArn!;
    const hand = (await elb.send(new CreateRuleCommand({
      ListenerArn: listenerArn,
      Priority: 40000 + Math.floor(Math.random() * 9000),
      Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [`service2.${ref.environment}.example.com`] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: tg }],
    }))).Rules![0]!;
    try {
      const err = await run(createLoadBalancerActivities(t.deps).createLoadBalancerRules, { ref }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect((err as Error).message).toMatch(/already routes .*service2\..* which envbot did not make/);
      // Nothing of the environment was made; the hand-made rule is still there.
      expect((await rulesOf(ref)).map((r) => r.RuleArn)).toEqual([hand.RuleArn]);
      await run(createLoadBalancerActivities(t.deps).deleteLoadBalancerRules, { ref });
      expect((await rulesOf(ref)).map((r) => r.RuleArn)).toEqual([hand.RuleArn]);
    } finally {
      await elb.send(new DeleteRuleCommand({ RuleArn: hand.RuleArn! }));
      await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg }));
    }
    expect(await leftovers(t, ref)).toEqual([]);

    // A target group of the name envbot would use, made by hand (no envbot tags).
    const other = uniqueEnv('projb', 'qa');
    const vpcId = (await elb.send(new DescribeLoadBalancersCommand({ Names: [EXAMPLE_LOAD_BALANCER.name] }))).LoadBalancers![0]!.VpcId!;
    const { namesFor, environmentName } = await import('../../shared/names.js');
    const name = namesFor(environmentName('projb', 'qa', other.suffix), 'example.com').targetGroup('service1');
    const taken = (await elb.send(new CreateTargetGroupCommand({ Name: name, Protocol: 'HTTP', Port: 80, VpcId: vpcId, TargetType: 'ip' }))).TargetGroups![0]!.TargetGroupArn!;
    try {
      await expect(run(createLoadBalancerActivities(t.deps).createLoadBalancerRules, { ref: other })).rejects.toThrow(/target group .* was not made by envbot/);
      await run(createLoadBalancerActivities(t.deps).deleteLoadBalancerRules, { ref: other });
      // Still there: the delete never touches a group the ledger does not give to the environment.
      expect((await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [taken] }))).TargetGroups).toHaveLength(1);
    } finally {
      await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: taken }));
    }
    expect(await leftovers(t, other)).toEqual([]);
  });

  it('a worker looks the listener up once for many creates, and again after a call on it failed (the listener was replaced)', async () => {
    const name = `envbot-cache-${uniqueEnv('projb', 'qa').suffix}`;
    const first = await ensureExampleLoadBalancer(t.deps.aws.endpoint!, { name, port: 8080 });
    const catalogue = loadCatalogue(join(repoRoot, 'examples', 'envbot.yaml'), testSettings().env);
    catalogue.catalogue.loadBalancer = { ...catalogue.catalogue.loadBalancer!, name, port: 8080 };
    const c = await testDeps('lb_cache', catalogue);
    // What the worker's own ELBv2 client sends, by command.
    const sent: string[] = [];
    awsClients(c.deps).elbv2().middlewareStack.add((next, context) => (args) => {
      sent.push(String(context.commandName));
      return next(args);
    }, { step: 'initialize' });
    const count = (command: string) => sent.filter((x) => x === command).length;
    const refs = [uniqueEnv('projb', 'qa'), uniqueEnv('projb', 'qa'), uniqueEnv('projb', 'qa')] as const;
    try {
      await create(c, refs[0]);
      await run(createLoadBalancerActivities(c.deps).createLoadBalancerRules, { ref: refs[1] });
      // Two rule sets and one set of aliases, one look at the load balancer and its listeners.
      expect([count('DescribeLoadBalancersCommand'), count('DescribeListenersCommand')]).toEqual([1, 1]);
      expect((await elb.send(new DescribeRulesCommand({ ListenerArn: first }))).Rules?.filter((r) => !r.IsDefault)).toHaveLength(4);

      // The listener is replaced (its rules go with it): the kept one fails the next create once.
      await elb.send(new DeleteListenerCommand({ ListenerArn: first }));
      const second = await ensureExampleLoadBalancer(t.deps.aws.endpoint!, { name, port: 8080 });
      expect(second).not.toBe(first);
      await expect(run(createLoadBalancerActivities(c.deps).createLoadBalancerRules, { ref: refs[2] })).rejects.toThrow(/listener/i);
      const retried = await run(createLoadBalancerActivities(c.deps).createLoadBalancerRules, { ref: refs[2] });
      expect(retried.listenerArn).toBe(second);
      expect((await elb.send(new DescribeRulesCommand({ ListenerArn: second }))).Rules?.filter((r) => !r.IsDefault)).toHaveLength(2);
      expect(count('DescribeLoadBalancersCommand')).toBe(2);
      // The environments whose rules went with the old listener are destroyed all the same.
      for (const ref of refs) await destroy(c, ref);
      for (const ref of refs) expect(await leftovers(c, ref)).toEqual([]);
    } finally {
      for (const ref of refs) await destroy(c, ref).catch(() => undefined);
      const lb = (await elb.send(new DescribeLoadBalancersCommand({ Names: [name] }))).LoadBalancers![0]!.LoadBalancerArn!;
      await elb.send(new DeleteListenerCommand({ ListenerArn: await ensureExampleLoadBalancer(t.deps.aws.endpoint!, { name, port: 8080 }) }));
      await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb }));
      await c.close();
    }
  });
});
