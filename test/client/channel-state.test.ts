import { describe, expect, it } from 'vitest';
import { ChannelState } from '../../services/client/src/channel-state.js';

describe('ChannelState', () => {
  it('has no position before the first ack, then resumes from the ack and what it saw', () => {
    const c = new ChannelState(10);
    expect(c.position()).toBeUndefined();
    c.acked({ a: 'a-5', b: 'b-2', '@': '1000' });
    expect(c.live).toBe(true);
    expect(c.accept({ a: 'a-6' })).toBe(true);
    expect(c.position()).toEqual({ a: 'a-6', b: 'b-2', '@': '1000' });
  });

  it('keeps ids it heard of over an ack that starts it elsewhere', () => {
    const c = new ChannelState(10);
    c.accept({ a: 'a-9' });
    c.acked({ a: 'a-3', '@': '10' });
    expect(c.position()).toEqual({ a: 'a-9', '@': '10' });
  });

  it('drops a repeated id within its window and forgets ids older than the window', () => {
    const c = new ChannelState(2);
    expect(c.accept({ a: 'x1' })).toBe(true);
    expect(c.accept({ a: 'x1' })).toBe(false);
    c.accept({ a: 'x2' });
    c.accept({ a: 'x3' }); // x1 leaves the window
    expect(c.accept({ a: 'x2' })).toBe(false);
    expect(c.accept({ a: 'x1' })).toBe(true);
  });

  it('takes a pong sync point only while live, and never moves it back', () => {
    const c = new ChannelState(10);
    c.heldUpTo({ common: 50, lagging: {} });
    expect(c.sync).toBeUndefined();
    c.acked({ '@': '100' });
    c.heldUpTo({ common: 90, lagging: {} });
    expect(c.sync?.common).toBe(100);
    c.heldUpTo({ common: 200, lagging: {} });
    expect(c.sync?.common).toBe(200);
    c.live = false;
    c.heldUpTo({ common: 300, lagging: {} });
    expect(c.sync?.common).toBe(200);
  });

  it('rejects every waiting subscribe once', () => {
    const c = new ChannelState(10);
    const seen: string[] = [];
    c.waiters.push({ resolve: () => seen.push('ok'), reject: (e) => seen.push(e.message) });
    c.rejectWaiters(new Error('gone'));
    c.rejectWaiters(new Error('again'));
    expect(seen).toEqual(['gone']);
  });
});
