// npm run teams:package [-- --website <https url> --version <x.y.z> --out <file>]: the Teams app
// package (manifest.json and the two icons, zipped) for the bot named by MicrosoftAppId, to upload
// in Teams (Apps → Manage your apps → Upload an app). Settings are read as envbot reads them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { servicesEnvFile } from '../../../shared/paths.js';
import { readSettings } from '../../../shared/settings.js';
import { teamsManifest, type ManifestOptions } from './manifest.js';
import { colorIcon, outlineIcon } from './png.js';
import { zip } from './zip.js';

export function teamsPackage(o: ManifestOptions): Buffer {
  return zip([
    { name: 'manifest.json', data: Buffer.from(`${JSON.stringify(teamsManifest(o), null, 2)}\n`) },
    { name: 'color.png', data: colorIcon() },
    { name: 'outline.png', data: outlineIcon() },
  ]);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function main(): void {
  const { values } = parseArgs({ options: { website: { type: 'string' }, version: { type: 'string', default: '1.0.0' }, out: { type: 'string', default: 'dist/envbot-teams.zip' } } });
  const appId = readSettings(process.env, [servicesEnvFile]).teams.appId;
  const problems = [
    !appId || !UUID.test(appId) ? 'MicrosoftAppId must be set to your Azure Bot\'s Microsoft App ID (a GUID): README "Connect to Teams" says where to find it' : undefined,
    !values.website?.startsWith('https://') ? 'give --website https://<a page about envbot at your company>: Teams shows it as the developer\'s site' : undefined,
    !/^\d+\.\d+\.\d+$/.test(values.version) ? '--version must be x.y.z' : undefined,
  ].filter(Boolean);
  if (problems.length) {
    process.stderr.write(`teams:package cannot build the package:\n${problems.map((p) => `- ${p}`).join('\n')}\n`);
    process.exit(2);
  }
  const out = resolve(values.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, teamsPackage({ appId: appId!, version: values.version, websiteUrl: values.website! }));
  process.stdout.write(`${out}: manifest.json, color.png, outline.png for bot ${appId}\n`);
}

// Run as a program: its own file (fileURLToPath decodes a path with spaces, as argv gives it).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
