// TLS to Temporal from the settings: the client certificate, its key and the server's CA, read from
// their files when envbot connects (a mounted Secret in a cluster). Both the client (bot/core/connect.ts)
// and the worker's connection (bot/worker.ts) use it.
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { SettingsError } from '../errors.js';
import type { Settings } from '../settings.js';

function read(file: string, setting: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new SettingsError(`${setting}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); point it at a PEM file`);
  }
}

/** The connection's `tls` option: undefined (plain TCP) unless a TEMPORAL_TLS_* setting is set. */
export function temporalTls(settings: Pick<Settings, 'temporal'>): TLSConfig | undefined {
  const tls = settings.temporal.tls;
  if (!tls) return undefined;
  return {
    ...(tls.certFile && tls.keyFile ? { clientCertPair: { crt: read(tls.certFile, 'TEMPORAL_TLS_CERT'), key: read(tls.keyFile, 'TEMPORAL_TLS_KEY') } } : {}),
    ...(tls.caFile ? { serverRootCACertificate: read(tls.caFile, 'TEMPORAL_TLS_CA') } : {}),
    ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
  };
}
