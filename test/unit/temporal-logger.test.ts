// Temporal's "Activity failed" log entries keep the error's message and stack, and drop the rest of
// a driver's error (mysql2's filled-in statement, a URL's input), where a password can hide.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { temporalLogger } from '../../bot/temporal-logger.js';

describe('temporalLogger', () => {
  it('logs an activity failure without the fields a password can hide in', () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
    const driverError = Object.assign(new Error("Operation CREATE USER failed for 'eb_projb_qa'@'%'"), {
      code: 'ER_CANNOT_USER',
      sql: "CREATE USER IF NOT EXISTS 'eb_projb_qa'@'%' IDENTIFIED BY 'canary-password'",
      cause: Object.assign(new TypeError('Invalid URL'), { input: 'postgres://admin:canary-password@db:5432/x' }),
    });
    temporalLogger(log).warn('Activity failed', { activityType: 'createSql', error: driverError });
    const text = lines.join('');
    expect(text).not.toContain('canary-password');
    expect(text).toContain("Operation CREATE USER failed for 'eb_projb_qa'@'%'");
    expect(text).toContain('ER_CANNOT_USER');
    expect(text).toContain('Invalid URL');
    expect(text).toContain('createSql');
  });
});
