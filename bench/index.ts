// npm run bench: every benchmark, each printing ratios measured within this one run.
import { servicesEnvFile } from '../shared/paths.js';
import { readSettings } from '../shared/settings.js';
import { storeBench } from './store.bench.js';

const settings = readSettings(process.env, [servicesEnvFile]);
const benches: [string, typeof storeBench][] = [['store', storeBench]];

for (const [name, bench] of benches) {
  process.stdout.write(`== ${name}\n`);
  await bench(settings, (line) => process.stdout.write(`${line}\n`));
}
