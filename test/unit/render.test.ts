// Template rendering: the storage helpers give a volume's claim and its mountPath from the catalogue,
// and refuse a volume the project does not have (a claim nobody makes would leave the Pod waiting).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { resolveEnv } from '../../activities/environment.js';
import { render, serviceVars } from '../../activities/render.js';
import { loadCatalogue, type LoadedCatalogue } from '../../shared/catalogue/load.js';
import { CatalogueError } from '../../shared/errors.js';
import { repoRoot } from '../support/settings.js';

const examples = join(repoRoot, 'examples');
const loaded = loadCatalogue(join(examples, 'envbot.yaml'), { MONGO_URL: 'mongodb://m', MYSQL_URL: 'mysql://m', POSTGRES_URL: 'postgres://p', REDIS_URL: 'redis://r' });
const qa = resolveEnv(loaded, { environment: 'projb-qa', project: 'projb', stage: 'qa' });

function withMediaAt(mountPath: string): LoadedCatalogue {
  const projb = loaded.catalogue.projects.projb!;
  return { ...loaded, catalogue: { ...loaded.catalogue, projects: { ...loaded.catalogue.projects, projb: { ...projb, storage: { media: { ...projb.storage.media!, mountPath } } } } } };
}

describe('template helpers for storage volumes', () => {
  it('{{volume}} is the claim envbot makes and {{mountPath}} the catalogue\'s mountPath', () => {
    expect(render(qa, '{{volume "media"}} at {{mountPath "media"}}', {}, 't.hbs')).toBe('vol-media-projb-qa at /var/media');
    const moved = resolveEnv(withMediaAt('/srv/assets'), qa.ref);
    expect(render(moved, '{{mountPath "media"}}', {}, 't.hbs')).toBe('/srv/assets');
  });

  it('mounts the claim at the catalogue\'s mountPath in the example service1 template', () => {
    const file = join(examples, 'templates', 'projb', 'service1.yaml.hbs');
    const r = resolveEnv(withMediaAt('/data/media'), qa.ref);
    type PodSpec = { volumes: { name: string; persistentVolumeClaim?: { claimName: string } }[]; containers: { volumeMounts: unknown[] }[] };
    const docs = parseAllDocuments(render(r, readFileSync(file, 'utf8'), serviceVars(r, 'service1'), file)).map((d) => d.toJS() as { kind: string; spec: { template: { spec: PodSpec } } });
    const pod = docs.find((d) => d.kind === 'Deployment')!.spec.template.spec;
    const claim = pod.volumes.find((v) => v.persistentVolumeClaim?.claimName === 'vol-media-projb-qa')!;
    expect(claim).toBeDefined();
    expect(pod.containers[0]!.volumeMounts).toContainEqual({ name: claim.name, mountPath: '/data/media' });
  });

  it.each([
    ['{{volume "photos"}}', /\{\{volume "photos"\}\}: project projb has no storage volume "photos" \(its volumes: media\)/],
    ['{{mountPath "photos"}}', /\{\{mountPath "photos"\}\}: project projb has no storage volume "photos" \(its volumes: media\)/],
  ])('refuses %s, naming the file', (text, message) => {
    let err: unknown;
    try {
      render(qa, text, {}, 'templates/projb/t.yaml.hbs');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CatalogueError);
    expect(String((err as Error).message)).toMatch('templates/projb/t.yaml.hbs');
    expect(String((err as Error).message)).toMatch(message);
  });

  it('says a project without volumes has none', () => {
    const proja = resolveEnv(loaded, { environment: 'proja-qa', project: 'proja', stage: 'qa' });
    expect(() => render(proja, '{{mountPath "media"}}', {}, 't.hbs')).toThrow(/project proja has no storage volume "media" \(it has none\)/);
  });
});

describe('one compiled template for every environment', () => {
  it('renders the same text for two environments with each one\'s names, helpers inside blocks too', () => {
    const dev = resolveEnv(loaded, { environment: 'projb-dev', project: 'projb', stage: 'dev' });
    const text = '{{ENV_NAME}} {{host "service2"}} {{database "orders"}}{{#each LIST}} [{{this}} {{volume "media"}}]{{/each}}';
    const vars = (r: typeof qa) => ({ ENV_NAME: r.env.name, LIST: ['a'] }) as unknown as Record<string, string>;
    const a = render(qa, text, vars(qa), 't.hbs');
    const b = render(dev, text, vars(dev), 't.hbs');
    const c = render(qa, text, vars(qa), 't.hbs');
    expect(a).toBe(`projb-qa ${qa.names.host('service2')} ${qa.names.postgresDatabase('orders')} [a vol-media-projb-qa]`);
    expect(b).toBe(`projb-dev ${dev.names.host('service2')} ${dev.names.postgresDatabase('orders')} [a vol-media-projb-dev]`);
    expect(c).toBe(a);
  });

  it('still refuses an unknown variable every time the cached text renders', () => {
    for (let i = 0; i < 2; i++) expect(() => render(qa, '{{NOT_A_VAR}}', {}, 't.hbs')).toThrow(/t\.hbs[\s\S]*NOT_A_VAR/);
  });
});
