// The bot's own identity in Microsoft Entra ID: one MSAL confidential client (app id and password,
// or app id and certificate) that gets the Bot Framework token envbot's replies carry and the
// app-only Microsoft Graph token group membership is asked with. Built once at start from settings.
import { readFileSync } from 'node:fs';
import { ConfidentialClientApplication, type Configuration } from '@azure/msal-node';
import { MsalServiceClientCredentialsFactory } from 'botframework-connector';
import { SettingsError } from '../../shared/errors.js';
import type { Settings } from '../../shared/settings.js';

/** The tenant botbuilder asks for Bot Framework tokens of a multi-tenant bot (AuthenticationConstants). */
const BOT_FRAMEWORK_TENANT = 'botframework.com';
export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

export interface AppIdentity {
  /** For ConfigurationBotFrameworkAuthentication: botbuilder asks it for the outbound token. */
  botCredentials: MsalServiceClientCredentialsFactory;
  /** The Bot Framework's login authority (what botbuilder's ToChannelFromBotLoginUrl must be). */
  botAuthority: string;
  /** An app-only token for Microsoft Graph in the configured tenant (MSAL caches it until it expires). */
  graphToken(): Promise<string>;
}

/** The certificate's private key, read once; a clear refusal when it cannot be. */
function privateKey(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SettingsError(`MicrosoftAppCertificateKeyFile: cannot read "${file}" (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); point it at the certificate's PEM private key`);
  }
  if (!/-----BEGIN (RSA |ENCRYPTED )?PRIVATE KEY-----/.test(pem)) {
    throw new SettingsError(`MicrosoftAppCertificateKeyFile: "${file}" holds no PEM private key (-----BEGIN PRIVATE KEY-----); export the key unencrypted, e.g. openssl pkcs12 -in cert.pfx -nocerts -nodes`);
  }
  if (pem.includes('ENCRYPTED')) throw new SettingsError(`MicrosoftAppCertificateKeyFile: "${file}" is encrypted; envbot needs the key without a passphrase`);
  return pem;
}

/**
 * Undefined without an app id and a credential (the Emulator, or a managed identity botbuilder
 * handles itself). `tls.ca`: a certificate to trust for the login server (an in-process test's own;
 * envbot's process trusts one through NODE_EXTRA_CA_CERTS instead).
 */
export function appIdentity(s: Settings['teams'], tls: { ca?: string } = {}): AppIdentity | undefined {
  if (!s.appId || !(s.appPassword || s.certificate)) return undefined;
  const botAuthority = `${s.loginUrl}/${s.appType === 'SingleTenant' && s.tenantId ? s.tenantId : BOT_FRAMEWORK_TENANT}`;
  const auth: Configuration['auth'] = {
    clientId: s.appId,
    authority: botAuthority,
    ...(s.certificate ? { clientCertificate: { thumbprint: s.certificate.thumbprint, privateKey: privateKey(s.certificate.keyFile) } } : { clientSecret: s.appPassword! }),
    // MSAL trusts only Microsoft's login hosts unless told otherwise (it would ask Microsoft's
    // instance discovery about any other); a test's local login server is named here.
    ...(s.loginUrlOverridden ? { knownAuthorities: [new URL(s.loginUrl).host] } : {}),
  };
  const client = new ConfidentialClientApplication({ auth, ...(tls.ca ? { system: { customAgentOptions: { ca: tls.ca } } } : {}) });
  const graphAuthority = `${s.loginUrl}/${s.tenantId ?? BOT_FRAMEWORK_TENANT}`;
  return {
    // botframework-connector types the client by MSAL's CommonJS declarations, this import by its
    // ES module ones: the same class, and botbuilder only calls acquireTokenByClientCredential.
    botCredentials: new MsalServiceClientCredentialsFactory(s.appId, client as unknown as ConstructorParameters<typeof MsalServiceClientCredentialsFactory>[1]),
    botAuthority,
    async graphToken() {
      const result = await client.acquireTokenByClientCredential({ scopes: [GRAPH_SCOPE], authority: graphAuthority });
      if (!result?.accessToken) throw new Error('the token endpoint returned no access token');
      return result.accessToken;
    },
  };
}
