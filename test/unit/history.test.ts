import { describe, expect, it } from 'vitest';
import { COST, History } from '../../services/gateway/src/history.js';
import { encodeEnvelope } from '../../services/shared/src/envelope.js';
import { SYNC_KEY } from '../../services/shared/src/sync.js';
import type { BusMessage } from '../../services/gateway/src/bus/bus.js';

const T0 = 1_000_000;
const opts = { perChannel: 5, maxBytes: 1 << 20, maxAgeMs: 60_000 };
let n = 0;
const msg = (channel: string, origin: string, ts = T0): BusMessage => ({
  id: `${origin}-${++n}`,
  channel,
  origin,
  node: 'n',
  ts,
  contentType: 'application/json',
  payload: new TextEncoder().encode(String(n)),
});
const ids = (r: ReturnType<History['recover']>) =>
  r.recovered ? r.messages.map((m) => m.id) : `gap:${r.reason}:${r.origin}`;
/** A history that reads every origin from T0 on. */
const fresh = (o: Partial<typeof opts> = {}) => {
  const h = new History({ ...opts, ...o }, T0);
  h.reading(undefined, T0);
  return h;
};
const sync = (common: number, lagging: Record<string, number> = {}) => ({
  [SYNC_KEY]: String(common),
  ...Object.fromEntries(Object.entries(lagging).map(([o, s]) => [`${SYNC_KEY}${o}`, String(s)])),
});

describe('History#recover', () => {
  it('returns what came after the client position per origin, in arrival order', () => {
    const h = fresh();
    const a1 = msg('c', 'a');
    const b1 = msg('c', 'b');
    const a2 = msg('c', 'a');
    const b2 = msg('c', 'b');
    const a3 = msg('c', 'a');
    [a1, b1, a2, b2, a3].forEach((m, i) => h.add(m, T0 + 10 + i, T0 + 20));
    expect(ids(h.recover('c', { a: a1.id, b: b1.id, ...sync(T0 + 11) }))).toEqual([a2.id, b2.id, a3.id]);
    expect(ids(h.recover('c', { a: a3.id, b: b2.id, ...sync(T0 + 11) }))).toEqual([]);
  });

  it('for an origin whose last id it does not hold, sends everything stamped after the sync point', () => {
    const h = fresh();
    const b1 = msg('c', 'b');
    const b2 = msg('c', 'b');
    h.add(b1, T0 + 100);
    h.add(b2, T0 + 4_500);
    expect(ids(h.recover('c', sync(T0 + 100)))).toEqual([b2.id]);
    expect(ids(h.recover('c', sync(T0 + 99)))).toEqual([b1.id, b2.id]);
    // The client's id is unknown here (another gateway has not read it yet): the sync point decides.
    expect(ids(h.recover('c', { b: 'b-not-here', ...sync(T0 + 100) }))).toEqual([b2.id]);
  });

  it('a message that reached this gateway late, stamped long before the client moved, is still owed (replication lag)', () => {
    // The client synced elsewhere when origin b's progress stood at T0+1000; b's message stamped
    // T0+1500 had not replicated there. Whatever the wall clock says, it is after the sync point.
    const h = fresh();
    const late = msg('c', 'b');
    h.add(late, T0 + 1_500, T0 + 60_000);
    expect(ids(h.recover('c', sync(T0 + 50_000, { b: T0 + 1_000 })))).toEqual([late.id]);
    // Under one common point that far ahead, the client would claim to hold it.
    expect(ids(h.recover('c', sync(T0 + 50_000)))).toEqual([]);
  });

  it('reads raw envelopes kept undecoded, drops a duplicated id and a malformed record', () => {
    const h = fresh();
    const a1 = msg('c', 'a');
    const a2 = msg('c', 'a');
    h.add(a1, T0 + 5);
    h.addRaw('c', 'a', encodeEnvelope(a2), T0 + 6);
    h.addRaw('c', 'a', encodeEnvelope(a2), T0 + 7);
    h.addRaw('c', 'a', new Uint8Array([0xff, 0xff]), T0 + 8);
    // A record whose envelope names another origin than the log it came from is not history either.
    h.addRaw('c', 'a', encodeEnvelope(msg('c', 'z')), T0 + 9);
    expect(ids(h.recover('c', { a: a1.id, ...sync(T0 + 5) }))).toEqual([a2.id]);
  });

  it('cannot vouch without a sync point, before an origin is read, or past what it evicted', () => {
    const h = new History(opts, T0);
    h.reading('a', T0 + 100);
    const a1 = msg('c', 'a');
    h.add(a1, T0 + 150);
    expect(ids(h.recover('c', { a: 'a-elsewhere' }))).toBe('gap:no_sync_point:a');
    expect(ids(h.recover('c', sync(T0 + 50)))).toBe('gap:not_read_yet:a');
    expect(ids(h.recover('c', sync(T0 + 99)))).toEqual([a1.id]);
    // Origin b is read back, but not done yet: nothing is vouched for until it is.
    h.add(msg('c', 'b'), T0 + 160);
    expect(ids(h.recover('c', sync(T0 + 120)))).toBe('gap:not_read_yet:b');
    h.reading('b', T0 + 100);
    // The per-channel cap (5) evicts the oldest entries: a1, then b's. Each origin's floor rises
    // to the stamp of what it lost.
    for (let i = 0; i < 5; i++) h.add(msg('c', 'a'), T0 + 200 + i);
    expect(ids(h.recover('c', sync(T0 + 149, { b: T0 + 160 })))).toBe('gap:evicted:a');
    expect(ids(h.recover('c', sync(T0 + 150, { b: T0 + 159 })))).toBe('gap:evicted:b');
    expect(ids(h.recover('c', sync(T0 + 160))).length).toBe(5);
    // The client's own id, when held, is exact whatever its sync point; b still needs one.
    const a2 = h.position('c').a!;
    expect(ids(h.recover('c', { a: a2, ...sync(T0 + 160) }))).toEqual([]);
    expect(ids(h.recover('c', { a: a2 }))).toBe('gap:no_sync_point:b');
  });

  it("keeps one origin's floor when another origin is evicted", () => {
    const h = fresh({ perChannel: 1_000, maxBytes: 1 << 20, maxAgeMs: 1_000 });
    h.add(msg('c', 'a'), T0 + 10, T0 + 10);
    const b = msg('c', 'b');
    h.add(b, T0 + 20, T0 + 900);
    h.trim(T0 + 1_500); // a's entry ages out, b's stays
    expect(ids(h.recover('c', sync(T0 + 5)))).toBe('gap:evicted:a');
    expect(ids(h.recover('c', sync(T0 + 15, { b: T0 + 5 })))).toEqual([b.id]);
  });

  it('evicts by age and by total bytes, counting what entries and channels cost', () => {
    const h = fresh({ perChannel: 1_000, maxBytes: 10_000, maxAgeMs: 1_000 });
    for (let i = 0; i < 100; i++) h.add(msg(`c${i % 10}`, 'a'), T0 + i, T0 + i);
    expect(h.byteSize).toBeLessThanOrEqual(10_000);
    expect(h.byteSize).toBeGreaterThan(10_000 - COST.decoded - 100);
    h.trim(T0 + 5_000);
    expect(h.size).toBe(0);
    expect(h.byteSize).toBe(0);
    expect(ids(h.recover('c1', sync(T0 + 50)))).toBe('gap:evicted:a');
    expect(ids(h.recover('c1', sync(T0 + 100)))).toEqual([]);
  });

  it('gives the newest id per origin', () => {
    const h = fresh();
    const a1 = msg('c', 'a');
    const b1 = msg('c', 'b');
    const a2 = msg('c', 'a');
    for (const m of [a1, b1, a2]) h.add(m, T0);
    expect(h.position('c')).toEqual({ a: a2.id, b: b1.id });
    expect(h.position('none')).toEqual({});
  });

  it('copies a payload that is a view into a larger buffer, so a retained entry does not pin it', () => {
    const h = fresh();
    const fetchResponse = Buffer.alloc(1 << 20);
    h.add({ ...msg('c', 'a'), payload: fetchResponse.subarray(100, 110) }, T0 + 1);
    h.addRaw('c', 'a', fetchResponse.subarray(0, 0 + encodeEnvelope(msg('c', 'a')).length), T0 + 2);
    const r = h.recover('c', sync(T0));
    expect(r.recovered).toBe(true);
    const kept = r.recovered ? r.messages[0]!.payload : new Uint8Array(0);
    expect(kept.byteLength).toBe(10);
    expect(kept.buffer.byteLength).toBeLessThan(1 << 16);
  });
});
