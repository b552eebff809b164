// The project's root folder, found from this module whether it runs from sources (tsx) or dist/.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'envbot') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find envbot\'s package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export const projectRoot = findRoot();
/** The local stack's connection settings (scripts/services up). */
export const servicesEnvFile = join(projectRoot, '.envbot', 'services.env');
