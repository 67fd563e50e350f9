import { describe, expect, it } from 'vitest';
import { DedupWindow } from '../../services/gateway/src/bus/dedup-window.js';

describe('DedupWindow', () => {
  it('refuses an id seen within the window', () => {
    const w = new DedupWindow(3);
    expect(w.add('a')).toBe(true);
    expect(w.add('b')).toBe(true);
    expect(w.add('a')).toBe(false);
  });

  it('forgets the oldest id once full, and stays bounded', () => {
    const w = new DedupWindow(3);
    for (const id of ['a', 'b', 'c', 'd']) expect(w.add(id)).toBe(true);
    expect(w.size).toBe(3);
    expect(w.add('a')).toBe(true); // 'a' was evicted by 'd'
    expect(w.add('c')).toBe(false);
    for (let i = 0; i < 1_000; i++) w.add(`x${i}`);
    expect(w.size).toBe(3);
  });

  it('rejects a window that is not a positive integer', () => {
    expect(() => new DedupWindow(0)).toThrow(RangeError);
    expect(() => new DedupWindow(1.5)).toThrow(/dedupWindow/);
  });
});
