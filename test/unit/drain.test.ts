import { describe, expect, it } from 'vitest';
import { planDrain } from '../../services/gateway/src/drain.js';

describe('planDrain', () => {
  it('closes every connection exactly once, within the window, in time order of slots', () => {
    for (const n of [1, 7, 100, 10_000]) {
      const plan = planDrain(n, 30_000);
      expect(plan.reduce((s, p) => s + p.count, 0)).toBe(n);
      for (const p of plan) {
        expect(p.atMs).toBeGreaterThanOrEqual(0);
        expect(p.atMs).toBeLessThan(30_000);
      }
    }
  });
  it('spreads batches over the window in equal shares', () => {
    const plan = planDrain(12_000, 30_000, 250, () => 0.5);
    expect(plan).toHaveLength(120);
    expect(new Set(plan.map((p) => p.count))).toEqual(new Set([100]));
    expect(plan.at(-1)!.atMs).toBeGreaterThan(29_000);
  });
  it('handles an empty task and a zero window', () => {
    expect(planDrain(0, 30_000)).toEqual([]);
    expect(planDrain(5, 0)).toEqual([{ atMs: 0, count: 5 }]);
  });
});
