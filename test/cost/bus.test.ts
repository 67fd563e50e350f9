import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compareBuses } from '../../cost/bus.js';
import { main } from '../../cost/cli.js';
import { DEFAULT_ASSUMPTIONS, estimate } from '../../cost/model.js';
import { loadPriceBook, price } from '../../cost/prices.js';
import { readDeployment } from '../../cost/stack.js';
import type { Deployment, Load } from '../../cost/types.js';
import { ASSUMPTIONS, GB, MONTH_S, ONE_REGION, TWO_REGIONS } from './fixtures.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const book = loadPriceBook();
const H = 730;
const LOAD: Load = {
  connections: 50_000,
  msgRate: 0.1,
  msgBytes: 256,
  fanout: 100,
  crossRegionShare: 1,
  sessionMinutes: 60,
};
const usdOf = (
  lines: readonly { service: string; item: string; usd: number }[],
  service: string,
  item?: string,
) =>
  lines
    .filter((l) => l.service === service && (item === undefined || l.item === item))
    .reduce((s, l) => s + l.usd, 0);

const REDIS_NODES: Deployment = {
  ...ONE_REGION,
  bus: 'redis',
  redis: { kind: 'nodes', nodeType: 'cache.t4g.small', nodes: 2 },
  crossRegion: 'direct',
};

describe('the Redis bus in the cost model', () => {
  it('bills every node by the hour, and the cache clients across AZs, instead of MSK', () => {
    const e = estimate(REDIS_NODES, LOAD, book, ASSUMPTIONS);
    const lines = e.regions[0]!.lines;
    expect(lines.filter((l) => l.service.startsWith('MSK'))).toEqual([]);
    expect(lines.filter((l) => l.item === 'Kafka clients across AZs')).toEqual([]);
    const node = price(book, 'us-east-1', 'elasticache.valkey.nodeHour.cache.t4g.small').usd;
    expect(usdOf(lines, 'ElastiCache')).toBeCloseTo(2 * H * node, 6);
    // Writes and every task's reads of the local stream, across AZs (azCount − 1)/azCount of the time.
    const t = e.regions[0]!;
    const stream = t.traffic.kafkaBytesPerSecond;
    const crossAz = (ONE_REGION.azCount - 1) / ONE_REGION.azCount;
    const gb = ((stream + t.tasks.running * stream) * crossAz * MONTH_S) / GB;
    const interAz = price(book, 'us-east-1', 'dataTransfer.interAz').usd;
    expect(usdOf(lines, 'Data transfer', 'cache clients across AZs')).toBeCloseTo(gb * 2 * interAz, 6);
  });

  it('bills serverless by GB-hours stored (at least 100 MB) and ECPUs (one per KB, at least one per write)', () => {
    const d: Deployment = { ...REDIS_NODES, redis: { kind: 'serverless' } };
    const e = estimate(d, LOAD, book, ASSUMPTIONS);
    const r = e.regions[0]!;
    const stored = r.lines.find((l) => l.item === 'data stored')!;
    const gbHour = price(book, 'us-east-1', 'elasticache.valkey.serverless.gbHour').usd;
    // 50 publishes/s of 356 B for 300 s is far below the 100 MB floor.
    expect(r.traffic.kafkaBytesPerSecond * ASSUMPTIONS.redisStreamSeconds).toBeLessThan(0.1 * GB);
    expect(stored.usd).toBeCloseTo(0.1 * H * gbHour, 6);
    const ecpu = r.lines.find((l) => l.item === 'ECPUs (millions)')!;
    const writes = r.traffic.publishesPerSecond * 1; // 356 B < 1 KB: one ECPU each
    const reads = (r.tasks.running * r.traffic.kafkaBytesPerSecond) / 1024;
    const perMillion = price(book, 'us-east-1', 'elasticache.valkey.serverless.ecpuMillion').usd;
    expect(ecpu.usd).toBeCloseTo((((writes + reads) * MONTH_S) / 1e6) * perMillion, 6);
    expect(r.lines.filter((l) => l.item === 'cache clients across AZs')).toEqual([]);
  });

  it('carries each region stream across regions once per reading task, with no replicator', () => {
    // Two US regions: the price files hold ElastiCache for these.
    const d: Deployment = {
      ...TWO_REGIONS,
      regions: [
        { name: 'us-east-1', minTasks: 1, maxTasks: 20 },
        { name: 'us-west-2', minTasks: 1, maxTasks: 20 },
      ],
      bus: 'redis',
      redis: REDIS_NODES.redis!,
      crossRegion: 'direct',
    };
    const e = estimate(d, { ...LOAD, connections: 200_000 }, book, ASSUMPTIONS);
    for (const r of e.regions) {
      expect(r.lines.filter((l) => l.service === 'MSK Replicator')).toEqual([]);
      const other = e.regions.find((x) => x !== r)!;
      const gb = (r.traffic.kafkaBytesPerSecond * other.tasks.running * MONTH_S) / GB;
      const out = r.lines.find((l) => l.item === 'inter-region out')!;
      expect(out.quantity).toBeCloseTo(gb, 4);
    }
  });

  it('refuses a Redis deployment that claims a replicator or lacks its sizing', () => {
    expect(() => estimate({ ...REDIS_NODES, crossRegion: 'replicator' }, LOAD, book, ASSUMPTIONS)).toThrow(
      /bus redis reads other regions directly/,
    );
    const { redis: _omit, ...noSizing } = REDIS_NODES;
    expect(() => estimate(noSizing, LOAD, book, ASSUMPTIONS)).toThrow(/bus redis needs the redis sizing/);
  });
});

describe('the one-region 50k-connection stack (Pulumi.small.yaml) on each bus', () => {
  const { config } = readDeployment('small', ROOT);
  const cmp = compareBuses('small', config, LOAD, book);
  const [kafka, redis] = cmp.buses;

  it('prices both buses, Redis the configured one', () => {
    expect(cmp.configured).toBe('redis');
    expect(kafka && 'usd' in kafka).toBe(true);
    expect(redis && 'usd' in redis).toBe(true);
  });

  it('differs only in the bus lines: three m7g.large brokers against a t4g.small primary and replica', () => {
    if (!kafka || !redis || 'error' in kafka || 'error' in redis) throw new Error('both buses are priced');
    const brokerHour = price(book, 'us-east-1', 'msk.brokerHour.kafka.m7g.large').usd;
    expect(usdOf(kafka.estimate.regions[0]!.lines, 'MSK', 'broker hours (kafka.m7g.large)')).toBeCloseTo(
      3 * H * brokerHour,
      6,
    );
    const node = price(book, 'us-east-1', 'elasticache.valkey.nodeHour.cache.t4g.small').usd;
    expect(usdOf(redis.estimate.regions[0]!.lines, 'ElastiCache')).toBeCloseTo(2 * H * node, 6);
    // The same tasks, load balancer and edge either way.
    for (const service of ['Fargate', 'ALB', 'Global Accelerator'])
      expect(usdOf(redis.estimate.regions[0]!.lines, service)).toBeCloseTo(
        usdOf(kafka.estimate.regions[0]!.lines, service),
        6,
      );
    // What the bus itself costs, and the whole difference it makes (a cache key and an alarm more).
    expect(kafka.busUsd).toBeGreaterThan(10 * redis.busUsd);
    expect(kafka.usd - redis.usd).toBeCloseTo(kafka.busUsd - redis.busUsd - 1 - 0.1, 6);
  });

  it('cannot price Redis where the price files have no ElastiCache entry, and says which', () => {
    const prod = readDeployment('prod', ROOT).config;
    const c = compareBuses('prod', prod, LOAD, book);
    const r = c.buses.find((b) => b.bus === 'redis')!;
    expect('error' in r && r.error).toMatch(
      /price "elasticache\.valkey\.nodeHour\.cache\.t4g\.small" is missing in eu-west-1\.json/,
    );
  });
});

describe('npm run cost --bus', () => {
  const run = (args: string[]) => {
    let out = '';
    let err = '';
    const code = main(args, { cwd: ROOT, out: (s) => (out += s), err: (s) => (err += s) });
    return { code, out, err };
  };

  it('prints the bus comparison by default, and prices the other bus when asked', () => {
    const dflt = run(['small', '--connections', '50k']);
    expect(dflt.code).toBe(0);
    expect(dflt.out).toMatch(/Bus comparison/);
    expect(dflt.out).toMatch(
      /kafka: \$[\d,.]+ a month, of which the bus \$[\d,.]+ \(MSK 3 × kafka\.m7g\.large per region\)/,
    );
    expect(dflt.out).toMatch(/redis \(configured\): \$[\d,.]+ a month/);
    const onKafka = run(['small', '--connections', '50k', '--bus', 'kafka']);
    expect(onKafka.out).toMatch(/MSK 3 × kafka\.m7g\.large/);
    expect(onKafka.out).not.toMatch(/ElastiCache +node hours/);
    const both = run(['small', '--connections', '50k', '--bus', 'both']);
    expect(both.out.match(/^wsgw monthly cost estimate: stack small$/gm)).toHaveLength(2);
  });

  it('puts the comparison in the JSON and refuses an unknown bus', () => {
    const j = JSON.parse(run(['dev', '--json']).out) as {
      busComparison: { configured: string; buses: { bus: string; usd: number }[] };
    };
    expect(j.busComparison.configured).toBe('redis');
    expect(j.busComparison.buses.map((b) => b.bus)).toEqual(['kafka', 'redis']);
    const bad = run(['dev', '--bus', 'nats']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--bus: "nats" is not one of kafka, redis, both/);
  });
});
