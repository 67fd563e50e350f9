import { describe, expect, it } from 'vitest';
import { DedupWindow, MessageDedup } from '../../services/gateway/src/bus/dedup-window.js';

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

describe('MessageDedup', () => {
  it('keeps client-chosen ids for their time window whatever the traffic of other ids', () => {
    const d = new MessageDedup(3, 1_000, 100);
    expect(d.add('~retry-me-1', 0)).toBe(true);
    for (let i = 0; i < 1_000; i++) d.add(`gw-${i}`, 10);
    expect(d.add('~retry-me-1', 999)).toBe(false);
    expect(d.add('~retry-me-1', 1_001)).toBe(true); // its window passed
  });

  it('bounds client ids by count, forgetting the oldest first', () => {
    const d = new MessageDedup(3, 60_000, 2);
    d.add('~a', 0);
    d.add('~b', 1);
    d.add('~c', 2);
    expect(d.add('~a', 3)).toBe(true);
    expect(d.add('~c', 3)).toBe(false);
  });
});
