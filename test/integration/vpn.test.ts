// The VPN activities against a moto of the test's own, started from the project's launcher, which
// adds the EC2 Client VPN calls moto lacks: the project's directory group is authorised for the
// environments' network while one of its environments exists (read with the test's own EC2 client),
// the last one out revokes it, a rule that was there before envbot is never revoked, concurrent
// creates and destroys agree, and a failure half-way leaves nothing.
import { join } from 'node:path';
import { AuthorizeClientVpnIngressCommand, CreateClientVpnEndpointCommand, DescribeClientVpnAuthorizationRulesCommand, EC2Client, RevokeClientVpnIngressCommand } from '@aws-sdk/client-ec2';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveEnv } from '../../activities/environment.js';
import { createVpnActivities } from '../../activities/vpn.js';
import { planFor } from '../../bot/core/plan.js';
import { loadCatalogue, type LoadedCatalogue } from '../../shared/catalogue/load.js';
import { CatalogueError } from '../../shared/errors.js';
import type { EnvRef } from '../../shared/model.js';
import { rowsFor } from '../../shared/resources.js';
import { testDeps, uniqueEnv, type TestDeps } from '../support/deps.js';
import { networkLeftovers } from '../support/inspect-network.js';
import { privateMoto, type PrivateMoto } from '../support/private-moto.js';
import { repoRoot, testSettings } from '../support/settings.js';

const run = <A, R>(fn: (input: A) => Promise<R>, input: A): Promise<R> =>
  new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') }).run(fn, input);

const CIDR = '10.20.0.0/16';
const GROUP = 'projb-developers';

describe('VPN access (EC2 Client VPN on a private moto)', () => {
  let moto: PrivateMoto;
  let t: TestDeps;
  let ec2: EC2Client;
  let endpoint: string;
  let vpn: ReturnType<typeof createVpnActivities>;

  function catalogueWith(endpointId: string, group = GROUP): LoadedCatalogue {
    const c = loadCatalogue(join(repoRoot, 'examples', 'envbot.yaml'), testSettings().env);
    delete c.catalogue.loadBalancer;
    c.catalogue.vpn = { clientVpnEndpointId: endpointId, cidr: CIDR };
    c.catalogue.projects.projb!.vpn = { group };
    return c;
  }

  async function rules(group = GROUP) {
    const { AuthorizationRules = [] } = await ec2.send(new DescribeClientVpnAuthorizationRulesCommand({ ClientVpnEndpointId: endpoint }));
    return AuthorizationRules.filter((r) => r.GroupId === group).map((r) => `${r.GroupId} ${r.DestinationCidr} ${r.Status?.Code}`);
  }

  /** Nothing of `ref` in the ledger, and no rule unless another environment still uses it. */
  async function left(ref: EnvRef): Promise<string[]> {
    const ledger = (await t.deps.store.liveResources(ref.environment)).map((e) => `ledger ${e.kind} ${e.name}`);
    return [...ledger, ...(await networkLeftovers(t, resolveEnv(t.deps.catalogue, ref)))];
  }

  beforeAll(async () => {
    moto = await privateMoto();
    ec2 = new EC2Client({ ...testSettings().aws, endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    endpoint = (await ec2.send(new CreateClientVpnEndpointCommand({
      ClientCidrBlock: '10.250.0.0/22',
      ServerCertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/envbot-test',
      AuthenticationOptions: [{ Type: 'directory-service-authentication', ActiveDirectory: { DirectoryId: 'd-1234567890' } }],
      ConnectionLogOptions: { Enabled: false },
    }))).ClientVpnEndpointId!;
    t = await testDeps('vpn', catalogueWith(endpoint));
    t.deps.aws = { ...t.deps.aws, endpoint: moto.endpoint };
    vpn = createVpnActivities(t.deps);
  });

  afterAll(async () => {
    ec2?.destroy();
    await t?.close();
    await moto?.stop();
  });

  it('is in the plan only when the catalogue names an endpoint and the project a group', () => {
    expect(rowsFor(planFor(t.deps.catalogue.catalogue, 'projb', 'qa')).map((r) => r.id)).toContain('vpn');
    expect(rowsFor(planFor(t.deps.catalogue.catalogue, 'projc', 'qa')).map((r) => r.id)).not.toContain('vpn');
  });

  it('authorises the group while an environment exists; the last one destroyed revokes it', async () => {
    const a = uniqueEnv('projb', 'qa');
    const b = uniqueEnv('projb', 'qa');
    expect(await rules()).toEqual([]);
    expect(await run(vpn.createVpnAccess, { ref: a })).toEqual({ endpoint, cidr: CIDR, group: GROUP });
    expect(await rules()).toEqual([`${GROUP} ${CIDR} active`]);
    await run(vpn.createVpnAccess, { ref: a });
    await run(vpn.createVpnAccess, { ref: b });
    expect(await rules()).toEqual([`${GROUP} ${CIDR} active`]);
    expect(await run(vpn.deleteVpnAccess, { ref: a })).toEqual({ revoked: [], kept: [`${GROUP} ${CIDR}`] });
    expect(await rules()).toEqual([`${GROUP} ${CIDR} active`]);
    expect(await run(vpn.deleteVpnAccess, { ref: b })).toEqual({ revoked: [`${GROUP} ${CIDR}`], kept: [] });
    expect(await rules()).toEqual([]);
    expect(await left(a)).toEqual([]);
    expect(await left(b)).toEqual([]);
    // Again: nothing to do.
    expect(await run(vpn.deleteVpnAccess, { ref: b })).toEqual({ revoked: [], kept: [] });
  });

  it('creates and destroys at once agree: the rule exists exactly while some environment does', async () => {
    const refs = Array.from({ length: 6 }, () => uniqueEnv('projb', 'qa'));
    await Promise.all(refs.map((ref) => run(vpn.createVpnAccess, { ref })));
    expect(await rules()).toEqual([`${GROUP} ${CIDR} active`]);
    // Five go while the sixth is created again: the rule stays.
    await Promise.all([...refs.slice(0, 5).map((ref) => run(vpn.deleteVpnAccess, { ref })), run(vpn.createVpnAccess, { ref: refs[5]! })]);
    expect(await rules()).toEqual([`${GROUP} ${CIDR} active`]);
    await run(vpn.deleteVpnAccess, { ref: refs[5]! });
    expect(await rules()).toEqual([]);
    for (const ref of refs) expect(await left(ref)).toEqual([]);
  });

  it('never revokes a rule that was there before envbot needed it', async () => {
    await ec2.send(new AuthorizeClientVpnIngressCommand({ ClientVpnEndpointId: endpoint, TargetNetworkCidr: CIDR, AccessGroupId: GROUP, Description: 'made by hand' }));
    try {
      const ref = uniqueEnv('projb', 'qa');
      await run(vpn.createVpnAccess, { ref });
      expect(await run(vpn.deleteVpnAccess, { ref })).toEqual({ revoked: [], kept: [`${GROUP} ${CIDR}`] });
      expect(await rules()).toEqual([`${GROUP} ${CIDR} active`]);
    } finally {
      await ec2.send(new RevokeClientVpnIngressCommand({ ClientVpnEndpointId: endpoint, TargetNetworkCidr: CIDR, AccessGroupId: GROUP }));
    }
  });

  it.each(['createVpnAccess', 'createVpnAccess:rule'])('a failure at %s, then the revoke, leaves nothing', async (step) => {
    const ref = uniqueEnv('projb', 'qa');
    t.faults.clear();
    t.faults.failAt(step, { times: 1 });
    await expect(run(vpn.createVpnAccess, { ref })).rejects.toThrow(/injected fault/);
    await run(vpn.deleteVpnAccess, { ref });
    expect(await rules()).toEqual([]);
    expect(await left(ref)).toEqual([]);
  });

  it('a fault after the rule was added is retried and then revoked once the environment goes', async () => {
    const ref = uniqueEnv('projb', 'qa');
    await run(vpn.createVpnAccess, { ref });
    // The retry of a create whose earlier try added the rule: still envbot's rule, so still revoked.
    await run(vpn.createVpnAccess, { ref });
    await run(vpn.deleteVpnAccess, { ref });
    expect(await rules()).toEqual([]);
  });

  it('refuses an endpoint that does not exist, naming the catalogue field', async () => {
    const other = await testDeps('vpn_missing', catalogueWith('cvpn-endpoint-0000000000000000f'));
    other.deps.aws = { ...other.deps.aws, endpoint: moto.endpoint };
    try {
      const err = await run(createVpnActivities(other.deps).createVpnAccess, { ref: uniqueEnv('projb', 'qa') }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CatalogueError);
      expect((err as Error).message).toMatch(/vpn\.clientVpnEndpointId.*no Client VPN endpoint cvpn-endpoint-0000000000000000f/);
    } finally {
      await other.close();
    }
  });
});
