// Which chat adapters can run with the given settings, and if not, why: said once at start.
import type { Settings } from '../shared/settings.js';

export interface AdapterStatus {
  name: 'slack' | 'teams';
  on: boolean;
  reason: string;
}

export function chatAdapters(settings: Settings): AdapterStatus[] {
  const slack = settings.slack;
  const slackMissing = [
    !slack.signingSecret && !slack.appToken ? 'SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode)' : undefined,
    !slack.botToken ? 'SLACK_BOT_TOKEN' : undefined,
  ].filter(Boolean);
  const teams = settings.teams;
  return [
    slackMissing.length
      ? { name: 'slack', on: false, reason: `${slackMissing.join(' and ')} not set; see README "Connect to Slack"` }
      : { name: 'slack', on: true, reason: slack.appToken ? 'Socket Mode (SLACK_APP_TOKEN)' : 'HTTP mode at POST /slack/events' },
    teams.appId
      ? { name: 'teams', on: true, reason: `POST /api/messages, Bot Framework tokens for app ${teams.appId} required` }
      : teams.emulator
        ? { name: 'teams', on: true, reason: 'POST /api/messages WITHOUT AUTHENTICATION (ENVBOT_TEAMS_EMULATOR=true and no MicrosoftAppId): anyone who reaches this port can act as any Teams user; for the Bot Framework Emulator only' }
        : { name: 'teams', on: false, reason: 'MicrosoftAppId not set; see README "Connect to Teams"' },
  ];
}
