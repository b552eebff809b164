// vpn: the private zone and the internal load balancer are reached over the company's AWS Client VPN.
// When the catalogue names an endpoint and the project a directory group, an environment's create
// authorises that group for the environments' network (`vpn.cidr`, or the project's own) on the
// endpoint, and its destroy revokes it. Every environment of the project needs the same rule, so it is
// shared: each environment records its use in the ledger, the first adds the rule and the last one
// out revokes it, under a lock so a create and a destroy never cross. A rule that was there before
// envbot first needed it is someone else's: envbot uses it and never revokes it.
import type { EC2Client } from '@aws-sdk/client-ec2';
import { awsError, awsErrorName } from '../shared/clients/aws.js';
import { CatalogueError } from '../shared/errors.js';
import type { EnvRef } from '../shared/model.js';
import { awsClients, type ActivityDeps } from './deps.js';
import { resolveEnv } from './environment.js';

export interface VpnInput {
  ref: EnvRef;
}

export interface VpnResult {
  endpoint: string;
  cidr: string;
  group: string;
}

export interface RevokeVpnResult {
  /** Rules revoked (`<group> <cidr>`); a rule other environments still use, or that envbot did not add, stays. */
  revoked: string[];
  kept: string[];
}

const KIND = 'vpn-authorization';

/** The EC2 SDK is large (about 90 MB resident): loaded only by an environment that has VPN access. */
const ec2Sdk = () => import('@aws-sdk/client-ec2');

/** Where a use is recorded: the endpoint, in its region. */
const locationOf = (region: string, endpoint: string) => `client-vpn/${region}/${endpoint}`;
/** One environment's use of the rule: `<cidr> <group> <environment>`; the rule is every entry sharing the first two. */
const ruleKey = (cidr: string, group: string) => `${cidr} ${group} `;

interface UseDetails {
  endpoint: string;
  region: string;
  cidr: string;
  group: string;
  /** The rule existed before envbot needed it: never revoked by envbot. */
  preexisting: boolean;
}

export function createVpnActivities(deps: ActivityDeps) {
  async function currentRule(ec2: EC2Client, d: Pick<UseDetails, 'endpoint' | 'cidr' | 'group'>) {
    const { DescribeClientVpnAuthorizationRulesCommand } = await ec2Sdk();
    const { AuthorizationRules = [] } = await ec2.send(new DescribeClientVpnAuthorizationRulesCommand({
      ClientVpnEndpointId: d.endpoint,
      Filters: [{ Name: 'destination-cidr', Values: [d.cidr] }, { Name: 'group-id', Values: [d.group] }],
    }));
    return AuthorizationRules.find((x) => x.DestinationCidr === d.cidr && x.GroupId === d.group && x.Status?.Code !== 'revoking' && x.Status?.Code !== 'failed');
  }

  return {
    /** Records the environment's use of its project's rule, and adds the rule when it is not there. */
    async createVpnAccess({ ref }: VpnInput): Promise<VpnResult> {
      deps.faults?.check('createVpnAccess');
      const r = resolveEnv(deps.catalogue, ref);
      const vpn = r.catalogue.catalogue.vpn;
      if (!vpn || !r.project.vpn) throw new CatalogueError(r.catalogue.file, [{ path: `projects.${ref.project}.vpn`, problem: 'the plan has VPN access, but the catalogue no longer names the endpoint and group' }]);
      const environment = r.env.name;
      const region = vpn.region ?? deps.aws.region;
      const d = { endpoint: vpn.clientVpnEndpointId, region, cidr: r.project.vpn.cidr ?? vpn.cidr, group: r.project.vpn.group };
      const location = locationOf(region, d.endpoint);
      const ec2 = await awsClients(deps).ec2(region);
      return deps.store.locks.with(`vpn/${location}/${ruleKey(d.cidr, d.group)}`, async () => {
        const uses = await deps.store.ledger.liveWithPrefix(KIND, location, ruleKey(d.cidr, d.group));
        const own = uses.find((e) => e.environment === environment);
        const other = uses.find((e) => e.environment !== environment);
        let current;
        try {
          current = await currentRule(ec2, d);
        } catch (err) {
          if (awsErrorName(err) === 'InvalidClientVpnEndpointId.NotFound') {
            throw new CatalogueError(r.catalogue.file, [{ path: 'vpn.clientVpnEndpointId', problem: `no Client VPN endpoint ${d.endpoint} in ${region}; write the id of the endpoint people connect to` }]);
          }
          throw awsError(err, `reading the authorisation rules of Client VPN endpoint ${d.endpoint}`);
        }
        // Our own earlier try (the rule may be ours from it), another environment's use (its flag), or a rule nobody recorded: not ours.
        const preexisting = own ? own.details?.preexisting === true : other ? other.details?.preexisting === true : current !== undefined;
        const details: UseDetails = { ...d, preexisting };
        await deps.store.recordResource({ environment, kind: KIND, name: `${ruleKey(d.cidr, d.group)}${environment}`, location, details: { ...details } });
        if (!current) {
          deps.faults?.check('createVpnAccess:rule');
          try {
            const { AuthorizeClientVpnIngressCommand } = await ec2Sdk();
            await ec2.send(new AuthorizeClientVpnIngressCommand({
              ClientVpnEndpointId: d.endpoint,
              TargetNetworkCidr: d.cidr,
              AccessGroupId: d.group,
              Description: `envbot: environments of ${r.env.project}`,
            }));
          } catch (err) {
            throw awsError(err, `authorising group ${d.group} for ${d.cidr} on Client VPN endpoint ${d.endpoint}`);
          }
        }
        deps.log.info({ environment, ...details, added: !current }, 'VPN access authorised');
        return { endpoint: d.endpoint, cidr: d.cidr, group: d.group };
      });
    },

    /** Ends the environment's use; the last environment using a rule envbot added revokes it. Needs no catalogue. */
    async deleteVpnAccess({ ref }: VpnInput): Promise<RevokeVpnResult> {
      const environment = ref.environment;
      const out: RevokeVpnResult = { revoked: [], kept: [] };
      for (const use of (await deps.store.liveResources(environment)).filter((e) => e.kind === KIND)) {
        const d = use.details as unknown as UseDetails;
        const what = `${d.group} ${d.cidr}`;
        await deps.store.locks.with(`vpn/${use.location}/${ruleKey(d.cidr, d.group)}`, async () => {
          const others = (await deps.store.ledger.liveWithPrefix(KIND, use.location, ruleKey(d.cidr, d.group))).filter((e) => e.environment !== environment);
          if (others.length || d.preexisting) {
            out.kept.push(what);
          } else {
            try {
              const { RevokeClientVpnIngressCommand } = await ec2Sdk();
              await (await awsClients(deps).ec2(d.region)).send(new RevokeClientVpnIngressCommand({ ClientVpnEndpointId: d.endpoint, TargetNetworkCidr: d.cidr, AccessGroupId: d.group }));
            } catch (err) {
              const name = awsErrorName(err);
              // Already gone (or its endpoint is): done.
              if (name !== 'InvalidClientVpnEndpointAuthorizationRuleNotFound' && name !== 'InvalidClientVpnEndpointId.NotFound') {
                throw awsError(err, `revoking group ${d.group} for ${d.cidr} on Client VPN endpoint ${d.endpoint}`);
              }
            }
            out.revoked.push(what);
          }
          await deps.store.markResourceDeleted(use);
        });
      }
      deps.log.info({ environment, ...out }, 'VPN access revoked');
      return out;
    },
  };
}

export type VpnActivities = ReturnType<typeof createVpnActivities>;
