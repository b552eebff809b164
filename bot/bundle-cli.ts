// `npm run build`'s CLI step: bundles the compiled CLI (dist/bot/cli.js and what it imports) with
// esbuild into dist/cli/, which bin/envbot runs. Node then loads a few files rather than some
// hundreds of modules one by one, which was most of `envbot list`'s time (README, "Benchmarks").
// What a command loads later (the Temporal client for create and destroy, the follow-up output)
// stays in chunks of their own, loaded only when used; Temporal's packages stay in node_modules.
import { rmSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const entry = fileURLToPath(new URL('./cli.js', import.meta.url));
if (!entry.includes('/dist/')) throw new Error('bundle-cli runs from dist/ (npm run build), not from the sources');
const outdir = fileURLToPath(new URL('../cli/', import.meta.url));
const started = Date.now();
rmSync(outdir, { recursive: true, force: true });
await build({
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
});
console.log(`CLI bundled into ${relative(process.cwd(), outdir)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
