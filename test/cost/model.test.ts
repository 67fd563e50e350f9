import { describe, expect, it } from 'vitest';
import { CostError } from '../../cost/errors.js';
import { TIMING_DEFAULTS } from '../../services/shared/src/constants.js';
import { DEFAULT_ASSUMPTIONS, estimate, resolveLoad, taskCount } from '../../cost/model.js';
import { SDK_PING_INTERVAL_MS } from '../../cost/wire.js';
import type { Deployment, Load, LineItem } from '../../cost/types.js';
import { MEASURED } from '../../infra/capacity.js';
import { ASSUMPTIONS, GB, MONTH_S, ONE_REGION, TWO_REGIONS, syntheticBook } from './fixtures.js';

/** 30k connections, 1,500 deliveries/s of 340 B (500 B on the wire), 100 publishes/s, 50-minute sessions. */
const SMALL: Load = {
  connections: 30_000,
  msgRate: 0.05,
  msgBytes: 340,
  publishRate: 100,
  fanout: 100,
  crossRegionShare: 1,
  sessionMinutes: 50,
};

function byKey(lines: readonly LineItem[]): Map<string, LineItem> {
  return new Map(lines.map((l) => [`${l.service} / ${l.item}`, l]));
}

describe('estimate', () => {
  describe('one region, hand-checked line by line', () => {
    const e = estimate(ONE_REGION, SMALL, syntheticBook(['us-east-1']), ASSUMPTIONS);
    const r = e.regions[0]!;

    // Keep-alives per connection (52 B of TCP/IP headers, 22 B of TLS record on every frame; the
    // 150th SDK ping of a 50-minute session, {"op":"ping","id":150}, is 22 B and the gateway's
    // pong, {"op":"pong","id":150,"ts":<13 digits>}, 41 B):
    //   out: (ping 2 + 74 = 76 + bare ACK of the pong 52) / 25 s + pong (2 + 41 + 74 = 117) / 20 s = 10.97 B/s
    //   in:  pong (6 + 74 = 80) / 25 s + (SDK ping 6 + 22 + 74 = 102 + bare ACK of the pong 52) / 20 s = 10.9 B/s
    // Bytes per second, worked out by hand from the documented model:
    //   out = 1,500 × 500 (deliveries) + 30,000 × 10.97 (keep-alives) + 10 × 5,000 (handshakes: 30,000 / 3,000 s) + 100 × 160 (acks)
    //   in  = 100 × 500 (publishes) + 30,000 × 10.9 (keep-alives) + 10 × 1,500 (handshakes) + (1,500 + 100) × 52 (bare ACKs)
    //   kafka = 100 × (340 + 100)
    const out = 750_000 + 329_100 + 50_000 + 16_000; // 1,145,100 B/s
    const inb = 50_000 + 327_000 + 15_000 + 83_200; // 475,200 B/s
    const kafka = 44_000;
    const outGb = (out * MONTH_S) / GB; // 2,802.6 GB: first tier only
    const crossAzGb = ((kafka * 0.5 + 3 * kafka * 0.5) * MONTH_S) / GB; // produce + 3 tasks reading, half cross-AZ
    const logGb = (3 * 50_000 * 730 + 10 * MONTH_S * 400) / GB;
    const ecrGb = (30 * 150e6) / GB; // 30 images of 150 MB kept in the region's repository

    const expected: Record<string, [quantity: number, usd: number]> = {
      'Fargate / vCPU': [3 * 0.5 * 730, 1095 * 0.04],
      'Fargate / memory': [3 * 1 * 730, 2190 * 0.004],
      'ALB / load balancer hours': [730, 730 * 0.02],
      // LCU = max(new 10/25 = 0.4, active 30,000/3,000 = 10, bytes 5.43 GB/h, rules 0) = 10
      'ALB / LCU hours': [10 * 730, 7300 * 0.01],
      'MSK / broker hours (kafka.m5.large)': [2 * 730, 1460 * 0.2],
      'MSK / broker storage': [200, 200 * 0.1],
      'Data transfer / Kafka clients across AZs': [crossAzGb, crossAzGb * 0.02],
      'Data transfer / internet out': [outGb, outGb * 0.1],
      'Global Accelerator / DT-Premium': [outGb, outGb * 0.015],
      'NAT gateway / gateway hours': [730, 730 * 0.05],
      // Logs only: image layers come from ECR through the S3 gateway endpoint.
      'NAT gateway / data processed': [logGb, logGb * 0.05],
      'VPC / S3 gateway endpoint': [1, 0],
      // 2 load balancer + 1 NAT addresses
      'VPC / public IPv4 addresses': [3 * 730, 2190 * 0.005],
      'ECR / image storage': [ecrGb, ecrGb * 0.1],
      'KMS / customer-managed keys': [1, 1],
      'CloudWatch / logs ingested': [logGb, logGb * 0.5],
      'CloudWatch / logs stored': [logGb * 0.15, logGb * 0.15 * 0.03],
      'CloudWatch / custom metrics': [12, 12 * 0.3],
      'CloudWatch / alarms': [8, 8 * 0.1],
      'CloudWatch / dashboards': [1, 3],
    };

    it('derives the traffic', () => {
      expect(r.traffic.bytesOutPerSecond).toBeCloseTo(out, 6);
      expect(r.traffic.bytesInPerSecond).toBeCloseTo(inb, 6);
      expect(r.traffic.kafkaBytesPerSecond).toBeCloseTo(kafka, 6);
      expect(r.traffic.newConnectionsPerSecond).toBeCloseTo(10, 9);
      expect(r.tasks).toMatchObject({
        needed: 3,
        running: 3,
        clampedTo: null,
        byTarget: 3,
        decidedBy: 'target',
      });
    });

    it('computes the LCU dimension by dimension', () => {
      expect(r.loadBalancer.byDimension.newConnections).toBeCloseTo(0.4, 9);
      expect(r.loadBalancer.byDimension.activeConnections).toBeCloseTo(10, 9);
      expect(r.loadBalancer.byDimension.processedBytes).toBeCloseTo(((out + inb) * 3600) / GB, 9);
      expect(r.loadBalancer.byDimension.ruleEvaluations).toBe(0);
      expect(r.loadBalancer.dominant).toBe('activeConnections');
    });

    it('prices every line item and nothing else', () => {
      const lines = byKey(r.lines);
      expect([...lines.keys()].sort()).toEqual(Object.keys(expected).sort());
      for (const [key, [quantity, usd]] of Object.entries(expected)) {
        const l = lines.get(key)!;
        expect(l.quantity, key).toBeCloseTo(quantity, 4);
        expect(l.usd, key).toBeCloseTo(usd, 6);
      }
    });

    it('adds the accelerator fee once and totals', () => {
      expect(e.global).toHaveLength(1);
      expect(e.global[0]!.usd).toBeCloseTo(730 * 0.025, 9);
      const sum = Object.values(expected).reduce((s, [, usd]) => s + usd, 0) + 730 * 0.025;
      expect(e.usd).toBeCloseTo(sum, 6);
      expect(e.usdPerMillionConnections).toBeCloseTo(sum / 0.03, 4);
      expect(e.warnings).toEqual([]);
    });
  });

  describe('two regions, cross-region lines', () => {
    const load: Load = { ...SMALL }; // 15,000 connections and 50 publishes/s per region: 2 tasks each
    const perRegionKafka = 50 * 440; // 22,000 B/s
    const gb = (bps: number) => (bps * MONTH_S) / GB;

    it('replicator: one inbound replicator per region, billed in the target, transfer in the source', () => {
      const e = estimate(TWO_REGIONS, load, syntheticBook(), ASSUMPTIONS);
      for (const r of e.regions) {
        const lines = byKey(r.lines);
        expect(lines.get('MSK Replicator / replicator hours')!.usd).toBeCloseTo(730 * 0.3, 9);
        expect(lines.get('MSK Replicator / data replicated')!.usd).toBeCloseTo(gb(perRegionKafka) * 0.1, 6);
        expect(lines.get('Data transfer / inter-region out')!.usd).toBeCloseTo(gb(perRegionKafka) * 0.02, 6);
        // produce 22,000 × 0.5 + 2 tasks × (local 22,000 + replicated 22,000) × 0.5
        expect(lines.get('Data transfer / Kafka clients across AZs')!.quantity).toBeCloseTo(
          gb(11_000 + 44_000),
          4,
        );
      }
    });

    it('direct: no replicator; every remote task pulls the stream across regions', () => {
      const e = estimate({ ...TWO_REGIONS, crossRegion: 'direct' }, load, syntheticBook(), ASSUMPTIONS);
      for (const r of e.regions) {
        const lines = byKey(r.lines);
        expect(lines.has('MSK Replicator / replicator hours')).toBe(false);
        expect(lines.get('Data transfer / inter-region out')!.usd).toBeCloseTo(
          gb(perRegionKafka * 2) * 0.02,
          6,
        );
        expect(lines.get('Data transfer / Kafka clients across AZs')!.quantity).toBeCloseTo(
          gb(11_000 + 22_000),
          4,
        );
      }
    });

    it('rack-aware consumers read in their own AZ wherever it holds a replica', () => {
      const line = (d: typeof TWO_REGIONS, a: typeof ASSUMPTIONS) =>
        byKey(estimate(d, load, syntheticBook(), a).regions[0]!.lines).get(
          'Data transfer / Kafka clients across AZs',
        )!.quantity;
      const rack = { ...ASSUMPTIONS, rackAwareConsumers: true };
      // 2 AZs, RF 3: every AZ holds a replica, only the producer's writes still cross.
      expect(line(TWO_REGIONS, rack)).toBeCloseTo(gb(11_000), 4);
      // 3 AZs, RF 2: a third of the reads find no replica in their AZ.
      // produce 22,000 × 2/3 + 2 tasks × 44,000 × 1/3
      expect(line({ ...TWO_REGIONS, azCount: 3 }, { ...rack, replicationFactor: 2 })).toBeCloseTo(
        gb((22_000 * 2) / 3 + (88_000 * 1) / 3),
        4,
      );
    });

    it('cross-region share scales what leaves each region', () => {
      const half = estimate(
        { ...TWO_REGIONS, crossRegion: 'direct' },
        { ...load, crossRegionShare: 0.5 },
        syntheticBook(),
        ASSUMPTIONS,
      );
      const l = byKey(half.regions[0]!.lines).get('Data transfer / inter-region out')!;
      expect(l.usd).toBeCloseTo(gb(perRegionKafka * 2 * 0.5) * 0.02, 6);
    });

    it('splits connections by --split weights', () => {
      const e = estimate(
        TWO_REGIONS,
        { ...load, distribution: { 'us-east-1': 3, 'eu-west-1': 1 } },
        syntheticBook(),
        ASSUMPTIONS,
      );
      expect(e.regions[0]!.traffic.connections).toBeCloseTo(22_500, 6);
      expect(e.regions[1]!.traffic.connections).toBeCloseTo(7_500, 6);
      expect(e.regions.map((r) => r.tasks.running)).toEqual([3, 1]);
    });
  });

  describe('what the stack creates besides the fleet', () => {
    const lines = (d: Deployment) =>
      byKey(estimate(d, SMALL, syntheticBook(['us-east-1']), ASSUMPTIONS).regions[0]!.lines);
    const logGb = (3 * 50_000 * 730 + 10 * MONTH_S * 400) / GB;
    const pullGb = (3 * 4 * 150e6) / GB; // 3 tasks × 4 pulls of 150 MB a month

    it('sends image pulls through NAT only when they cannot take the S3 gateway endpoint', () => {
      expect(
        lines({ ...ONE_REGION, s3GatewayEndpoint: false }).get('NAT gateway / data processed')!.quantity,
      ).toBeCloseTo(pullGb + logGb, 4);
      expect(lines({ ...ONE_REGION, s3GatewayEndpoint: false }).has('VPC / S3 gateway endpoint')).toBe(false);
      // A prebuilt image from a registry outside AWS: no repository here, pulls through NAT.
      const external = lines({ ...ONE_REGION, image: { repositoryPerRegion: false, inEcr: false } });
      expect(external.get('NAT gateway / data processed')!.quantity).toBeCloseTo(pullGb + logGb, 4);
      expect(external.has('ECR / image storage')).toBe(false);
    });

    it('gives every task a public IPv4 address without NAT', () => {
      const none = lines({ ...ONE_REGION, nat: 'none' });
      expect(none.has('NAT gateway / gateway hours')).toBe(false);
      expect(none.get('VPC / public IPv4 addresses')!.quantity).toBe(2 * 730); // the load balancer's
      expect(none.get('VPC / public IPv4 addresses (tasks)')!.quantity).toBe(3 * 730);
      expect(none.get('VPC / public IPv4 addresses (tasks)')!.usd).toBeCloseTo(3 * 730 * 0.005, 9);
      expect(lines(ONE_REGION).has('VPC / public IPv4 addresses (tasks)')).toBe(false);
    });

    it('prices one KMS key per region for the alarm topic', () => {
      const e = estimate(TWO_REGIONS, SMALL, syntheticBook(), ASSUMPTIONS);
      expect(e.regions.map((r) => byKey(r.lines).get('KMS / customer-managed keys')!.usd)).toEqual([1, 1]);
      expect(lines({ ...ONE_REGION, kmsKeysPerRegion: 0 }).has('KMS / customer-managed keys')).toBe(false);
      expect(() =>
        estimate({ ...ONE_REGION, kmsKeysPerRegion: 0.5 }, SMALL, syntheticBook(['us-east-1']), ASSUMPTIONS),
      ).toThrow(expect.objectContaining({ code: 'WSGW_COST_BAD_DEPLOYMENT' }));
    });
  });

  describe('TLS in the task', () => {
    it("prices the exportable certificate each region's tasks serve: $15 per issuance, one every 335 days (hand-checked)", () => {
      const e = estimate({ ...TWO_REGIONS, loadBalancer: 'nlb-tcp' }, SMALL, syntheticBook(), ASSUMPTIONS);
      for (const r of e.regions) {
        const acm = r.lines.filter((l) => l.service === 'ACM');
        expect(acm).toHaveLength(1);
        expect(acm[0]!.quantity).toBeCloseTo(365 / 12 / 335, 6);
        expect(acm[0]!.usd).toBeCloseTo((15 * 365) / 12 / 335, 9); // $1.36
      }
      const alb = estimate(TWO_REGIONS, SMALL, syntheticBook(), ASSUMPTIONS);
      expect(alb.regions.flatMap((r) => r.lines).filter((l) => l.service === 'ACM')).toEqual([]);
    });
  });

  describe('task count', () => {
    // ONE_REGION: 0.5 vCPU / 1 GiB tasks, 10,000 connections each, an ALB (no TLS in the task).
    const quiet = { connections: 25_001, deliveriesPerSecond: 0, newConnectionsPerSecond: 0 };
    it('is connections / connectionsPerTask rounded up when memory and CPU allow it', () => {
      expect(taskCount(ONE_REGION, quiet, ASSUMPTIONS, 1, 10)).toMatchObject({
        needed: 3,
        running: 3,
        clampedTo: null,
        byTarget: 3,
        decidedBy: 'target',
      });
    });
    it('is clamped to minTasks', () => {
      expect(taskCount(ONE_REGION, { ...quiet, connections: 0 }, ASSUMPTIONS, 2, 10)).toMatchObject({
        needed: 0,
        running: 2,
        clampedTo: 'min',
      });
      const e = estimate(
        ONE_REGION,
        { ...SMALL, connections: 10 },
        syntheticBook(['us-east-1']),
        ASSUMPTIONS,
      );
      expect(e.regions[0]!.tasks.running).toBe(1);
    });
    it('is clamped to maxTasks, with a warning naming the region and the shortfall', () => {
      expect(taskCount(ONE_REGION, { ...quiet, connections: 1_000_000 }, ASSUMPTIONS, 1, 10)).toMatchObject({
        needed: 100,
        running: 10,
        clampedTo: 'max',
      });
      const e = estimate(
        ONE_REGION,
        { ...SMALL, connections: 150_000 },
        syntheticBook(['us-east-1']),
        ASSUMPTIONS,
      );
      expect(e.regions[0]!.tasks).toMatchObject({ needed: 15, running: 10, clampedTo: 'max' });
      const vcpu = e.regions[0]!.lines.find((l) => l.item === 'vCPU')!;
      expect(vcpu.quantity).toBe(10 * 0.5 * 730);
      expect(e.warnings).toEqual([
        expect.stringMatching(
          /^us-east-1: 150,000 connections need 15 tasks but maxTasks is 10; 50,000 connections are over capacity/,
        ),
      ]);
    });
    it('takes as many tasks as memory needs when TLS in the task holds more per connection than the target assumed', () => {
      // A 1 GiB task behind an NLB passing TCP: 70 % of 1,073,741,824 B, less the process and a
      // 64 MiB history, over the measured bytes per TLS connection, in whole thousands.
      const tls = MEASURED.edges.nlb;
      const perTask =
        Math.floor(
          (2 ** 30 * 0.7 - MEASURED.processBaselineBytes - 2 ** 26) /
            (tls.rssPerConnectionBytes + tls.kernelPerConnectionBytes) /
            1000,
        ) * 1000;
      const d: Deployment = { ...ONE_REGION, loadBalancer: 'nlb-tcp', connectionsPerTask: 30_000 };
      const t = taskCount(d, { ...quiet, connections: 100_000 }, ASSUMPTIONS, 1, 100);
      expect(perTask).toBeLessThan(30_000);
      expect(t).toMatchObject({
        byTarget: 4,
        byMemory: Math.ceil(100_000 / perTask),
        decidedBy: 'memory',
        needed: Math.ceil(100_000 / perTask),
      });
    });
    it("takes as many tasks as CPU needs below the CPU guard's 60 %", () => {
      // 20,000 connections each receiving 10 messages a second, as single writes: 200,000
      // deliveries/s at the measured CPU each, plus their keep-alives, on 0.5-vCPU tasks.
      const c = MEASURED.edges.alb.cpu;
      const t = taskCount(
        ONE_REGION,
        { connections: 20_000, deliveriesPerSecond: 200_000, newConnectionsPerSecond: 0 },
        ASSUMPTIONS,
        1,
        100,
      );
      const vcpu = (20_000 * (c.gatewayPingUs / 25 + c.sdkPingUs / 20 + 10 * c.deliveryUs)) / 1e6;
      expect(t.cpuVcpu).toBeCloseTo(vcpu, 9);
      expect(t).toMatchObject({ byTarget: 2, byCpu: Math.ceil(vcpu / 0.3), decidedBy: 'cpu' });
      expect(t.needed).toBeGreaterThan(2);
    });
  });

  describe('monotonic growth with load', () => {
    const book = syntheticBook();
    const totals = (f: (x: number) => Load, xs: number[], d: Deployment = TWO_REGIONS) =>
      xs.map((x) => estimate(d, f(x), book, ASSUMPTIONS).usd);
    const nonDecreasing = (v: number[]) => v.every((x, i) => i === 0 || x >= (v[i - 1] as number) - 1e-9);
    const connections = [0, 1, 1_000, 10_000, 99_999, 100_000, 250_000, 1_000_000, 5_000_000];

    it('in connections (tasks clamp at the max, traffic keeps growing)', () => {
      for (const mode of ['replicator', 'direct'] as const) {
        const v = totals((c) => ({ ...SMALL, publishRate: undefined, connections: c }), connections, {
          ...TWO_REGIONS,
          crossRegion: mode,
        });
        expect(nonDecreasing(v), `${mode}: ${v.join(', ')}`).toBe(true);
        expect(v.at(-1)!).toBeGreaterThan(v[0]!);
      }
    });
    it('in message rate, message size and publish rate', () => {
      expect(nonDecreasing(totals((r) => ({ ...SMALL, msgRate: r }), [0, 0.01, 0.1, 1, 10]))).toBe(true);
      expect(nonDecreasing(totals((b) => ({ ...SMALL, msgBytes: b }), [0, 10, 100, 1_000, 100_000]))).toBe(
        true,
      );
      expect(
        nonDecreasing(totals((p) => ({ ...SMALL, publishRate: p }), [0, 1, 100, 10_000, 1_000_000])),
      ).toBe(true);
    });
    it('with the shipped prices too', async () => {
      const { loadPriceBook } = await import('../../cost/prices.js');
      const real = loadPriceBook();
      const d: Deployment = {
        ...TWO_REGIONS,
        regions: [
          { name: 'us-east-1', minTasks: 2, maxTasks: 50 },
          { name: 'ap-southeast-1', minTasks: 2, maxTasks: 50 },
        ],
      };
      const v = connections.map(
        (c) => estimate(d, { ...SMALL, publishRate: undefined, connections: c }, real, ASSUMPTIONS).usd,
      );
      expect(nonDecreasing(v), v.join(', ')).toBe(true);
    });
  });

  describe('errors', () => {
    it('names an unknown region and the regions that are priced', () => {
      const d: Deployment = { ...ONE_REGION, regions: [{ name: 'xx-nowhere-1', minTasks: 1, maxTasks: 2 }] };
      expect(() => estimate(d, SMALL, syntheticBook(['us-east-1']), ASSUMPTIONS)).toThrow(
        expect.objectContaining({
          code: 'WSGW_COST_UNKNOWN_REGION',
          message: expect.stringContaining('no prices for region "xx-nowhere-1" (priced: us-east-1)'),
        }),
      );
    });
    it('names a missing price and its file', () => {
      const d: Deployment = {
        ...ONE_REGION,
        msk: { kind: 'provisioned', brokers: 3, instanceType: 'kafka.m9.huge', storageGiB: 10 },
      };
      expect(() => estimate(d, SMALL, syntheticBook(['us-east-1']), ASSUMPTIONS)).toThrow(
        expect.objectContaining({
          code: 'WSGW_COST_MISSING_PRICE',
          message: 'price "msk.brokerHour.kafka.m9.huge" is missing in us-east-1.json',
        }),
      );
    });
    const badLoads: [string, Partial<Load>, RegExp][] = [
      ['negative connections', { connections: -1 }, /load\.connections must be at least 0 \(got -1\)/],
      ['NaN message rate', { msgRate: Number.NaN }, /load\.msgRate must be a finite number/],
      [
        'infinite message size',
        { msgBytes: Number.POSITIVE_INFINITY },
        /load\.msgBytes must be a finite number/,
      ],
      ['oversized messages', { msgBytes: 17 * 1024 * 1024 }, /load\.msgBytes must be at most 16777216/],
      ['zero fan-out', { fanout: 0 }, /load\.fanout must be greater than 0/],
      ['share above one', { crossRegionShare: 1.5 }, /load\.crossRegionShare must be at most 1/],
      ['zero session length', { sessionMinutes: 0 }, /load\.sessionMinutes must be greater than 0/],
      ['negative publish rate', { publishRate: -5 }, /load\.publishRate must be at least 0/],
      [
        'a split naming another region',
        { distribution: { 'us-west-2': 1 } },
        /load\.distribution must be keyed by the stack's regions \(us-east-1\), not "us-west-2"/,
      ],
      [
        'an all-zero split',
        { distribution: { 'us-east-1': 0 } },
        /load\.distribution must be a set of weights with a positive sum/,
      ],
    ];
    for (const [name, patch, message] of badLoads) {
      it(`rejects ${name}`, () => {
        expect(() =>
          estimate(ONE_REGION, { ...SMALL, ...patch }, syntheticBook(['us-east-1']), ASSUMPTIONS),
        ).toThrow(message);
        expect(() => resolveLoad({ ...SMALL, ...patch }, ONE_REGION)).toThrow(CostError);
        expect(() => resolveLoad({ ...SMALL, ...patch }, ONE_REGION)).toThrow(
          expect.objectContaining({ code: 'WSGW_COST_BAD_LOAD' }),
        );
      });
    }
    it('rejects an inconsistent deployment', () => {
      const d: Deployment = { ...ONE_REGION, regions: [{ name: 'us-east-1', minTasks: 5, maxTasks: 2 }] };
      expect(() => estimate(d, SMALL, syntheticBook(['us-east-1']), ASSUMPTIONS)).toThrow(
        expect.objectContaining({ code: 'WSGW_COST_BAD_DEPLOYMENT' }),
      );
    });
  });

  it('derives the publish rate from the fan-out when it is not given', () => {
    const l = resolveLoad(
      { ...SMALL, publishRate: undefined, connections: 1_000_000, msgRate: 0.2, fanout: 50 },
      ONE_REGION,
    );
    expect(l.publishRate).toBe(4_000);
    expect(l.distribution).toEqual({ 'us-east-1': 1 });
  });

  it('uses the gateway ping interval from the shared constants and the SDK ping interval from the SDK', () => {
    expect(DEFAULT_ASSUMPTIONS.serverPingIntervalSeconds).toBe(TIMING_DEFAULTS.pingIntervalMs / 1000);
    expect(DEFAULT_ASSUMPTIONS.sdkPingIntervalSeconds).toBe(SDK_PING_INTERVAL_MS / 1000);
  });
});
