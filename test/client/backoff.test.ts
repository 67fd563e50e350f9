import { describe, expect, it } from 'vitest';
import { closeAction, fullJitter } from '../../services/client/src/backoff.js';

describe('fullJitter', () => {
  it('draws uniformly from [0, min(max, base*2^n)]', () => {
    const opts = { baseMs: 100, maxMs: 5_000 };
    expect(fullJitter(0, opts, () => 0.999)).toBe(99);
    expect(fullJitter(3, opts, () => 0.5)).toBe(400);
    expect(fullJitter(20, opts, () => 0.999)).toBe(4_995);
    expect(fullJitter(5, opts, () => 0)).toBe(0);
  });

  it('spreads 10k clients over the window without a spike', () => {
    const opts = { baseMs: 1_000, maxMs: 1_000 };
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) buckets[Math.floor(fullJitter(0, opts) / 100)]!++;
    for (const b of buckets) {
      expect(b).toBeGreaterThan(800);
      expect(b).toBeLessThan(1_200);
    }
  });
});

describe('closeAction', () => {
  it('maps close codes to reconnect policies', () => {
    expect(closeAction(1008)).toEqual({ kind: 'stop' });
    expect(closeAction(1009)).toEqual({ kind: 'stop' });
    expect(closeAction(4001)).toEqual({ kind: 'refresh-token' });
    expect(closeAction(1013)).toEqual({ kind: 'reconnect', minAttempt: 4 });
    expect(closeAction(4029)).toEqual({ kind: 'reconnect', minAttempt: 4 });
    for (const code of [1000, 1001, 1006, 1012, 4008])
      expect(closeAction(code)).toEqual({ kind: 'reconnect', minAttempt: 0 });
  });
});
