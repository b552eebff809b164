// What of an environment's way in exists in the real systems: its target groups and listener rules
// on the catalogue's load balancer, and its project's VPN authorisation rule when no other
// environment of the project still uses it. Part of leftovers() (inspect.ts). DNS records are
// checked there.
import { DescribeClientVpnAuthorizationRulesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeRulesCommand, DescribeTargetGroupsCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ResolvedEnv } from '../../activities/environment.js';
import { resolveListener } from '../../activities/loadbalancer.js';
import type { TestDeps } from './deps.js';

export async function networkLeftovers(t: Pick<TestDeps, 'deps'>, r: ResolvedEnv): Promise<string[]> {
  const found: string[] = [];
  const c = r.catalogue.catalogue;
  if (c.loadBalancer) {
    const elb = new ElasticLoadBalancingV2Client(t.deps.aws);
    try {
      for (const service of Object.keys(r.project.services)) {
        const name = r.names.targetGroup(service);
        const groups = await elb.send(new DescribeTargetGroupsCommand({ Names: [name] })).catch(() => ({ TargetGroups: [] }));
        if (groups.TargetGroups?.length) found.push(`target group ${name}`);
      }
      const { listenerArn } = await resolveListener(elb, c.loadBalancer, r.catalogue.file);
      const { Rules = [] } = await elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }));
      const domain = `.${r.names.domain}`;
      for (const rule of Rules) {
        const hosts = rule.Conditions?.flatMap((x) => x.HostHeaderConfig?.Values ?? x.Values ?? []) ?? [];
        if (hosts.some((h) => h.endsWith(domain))) found.push(`listener rule ${rule.Priority} for ${hosts.join(',')}`);
      }
    } finally {
      elb.destroy();
    }
    const priorities = await t.deps.store.pool.query<{ slot: number }>("SELECT slot FROM allocations WHERE starts_with(pool, 'lb/') AND starts_with(owner, $1)", [`${r.env.name}/`]);
    found.push(...priorities.rows.map((x) => `rule priority ${x.slot}`));
  }
  if (c.vpn && r.project.vpn) {
    const cidr = r.project.vpn.cidr ?? c.vpn.cidr;
    const others = await t.deps.store.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM resources WHERE kind = 'vpn-authorization' AND deleted_at IS NULL AND environment <> $1 AND starts_with(name, $2)",
      [r.env.name, `${cidr} ${r.project.vpn.group} `],
    );
    if (!others.rows[0]?.n) {
      const ec2 = new EC2Client({ ...t.deps.aws, ...(c.vpn.region ? { region: c.vpn.region } : {}) });
      try {
        const { AuthorizationRules = [] } = await ec2.send(new DescribeClientVpnAuthorizationRulesCommand({ ClientVpnEndpointId: c.vpn.clientVpnEndpointId }));
        found.push(...AuthorizationRules.filter((x) => x.GroupId === r.project.vpn!.group && x.DestinationCidr === cidr).map((x) => `vpn authorisation ${x.GroupId} ${x.DestinationCidr}`));
      } finally {
        ec2.destroy();
      }
    }
  }
  return found;
}
