// Which catalogue envbot uses: ENVBOT_CONFIG, else ./envbot.yaml, else the example catalogue.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { projectRoot } from '../shared/paths.js';
import type { Settings } from '../shared/settings.js';

export function catalogueFile(settings: Settings, warn: (message: string) => void = () => undefined): string {
  if (settings.configFile) return resolve(settings.configFile);
  const own = resolve('envbot.yaml');
  if (existsSync(own)) return own;
  const example = join(projectRoot, 'examples', 'envbot.yaml');
  warn(`ENVBOT_CONFIG is not set and there is no ./envbot.yaml: using the example catalogue ${example}`);
  return example;
}
