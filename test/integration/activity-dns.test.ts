// The DNS activities against moto's Route 53: CNAMEs for projb's hosts in the catalogue's private
// zone (a catalogue without a load balancer; aliases to one are in loadbalancer.test.ts), read back
// through the AWS SDK, then deleted (also when one is already gone).
import {
  ChangeResourceRecordSetsCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDnsActivities } from '../../activities/dns.js';
import { ConflictError } from '../../shared/errors.js';
import { join } from 'node:path';
import { loadCatalogue } from '../../shared/catalogue/load.js';
import { testDeps, uniqueEnv, type TestDeps } from '../support/deps.js';
import { repoRoot, testSettings } from '../support/settings.js';

const run = <A, R>(fn: (input: A) => Promise<R>, input: A): Promise<R> =>
  new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') }).run(fn, input);

const TARGET = 'internal-envbot-lb.us-east-1.elb.amazonaws.com';

describe('dns activities (Route 53 on moto)', () => {
  let t: TestDeps;
  let dns: ReturnType<typeof createDnsActivities>;
  let r53: Route53Client;
  let zoneId: string;
  const ref = uniqueEnv('projb', 'qa');
  const hosts = [`service1.${ref.environment}.example.com`, `service2.${ref.environment}.example.com`];

  /** Every record set of this test's environment in the zone. */
  async function envRecords(): Promise<ResourceRecordSet[]> {
    const out: ResourceRecordSet[] = [];
    let start: { StartRecordName?: string; StartRecordType?: never } = {};
    for (;;) {
      const page = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, ...start }));
      out.push(...(page.ResourceRecordSets ?? []));
      if (!page.IsTruncated) break;
      start = { StartRecordName: page.NextRecordName!, StartRecordType: page.NextRecordType as never };
    }
    return out.filter((s) => s.Name?.endsWith(`.${ref.environment}.example.com.`));
  }

  beforeAll(async () => {
    const catalogue = loadCatalogue(join(repoRoot, 'examples', 'envbot.yaml'), testSettings().env);
    delete catalogue.catalogue.loadBalancer;
    t = await testDeps('act_dns', catalogue);
    dns = createDnsActivities(t.deps);
    r53 = new Route53Client(t.deps.aws);
  });

  afterAll(async () => {
    // Whatever a failed test left: remove this environment's records (the shared zone stays).
    if (r53 && zoneId) {
      const left = await envRecords().catch(() => []);
      if (left.length) {
        await r53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: left.map((s) => ({ Action: 'DELETE', ResourceRecordSet: s })) } })).catch(() => undefined);
      }
    }
    r53?.destroy();
    await t?.close();
  });

  it('creates a CNAME per service host in the private zone, and again without complaint', async () => {
    const result = await run(dns.createDnsRecords, { ref });
    zoneId = result.zoneId;
    expect(result.records.sort()).toEqual(hosts);
    expect(zoneId).not.toMatch(/^\/hostedzone\//);

    const zone = await r53.send(new GetHostedZoneCommand({ Id: zoneId }));
    expect(zone.HostedZone?.Name).toBe('example.com.');
    expect(zone.HostedZone?.Config?.PrivateZone).toBe(true);

    const records = await envRecords();
    expect(records.map((s) => s.Name).sort()).toEqual(hosts.map((h) => `${h}.`));
    for (const s of records) {
      expect(s.Type).toBe('CNAME');
      expect(s.TTL).toBe(60);
      expect(s.ResourceRecords).toEqual([{ Value: TARGET }]);
    }

    const ledger = (await t.deps.store.liveResources(ref.environment)).filter((e) => e.kind === 'dns-record');
    expect(ledger.map((e) => e.name).sort()).toEqual(hosts);
    expect(ledger.every((e) => e.location === zoneId)).toBe(true);

    expect(await run(dns.createDnsRecords, { ref })).toEqual(result);
    expect((await envRecords()).length).toBe(2);
    expect((await t.deps.store.liveResources(ref.environment)).filter((e) => e.kind === 'dns-record')).toHaveLength(2);
  });

  describe('never takes over a record that is not the environment\'s', () => {
    const other = uniqueEnv('projb', 'qa');
    const otherHosts = [`service1.${other.environment}.example.com`, `service2.${other.environment}.example.com`];
    const foreign: ResourceRecordSet = { Name: otherHosts[0], Type: 'CNAME', TTL: 300, ResourceRecords: [{ Value: 'someone-else.example.net' }] };
    const recordsOf = async (name: string) =>
      ((await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: name, MaxItems: 5 }))).ResourceRecordSets ?? []).filter((x) => x.Name === `${name}.`);

    afterAll(async () => {
      for (const host of otherHosts) {
        for (const set of await recordsOf(host).catch(() => [])) {
          await r53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: [{ Action: 'DELETE', ResourceRecordSet: set }] } })).catch(() => undefined);
        }
      }
    });

    it('refuses a record someone made by hand: nothing changed, nothing recorded, and destroy leaves it alone', async () => {
      await r53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: [{ Action: 'CREATE', ResourceRecordSet: foreign }] } }));
      const err = await run(dns.createDnsRecords, { ref: other }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect((err as Error).message).toMatch(new RegExp(`DNS name ${otherHosts[0]!.replace(/\./g, '\\.')} in zone ${zoneId} already has a record that envbot did not make`));
      expect(await recordsOf(otherHosts[0]!)).toEqual([{ ...foreign, Name: `${otherHosts[0]}.` }]);
      expect(await recordsOf(otherHosts[1]!)).toEqual([]);
      expect(await t.deps.store.liveResources(other.environment)).toEqual([]);

      await run(dns.deleteDnsRecords, { ref: other });
      expect(await recordsOf(otherHosts[0]!)).toEqual([{ ...foreign, Name: `${otherHosts[0]}.` }]);
    });

    it('refuses a name the ledger gives to another environment, whether or not the record exists', async () => {
      await t.deps.store.recordResource({ environment: 'someone-else-qa', kind: 'dns-record', name: otherHosts[1]!, location: zoneId });
      try {
        await r53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: [{ Action: 'DELETE', ResourceRecordSet: { ...foreign, Name: `${otherHosts[0]}.` } }] } }));
        const err = await run(dns.createDnsRecords, { ref: other }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConflictError);
        expect((err as Error).message).toMatch(/belongs to environment someone-else-qa/);
        expect(await recordsOf(otherHosts[0]!)).toEqual([]);
        expect(await recordsOf(otherHosts[1]!)).toEqual([]);
        expect(await t.deps.store.liveResources(other.environment)).toEqual([]);
      } finally {
        await t.deps.store.markResourceDeleted({ environment: 'someone-else-qa', kind: 'dns-record', name: otherHosts[1]!, location: zoneId });
      }
    });
  });

  it('deletes every record of the environment (one already gone is fine), twice without complaint', async () => {
    // Someone removed service1's record by hand: deletion still succeeds.
    const gone = (await envRecords()).find((s) => s.Name === `${hosts[0]}.`)!;
    await r53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: [{ Action: 'DELETE', ResourceRecordSet: gone }] } }));

    const first = await run(dns.deleteDnsRecords, { ref });
    expect(first.deleted.sort()).toEqual(hosts);
    expect(await envRecords()).toEqual([]);
    expect((await t.deps.store.liveResources(ref.environment)).filter((e) => e.kind === 'dns-record')).toEqual([]);

    expect(await run(dns.deleteDnsRecords, { ref })).toEqual({ deleted: [] });
    expect(t.logs.join('\n')).toContain('DNS records deleted');
  });
});
