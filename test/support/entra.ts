// Microsoft Entra ID and Microsoft Graph as a test plays them, on one local HTTPS server (MSAL
// refuses a login authority that is not https): the OpenID configuration of each tenant, the
// client-credentials token endpoint (which records every request and issues numbered tokens), and
// Graph's checkMemberGroups (which records the raw path asked and answers from `members`, or with
// `graphStatus`). Its self-signed certificate (made by the openssl CLI) is trusted by envbot's
// process through NODE_EXTRA_CA_CERTS.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TokenRequest {
  tenant: string;
  form: Record<string, string>;
  /** The access token issued for it. */
  issued: string;
}

export interface GraphCall {
  /** The request target exactly as it arrived (not decoded, not normalised). */
  rawPath: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

/** A key and a self-signed certificate for it (CN and subjectAltName `cn`), as PEM files in a temporary folder. */
export function selfSignedCertificate(cn: string, altName: string): { dir: string; keyFile: string; certFile: string; key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'envbot-entra-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${altName}`], { stdio: 'pipe' });
  return { dir, keyFile, certFile, key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
}

export class EntraRecorder {
  readonly tokenRequests: TokenRequest[] = [];
  readonly graphCalls: GraphCall[] = [];
  /** Group ids each user (lowercase object id) is in, as Graph would answer checkMemberGroups. */
  members = new Map<string, string[]>();
  /** Ids Graph adds to every answer whether asked or not (an attack on the caller). */
  extraGroups: string[] = [];
  /** Not 200: Graph answers checkMemberGroups with this status. */
  graphStatus = 200;
  private server: Server | undefined;
  private readonly tls = selfSignedCertificate('127.0.0.1', 'IP:127.0.0.1');
  private next = 0;
  origin = '';

  /** The certificate envbot's process must trust (NODE_EXTRA_CA_CERTS). */
  get caFile(): string {
    return this.tls.certFile;
  }

  get ca(): string {
    return this.tls.cert;
  }

  async start(): Promise<void> {
    this.server = createServer({ key: this.tls.key, cert: this.tls.cert }, (req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => this.answer(req.method ?? '', req.url ?? '', req.headers.authorization, raw, (status, body) => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      }));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.origin = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    rmSync(this.tls.dir, { recursive: true, force: true });
  }

  private answer(method: string, url: string, authorization: string | undefined, raw: string, send: (status: number, body: unknown) => void): void {
    const path = url.split('?')[0] ?? '';
    const config = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(path);
    if (method === 'GET' && config) {
      const t = `${this.origin}/${config[1]}`;
      return send(200, {
        issuer: `${t}/v2.0`, authorization_endpoint: `${t}/oauth2/v2.0/authorize`, token_endpoint: `${t}/oauth2/v2.0/token`,
        jwks_uri: `${t}/discovery/v2.0/keys`, end_session_endpoint: `${t}/oauth2/v2.0/logout`, response_types_supported: ['code', 'token'],
      });
    }
    const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path);
    if (method === 'POST' && token) {
      const issued = `local-token-${++this.next}-${Date.now()}`;
      this.tokenRequests.push({ tenant: decodeURIComponent(token[1]!), form: Object.fromEntries(new URLSearchParams(raw)), issued });
      return send(200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: issued });
    }
    if (method === 'POST' && path.startsWith('/v1.0/')) {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        body = {};
      }
      this.graphCalls.push({ rawPath: url, authorization, body });
      if (this.graphStatus !== 200) return send(this.graphStatus, { error: { code: 'InternalServerError', message: 'local Graph told to fail' } });
      const m = /^\/v1\.0\/users\/([0-9a-f-]{36})\/checkMemberGroups$/.exec(path);
      if (!m) return send(404, { error: { code: 'Request_ResourceNotFound', message: `no such resource ${path}` } });
      const asked = ((body.groupIds ?? []) as string[]).map((g) => g.toLowerCase());
      const of = this.members.get(m[1]!) ?? [];
      return send(200, { value: [...asked.filter((g) => of.includes(g)), ...this.extraGroups] });
    }
    send(404, { error: 'not found' });
  }

  /** The token envbot was issued for a scope (the last one). */
  issuedFor(scope: string): TokenRequest | undefined {
    return this.tokenRequests.filter((r) => r.form.scope?.split(' ').includes(scope)).at(-1);
  }
}
