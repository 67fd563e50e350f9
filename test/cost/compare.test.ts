import { describe, expect, it } from 'vitest';
import { buildReport, compareApiGateway, compareCrossRegion, compareLoadBalancers } from '../../cost/compare.js';
import { estimate } from '../../cost/model.js';
import type { Deployment, Load } from '../../cost/types.js';
import { ASSUMPTIONS, GB, MONTH_S, ONE_REGION, TWO_REGIONS, syntheticBook } from './fixtures.js';

const SMALL: Load = { connections: 30_000, msgRate: 0.05, msgBytes: 340, publishRate: 100, fanout: 100, crossRegionShare: 1, sessionMinutes: 50 };
const A = ASSUMPTIONS;

describe('compareApiGateway', () => {
  it('prices connection minutes, 32 KB message units with tiers, and data out (hand-checked)', () => {
    const book = syntheticBook(['us-east-1']);
    const g = compareApiGateway(estimate(ONE_REGION, SMALL, book, A), book);
    const [minutes, messages, dto] = g.regions[0]!.lines;
    // 30,000 connections × 730 h × 60 min = 1,314 million connection-minutes at $0.25
    expect(minutes!.quantity).toBeCloseTo(1_314, 9);
    expect(minutes!.usd).toBeCloseTo(328.5, 9);
    // (1,500 deliveries + 100 publishes + 30,000 / 300 s keep-alives) × 2,628,000 s = 4,467.6 million:
    // 1,000 million at $1 + 3,467.6 million at $0.80
    expect(messages!.quantity).toBeCloseTo(4_467.6, 6);
    expect(messages!.usd).toBeCloseTo(1_000 + 3_467.6 * 0.8, 6);
    // Data out: the fleet's 1,500 × 500 (deliveries) + 10 × 5,000 (handshakes) + 100 × 160 (acks)
    // = 816,000 B/s, without the gateway's keep-alives, which API Gateway does not send.
    expect(dto!.usd).toBeCloseTo(((816_000 * MONTH_S) / GB) * 0.1, 6);
    expect(g.usd).toBeCloseTo(328.5 + 1_000 + 3_467.6 * 0.8 + ((816_000 * MONTH_S) / GB) * 0.1, 6);
    expect(g.excludes.length).toBeGreaterThan(0);
  });

  it('meters messages above 32 KB as several units', () => {
    const book = syntheticBook(['us-east-1']);
    const small = compareApiGateway(estimate(ONE_REGION, { ...SMALL, msgBytes: 32 * 1024 }, book, A), book);
    const big = compareApiGateway(estimate(ONE_REGION, { ...SMALL, msgBytes: 32 * 1024 + 1 }, book, A), book);
    const keepalives = 100 * MONTH_S / 1e6;
    expect(small.regions[0]!.lines[1]!.quantity - keepalives).toBeCloseTo((1_600 * MONTH_S) / 1e6, 6);
    expect(big.regions[0]!.lines[1]!.quantity - keepalives).toBeCloseTo((2 * 1_600 * MONTH_S) / 1e6, 6);
  });

  it('warns about the connection quota and the message size limit', () => {
    const book = syntheticBook(['us-east-1']);
    const d: Deployment = { ...ONE_REGION, regions: [{ name: 'us-east-1', minTasks: 1, maxTasks: 1000 }] };
    const g = compareApiGateway(estimate(d, { ...SMALL, connections: 5_000_000, msgBytes: 200_000, sessionMinutes: 600 }, book, A), book);
    // sessions are cut at 2 h: 5,000,000 / 7,200 s = 694 new connections/s
    expect(g.warnings).toEqual([
      'API Gateway cannot carry 200000-byte messages (limit 128 KB)',
      "us-east-1: 694 new connections/s (sessions capped at 2 h) exceed API Gateway's default quota of 500/s",
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
    const at = (mode: 'replicator' | 'direct', p: number) => estimate({ ...d, crossRegion: mode }, { ...SMALL, publishRate: p }, syntheticBook(), A).usd;
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
