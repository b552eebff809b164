// The bot's Entra ID identity with a certificate instead of a password (MicrosoftAppCertificateThumbprint
// and MicrosoftAppCertificateKeyFile): envbot's MSAL client, in this process, asks a local token
// endpoint for the Bot Framework and Graph tokens with a client assertion, a JWT signed by the
// certificate's key and naming its thumbprint, which the test verifies with the certificate. The
// local endpoint cannot say whether Entra ID would accept that certificate for the app: that is
// Entra ID's part. Also: the start-time refusals of bad certificate settings, and the loud warning
// when envbot.yaml names teams-group: principals that nobody can be checked against.
import { X509Certificate, createHash, randomUUID, verify } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { AppCredentials } from 'botframework-connector';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatCore } from '../../bot/core/chat-core.js';
import { createTeamsBot } from '../../bot/teams/adapter.js';
import { appIdentity } from '../../bot/teams/credentials.js';
import { readSettings } from '../../shared/settings.js';
import { EntraRecorder, selfSignedCertificate } from '../support/entra.js';

const APP_ID = randomUUID();
const TENANT_ID = randomUUID();
const BASE = { DATABASE_URL: 'postgres://127.0.0.1/unused' };

const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;

describe('Teams app identity with a certificate', () => {
  const entra = new EntraRecorder();
  const appCert = selfSignedCertificate('envbot-test-app', 'DNS:envbot-test-app');
  const thumbprint = new X509Certificate(appCert.cert).fingerprint; // SHA-1, AA:BB:… as Entra ID shows it

  beforeAll(() => entra.start());
  afterAll(async () => {
    await entra.stop();
    rmSync(appCert.dir, { recursive: true, force: true });
  });

  const settings = (env: Record<string, string> = {}) =>
    readSettings({
      ...BASE, MicrosoftAppId: APP_ID, MicrosoftAppTenantId: TENANT_ID, MicrosoftAppType: 'MultiTenant',
      MicrosoftAppCertificateThumbprint: thumbprint, MicrosoftAppCertificateKeyFile: appCert.keyFile,
      ENVBOT_MICROSOFT_LOGIN_URL: entra.origin, ...env,
    }).teams;

  /** The client assertion of the last token request for `scope`, checked against the certificate. */
  const assertionFor = (scope: string, tenant: string) => {
    const request = entra.issuedFor(scope);
    expect(request).toBeDefined();
    expect(request!.tenant).toBe(tenant);
    expect(request!.form).toMatchObject({ grant_type: 'client_credentials', client_id: APP_ID, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' });
    expect(request!.form.client_secret).toBeUndefined();
    const [h, p, sig] = request!.form.client_assertion!.split('.');
    const header = decode(h!);
    const payload = decode(p!);
    expect(header.alg).toBe('RS256');
    // x5t: the certificate's SHA-1 thumbprint, base64url: how Entra ID finds the certificate.
    expect(header.x5t).toBe(createHash('sha1').update(new X509Certificate(appCert.cert).raw).digest('base64url'));
    expect(payload).toMatchObject({ iss: APP_ID, sub: APP_ID, aud: `${entra.origin}/${tenant}/oauth2/v2.0/token` });
    expect(payload.exp as number).toBeGreaterThan(Date.now() / 1000);
    const publicKey = new X509Certificate(appCert.cert).publicKey;
    expect(verify('RSA-SHA256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(sig!, 'base64url'))).toBe(true);
    // The same assertion with one payload character changed does not verify: the check can fail.
    expect(verify('RSA-SHA256', Buffer.from(`${h}.${p}x`), publicKey, Buffer.from(sig!, 'base64url'))).toBe(false);
    return request!;
  };

  it('gets the Bot Framework token with a client assertion signed by the certificate key', async () => {
    const identity = appIdentity(settings(), { ca: entra.ca })!;
    // What botbuilder does before each reply: credentials for the channel's audience, then their token.
    const credentials = (await identity.botCredentials.createCredentials(APP_ID, 'https://api.botframework.com', identity.botAuthority, true)) as AppCredentials;
    const token = await credentials.getToken();
    const request = assertionFor('https://api.botframework.com/.default', 'botframework.com');
    expect(token).toBe(request.issued);
  });

  it('gets the Graph token for the tenant the same way', async () => {
    const identity = appIdentity(settings(), { ca: entra.ca })!;
    const token = await identity.graphToken();
    expect(token).toBe(assertionFor('https://graph.microsoft.com/.default', TENANT_ID).issued);
  });

  it.each([
    ['a thumbprint without a key file', { MicrosoftAppCertificateKeyFile: '' }, /go together/],
    ['a thumbprint that is not 40 hex digits', { MicrosoftAppCertificateThumbprint: 'not-a-thumbprint' }, /SHA-1 thumbprint, 40 hex digits/],
    ['a password and a certificate', { MicrosoftAppPassword: 'pw' }, /not both/],
    ['Graph groups without a tenant', { ENVBOT_TEAMS_GROUPS_FROM_GRAPH: 'true', MicrosoftAppTenantId: '' }, /MicrosoftAppTenantId/],
    ['a login URL that is not a URL', { ENVBOT_MICROSOFT_LOGIN_URL: 'login.example.com' }, /ENVBOT_MICROSOFT_LOGIN_URL must be a base URL/],
  ])('refuses %s at start', (_what, env, message) => {
    expect(() => settings(env)).toThrow(message);
  });

  it.each([
    ['a key file that does not exist', () => join(appCert.dir, 'missing.pem'), /cannot read .*ENOENT/],
    ['a file that holds no private key', () => appCert.certFile, /holds no PEM private key/],
    ['an encrypted key', () => {
      const file = join(appCert.dir, 'encrypted.pem');
      writeFileSync(file, '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n');
      return file;
    }, /is encrypted/],
  ])('refuses %s at start', (_what, file, message) => {
    expect(() => appIdentity(settings({ MicrosoftAppCertificateKeyFile: file() }))).toThrow(message);
  });
});

describe('teams-group: principals nobody can check', () => {
  const GROUP = randomUUID();
  const start = (env: Record<string, string>) => {
    let out = '';
    const log = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _enc, done) => void ((out += chunk.toString()), done()) }));
    createTeamsBot({ settings: readSettings({ ...BASE, ...env }).teams, chatCore: {} as ChatCore, log, groupIds: [GROUP] });
    return out;
  };

  it('warns loudly at start in Emulator mode (no app id to ask Graph with)', () => {
    const out = start({ ENVBOT_TEAMS_EMULATOR: 'true' });
    expect(out).toContain('TEAMS-GROUP PRINCIPALS MATCH NOBODY');
    expect(out).toContain('without MicrosoftAppId');
    expect(out).toContain(GROUP);
  });

  it('warns loudly at start when Graph is not switched on (the permission is not declared granted)', () => {
    const out = start({ MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'pw', MicrosoftAppTenantId: TENANT_ID });
    expect(out).toContain('TEAMS-GROUP PRINCIPALS MATCH NOBODY');
    expect(out).toContain('User.Read.All and GroupMember.Read.All');
  });

  it('says nothing of the kind when Graph is on', () => {
    const out = start({ MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'pw', MicrosoftAppTenantId: TENANT_ID, ENVBOT_TEAMS_GROUPS_FROM_GRAPH: 'true' });
    expect(out).not.toContain('MATCH NOBODY');
    expect(out).toContain('checked with Microsoft Graph');
  });
});
