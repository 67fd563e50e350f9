import { describe, expect, it } from 'vitest';
import { History, SYNC_KEY } from '../../services/gateway/src/history.js';
import { encodeEnvelope } from '../../services/shared/src/envelope.js';
import type { BusMessage } from '../../services/gateway/src/bus/bus.js';

const T0 = 1_000_000;
/** A time well inside the history's coverage (more than the skew after it began). */
const T = T0 + 10_000;
const opts = { perChannel: 5, maxBytes: 1 << 20, maxAgeMs: 60_000, skewMs: 1_000 };
let n = 0;
const msg = (channel: string, origin: string, ts: number): BusMessage => ({
  id: `${origin}-${++n}`,
  channel,
  origin,
  node: 'n',
  ts,
  contentType: 'application/json',
  payload: new TextEncoder().encode(String(n)),
});
const ids = (r: ReturnType<History['recover']>) => (r.recovered ? r.messages.map((m) => m.id) : 'gap');

describe('History#recover', () => {
  it('returns what came after the client position per origin, in arrival order', () => {
    const h = new History(opts, T0);
    const a1 = msg('c', 'a', T + 10);
    const b1 = msg('c', 'b', T + 11);
    const a2 = msg('c', 'a', T + 12);
    const b2 = msg('c', 'b', T + 13);
    const a3 = msg('c', 'a', T + 14);
    for (const m of [a1, b1, a2, b2, a3]) h.add(m, T + 20);
    expect(ids(h.recover('c', { a: a1.id, b: b1.id, [SYNC_KEY]: String(T + 12) }))).toEqual([a2.id, b2.id, a3.id]);
    expect(ids(h.recover('c', { a: a3.id, b: b2.id, [SYNC_KEY]: String(T + 14) }))).toEqual([]);
  });

  it('reads raw envelopes kept undecoded, and drops a duplicated id', () => {
    const h = new History(opts, T0);
    const a1 = msg('c', 'a', T + 1);
    const a2 = msg('c', 'a', T + 2);
    h.add(a1, T + 5);
    h.addRaw('c', encodeEnvelope(a2), T + 6);
    h.addRaw('c', encodeEnvelope(a2), T + 7);
    h.addRaw('c', new Uint8Array([0xff, 0xff]), T + 8);
    expect(ids(h.recover('c', { a: a1.id, [SYNC_KEY]: String(T + 1) }))).toEqual([a2.id]);
  });

  it('includes origins the client has not heard from, stamped after its sync time less the skew', () => {
    const h = new History(opts, T0);
    const old = msg('c', 'b', T0 + 100);
    const recent = msg('c', 'b', T0 + 4_500);
    h.add(old, T0 + 100);
    h.add(recent, T0 + 4_500);
    expect(ids(h.recover('c', { [SYNC_KEY]: String(T0 + 5_000) }))).toEqual([recent.id]);
  });

  it('reports a gap when the sync time is older than what is retained, or missing', () => {
    const h = new History(opts, T0);
    const first = msg('c', 'a', T0 + 10);
    h.add(first, T0 + 10);
    for (let i = 0; i < 5; i++) h.add(msg('c', 'a', T0 + 20 + i), T0 + 20 + i); // evicts `first`
    expect(ids(h.recover('c', { a: first.id, [SYNC_KEY]: String(T0 + 10) }))).toBe('gap');
    expect(ids(h.recover('c', { a: first.id }))).toBe('gap');
    expect(ids(h.recover('c', { [SYNC_KEY]: String(T0 - 5_000) }))).toBe('gap'); // before this history began
  });

  it('evicts by age and by total bytes, raising the floor', () => {
    const h = new History({ ...opts, perChannel: 1_000, maxBytes: 10_000, maxAgeMs: 1_000 }, T0);
    for (let i = 0; i < 100; i++) h.add(msg(`c${i % 10}`, 'a', T0 + i), T0 + i);
    expect(h.byteSize).toBeLessThanOrEqual(10_000);
    h.trim(T0 + 5_000);
    expect(h.size).toBe(0);
    expect(h.byteSize).toBe(0);
    expect(ids(h.recover('c1', { [SYNC_KEY]: String(T0 + 50) }))).toBe('gap');
    expect(ids(h.recover('c1', { [SYNC_KEY]: String(T0 + 5_000) }))).toEqual([]);
  });

  it('gives the latest position per origin with the sync key', () => {
    const h = new History(opts, T0);
    const a1 = msg('c', 'a', T0);
    const b1 = msg('c', 'b', T0);
    const a2 = msg('c', 'a', T0);
    for (const m of [a1, b1, a2]) h.add(m, T0);
    expect(h.position('c', T0 + 9)).toEqual({ a: a2.id, b: b1.id, [SYNC_KEY]: String(T0 + 9) });
    expect(h.position('none', T0 + 9)).toEqual({ [SYNC_KEY]: String(T0 + 9) });
  });

  it('copies a payload that is a view into a larger buffer, so a retained entry does not pin it', () => {
    const h = new History(opts, T0);
    const fetchResponse = Buffer.alloc(1 << 20);
    const payload = fetchResponse.subarray(100, 110);
    h.add({ ...msg('c', 'a', T0 + 1), payload }, T0 + 1);
    h.add(msg('c', 'a', T0 + 2), T0 + 2);
    const r = h.recover('c', { [SYNC_KEY]: String(T0 + 1_000) });
    expect(r.recovered).toBe(true);
    const kept = r.recovered ? r.messages[0]!.payload : new Uint8Array(0);
    expect(kept.byteLength).toBe(10);
    expect(kept.buffer.byteLength).toBeLessThan(1024);
  });
});
