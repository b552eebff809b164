// The Slack app manifest asks for what the code uses: the /env command, the events it listens to,
// interactivity, all at the path the Bolt receiver serves, and the scopes of the Web API calls made.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/settings.js';

const manifest = parse(readFileSync(join(repoRoot, 'bot', 'slack', 'manifest.yaml'), 'utf8')) as {
  features: { slash_commands: { command: string; url: string }[]; app_home: { home_tab_enabled: boolean } };
  oauth_config: { scopes: { bot: string[] } };
  settings: { event_subscriptions: { request_url: string; bot_events: string[] }; interactivity: { is_enabled: boolean; request_url: string } };
};
const listenerDir = join(repoRoot, 'bot', 'slack', 'listeners');
const code = readdirSync(listenerDir).map((f) => readFileSync(join(listenerDir, f), 'utf8')).join('\n') + readFileSync(join(repoRoot, 'bot', 'slack', 'chat-port.ts'), 'utf8');

describe('Slack app manifest', () => {
  it('declares the /env command and every event the listeners handle, at /slack/events', () => {
    expect(manifest.features.slash_commands.map((c) => c.command)).toEqual(['/env']);
    expect(code).toContain("app.command('/env'");
    for (const event of manifest.settings.event_subscriptions.bot_events) expect(code).toContain(`app.event('${event}'`);
    for (const m of code.matchAll(/app\.event\('([a-z_]+)'/g)) expect(manifest.settings.event_subscriptions.bot_events).toContain(m[1]);
    const urls = [...manifest.features.slash_commands.map((c) => c.url), manifest.settings.event_subscriptions.request_url, manifest.settings.interactivity.request_url];
    for (const url of urls) expect(new URL(url).pathname).toBe('/slack/events');
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.features.app_home.home_tab_enabled).toBe(true);
  });

  it('has a scope for each Web API method the bot calls', () => {
    const needs: Record<string, string> = {
      'chat.postMessage': 'chat:write',
      'chat.update': 'chat:write',
      'chat.postEphemeral': 'chat:write',
      'usergroups.list': 'usergroups:read',
      'conversations.history': 'channels:history',
    };
    for (const [method, scope] of Object.entries(needs)) {
      if (code.includes(method)) expect(manifest.oauth_config.scopes.bot).toContain(scope);
    }
    expect(manifest.oauth_config.scopes.bot).toContain('commands');
  });
});
