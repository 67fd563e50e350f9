import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main, parseQuantity, parseRange, parseSplit } from '../../cost/cli.js';
import { readDeployment } from '../../cost/stack.js';

const STACK = `config:
  aws:region: us-east-1
  wsgw:domain: ws.example.com
  wsgw:cloudflareZoneId: 0123456789abcdef0123456789abcdef
  wsgw:jwtSecret:
    secure: AAABAGZha2U=
  wsgw:connectionsPerTask: 20000
  wsgw:task: { cpu: 1024, memory: 2048 }
  wsgw:network: { nat: single, azCount: 3 }
  wsgw:msk: { instanceType: kafka.m7g.large, brokersPerAz: 1, volumeGiB: 200, retentionHours: 12, crossRegion: replicator }
  wsgw:homeRegion: us-east-1
  wsgw:regions:
    - { name: us-east-1, cidr: 10.16.0.0/16, minTasks: 2, maxTasks: 40 }
    - { name: eu-west-1, cidr: 10.17.0.0/16, minTasks: 2, maxTasks: 40 }
`;

function sandbox(files: Record<string, string> = { 'Pulumi.t.yaml': STACK }): string {
  const dir = mkdtempSync(join(tmpdir(), 'wsgw-cost-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function run(argv: string[], cwd = sandbox()): { code: number; out: string; err: string; cwd: string } {
  let out = '';
  let err = '';
  const code = main(argv, { cwd, out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err, cwd };
}

describe('stack files', () => {
  it('map through infra/config.ts onto the cost model input', () => {
    const dir = sandbox();
    const { deployment } = readDeployment('t', dir);
    expect(deployment).toEqual({
      stack: 't',
      regions: [
        { name: 'us-east-1', minTasks: 2, maxTasks: 40 },
        { name: 'eu-west-1', minTasks: 2, maxTasks: 40 },
      ],
      task: { vcpu: 1, memoryGiB: 2, arch: 'arm64' },
      connectionsPerTask: 20_000,
      msk: { kind: 'provisioned', brokers: 3, instanceType: 'kafka.m7g.large', storageGiB: 200 },
      bus: 'kafka',
      crossRegion: 'replicator',
      nat: 'single',
      azCount: 3,
      retentionHours: 12,
      loadBalancer: 'alb',
      kmsKeysPerRegion: 1,
      s3GatewayEndpoint: true,
      image: { repositoryPerRegion: true, inEcr: true },
    });
    expect(readDeployment(join(dir, 'Pulumi.t.yaml')).deployment.stack).toBe('t');
  });

  it('price a region in an existing VPC with the brokers of its own subnets, not azCount', () => {
    const vpc =
      '{ id: vpc-0abc, publicSubnetIds: [subnet-01, subnet-02], privateSubnetIds: [subnet-03, subnet-04], cidr: 10.17.0.0/16 }';
    const dir = sandbox({
      'Pulumi.v.yaml': STACK.replace('brokersPerAz: 1', 'brokersPerAz: 2').replace(
        '{ name: eu-west-1, cidr: 10.17.0.0/16,',
        `{ name: eu-west-1, vpc: ${vpc},`,
      ),
    });
    const { deployment } = readDeployment('v', dir);
    // azCount 3 with two brokers per AZ: 6 brokers where the stack creates the VPC, 4 in a VPC of two private subnets.
    expect(
      deployment.regions.map(
        (r) => r.mskBrokers ?? (deployment.msk.kind === 'provisioned' ? deployment.msk.brokers : 0),
      ),
    ).toEqual([6, 4]);
    const report = JSON.parse(run(['v', '--json'], dir).out) as {
      estimate: {
        regions: { region: string; lines: { service: string; item: string; quantity: number }[] }[];
      };
    };
    const hours = report.estimate.regions.map(
      (r) => r.lines.find((l) => l.service === 'MSK' && l.item.startsWith('broker hours'))!.quantity,
    );
    expect(hours).toEqual([6 * 730, 4 * 730]);
  });

  it("map a prebuilt image: no repository of the stack's, and pulls through NAT unless it is in ECR", () => {
    const image = (ref: string) =>
      readDeployment('i', sandbox({ 'Pulumi.i.yaml': `${STACK}  wsgw:image: ${ref}\n` })).deployment.image;
    expect(image('123456789012.dkr.ecr.us-east-1.amazonaws.com/wsgw:1')).toEqual({
      repositoryPerRegion: false,
      inEcr: true,
    });
    expect(image('ghcr.io/example/wsgw:1')).toEqual({ repositoryPerRegion: false, inEcr: false });
  });

  it('report configuration errors with the key', () => {
    const dir = sandbox({
      'Pulumi.bad.yaml': STACK.replace(
        'minTasks: 2, maxTasks: 40 }\n    - { name: eu-west-1',
        'minTasks: 50, maxTasks: 40 }\n    - { name: eu-west-1',
      ),
    });
    expect(() => readDeployment('bad', dir)).toThrow(
      expect.objectContaining({
        code: 'WSGW_COST_BAD_STACK',
        message: expect.stringContaining(
          'wsgw:regions[0].minTasks: minTasks (50) is greater than maxTasks (40)',
        ),
      }),
    );
  });
});

describe('npm run cost', () => {
  it('prints the table with the price date, every region, totals and comparisons', () => {
    const r = run(['t', '--connections', '200k', '--msg-rate', '0.2', '--msg-bytes', '300']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Prices: AWS list prices as of \d{4}-\d{2}-\d{2}/);
    expect(r.out).toContain(
      'Load: 200,000 concurrent connections; 0.2 msg/s delivered per connection; 300 B per message; 400 msg/s published',
    );
    expect(r.out).toContain('us-east-1 (US East (N. Virginia)): 100,000 connections, 5 tasks');
    expect(r.out).toContain('eu-west-1 (Europe (Ireland)): 100,000 connections, 5 tasks');
    for (const s of [
      'Fargate',
      'LCU hours',
      'broker hours (kafka.m7g.large)',
      'MSK Replicator',
      'internet out',
      'DT-Premium',
      'NAT gateway',
      'CloudWatch',
    ]) {
      expect(r.out).toContain(s);
    }
    expect(r.out).toMatch(/Total per month: \$[\d,]+\.\d\d/);
    expect(r.out).toMatch(/Per million concurrent connections per month: \$[\d,]+\.\d\d/);
    expect(r.out).toContain('Same load on AWS API Gateway WebSocket APIs');
    expect(r.out).toMatch(/Cross-region mode[\s\S]*replicator \$[\d,.]+ {3}direct \$[\d,.]+/);
    expect(r.out).toContain('NLB passing TCP, TLS in the task');
  });

  it('--json prints the whole report as JSON', () => {
    const r = run(['t', '--connections', '1M', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.estimate.load.connections).toBe(1_000_000);
    expect(j.estimate.prices[0]).toMatchObject({
      region: 'global',
      asOf: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
    });
    expect(j.estimate.regions).toHaveLength(2);
    expect(j.estimate.usd).toBeCloseTo(j.estimate.usdPerMillionConnections, 6);
    expect(j.apiGateway.usd).toBeGreaterThan(j.estimate.usd);
    expect(j.loadBalancers).toHaveLength(3);
  });

  it('--chart writes an SVG', () => {
    const r = run(['t', '--chart', 'cost.svg']);
    expect(r.code).toBe(0);
    expect(r.err).toContain('chart written to');
    const svg = readFileSync(join(r.cwd, 'cost.svg'), 'utf8');
    expect(svg).toMatch(/^<svg /);
    expect(svg.match(/<polyline /g)).toHaveLength(4);
  });

  it('models rack-aware consumers with --rack-aware or a stack with zoneLocalReads', () => {
    const across = (args: string[], dir?: string) =>
      (
        JSON.parse(run(['t', '--json', ...args], dir).out).estimate.regions[0].lines as Array<{
          item: string;
          usd: number;
        }>
      ).find((l) => l.item === 'Kafka clients across AZs')!.usd;
    expect(across([])).toBeGreaterThan(across(['--rack-aware']) * 2);
    const zoneLocal = sandbox({
      'Pulumi.t.yaml': STACK.replace(
        'crossRegion: replicator }',
        'crossRegion: replicator, zoneLocalReads: true }',
      ),
    });
    expect(across([], zoneLocal)).toBeCloseTo(across(['--rack-aware']), 6);
  });

  it('defaults connections to what minTasks is sized for', () => {
    const j = JSON.parse(run(['t', '--json']).out);
    expect(j.estimate.load.connections).toBe(4 * 20_000);
  });

  it('fails clearly on an unknown stack, listing the stacks present', () => {
    const r = run(['nope']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^wsgw cost: no stack file .*Pulumi\.nope\.yaml \(stacks here: t\)\n$/);
  });

  it('fails clearly on a region without prices', () => {
    const r = run(['t'], sandbox({ 'Pulumi.t.yaml': STACK.replace('eu-west-1', 'me-south-1') }));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^wsgw cost: no prices for region "me-south-1" \(priced: .*us-east-1.*\); add me-south-1\.json to /,
    );
  });

  it('fails clearly on bad load values', () => {
    expect(run(['t', '--connections', 'lots']).err).toBe(
      'wsgw cost: --connections: "lots" is not a number\n',
    );
    expect(run(['t', '--msg-rate=-1']).err).toBe('wsgw cost: load.msgRate must be at least 0 (got -1)\n');
    expect(run(['t', '--cross-region-share', '2']).err).toBe(
      'wsgw cost: load.crossRegionShare must be at most 1 (got 2)\n',
    );
    expect(run(['t', '--split', 'us-west-2=1']).err).toMatch(
      /load\.distribution must be keyed by the stack's regions \(us-east-1, eu-west-1\), not "us-west-2"/,
    );
    expect(run(['t', '--connections=-5']).code).toBe(1);
  });

  it('rejects unknown options and missing stack names with usage', () => {
    const a = run(['t', '--frobnicate']);
    expect(a.code).toBe(2);
    expect(a.err).toContain('usage: npm run cost');
    expect(run([]).code).toBe(2);
    expect(run(['--help']).out).toContain('--msg-rate R');
  });

  it('--regions prices only the named regions of the stack', () => {
    const j = JSON.parse(run(['t', '--regions', 'eu-west-1', '--json']).out);
    expect(j.estimate.regions.map((r: { region: string }) => r.region)).toEqual(['eu-west-1']);
    // The default connections follow: eu-west-1's 2 minimum tasks × 20,000.
    expect(j.estimate.load.connections).toBe(40_000);
    expect(j.crossRegion).toBeNull();
    expect(run(['t', '--regions', 'eu-west-1,us-west-2']).err).toBe(
      'wsgw cost: --regions: "us-west-2" not in the stack\'s regions (us-east-1, eu-west-1)\n',
    );
    expect(run(['t', '--regions', ',']).code).toBe(1);
  });

  it('parses quantities and splits', () => {
    expect(parseQuantity('x', '1/60')).toBe(1 / 60);
    expect(parseQuantity('x', '1M/100')).toBe(10_000);
    expect(() => parseQuantity('x', '1/0')).toThrow('--x: "1/0" is not a number');
    expect(() => parseQuantity('x', '1/2/3')).toThrow('--x: "1/2/3" is not a number');
    expect(parseQuantity('x', '250k')).toBe(250_000);
    expect(parseQuantity('x', '1.5M')).toBe(1_500_000);
    expect(parseQuantity('x', '1_000')).toBe(1_000);
    expect(parseQuantity('x', '2e3')).toBe(2_000);
    expect(parseSplit('us-east-1=2, eu-west-1=1')).toEqual({ 'us-east-1': 2, 'eu-west-1': 1 });
    expect(() => parseSplit('us-east-1')).toThrow('--split: "us-east-1" is not REGION=WEIGHT');
  });

  it('compares several stacks with API Gateway in one chart over a range, and only in a chart', () => {
    const lean = STACK.replace(
      'wsgw:connectionsPerTask: 20000',
      'wsgw:connectionsPerTask: 40000\n  wsgw:edge: nlb',
    ).replace('memory: 2048', 'memory: 4096');
    const dir = sandbox({ 'Pulumi.t.yaml': STACK, 'Pulumi.lean.yaml': lean });
    const r = run(
      ['t', 'lean', '--connections', '1M', '--msg-rate', '1/60', '--range', '10k..3M', '--chart', 'c.svg'],
      dir,
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^Monthly cost at 1,000,000 connections\n  t +\$[\d,.]+ +API Gateway \$[\d,.]+, [\d.]+ ×\n  lean /,
    );
    const svg = readFileSync(join(dir, 'c.svg'), 'utf8');
    expect(svg).toContain('wsgw t (ALB, replicator)');
    expect(svg).toContain('wsgw lean (NLB, TLS in the task, replicator)');
    expect(svg).toContain('API Gateway WebSocket APIs');
    // The axis spans the range asked for: 10k to 3M, a gridline per decade in between.
    for (const label of ['>10k<', '>100k<', '>1M<']) expect(svg).toContain(label);
    expect(run(['t', 'lean'], dir)).toMatchObject({
      code: 2,
      err: expect.stringContaining('several stacks are compared only in a chart'),
    });
    expect(parseRange('10k..3M')).toEqual([10_000, 3_000_000]);
    expect(() => parseRange('3M..10k')).toThrow('--range: "3M..10k" is not FROM..TO with 0 < FROM < TO');
  });

  it('--recommend prices every broker type and cross-region mode the stack rules accept, cheapest first', () => {
    const r = run(['t', '--connections', '1M', '--msg-rate', '1/60', '--recommend']);
    expect(r.code).toBe(0);
    const block = r.out.slice(r.out.indexOf('Bus and cross-region mode for this load'));
    const rows = block
      .split('\n')
      .slice(1)
      .filter((l) => /^  kafka\./.test(l));
    const priced = rows
      .filter((l) => !l.includes('refused'))
      .map((l) => Number(/\$([\d,.]+)/.exec(l)![1]!.replace(/,/g, '')));
    expect(priced.length).toBeGreaterThan(2);
    expect(priced).toEqual([...priced].sort((a, b) => a - b));
    // A burstable broker cannot be a Replicator source: refused with the parser's own words.
    expect(block).toMatch(
      /kafka\.t3\.small × 1\/AZ, replicator +refused +wsgw:msk\.instanceType: kafka\.t3\.small cannot be a Replicator source/,
    );
    expect(block).toMatch(/recommended: kafka\.\S+ × \d per AZ, crossRegion (replicator|direct)/);
    expect(block).toContain('not covered: a Redis bus is not offered');
  });
});
