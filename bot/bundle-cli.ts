// `npm run build`'s CLI step: bundles the compiled CLI (dist/bot/cli.js and what it imports) with
// esbuild into dist/cli/, which bin/envbot runs. Node then loads a few files rather than some
// hundreds of modules one by one, which was most of `envbot list`'s time (README, "Benchmarks").
// What a command loads later (the Temporal client for create and destroy, the follow-up output)
// stays in chunks of their own, loaded only when used; Temporal's packages stay in node_modules.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** How long a chunk of an earlier build is kept: a CLI started before this build may still load it. */
const KEEP_OLD_CHUNKS_MS = 60 * 60_000;

const entry = fileURLToPath(new URL('./cli.js', import.meta.url));
if (!entry.includes('/dist/')) throw new Error('bundle-cli runs from dist/ (npm run build), not from the sources');
const outdir = fileURLToPath(new URL('../cli/', import.meta.url));
const started = Date.now();
const { outputFiles } = await build({
  entryPoints: { envbot: entry },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  outExtension: { '.js': '.mjs' },
  // Temporal's client loads native and generated code its own way; pg-native is an optional add-on pg tries.
  external: ['@temporalio/*', 'pg-native'],
  // Bundled CommonJS packages require Node's own modules: give the bundle a require.
  banner: { js: "import { createRequire as envbotCreateRequire } from 'node:module'; const require = envbotCreateRequire(import.meta.url);" },
  logLevel: 'warning',
  write: false,
});
// Each file written beside its place and renamed into it, the entry last: a CLI starting meanwhile
// runs the old build or the new one. Chunks are named by their content, so an old one a running CLI
// may still load stays until it is an hour old.
mkdirSync(outdir, { recursive: true });
const entryFile = join(outdir, 'envbot.mjs');
for (const f of [...outputFiles.filter((o) => o.path !== entryFile), ...outputFiles.filter((o) => o.path === entryFile)]) {
  const temporary = `${f.path}.${process.pid}.tmp`;
  writeFileSync(temporary, f.contents);
  renameSync(temporary, f.path);
}
const current = new Set(outputFiles.map((o) => basename(o.path)));
for (const name of readdirSync(outdir)) {
  const path = join(outdir, name);
  if (!current.has(name) && started - statSync(path).mtimeMs > KEEP_OLD_CHUNKS_MS) rmSync(path, { recursive: true, force: true });
}
console.log(`CLI bundled into ${relative(process.cwd(), outdir)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
