// Teams with a certificate instead of a client secret, end to end: the real envbot process started
// with MicrosoftAppCertificateThumbprint and MicrosoftAppCertificateKeyFile gets its Bot Framework
// token from a local Entra ID token endpoint with a client assertion (a JWT signed by the
// certificate's key), and its reply to the connector carries that token. The test verifies the
// assertion with the certificate; whether Entra ID would accept the certificate for the app is
// Entra ID's part, which no local server can stand in for.
import { X509Certificate, createHash, randomUUID, verify } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchPostgres, type ScratchDatabase } from '../support/databases.js';
import { EntraRecorder, selfSignedCertificate } from '../support/entra.js';
import { until, type EnvbotProcess } from '../support/slack.js';
import { BotFrameworkKeys, ConnectorRecorder, messageActivity, personalChat, startTeamsEnvbot } from '../support/teams.js';

const PM = { aadObjectId: '3f2b8c1e-7a4d-4e9b-9c2a-1d5e6f7a8b9c' };
const APP_ID = randomUUID();
const part = (s: string) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Record<string, unknown>;

describe('Teams with certificate credentials', () => {
  const keys = new BotFrameworkKeys();
  const connector = new ConnectorRecorder();
  const entra = new EntraRecorder();
  const appCert = selfSignedCertificate('envbot-test-app', 'DNS:envbot-test-app');
  const x509 = new X509Certificate(appCert.cert);
  let storeDb: ScratchDatabase;
  let envbot: EnvbotProcess;
  const chat = personalChat(PM);

  beforeAll(async () => {
    await keys.start();
    await connector.start();
    await entra.start();
    storeDb = await scratchPostgres('store_teams_cert', { migrate: true });
    envbot = await startTeamsEnvbot({
      databaseUrl: storeDb.url, taskQueue: `teams-cert-${randomUUID()}`,
      env: {
        MicrosoftAppId: APP_ID, MicrosoftAppType: 'MultiTenant', ToBotFromChannelOpenIdMetadataUrl: keys.metadataUrl,
        MicrosoftAppCertificateThumbprint: x509.fingerprint, MicrosoftAppCertificateKeyFile: appCert.keyFile,
        ENVBOT_MICROSOFT_LOGIN_URL: entra.origin, NODE_EXTRA_CA_CERTS: entra.caFile,
      },
    });
  }, 200_000);

  afterAll(async () => {
    await envbot?.stop();
    await storeDb?.drop();
    await connector.stop();
    await entra.stop();
    await keys.stop();
    rmSync(appCert.dir, { recursive: true, force: true });
  }, 60_000);

  it('replies with the token issued for a client assertion the certificate verifies', async () => {
    const activity = messageActivity(connector.url, PM, chat, 'env help');
    const res = await fetch(`${envbot.base}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.token({ appId: APP_ID, serviceUrl: connector.url })}` },
      body: JSON.stringify(activity),
    });
    expect(res.status).toBe(200);
    const reply = await until('the help reply at the connector', () => connector.to(chat.id, 'POST')[0], 20_000);
    const request = entra.issuedFor('https://api.botframework.com/.default');
    expect(request).toBeDefined();
    expect(reply.authorization).toBe(`Bearer ${request!.issued}`);
    expect(request!.form).toMatchObject({ client_id: APP_ID, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' });
    expect(request!.form.client_secret).toBeUndefined();
    const [h, p, sig] = request!.form.client_assertion!.split('.');
    expect(part(h!)).toMatchObject({ alg: 'RS256', x5t: createHash('sha1').update(x509.raw).digest('base64url') });
    expect(part(p!)).toMatchObject({ iss: APP_ID, sub: APP_ID, aud: `${entra.origin}/botframework.com/oauth2/v2.0/token` });
    expect(verify('RSA-SHA256', Buffer.from(`${h}.${p}`), x509.publicKey, Buffer.from(sig!, 'base64url'))).toBe(true);
    // Signed by another key, the same assertion would not verify: the check above can fail.
    const other = selfSignedCertificate('someone-else', 'DNS:someone-else');
    rmSync(other.dir, { recursive: true, force: true });
    expect(verify('RSA-SHA256', Buffer.from(`${h}.${p}`), new X509Certificate(other.cert).publicKey, Buffer.from(sig!, 'base64url'))).toBe(false);
  });
});
