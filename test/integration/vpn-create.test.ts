// VPN access through the whole create and destroy, on the shared moto (its launcher adds the EC2
// Client VPN calls): with the catalogue naming a Client VPN endpoint and projb's directory group,
// creating projb-qa authorises that group for the environments' network, the result (and so the
// card) says which group connects, and destroying it revokes the rule; nothing of it is left.
import { join } from 'node:path';
import { CreateClientVpnEndpointCommand, DeleteClientVpnEndpointCommand, DescribeClientVpnAuthorizationRulesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue, type LoadedCatalogue } from '../../shared/catalogue/load.js';
import type { Requester } from '../../shared/model.js';
import type { CreateEnvironmentResult } from '../../workflows/create-environment.js';
import { uniqueEnv } from '../support/deps.js';
import { leftovers } from '../support/inspect.js';
import { provisioningHarness, type Harness } from '../support/provisioning.js';
import { repoRoot, testSettings } from '../support/settings.js';

const requester: Requester = { id: 'cli:test', platform: 'cli' };
const CIDR = '10.30.0.0/16';
const GROUP = 'projb-testers';

describe('VPN access through a whole create and destroy', () => {
  let h: Harness;
  let ec2: EC2Client;
  let endpoint: string;
  const qa = uniqueEnv('projb', 'qa');

  const rules = async () => {
    const { AuthorizationRules = [] } = await ec2.send(new DescribeClientVpnAuthorizationRulesCommand({ ClientVpnEndpointId: endpoint }));
    return AuthorizationRules.map((r) => `${r.GroupId} ${r.DestinationCidr} ${r.Status?.Code}`);
  };

  beforeAll(async () => {
    const aws = testSettings().aws;
    ec2 = new EC2Client({ region: aws.region, ...(aws.endpoint ? { endpoint: aws.endpoint } : {}), credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    endpoint = (await ec2.send(new CreateClientVpnEndpointCommand({
      ClientCidrBlock: '10.251.0.0/22',
      ServerCertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/envbot-vpn-create',
      AuthenticationOptions: [{ Type: 'directory-service-authentication', ActiveDirectory: { DirectoryId: 'd-1234567890' } }],
      ConnectionLogOptions: { Enabled: false },
    }))).ClientVpnEndpointId!;
    const loaded: LoadedCatalogue = loadCatalogue(join(repoRoot, 'examples', 'envbot.yaml'), testSettings().env);
    loaded.catalogue.vpn = { clientVpnEndpointId: endpoint, cidr: CIDR };
    loaded.catalogue.projects.projb!.vpn = { group: GROUP };
    h = await provisioningHarness('vpn-create', { catalogue: loaded });
  }, 120_000);

  afterAll(async () => {
    await h?.stop();
    if (endpoint) await ec2.send(new DeleteClientVpnEndpointCommand({ ClientVpnEndpointId: endpoint })).catch(() => undefined);
    ec2?.destroy();
  }, 240_000);

  it('authorises the group while projb-qa exists and revokes it when it is destroyed', async () => {
    expect(await rules()).toEqual([]);
    const { handle } = await h.core.create({ project: 'projb', stage: 'qa', suffix: qa.suffix!, requester, target: { platform: 'console', channel: 'C-vpn' } });
    const result = (await handle.result()) as CreateEnvironmentResult;
    expect(result.status).toBe('ready');
    expect(result.vpnGroup).toBe(GROUP);
    expect(await rules()).toEqual([`${GROUP} ${CIDR} active`]);
    expect((await h.deps.store.liveResources(qa.environment)).map((e) => e.kind)).toContain('vpn-authorization');

    await (await h.core.destroy({ environment: qa.environment, requester })).handle.result();
    expect(await rules()).toEqual([]);
    expect(await leftovers(h, qa)).toEqual([]);
  }, 400_000);
});
