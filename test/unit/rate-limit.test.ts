import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../services/gateway/src/rate-limit.js';

describe('TokenBucket', () => {
  it('allows a burst, then refills at the rate', () => {
    const b = new TokenBucket(10, 3, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.take(50)).toBe(false); // half a token
    expect(b.take(100)).toBe(true); // 0.5 + 0.5
    expect(b.take(100)).toBe(false);
  });
  it('never holds more than the burst', () => {
    const b = new TokenBucket(1000, 2, 0);
    const taken = [b.take(10_000), b.take(10_000), b.take(10_000)];
    expect(taken).toEqual([true, true, false]);
  });
});
