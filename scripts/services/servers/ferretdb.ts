// FerretDB 1.24 (MongoDB wire protocol over SQLite), built from the Go module proxy, with SCRAM auth on.
import { MongoClient } from 'mongodb';
import { goBuild } from '../lib/install.js';
import { launch, PROBE_TIMEOUT_MS } from '../lib/proc.js';
import type { Context, Server } from '../lib/context.js';

const PORT = 27017;
const VERSION = 'v1.24.2';

function url(ctx: Context): string {
  return `mongodb://${ctx.user}:${ctx.password}@127.0.0.1:${ctx.port(PORT)}/?authSource=admin`;
}

const build = (ctx: Context) =>
  goBuild(ctx, {
    name: 'ferretdb', version: VERSION, module: 'ferretdb', pkg: 'github.com/FerretDB/FerretDB/cmd/ferretdb', minutes: 3,
    // FerretDB refuses to start without the version file its own release build generates.
    vendorFiles: { 'github.com/FerretDB/FerretDB/build/version/version.txt': `${VERSION}\n` },
  });

async function canLogIn(ctx: Context): Promise<boolean> {
  const client = new MongoClient(url(ctx), { serverSelectionTimeoutMS: PROBE_TIMEOUT_MS, connectTimeoutMS: PROBE_TIMEOUT_MS });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
    return true;
  } finally {
    await client.close();
  }
}

export const ferretdb: Server = {
  name: 'ferretdb',
  ports: [PORT],
  ready: (ctx) => canLogIn(ctx).catch(() => false),
  install: build,
  async start(ctx) {
    const dir = ctx.dataDir('ferretdb');
    await launch(ctx, 'ferretdb', await build(ctx), [
      '--handler=sqlite', `--sqlite-url=file:${dir}/`, `--state-dir=${dir}`, `--listen-addr=127.0.0.1:${ctx.port(PORT)}`,
      '--telemetry=disable', '--debug-addr=-', '--log-level=warn', '--test-enable-new-auth=true',
      '--setup-database=admin', `--setup-username=${ctx.user}`, `--setup-password=${ctx.password}`,
    ], () => canLogIn(ctx), { label: 'FerretDB' });
  },
  env: (ctx) => ({ MONGO_URL: url(ctx) }),
};
