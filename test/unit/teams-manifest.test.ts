// The Teams app package: its manifest is valid against Microsoft's own manifest schema (v1.17, as
// shipped in @microsoft/app-manifest), its icons are what Teams requires (192×192 colour, 32×32
// white-on-transparent outline), and npm run teams:package writes the zip with all three.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { ManifestUtil } from '@microsoft/app-manifest';
import { describe, expect, it } from 'vitest';
import { helpReply } from '../../bot/core/parse.js';
import { teamsManifest } from '../../bot/teams/package/manifest.js';
import { colorIcon, outlineIcon } from '../../bot/teams/package/png.js';
import { repoRoot } from '../support/settings.js';

const APP_ID = '0b2f5a4e-1234-4cde-9abc-0123456789ab';
const schema = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('@microsoft/app-manifest/build/json-schemas/teams/v1.17/MicrosoftTeams.schema.json'), 'utf8').replace(/\\a/g, '\\x07')) as Record<string, unknown>;
const manifest = () => teamsManifest({ appId: APP_ID, version: '1.0.0', websiteUrl: 'https://wiki.example.com/envbot' });

/** Width, height and RGBA pixels of a PNG made by png.ts (8-bit RGBA, filter 0 rows). */
function decode(png: Buffer): { width: number; height: number; pixels: number[][] } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  expect([png[24], png[25]]).toEqual([8, 6]);
  let idat = Buffer.alloc(0);
  for (let at = 8; at < png.length; ) {
    const len = png.readUInt32BE(at);
    if (png.toString('ascii', at + 4, at + 8) === 'IDAT') idat = Buffer.concat([idat, png.subarray(at + 8, at + 8 + len)]);
    at += 12 + len;
  }
  const raw = inflateSync(idat);
  const pixels: number[][] = [];
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels.push([...raw.subarray(y * (1 + width * 4) + 1 + x * 4, y * (1 + width * 4) + 5 + x * 4)]);
  return { width, height, pixels };
}

describe('Teams app package', () => {
  it('has a manifest valid against the Teams manifest schema 1.17', async () => {
    expect(await ManifestUtil.validateManifestAgainstSchema(manifest() as never, schema as never)).toEqual([]);
  });

  it('is refused by the schema when broken (the check can fail)', async () => {
    const broken = { ...manifest(), id: 'not-a-guid', bots: [{ botId: APP_ID, scopes: ['everywhere'] }] };
    const errors = await ManifestUtil.validateManifestAgainstSchema(broken as never, schema as never);
    expect(errors.join('\n')).toMatch(/\/id/);
    expect(errors.join('\n')).toMatch(/scopes/);
  });

  it('names the bot and lists the core\'s commands', () => {
    const m = manifest() as { bots: { botId: string; commandLists: { commands: { title: string }[] }[] }[] };
    expect(m.bots[0]!.botId).toBe(APP_ID);
    const titles = m.bots[0]!.commandLists[0]!.commands.map((c) => c.title);
    expect(titles).toEqual(expect.arrayContaining(['create', 'list', 'status', 'destroy', 'reset-db', 'extend']));
    expect(titles.every((t) => helpReply().commands.some((c) => c.usage.startsWith(t)))).toBe(true);
  });

  it('draws a 192×192 colour icon and a 32×32 outline icon in white on transparent', () => {
    const color = decode(colorIcon());
    expect([color.width, color.height]).toEqual([192, 192]);
    expect(color.pixels.every((p) => p[3] === 255)).toBe(true);
    const outline = decode(outlineIcon());
    expect([outline.width, outline.height]).toEqual([32, 32]);
    expect(outline.pixels.every((p) => p[3] === 0 || (p[0] === 255 && p[1] === 255 && p[2] === 255 && p[3] === 255))).toBe(true);
    expect(outline.pixels.some((p) => p[3] === 255)).toBe(true);
  });

  it('npm run teams:package writes the zip for the bot in MicrosoftAppId, and says what is missing otherwise', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'teams-package-')), 'envbot.zip');
    const env = { ...process.env, MicrosoftAppId: APP_ID };
    execFileSync('npm', ['run', '-s', 'teams:package', '--', '--website', 'https://wiki.example.com/envbot', '--out', out], { cwd: repoRoot, env });
    expect(execFileSync('unzip', ['-Z1', out]).toString().trim().split('\n').sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);
    expect(JSON.parse(execFileSync('unzip', ['-p', out, 'manifest.json']).toString())).toEqual(manifest());
    const refused = spawnSync('npm', ['run', '-s', 'teams:package'], { cwd: repoRoot, env: { ...process.env, MicrosoftAppId: '' }, encoding: 'utf8' });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/MicrosoftAppId must be set/);
    expect(refused.stderr).toMatch(/--website https:/);
  });
});
