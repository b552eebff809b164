// dns: a record per host of the environment in the catalogue's Route 53 private hosted zone: each
// service's host (`service1.projb-qa.example.com`) or, in the path style, the environment's shared host
// (`services.projb-qa.example.com`). With a `loadBalancer` in the catalogue it is an alias (A) to that
// load balancer; without, a CNAME to `dns.target`. Each record is written to the ledger (location: the
// zone id) before the change, so deletion finds every record envbot may have made.
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  type ListHostedZonesByNameCommandOutput,
  ListResourceRecordSetsCommand,
  type Route53Client,
  type Change,
  type HostedZone,
  type ResourceRecordSet,
  type VPCRegion,
} from '@aws-sdk/client-route-53';
import { awsError, awsErrorName as errorName } from '../shared/clients/aws.js';
import { CatalogueError, ConflictError } from '../shared/errors.js';
import type { EnvRef } from '../shared/model.js';
import { awsClients, type ActivityDeps } from './deps.js';
import { resolveEnv, type ResolvedEnv } from './environment.js';
import { cachedListener, routesOf } from './loadbalancer.js';
import { routeUrl } from '../shared/names.js';
import { LEDGER_KINDS } from '../shared/store/ledger.js';

export interface DnsInput {
  ref: EnvRef;
}

export interface CreateDnsResult {
  /** The private hosted zone's id, without the `/hostedzone/` prefix. */
  zoneId: string;
  /** Fully qualified names of the records, without the trailing dot. */
  records: string[];
  /** Where each service is reached (`https://service1.projb-qa.example.com`, `https://services.projb-qa.example.com/service1`). */
  urls?: string[];
}

export interface DeleteDnsResult {
  /** Names of the records removed (or found already gone). */
  deleted: string[];
}

const KIND = LEDGER_KINDS.dnsRecord;
/** The private zone envbot made, when it had to: shared by every environment, so no environment's destroy removes it. */
const ZONE_KIND = 'dns-zone';
const ZONE_OWNER = 'envbot';
const TTL = 60;

/** Route 53 returns names with a trailing dot; envbot keeps them without. */
const fqdn = (name: string) => name.replace(/\.$/, '').toLowerCase();
const zoneIdOf = (id: string) => id.replace(/^\/hostedzone\//, '');

/** Every host name of the environment, in the project's addressing style. */
function hostsOf(r: ResolvedEnv): string[] {
  return [...new Set(routesOf(r).flatMap((s) => s.routes.map((x) => x.host)))];
}

/** The types of record envbot writes: a CNAME, or an alias to the load balancer. */
const TYPES = new Set(['CNAME', 'A']);
const sameName = (a: string | undefined, b: string) => fqdn(a ?? '') === fqdn(b);

export function createDnsActivities(deps: ActivityDeps) {
  const r53 = () => awsClients(deps).route53();

  /** The private zones named `zone` (several when one is shared by VPCs), best match for the catalogue's VPC first. */
  async function findPrivateZone(r53: Route53Client, zone: string, vpcId: string): Promise<HostedZone | undefined> {
    const want = `${zone}.`;
    const found: HostedZone[] = [];
    let dnsName: string | undefined = zone;
    let hostedZoneId: string | undefined;
    for (;;) {
      const page: ListHostedZonesByNameCommandOutput = await r53.send(new ListHostedZonesByNameCommand({ DNSName: dnsName, ...(hostedZoneId ? { HostedZoneId: hostedZoneId } : {}) }));
      const zones = page.HostedZones ?? [];
      found.push(...zones.filter((z) => z.Name?.toLowerCase() === want && z.Config?.PrivateZone === true));
      // Sorted by name: once a page has passed the zone's name there is nothing more to find.
      const last = zones[zones.length - 1];
      if (!page.IsTruncated || !page.NextDNSName || last?.Name?.toLowerCase() !== want) break;
      dnsName = page.NextDNSName;
      hostedZoneId = page.NextHostedZoneId;
    }
    if (found.length <= 1) return found[0];
    for (const z of found) {
      const details = await r53.send(new GetHostedZoneCommand({ Id: z.Id }));
      if (details.VPCs?.some((v) => v.VPCId === vpcId)) return z;
    }
    return found[0];
  }

  /** The catalogue's private zone, created (associated with its VPC) when it does not exist yet. */
  async function ensureZone(r53: Route53Client, r: ResolvedEnv): Promise<string> {
    const dns = r.catalogue.catalogue.dns;
    const zone = dns.privateZone.replace(/\.$/, '').toLowerCase();
    const existing = await findPrivateZone(r53, zone, dns.vpcId);
    if (existing?.Id) return zoneIdOf(existing.Id);
    const vpc = { VPCId: dns.vpcId, VPCRegion: (dns.vpcRegion ?? deps.aws.region) as VPCRegion };
    const create = (callerReference: string) =>
      r53.send(new CreateHostedZoneCommand({
        Name: zone,
        // Deterministic, so two activities creating it at once make one zone, not two.
        CallerReference: callerReference,
        VPC: vpc,
        HostedZoneConfig: { PrivateZone: true, Comment: 'Lower environments made by envbot' },
      }));
    try {
      return await recordZone(zone, dns.vpcId, await create(`envbot-${zone}`));
    } catch (err) {
      if (errorName(err) !== 'HostedZoneAlreadyExists') throw awsError(err, `creating private hosted zone ${zone}`);
    }
    // Another caller made it a moment ago, or a zone made with this reference was deleted since
    // (a caller reference can never be used twice): find it, or make it under a fresh reference.
    const raced = await findPrivateZone(r53, zone, dns.vpcId);
    if (raced?.Id) return zoneIdOf(raced.Id);
    return recordZone(zone, dns.vpcId, await create(`envbot-${zone}-${Date.now()}`));
  }

  /** A zone envbot made is in the ledger like everything else (owned by envbot, not by an environment). */
  async function recordZone(zone: string, vpcId: string, created: { HostedZone?: { Id?: string } }): Promise<string> {
    const id = zoneIdOf(created.HostedZone!.Id!);
    await deps.store.recordResource({ environment: ZONE_OWNER, kind: ZONE_KIND, name: id, location: 'route53', details: { zone, vpcId } });
    deps.log.info({ zone, zoneId: id, vpcId }, 'created the private hosted zone (it did not exist)');
    return id;
  }

  /** The record set named `name` of a type envbot writes (CNAME or A) in the zone, if there is one. */
  async function currentRecord(r53: Route53Client, zoneId: string, name: string): Promise<ResourceRecordSet | undefined> {
    const page = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: name, MaxItems: 10 }));
    return page.ResourceRecordSets?.find((s) => fqdn(s.Name ?? '') === name && TYPES.has(s.Type ?? ''));
  }

  /** The record the environment's host should have: an alias to the load balancer, or a CNAME to `dns.target`. */
  async function wantedRecord(r: ResolvedEnv): Promise<(name: string) => ResourceRecordSet> {
    const lb = r.catalogue.catalogue.loadBalancer;
    if (!lb) return (name) => ({ Name: name, Type: 'CNAME', TTL, ResourceRecords: [{ Value: r.catalogue.catalogue.dns.target }] });
    const target = await cachedListener(awsClients(deps).elbv2(), lb, r.catalogue.file);
    return (name) => ({ Name: name, Type: 'A', AliasTarget: { DNSName: target.dnsName, HostedZoneId: target.canonicalHostedZoneId, EvaluateTargetHealth: false } });
  }

  function same(current: ResourceRecordSet | undefined, wanted: ResourceRecordSet): boolean {
    if (!current || current.Type !== wanted.Type) return false;
    if (wanted.AliasTarget) return sameName(current.AliasTarget?.DNSName, wanted.AliasTarget.DNSName!) && current.AliasTarget?.HostedZoneId === wanted.AliasTarget.HostedZoneId;
    return current.TTL === wanted.TTL && current.ResourceRecords?.length === 1 && current.ResourceRecords[0]?.Value === wanted.ResourceRecords?.[0]?.Value;
  }

  return {
    /**
     * A record for every host, in one change batch: CREATE where the name has no record (so one made
     * meanwhile fails the batch), UPSERT (or DELETE and CREATE, when its type changes) only a record the ledger gives to this environment; a
     * record of the name that is not this environment's is a ConflictError, and nothing is changed.
     * Running it again changes nothing.
     */
    async createDnsRecords({ ref }: DnsInput): Promise<CreateDnsResult> {
      deps.faults?.check('createDnsRecords');
      const r = resolveEnv(deps.catalogue, ref);
      const dns = r.catalogue.catalogue.dns;
      const zone = dns.privateZone.replace(/\.$/, '').toLowerCase();
      const records = hostsOf(r);
      const outside = records.filter((h) => h !== zone && !h.endsWith(`.${zone}`));
      if (outside.length) {
        throw new CatalogueError(r.catalogue.file, [{ path: 'dns.privateZone', problem: `"${zone}" does not contain ${outside.join(', ')} (baseDomain is ${r.catalogue.catalogue.baseDomain}); use a zone that contains baseDomain` }]);
      }
      const client = r53();
      const zoneId = await ensureZone(client, r).catch((err: unknown) => {
        throw awsError(err, `finding or creating private hosted zone ${zone}`);
      });
      const wantedFor = await wantedRecord(r);
      const changes: Change[] = [];
      for (const name of records) {
        const current = await currentRecord(client, zoneId, name).catch((err: unknown) => {
          throw awsError(err, `reading DNS record ${name} in zone ${zoneId}`);
        });
        const holder = await deps.store.ledger.holder({ kind: KIND, name, location: zoneId });
        if (holder !== r.env.name && (holder !== undefined || current)) {
          throw new ConflictError(
            `DNS name ${name} in zone ${zoneId} ${holder ? `belongs to environment ${holder}` : 'already has a record that envbot did not make'}, so ${r.env.name} leaves it alone and stops. ` +
              `Remove that record (or rename the service's host in envbot.yaml) and create ${r.env.name} again.`,
          );
        }
        const wanted = wantedFor(name);
        if (same(current, wanted)) continue;
        if (current && current.Type !== wanted.Type) changes.push({ Action: 'DELETE', ResourceRecordSet: current }, { Action: 'CREATE', ResourceRecordSet: wanted });
        else changes.push({ Action: current ? 'UPSERT' : 'CREATE', ResourceRecordSet: wanted });
      }
      // Ledger before the change; another environment recording one of the names meanwhile is a ConflictError here.
      await deps.store.recordResources(records.map((name) => ({ environment: r.env.name, kind: KIND, name, location: zoneId })));
      if (changes.length) {
        try {
          await client.send(new ChangeResourceRecordSetsCommand({
            HostedZoneId: zoneId,
            ChangeBatch: { Comment: `envbot: ${r.env.name}`, Changes: changes },
          }));
        } catch (err) {
          if (errorName(err) === 'InvalidChangeBatch') {
            // A record (CNAME made meanwhile, or another type such as A or TXT) holds one of the names
            // envbot meant to create: not ours, so the ledger must not lead a rollback to delete it.
            for (const c of changes.filter((x) => x.Action === 'CREATE' && !changes.some((d) => d.Action === 'DELETE' && d.ResourceRecordSet?.Name === x.ResourceRecordSet?.Name))) {
              await deps.store.markResourceDeleted({ environment: r.env.name, kind: KIND, name: c.ResourceRecordSet!.Name!, location: zoneId });
            }
            throw new ConflictError(`Route 53 refused the records of ${r.env.name} in zone ${zoneId} (a record of another type, or one made meanwhile, holds the name): ${(err as Error).message}`);
          }
          throw awsError(err, `writing ${changes.length} DNS record change(s) in zone ${zoneId}`);
        }
      }
      const urls = routesOf(r).flatMap((s) => s.routes.map(routeUrl));
      deps.log.info({ environment: r.env.name, zoneId, records, changed: changes.length }, 'DNS records created');
      return { zoneId, records, urls };
    },

    /** DELETEs every record the ledger holds for the environment, with its current values; gone ones are done. Needs no catalogue. */
    async deleteDnsRecords({ ref }: DnsInput): Promise<DeleteDnsResult> {
      const name = ref.environment;
      const live = (await deps.store.liveResources(name)).filter((e) => e.kind === KIND);
      const byZone = new Map<string, typeof live>();
      for (const e of live) byZone.set(e.location, [...(byZone.get(e.location) ?? []), e]);
      const deleted: string[] = [];
      const client = r53();
      for (const [zoneId, entries] of byZone) {
        const changes: Change[] = [];
        try {
          for (const e of entries) {
            const current = await currentRecord(client, zoneId, e.name);
            // Route 53 deletes a record set only when given its exact current values.
            if (current) changes.push({ Action: 'DELETE', ResourceRecordSet: current });
          }
          if (changes.length) {
            await client.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Comment: `envbot: ${name}`, Changes: changes } }));
          }
        } catch (err) {
          // The zone itself is gone: so are its records.
          if (errorName(err) !== 'NoSuchHostedZone') throw awsError(err, `deleting DNS records of ${name} in zone ${zoneId}`);
        }
        for (const e of entries) {
          await deps.store.markResourceDeleted(e);
          deleted.push(e.name);
        }
      }
      deps.log.info({ environment: name, records: deleted }, 'DNS records deleted');
      return { deleted };
    },
  };
}

export type DnsActivities = ReturnType<typeof createDnsActivities>;
