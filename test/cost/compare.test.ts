import { describe, expect, it } from 'vitest';
import {
  buildReport,
  compareApiGateway,
  compareCrossRegion,
  compareLoadBalancers,
} from '../../cost/compare.js';
import { estimate } from '../../cost/model.js';
import type { Deployment, Load } from '../../cost/types.js';
import { ASSUMPTIONS, GB, MONTH_S, ONE_REGION, TWO_REGIONS, syntheticBook } from './fixtures.js';

const SMALL: Load = {
  connections: 30_000,
  msgRate: 0.05,
  msgBytes: 340,
  publishRate: 100,
  fanout: 100,
  crossRegionShare: 1,
  sessionMinutes: 50,
};
const A = ASSUMPTIONS;

describe('compareApiGateway', () => {
  it('prices connection minutes, 32 KB message units with tiers, and data out (hand-checked)', () => {
    const book = syntheticBook(['us-east-1']);
    const g = compareApiGateway(estimate(ONE_REGION, SMALL, book, A), book);
    const [minutes, messages, dto] = g.regions[0]!.lines;
    // 30,000 connections × 730 h × 60 min = 1,314 million connection-minutes at $0.25
    expect(minutes!.quantity).toBeCloseTo(1_314, 9);
    expect(minutes!.usd).toBeCloseTo(328.5, 9);
    // 1,500 deliveries + 100 publishes a second; a connection receives 0.05 messages/s, so the share
    // silent for API Gateway's 10 minutes is e^(−30) and its keep-alives (30,000 × e^(−30) / 300 s)
    // are 2.5e−11 million a month. × 2,628,000 s = 4,204.8 million: 1,000 million at $1 + 3,204.8 at $0.80
    expect(messages!.quantity).toBeCloseTo(4_204.8, 6);
    expect(messages!.usd).toBeCloseTo(1_000 + 3_204.8 * 0.8, 6);
    // Data out: the fleet's 1,500 × 500 (deliveries) + 10 × 5,000 (handshakes) + 100 × 160 (acks)
    // = 816,000 B/s, without the gateway's keep-alives, which API Gateway does not send.
    expect(dto!.usd).toBeCloseTo(((816_000 * MONTH_S) / GB) * 0.1, 6);
    expect(g.usd).toBeCloseTo(328.5 + 1_000 + 3_204.8 * 0.8 + ((816_000 * MONTH_S) / GB) * 0.1, 6);
    // Requests: 1,500 callbacks + 100 publishes + 10 new connections (50-minute sessions).
    expect(g.regions[0]!.requestsPerSecond).toBeCloseTo(1_610, 6);
    expect(g.excludes.length).toBeGreaterThan(0);
  });

  it('bills keep-alives only for the connections that stay silent past the idle timeout (hand-checked)', () => {
    const book = syntheticBook(['us-east-1']);
    const at = (msgRate: number) =>
      compareApiGateway(estimate(ONE_REGION, { ...SMALL, msgRate, publishRate: 0 }, book, A), book);
    // Nothing flows: every connection sends a keep-alive every 300 s, 30,000 / 300 = 100 a second.
    const idle = at(0);
    expect(idle.regions[0]!.idleShare).toBe(1);
    expect(idle.regions[0]!.keepalivesPerSecond).toBeCloseTo(100, 9);
    expect(idle.regions[0]!.lines[1]!.quantity).toBeCloseTo((100 * MONTH_S) / 1e6, 6);
    // One message per 10 minutes: e^(−1) = 36.79 % of the connections hear nothing for 10 minutes.
    const sparse = at(1 / 600);
    expect(sparse.regions[0]!.idleShare).toBeCloseTo(Math.exp(-1), 12);
    expect(sparse.regions[0]!.lines[1]!.quantity).toBeCloseTo(((50 + 100 * Math.exp(-1)) * MONTH_S) / 1e6, 6);
    // API Gateway acknowledges each keep-alive: 100 × e^(−1) × 52 B on top of deliveries and handshakes.
    const out = 50 * 500 + 10 * 5_000 + 100 * Math.exp(-1) * 52;
    expect(sparse.regions[0]!.lines[2]!.quantity).toBeCloseTo((out * MONTH_S) / GB, 4);
    expect(sparse.assumptions[0]).toBe(
      "keep-alives only from connections that receive nothing for 10 minutes (API Gateway's idle timeout): with deliveries at random, 0.00167/s per connection, e^(−1) = 36.8 % of them, each sending one every 300 s",
    );
    expect(sparse.assumptions[1]).toBe(
      'requests per second against the default account quota of 10,000/s per region (all API Gateway APIs of the account share it): us-east-1 97',
    );
  });

  it('meters messages above 32 KB as several units', () => {
    const book = syntheticBook(['us-east-1']);
    const small = compareApiGateway(estimate(ONE_REGION, { ...SMALL, msgBytes: 32 * 1024 }, book, A), book);
    const big = compareApiGateway(estimate(ONE_REGION, { ...SMALL, msgBytes: 32 * 1024 + 1 }, book, A), book);
    const keepalives = (((30_000 * Math.exp(-30)) / 300) * MONTH_S) / 1e6;
    expect(small.regions[0]!.lines[1]!.quantity - keepalives).toBeCloseTo((1_600 * MONTH_S) / 1e6, 6);
    expect(big.regions[0]!.lines[1]!.quantity - keepalives).toBeCloseTo((2 * 1_600 * MONTH_S) / 1e6, 6);
  });

  it('warns about the connection quota, the request quota and the message size limit', () => {
    const book = syntheticBook(['us-east-1']);
    const d: Deployment = { ...ONE_REGION, regions: [{ name: 'us-east-1', minTasks: 1, maxTasks: 1000 }] };
    const g = compareApiGateway(
      estimate(d, { ...SMALL, connections: 5_000_000, msgBytes: 200_000, sessionMinutes: 600 }, book, A),
      book,
    );
    // Sessions are cut at 2 h: 5,000,000 / 7,200 s = 694 new connections/s. Requests: 250,000
    // callbacks + 100 publishes + 694.4 new connections = 250,794/s.
    expect(g.warnings).toEqual([
      'API Gateway cannot carry 200000-byte messages (limit 128 KB)',
      "us-east-1: 694 new connections/s (sessions capped at 2 h) exceed API Gateway's default quota of 500/s",
      'us-east-1: 250,794 API Gateway requests/s (@connections callbacks, client messages, new connections) exceed the default account quota of 10,000/s per region',
    ]);
  });

  it('warns about the request quota from the first request above it', () => {
    const book = syntheticBook(['us-east-1']);
    const d: Deployment = { ...ONE_REGION, regions: [{ name: 'us-east-1', minTasks: 1, maxTasks: 1000 }] };
    // 100,000 connections, 60-minute sessions: 27.78 new connections/s, no publishes, and deliveries
    // that fill the quota to 10,000 exactly, then 10,001.
    const at = (requests: number) =>
      compareApiGateway(
        estimate(
          d,
          {
            ...SMALL,
            connections: 100_000,
            sessionMinutes: 60,
            publishRate: 0,
            msgRate: (requests - 100_000 / 3_600) / 100_000,
          },
          book,
          A,
        ),
        book,
      );
    expect(at(10_000).warnings).toEqual([]);
    expect(at(10_001).warnings).toEqual([
      expect.stringMatching(
        /^us-east-1: 10,001 API Gateway requests\/s .* exceed the default account quota of 10,000\/s per region$/,
      ),
    ]);
  });
});

describe('compareCrossRegion', () => {
  it('finds no break-even when direct is cheaper at every rate (few tasks)', () => {
    // Per region and GB of stream: replicator 0.10 + transfer 0.02 + replicated reads across AZs 2 × 0.5 × 0.02
    // against direct 2 remote tasks × 0.02, plus a fixed $219 of replicator hours: direct always wins.
    const c = compareCrossRegion(TWO_REGIONS, SMALL, syntheticBook(), A, 100)!;
    expect(c.breakEvenPublishRate).toBeNull();
    expect(c.cheaperAtLowRates).toBe('direct');
    expect(c.cheaper).toBe('direct');
    expect(c.usd.replicator).toBeGreaterThan(c.usd.direct);
  });

  it('finds the publish rate where both modes cost the same (hand-checked)', () => {
    // 1,000 connections per task: 15 tasks per region. Per GB of one region's stream:
    //   replicator 0.10 + 0.02 transfer + 15 tasks × 0.5 cross-AZ × 0.02 = 0.27; direct 15 × 0.02 = 0.30.
    // Replicator hours cost $219 per region, so they break even at 219 / 0.03 = 7,300 GB a month per region.
    const d: Deployment = { ...TWO_REGIONS, connectionsPerTask: 1_000 };
    const c = compareCrossRegion(d, SMALL, syntheticBook(), A, 100)!;
    const perRegionBytesPerSecond = ((219 / 0.03) * GB) / MONTH_S;
    const expected = (2 * perRegionBytesPerSecond) / (340 + 100);
    expect(c.breakEvenPublishRate).toBeCloseTo(expected, 3);
    expect(c.cheaperAtLowRates).toBe('direct');
    const at = (mode: 'replicator' | 'direct', p: number) =>
      estimate({ ...d, crossRegion: mode }, { ...SMALL, publishRate: p }, syntheticBook(), A).usd;
    expect(at('replicator', expected)).toBeCloseTo(at('direct', expected), 6);
    expect(at('replicator', expected * 2)).toBeLessThan(at('direct', expected * 2));
  });

  it('is absent for a single region', () => {
    expect(compareCrossRegion(ONE_REGION, SMALL, syntheticBook(['us-east-1']), A, 100)).toBeNull();
  });
});

describe('compareLoadBalancers', () => {
  it('prices ALB, NLB with TLS and NLB passing TCP for the same connections', () => {
    const [alb, tls, tcp] = compareLoadBalancers(ONE_REGION, SMALL, syntheticBook(['us-east-1']), A);
    // 30,000 active connections: 10 units for ALB and NLB TLS, 0.3 for NLB TCP (whose bytes, 5.43 GB/h, then dominate)
    expect(alb!.usd).toBeCloseTo(730 * 0.02 + 10 * 730 * 0.01, 9);
    expect(tls!.usd).toBeCloseTo(730 * 0.02 + 10 * 730 * 0.005, 9);
    expect(tcp!.regions[0]!.dominant).toBe('processedBytes');
    expect(tcp!.usd).toBeLessThan(tls!.usd);
    expect(tls!.usd).toBeLessThan(alb!.usd);
  });
});

describe('buildReport', () => {
  it('carries the estimate and every comparison', () => {
    const r = buildReport(TWO_REGIONS, SMALL, syntheticBook(), A);
    expect(r.estimate.regions).toHaveLength(2);
    expect(r.loadBalancers.map((l) => l.kind)).toEqual(['alb', 'nlb-tls', 'nlb-tcp']);
    expect(r.crossRegion?.configured).toBe('replicator');
    expect(r.apiGateway.ratioToFleet).toBeGreaterThan(0);
  });
});
