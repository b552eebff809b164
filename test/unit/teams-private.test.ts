// Which Teams replies are for the asker alone (a one-to-one chat when asked in a channel or group
// chat), and the one-to-one chat asked of the Bot Connector: the bot, the person alone, the tenant.
import type { Activity } from 'botbuilder';
import { describe, expect, it } from 'vitest';
import type { Reply } from '../../bot/core/model.js';
import { isPersonal } from '../../bot/teams/conversation.js';
import { isPrivate, NO_PERSONAL_CHAT, personalChatParameters } from '../../bot/teams/private.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

const replies: [Reply, boolean][] = [
  [{ kind: 'help', ephemeral: true, commands: [] }, true],
  [{ kind: 'error', ephemeral: true, text: 'no such environment' }, true],
  [{ kind: 'refused', ephemeral: true, action: 'credentials', project: 'projb', text: 'You may not see the credentials of projb environments.', allowed: ['group:devops'] }, true],
  [{ kind: 'list', ephemeral: true, environments: [] }, true],
  [{ kind: 'status', ephemeral: true, environment: { name: 'projb-qa', project: 'projb', stage: 'qa', state: 'ready', createdBy: 'teams:x' } }, true],
  [{ kind: 'history', ephemeral: true, environment: 'projb-qa', entries: [] }, true],
  [{ kind: 'secrets', ephemeral: true, environment: 'projb-qa', values: [{ name: 'mongo-password', value: 'not-a-real-secret' }] }, true],
  // Clicked through where they were asked: the confirmed operation reports there.
  [{ kind: 'confirm', ephemeral: true, environment: 'projb-qa', operation: 'destroy', text: 'Destroy projb-qa?' }, false],
  [{ kind: 'open-create-form', ephemeral: true, projects: [] }, false],
  [{ kind: 'started', ephemeral: false, environment: 'projb-qa', operation: 'create', workflowId: 'w', by: 'teams:x', text: 'Creating projb-qa…' }, false],
  [{ kind: 'extended', ephemeral: false, environment: 'projb-qa', expiresAt: '2025-03-21T12:00:00.000Z', by: 'teams:x', text: 'extended' }, false],
  [{ kind: 'subscribed', ephemeral: false, project: 'projb', subscribed: true, text: 'subscribed' }, false],
];

const from = (conversationType: string, tenant?: { conversation?: string; channelData?: string }): Activity =>
  ({
    type: 'message',
    channelId: 'msteams',
    serviceUrl: 'https://smba.trafficmanager.net/emea/',
    from: { id: '29:1abc', name: 'Pat PM', aadObjectId: '3f2b8c1e-7a4d-4e9b-9c2a-1d5e6f7a8b9c' },
    recipient: { id: '28:bot', name: 'envbot' },
    conversation: { id: '19:c@thread.tacv2', conversationType, isGroup: conversationType !== 'personal', ...(tenant?.conversation ? { tenantId: tenant.conversation } : {}) },
    channelData: tenant?.channelData ? { tenant: { id: tenant.channelData } } : {},
  }) as unknown as Activity;

describe('private replies on Teams', () => {
  it.each(replies)('%#: %o is private: %s', (reply, expected) => {
    expect(isPrivate(reply)).toBe(expected);
  });

  it('only a personal conversation is one-to-one: channels and group chats are not', () => {
    expect(isPersonal(from('personal'))).toBe(true);
    expect(isPersonal(from('channel'))).toBe(false);
    expect(isPersonal(from('groupChat'))).toBe(false);
  });

  it('asks the connector for a chat with the bot and the asker alone, in the tenant, not a group', () => {
    expect(personalChatParameters(from('groupChat', { conversation: TENANT }))).toEqual({
      isGroup: false,
      bot: { id: '28:bot', name: 'envbot' },
      members: [{ id: '29:1abc', name: 'Pat PM' }],
      tenantId: TENANT,
      channelData: { tenant: { id: TENANT } },
    });
    // A tenant only in channelData (as some channels send it) is used too.
    expect(personalChatParameters(from('channel', { channelData: TENANT }))).toMatchObject({ tenantId: TENANT, channelData: { tenant: { id: TENANT } } });
  });

  it('says nothing of the answer when the chat cannot be opened', () => {
    expect(NO_PERSONAL_CHAT).not.toMatch(/password|credential|refus|may not/i);
  });
});
