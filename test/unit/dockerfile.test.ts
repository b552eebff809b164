// The Dockerfile cannot be built here (no container runtime): keep it honest by reading it. Two
// stages; the build stage has every folder tsconfig.build.json compiles; the final stage runs as a
// non-root user given by number (Kubernetes' runAsNonRoot can verify only a number) with what
// bin/envbot-server and envbot read at run time.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/settings.js';

const lines = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8').split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
const stages: string[][] = [];
for (const l of lines) {
  if (/^FROM /.test(l)) stages.push([]);
  stages.at(-1)!.push(l);
}
const [build, final] = stages as [string[], string[]];
const copies = (stage: string[]) => stage.filter((l) => /^COPY /.test(l) && !l.includes('--from')).flatMap((l) => l.split(/\s+/).slice(1, -1));

describe('Dockerfile', () => {
  it('has a build stage and a final stage on the same base image', () => {
    expect(stages).toHaveLength(2);
    expect(build[0]!.replace(/ AS \w+$/, '')).toBe(final[0]);
  });

  it('compiles every folder tsconfig.build.json includes, and builds the workflow bundle', () => {
    const include = (JSON.parse(readFileSync(join(repoRoot, 'tsconfig.build.json'), 'utf8')) as { include: string[] }).include;
    expect(copies(build)).toEqual(expect.arrayContaining(include));
    expect(build.some((l) => l.includes('npm run build'))).toBe(true);
    for (const f of copies(build)) expect(existsSync(join(repoRoot, f)), f).toBe(true);
  });

  it('final stage: runtime packages only, what envbot reads at run time, a numeric non-root user, bin/envbot-server', () => {
    expect(build.some((l) => l.includes('npm prune --omit=dev'))).toBe(true);
    for (const f of ['package.json', 'bin', 'migrations']) expect(copies(final)).toContain(f);
    for (const f of copies(final)) expect(existsSync(join(repoRoot, f)), f).toBe(true);
    const user = final.filter((l) => /^USER /.test(l)).at(-1)!;
    expect(user).toMatch(/^USER [1-9]\d*(:\d+)?$/);
    expect(final.at(-1)).toBe('CMD ["bin/envbot-server"]');
    expect(final.findIndex((l) => /^USER /.test(l))).toBeGreaterThan(final.findIndex((l) => /apt-get install/.test(l)));
  });
});
