// Who is asking, in Slack: user groups come from usergroups.list. A failed look-up is logged and not
// cached, so one Slack hiccup does not refuse a group's members for five minutes. (Slack's API is
// a stand-in here: making Slack fail on cue is a fault no real server of ours produces.)
import { Writable } from 'node:stream';
import type { WebClient } from '@slack/web-api';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { actorOf } from '../../bot/slack/listeners/context.js';

describe('Slack actor', () => {
  it('logs a failed usergroups.list, does not cache it, and finds the groups on the next request', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
    let calls = 0;
    const client = {
      usergroups: {
        list: async () => {
          calls += 1;
          if (calls === 1) throw new Error('An API error occurred: ratelimited');
          return { ok: true, usergroups: [{ id: 'S0DEVOPS001', users: ['U0GROUPED01'] }] };
        },
      },
    } as unknown as WebClient;
    const team = `T${Date.now()}`;
    expect((await actorOf({ log }, client, team, 'U0GROUPED01', 'C1')).groups).toEqual([]);
    expect(lines.join('')).toMatch(/usergroups\.list failed .*ratelimited|ratelimited.*usergroups\.list failed/);
    expect((await actorOf({ log }, client, team, 'U0GROUPED01', 'C1')).groups).toEqual(['S0DEVOPS001']);
    // Once known, the groups are cached for the team.
    expect((await actorOf({ log }, client, team, 'U0GROUPED01', 'C1')).groups).toEqual(['S0DEVOPS001']);
    expect(calls).toBe(2);
  });
});
