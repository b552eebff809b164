// The catalogue loader: the example loads; a broken envbot.yaml is refused with the file, line and path.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalogue, parseCatalogue } from '../../shared/catalogue/load.js';
import { CatalogueError } from '../../shared/errors.js';
import { repoRoot } from '../support/settings.js';

const localEnv = { MONGO_URL: 'mongodb://m', MYSQL_URL: 'mysql://m', POSTGRES_URL: 'postgres://p', REDIS_URL: 'redis://r' };

const minimal = (extra = '') => `
version: 1
baseDomain: example.com
stages: [dev, qa]
servers:
  mongo: { main: { url: "\${MONGO_URL}" } }
dns: { privateZone: example.com, vpcId: vpc-1, target: lb.example.com }
projects:
  projb:
    services:
      service1: { template: t.yaml.hbs, image: nginx, port: 8080, hosts: [service1] }
    databases:
      catalog: { engine: mongo }
${extra}`;

function inTemp(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'envbot-catalogue-'));
  writeFileSync(join(dir, 't.yaml.hbs'), 'kind: ConfigMap\n');
  mkdirSync(join(dir, 'seeds'));
  const file = join(dir, 'envbot.yaml');
  writeFileSync(file, text);
  return file;
}

function problemsOf(fn: () => unknown): CatalogueError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CatalogueError);
    return err as CatalogueError;
  }
  throw new Error('expected a CatalogueError');
}

describe('catalogue loader', () => {
  it('loads the example catalogue: three projects, three stages, every disk location present', () => {
    const { catalogue } = loadCatalogue(join(repoRoot, 'examples', 'envbot.yaml'), localEnv);
    expect(Object.keys(catalogue.projects).sort()).toEqual(['proja', 'projb', 'projc']);
    expect(catalogue.stages).toEqual(['dev', 'qa', 'uat']);
    expect(catalogue.servers.postgres.main?.url).toBe('postgres://p');
    const projb = catalogue.projects.projb!;
    expect(Object.values(projb.databases).map((d) => d.engine).sort()).toEqual(['mongo', 'mysql', 'postgres']);
  });

  it('loads a minimal catalogue and fills the defaults', () => {
    const { catalogue } = loadCatalogue(inTemp(minimal()), localEnv);
    const svc = catalogue.projects.projb!.services.service1!;
    expect(svc.branch).toBeUndefined();
    expect(svc.template).toEqual({ kind: 'disk', path: 't.yaml.hbs', raw: 't.yaml.hbs' });
    expect(catalogue.projects.projb!.databases.catalog!.server).toBe('main');
  });

  it.each([
    ['a wrong type', minimal().replace('port: 8080', 'port: "eighty"'), 'projects.projb.services.service1.port', /expected number/],
    ['an unknown key', minimal().replace('image: nginx,', 'image: nginx, imgae: x,'), 'projects.projb.services.service1', /Unrecognized key.*imgae/],
    ['a missing template file', minimal().replace('t.yaml.hbs', 'missing.yaml.hbs'), 'projects.projb.services.service1.template', /"missing.yaml.hbs" does not exist/],
    ['a database on an undefined server', minimal().replace('engine: mongo', 'engine: mysql'), 'projects.projb.databases.catalog.server', /no mysql server "main"/],
    ['a bad S3 location', minimal().replace('template: t.yaml.hbs', 'template: "s3://"'), 'projects.projb.services.service1.template', /write s3:\/\/<bucket>/],
    ['an undefined group', minimal('    permissions: { create: ["group:pms"] }'), 'projects.projb.permissions.create.0', /group "pms" is not defined/],
    ['a bad principal', minimal('    permissions: { create: ["bob"] }'), 'projects.projb.permissions.create.0', /write "\*", group:<name>/],
  ])('refuses %s, naming the file, line and path', (_what, text, path, problem) => {
    const file = inTemp(text);
    const err = problemsOf(() => loadCatalogue(file, localEnv));
    const found = err.problems.find((p) => p.path === path);
    expect(found, `problems were: ${err.message}`).toBeDefined();
    expect(found!.problem).toMatch(problem);
    expect(found!.line).toBeGreaterThan(0);
    expect(err.message).toContain(`${file}:${found!.line}: ${path}: `);
  });

  it('refuses a missing ${VAR} with the variable name and what to do', () => {
    const err = problemsOf(() => loadCatalogue(inTemp(minimal()), {}));
    expect(err.message).toMatch(/servers\.mongo\.main\.url: uses \$\{MONGO_URL\}, but the environment variable MONGO_URL is not set/);
  });

  it('refuses YAML that does not parse, with the line', () => {
    const err = problemsOf(() => parseCatalogue('version: 1\nprojects: [unclosed\n', '/x/envbot.yaml'));
    expect(err.message).toMatch(/^\/x\/envbot.yaml:\d+: not valid YAML/);
  });

  it('refuses an unreadable file, saying how to point at the right one', () => {
    const err = problemsOf(() => loadCatalogue('/nonexistent/envbot.yaml'));
    expect(err.message).toMatch(/cannot read the catalogue \(ENOENT\); set ENVBOT_CONFIG/);
  });

  it('refuses projects whose environment names would collide', () => {
    const text = minimal().replace('projects:\n', 'projects:\n  projb-qa:\n    services:\n      s: { template: t.yaml.hbs, image: x, port: 1, hosts: [s] }\n');
    const err = problemsOf(() => loadCatalogue(inTemp(text), localEnv));
    expect(err.message).toMatch(/projects\.projb-qa: project "projb-qa" makes the same environment names as project "projb"/);
  });

  describe('refuses databases that two environments would share', () => {
    const twoProjects = (first: string, second: string, stages = '[dev, qa]') => `
version: 1
baseDomain: example.com
stages: ${stages}
servers:
  mongo: { main: { url: "\${MONGO_URL}" } }
  postgres: { main: { url: "\${POSTGRES_URL}" } }
dns: { privateZone: example.com, vpcId: vpc-1, target: lb.example.com }
projects:
${[first, second].map((p) => {
  // name[stage,...]:database=engine,...
  const [, name, stages, dbs] = /^([a-z-]+)(?:\[(.*)\])?:(.*)$/.exec(p)!;
  const databases = dbs!.split(',').map((d) => { const [db, engine] = d.split('='); return `      ${db}: { engine: ${engine ?? 'postgres'} }`; });
  return `  ${name}:\n${stages ? `    stages: [${stages}]\n` : ''}    services:\n      s: { template: t.yaml.hbs, image: x, port: 1, hosts: [s] }\n    databases:\n${databases.join('\n')}`;
}).join('\n')}
`;

    it('a database name that ends in the start of another project (shop + orders-eu, eu-shop + orders), in every stage, naming the line', () => {
      const file = inTemp(twoProjects('shop:orders-eu', 'eu-shop:orders'));
      const err = problemsOf(() => loadCatalogue(file, localEnv));
      expect(err.problems).toEqual(['dev', 'qa'].map((stage) => ({
        path: 'projects.eu-shop.databases.orders',
        line: expect.any(Number),
        problem:
          `database "orders" of project "eu-shop" (in eu-shop-${stage}) and database "orders-eu" of project "shop" (in shop-${stage}) would both be the PostgreSQL database "orders_eu_shop_${stage}", ` +
          "and one environment would take over the other's data; rename one of these two databases (or one of the projects)",
      })));
      expect(err.message).toContain(`${file}:${err.problems[0]!.line}: projects.eu-shop.databases.orders: database "orders"`);
    });

    it('one that a suffix makes: shop-qa-x + orders meets project qa, stage x + orders-shop', () => {
      const err = problemsOf(() => loadCatalogue(inTemp(twoProjects('shop[qa]:orders', 'qa[x]:orders-shop', '[qa, x]')), localEnv));
      expect(err.problems).toEqual([
        expect.objectContaining({
          path: 'projects.qa.databases.orders-shop',
          problem: expect.stringMatching(/^database "orders-shop" of project "qa" \(in qa-x\) and database "orders" of project "shop" \(in shop-qa-x, an environment with suffix "x"\) would both be the PostgreSQL database "orders_shop_qa_x"/),
        }),
      ]);
    });

    it('two databases of one project, where a suffix of one environment is a stage of the other', () => {
      const err = problemsOf(() => loadCatalogue(inTemp(twoProjects('shop:orders,orders-shop', 'other:x', '[qa, shop]')), localEnv));
      expect(err.problems).toEqual([
        expect.objectContaining({ path: 'projects.shop.databases.orders-shop', problem: expect.stringMatching(/\(in shop-qa\) and database "orders" of project "shop" \(in shop-shop-qa, an environment with suffix "qa"\) would both be the PostgreSQL database "orders_shop_shop_qa"/) }),
        expect.objectContaining({ path: 'projects.shop.databases.orders-shop', problem: expect.stringMatching(/\(in shop-shop\) and database "orders" of project "shop" \(in shop-shop-shop, an environment with suffix "shop"\) would both be/) }),
      ]);
    });

    it.each([
      ['different engines (each has its own servers)', 'shop:orders-eu=mongo', 'eu-shop:orders=postgres', '[qa]'],
      ['a would-be suffix longer than a suffix may be', 'shop[qa]:orders', 'qa[xxxxxxxxxxxxx]:orders-shop', '[qa, xxxxxxxxxxxxx]'],
      ['names that only share a prefix', 'shop:orders', 'shop-eu:orders', '[qa]'],
    ])('but accepts %s', (_what, first, second, stages) => {
      expect(() => loadCatalogue(inTemp(twoProjects(first, second, stages)), localEnv)).not.toThrow();
    });
  });

  it('warns once, with file and line, about each field written that nothing implements yet', () => {
    const file = inTemp(minimal(`    monitoring: { enabled: true }
    permissions: { refresh: ["*"] }
loadBalancer: { listenerArn: arn:aws:elasticloadbalancing:x }`).replace('hosts: [service1] }', 'hosts: [service1], healthPath: /healthz }'));
    const { warnings } = loadCatalogue(file, localEnv);
    // monitoring (and branch) are built now: no warning for them.
    expect(warnings).toEqual([]);
    // Defaults the schema fills in are not warned about.
    expect(loadCatalogue(inTemp(minimal()), localEnv).warnings).toEqual([]);
  });

  describe('the way in: load balancer, addressing, VPN', () => {
    it('loads a listener named by its load balancer, path addressing and a project VPN group, with the defaults', () => {
      const { catalogue, warnings } = loadCatalogue(inTemp(minimal(`    addressing: path
    vpn: { group: S-1-5-21-1 }
loadBalancer: { name: envbot-internal, port: 80 }
vpn: { clientVpnEndpointId: cvpn-endpoint-0123456789abcdef0, cidr: 10.20.0.0/16 }`)), localEnv);
      expect(catalogue.loadBalancer).toEqual({ name: 'envbot-internal', port: 80, priorities: { from: 1000, count: 1000 } });
      expect(catalogue.projects.projb!.addressing).toBe('path');
      expect(warnings).toEqual([]);
      expect(loadCatalogue(inTemp(minimal()), localEnv).catalogue.projects.projb!.addressing).toBe('host');
    });

    it.each([
      ['a listener named twice', 'loadBalancer: { listenerArn: arn:aws:x, name: lb }', /loadBalancer: write either listenerArn, or name/],
      ['no listener', 'loadBalancer: { port: 80 }', /loadBalancer: write either listenerArn, or name/],
      ['priorities past 50000', 'loadBalancer: { name: lb, priorities: { from: 49990, count: 20 } }', /priorities end at 50000/],
      ['a project VPN group without the endpoint', '    vpn: { group: g }', /projects\.projb\.vpn: .*no top-level "vpn"/],
      ['an endpoint id that is not one', 'vpn: { clientVpnEndpointId: vpn-1, cidr: 10.0.0.0/16 }', /vpn\.clientVpnEndpointId: a Client VPN endpoint id/],
      ['a CIDR that is not one', 'vpn: { clientVpnEndpointId: cvpn-endpoint-01, cidr: 10.0.0.0 }', /vpn\.cidr: an IPv4 network/],
    ])('refuses %s, naming the field', (_what, extra, message) => {
      expect(() => loadCatalogue(inTemp(minimal(extra)), localEnv)).toThrow(message);
    });

    it('refuses a service host "services" in a project reached by path: it is the environment\'s shared host', () => {
      const text = minimal('    addressing: path').replace('hosts: [service1]', 'hosts: [services]');
      expect(() => loadCatalogue(inTemp(text), localEnv)).toThrow(/projects\.projb\.addressing: .*no service may have the host "services"/);
    });
  });

  describe('storage volumes', () => {
    const storage = `storage:
  fileSystemId: fs-1
  dataSyncRoleArn: arn:aws:iam::1:role/datasync
  subnetArn: arn:aws:ec2:us-east-1:1:subnet/subnet-1
  securityGroupArns: [arn:aws:ec2:us-east-1:1:security-group/sg-1]
`;
    const withVolume = (volume: string, top = storage) => minimal(`    storage:\n      media: ${volume}\n${top}`);

    it('loads a volume with its defaults (owner 1000:1000, files kept on destroy), with no warning', () => {
      const { catalogue, warnings } = loadCatalogue(inTemp(withVolume('{ source: "s3://media-bucket/projb/", mountPath: /var/media }')), localEnv);
      expect(warnings).toEqual([]);
      expect(catalogue.projects.projb!.storage.media).toEqual({
        source: { kind: 's3', bucket: 'media-bucket', prefix: 'projb/', raw: 's3://media-bucket/projb/' },
        mountPath: '/var/media',
        size: '5Gi',
        uid: 1000,
        gid: 1000,
        onDestroy: 'keep-data',
      });
    });

    it.each([
      ['a source that is not in S3', withVolume('{ source: seeds, mountPath: /m }'), 'projects.projb.storage.media.source', /"seeds": a volume is filled from S3 by DataSync; write s3:\/\/<bucket>\/<prefix>/],
      ['no DataSync role', withVolume('{ source: "s3://b-1/p", mountPath: /m }', storage.replace(/ {2}dataSyncRoleArn.*\n/, '')), 'storage', /project "projb" fills storage volumes from S3, so "dataSyncRoleArn" .* is needed/],
      ['an owner that is not a number', withVolume('{ source: "s3://b-1/p", mountPath: /m, uid: root }'), 'projects.projb.storage.media.uid', /number/],
      ['an unknown onDestroy', withVolume('{ source: "s3://b-1/p", mountPath: /m, onDestroy: shred }'), 'projects.projb.storage.media.onDestroy', /keep-data|delete-data/],
    ])('refuses %s, naming the line', (_what, text, path, message) => {
      const err = problemsOf(() => loadCatalogue(inTemp(text), localEnv));
      expect(err.problems).toEqual([expect.objectContaining({ path, line: expect.any(Number), problem: expect.stringMatching(message) })]);
    });
  });

  it.each([
    ['a template in S3', (t: string) => t.replace('template: t.yaml.hbs', 'template: s3://no-such-bucket-anywhere/t.yaml.hbs'), { kind: 's3', bucket: 'no-such-bucket-anywhere', prefix: 't.yaml.hbs' }],
    ['a seed in git', (t: string) => t.replace('catalog: { engine: mongo }', 'catalog: { engine: mongo, seed: "git+https://example.invalid/r.git#release/1.2:seeds/catalog" }'), { kind: 'git', repo: 'https://example.invalid/r.git', ref: 'release/1.2', path: 'seeds/catalog' }],
  ])('accepts %s at start without reaching it (a create fetches it, and fails there if it is not there)', (_, edit, expected) => {
    const { catalogue } = loadCatalogue(inTemp(edit(minimal())), localEnv);
    const p = catalogue.projects.projb!;
    const loc = expected.kind === 's3' ? p.services.service1!.template : p.databases.catalog!.seed;
    expect(loc).toEqual(expect.objectContaining(expected));
  });
});
