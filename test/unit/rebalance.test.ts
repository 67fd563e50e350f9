import { describe, expect, it } from 'vitest';
import { Rebalancer } from '../../services/gateway/src/rebalance.js';

const mk = () => new Rebalancer({ nodeId: 'me', region: 'r', intervalMs: 1_000, threshold: 0.2, rate: 0.05 });

describe('Rebalancer', () => {
  it('sheds nothing when alone or near the average', () => {
    const r = mk();
    expect(r.shed(1_000, 1_000, 0)).toBe(0);
    r.observe({ node: 'p', region: 'r', connections: 900 }, 0);
    expect(r.shed(1_000, 1_000, 0)).toBe(0);
  });

  it('sheds at most the rate per second and never below the average', () => {
    const r = mk();
    r.observe({ node: 'p', region: 'r', connections: 0 }, 0);
    let own = 2_000;
    const shed: number[] = [];
    for (let t = 1; t <= 60; t++) {
      r.observe({ node: 'p', region: 'r', connections: 2_000 - own }, t * 1_000 - 1);
      const n = r.shed(own, 1_000, t * 1_000);
      expect(n).toBeLessThanOrEqual(Math.floor(own * 0.05) + 1);
      shed.push(n);
      own -= n;
    }
    expect(own).toBeGreaterThanOrEqual(1_000);
    expect(own).toBeLessThanOrEqual(1_200); // within the threshold of the average of 1000
    expect(shed[0]).toBe(100);
  });

  it('ignores other regions, itself, bad reports and forgets silent peers', () => {
    const r = mk();
    r.observe({ node: 'x', region: 'other', connections: 0 }, 0);
    r.observe({ node: 'me', region: 'r', connections: 0 }, 0);
    r.observe({ node: 'p', region: 'r', connections: Number.NaN }, 0);
    expect(r.average(100, 0)).toBeUndefined();
    r.observe({ node: 'p', region: 'r', connections: 0 }, 0);
    expect(r.average(100, 1_000)).toBe(50);
    expect(r.average(100, 10_000)).toBeUndefined();
  });

  it('carries fractions so a small rate still sheds', () => {
    const r = new Rebalancer({ nodeId: 'me', region: 'r', intervalMs: 10_000, threshold: 0, rate: 0.01 });
    r.observe({ node: 'p', region: 'r', connections: 0 }, 0);
    let total = 0;
    for (let t = 0; t < 20; t++) total += r.shed(10, 1_000, t);
    expect(total).toBe(2);
  });
});
