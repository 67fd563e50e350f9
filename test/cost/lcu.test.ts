import { describe, expect, it } from 'vitest';
import { capacityUnits, type LbTraffic } from '../../cost/lcu.js';

const idle: LbTraffic = {
  newConnectionsPerSecond: 0,
  activeConnections: 0,
  processedGbPerHour: 0,
  requestsPerSecond: 0,
  rulesPerRequest: 1,
};

describe('capacityUnits', () => {
  it('ALB: 25 new/s, 3,000 active, 1 GB/h, 1,000 rule evaluations/s beyond 10 free rules', () => {
    const u = capacityUnits('alb', {
      newConnectionsPerSecond: 50,
      activeConnections: 9_000,
      processedGbPerHour: 2.5,
      requestsPerSecond: 500,
      rulesPerRequest: 14,
    });
    expect(u.byDimension).toEqual({
      newConnections: 2,
      activeConnections: 3,
      processedBytes: 2.5,
      ruleEvaluations: 2,
    });
    expect(u.units).toBe(3);
    expect(u.dominant).toBe('activeConnections');
  });

  it('ALB: the first 10 rules are free', () => {
    expect(
      capacityUnits('alb', { ...idle, requestsPerSecond: 10_000, rulesPerRequest: 10 }).byDimension
        .ruleEvaluations,
    ).toBe(0);
  });

  it('ALB: whichever dimension is largest is billed', () => {
    expect(
      capacityUnits('alb', { ...idle, newConnectionsPerSecond: 100, activeConnections: 3_000 }),
    ).toMatchObject({ units: 4, dominant: 'newConnections' });
    expect(capacityUnits('alb', { ...idle, processedGbPerHour: 7, activeConnections: 3_000 })).toMatchObject({
      units: 7,
      dominant: 'processedBytes',
    });
  });

  it('NLB with a TLS listener: 50 new/s, 3,000 active, 1 GB/h, no rules', () => {
    const u = capacityUnits('nlb-tls', {
      newConnectionsPerSecond: 50,
      activeConnections: 9_000,
      processedGbPerHour: 2.5,
      requestsPerSecond: 500,
      rulesPerRequest: 14,
    });
    expect(u.byDimension).toEqual({
      newConnections: 1,
      activeConnections: 3,
      processedBytes: 2.5,
      ruleEvaluations: 0,
    });
    expect(u.units).toBe(3);
  });

  it('NLB passing TCP: 800 new/s, 100,000 active, 1 GB/h', () => {
    const u = capacityUnits('nlb-tcp', {
      newConnectionsPerSecond: 400,
      activeConnections: 1_000_000,
      processedGbPerHour: 2.5,
      requestsPerSecond: 0,
      rulesPerRequest: 1,
    });
    expect(u.byDimension).toEqual({
      newConnections: 0.5,
      activeConnections: 10,
      processedBytes: 2.5,
      ruleEvaluations: 0,
    });
    expect(u).toMatchObject({ units: 10, dominant: 'activeConnections' });
  });

  it('a million idle connections cost 333 ALB LCUs but 10 NLB TCP NLCUs', () => {
    const t = { ...idle, activeConnections: 1_000_000 };
    expect(capacityUnits('alb', t).units).toBeCloseTo(333.333, 3);
    expect(capacityUnits('nlb-tls', t).units).toBeCloseTo(333.333, 3);
    expect(capacityUnits('nlb-tcp', t).units).toBe(10);
  });
});
