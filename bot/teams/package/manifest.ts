// The Teams app manifest (schema 1.17): the bot's id, where it talks (personal, team, group chat),
// and its command list, taken from the chat core's help so Teams suggests what the core understands.
import { clip } from '../../slack/blocks/common.js';
import { helpReply } from '../../core/parse.js';

export const MANIFEST_VERSION = '1.17';
export const MANIFEST_SCHEMA = `https://developer.microsoft.com/en-us/json-schemas/teams/v${MANIFEST_VERSION}/MicrosoftTeams.schema.json`;

export interface ManifestOptions {
  /** The Azure Bot's Microsoft App ID: the bot's id, and the app's id too. */
  appId: string;
  /** The app's version in Teams (semver); raise it for each upload. */
  version: string;
  /** A page about envbot at your company (https); Teams shows it as the developer's site. */
  websiteUrl: string;
  privacyUrl?: string;
  termsOfUseUrl?: string;
  developerName?: string;
}

/** Teams shows at most 10 commands per scope; the rest are still understood when typed. */
const MAX_COMMANDS = 10;

export function teamsManifest(o: ManifestOptions): Record<string, unknown> {
  const scopes = ['personal', 'team', 'groupChat'];
  const seen = new Set<string>();
  const commands = helpReply()
    .commands.map((c) => ({ title: c.usage.split(' ')[0]!, description: clip(`env ${c.usage}: ${c.description}`, 128) }))
    .filter((c) => !seen.has(c.title) && (seen.add(c.title), true))
    .slice(0, MAX_COMMANDS);
  return {
    $schema: MANIFEST_SCHEMA,
    manifestVersion: MANIFEST_VERSION,
    version: o.version,
    id: o.appId,
    developer: {
      name: o.developerName ?? 'envbot',
      websiteUrl: o.websiteUrl,
      privacyUrl: o.privacyUrl ?? o.websiteUrl,
      termsOfUseUrl: o.termsOfUseUrl ?? o.websiteUrl,
    },
    name: { short: 'envbot', full: 'envbot: lower environments on demand' },
    description: {
      short: 'Lower environments (dev, qa, uat) on demand.',
      full: 'envbot builds lower environments (a Kubernetes namespace, databases, DNS, storage) from a chat command, keeps a live card of the build, and tears them down when they expire. Type "env help".',
    },
    icons: { color: 'color.png', outline: 'outline.png' },
    accentColor: '#1F6FEB',
    bots: [{ botId: o.appId, scopes, supportsFiles: false, isNotificationOnly: false, commandLists: [{ scopes, commands }] }],
    permissions: ['identity', 'messageTeamMembers'],
    validDomains: [],
  };
}
