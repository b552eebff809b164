// npm run bench [name...]: every benchmark (or the named ones), each printing what it measured
// and the ratios, all within this one run.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { servicesEnvFile } from '../shared/paths.js';
import { readSettings, type Settings } from '../shared/settings.js';
import { chatBench } from './chat.bench.js';
import { cpuBench } from './cpu.bench.js';
import { promotionBench } from './promotion.bench.js';
import { provisioningBench } from './provisioning.bench.js';
import { rolloutBench } from './rollout.bench.js';
import { storageBench } from './storage.bench.js';
import { storeBench } from './store.bench.js';

type Bench = (settings: Settings, print: (line: string) => void) => Promise<void>;

// The worker's own logs would drown the figures: warnings only.
Runtime.install({ logger: new DefaultLogger('WARN') });
const settings = readSettings(process.env, [servicesEnvFile]);
const benches: [string, Bench][] = [
  ['store', storeBench],
  ['provisioning', provisioningBench],
  ['storage', storageBench],
  ['rollout', rolloutBench],
  ['chat', chatBench],
  ['cpu', cpuBench],
  ['promotion', promotionBench],
];
const wanted = process.argv.slice(2);

for (const [name, bench] of benches) {
  if (wanted.length && !wanted.includes(name)) continue;
  process.stdout.write(`== ${name}\n`);
  const t0 = performance.now();
  await bench(settings, (line) => process.stdout.write(`${line}\n`));
  process.stdout.write(`(${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
}
