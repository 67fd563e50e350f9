/**
 * The Redis bus against a real redis-server (region a's of the test setup): the shared Bus
 * contract, then what only Redis has: entries written by others, skip accounting, the read-back,
 * progress from the server's clock, other regions read directly, and bad connection settings.
 */
import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { createClient } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisBus, type RedisBusOptions } from '../../services/gateway/src/bus/bus-redis.js';
import { encodeEnvelope, protoTypes } from '../../services/shared/src/envelope.js';
import { redis, uniqueStreamPrefix } from '../setup/redis.js';
import { describeBus, eventually, message, Recorder } from './bus-conformance.js';

function redisBus(o: Partial<RedisBusOptions> & Pick<RedisBusOptions, 'nodeId' | 'streamPrefix'>): RedisBus {
  return new RedisBus({ url: redis().a, region: 'r1', ...o });
}

describeBus('RedisBus', async () => {
  const streamPrefix = uniqueStreamPrefix();
  return { create: (nodeId) => redisBus({ nodeId, streamPrefix }), dispose: async () => {} };
});

/** A plain client of a test server, for writing entries the way a foreign backend would. */
async function rawClient(url: string) {
  const c = createClient({ url, RESP: 2 });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

const counter = async (reg: Registry, name: string, labels: Record<string, string> = {}): Promise<number> => {
  const m = (await reg.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return Number(v?.value ?? 0);
};

describe('RedisBus on the wire', () => {
  const open: RedisBus[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((b) => b.close()));
  });
  const track = (b: RedisBus): RedisBus => {
    open.push(b);
    return b;
  };

  it('counts and skips entries that are not valid envelopes without stopping delivery', async () => {
    const streamPrefix = uniqueStreamPrefix();
    const registry = new Registry();
    const bus = track(redisBus({ nodeId: 'n1', streamPrefix, registry }));
    const rec = new Recorder();
    await bus.start(rec);
    const raw = await rawClient(redis().a);
    const future = protoTypes.Envelope.encode({
      version: 2,
      id: 'v2',
      channel: 'bad:1',
      origin: 'r1',
      node: 'x',
      ts: Date.now(),
      contentType: 'application/json',
      payload: new Uint8Array(),
    }).finish();
    const good = message('bad:1', 'backend', 'still delivered');
    const add = (fields: Record<string, string | Buffer>) => raw.xAdd(bus.stream, '*', fields);
    await add({ ch: 'bad:1', env: randomBytes(64) });
    await add({ ch: 'bad:1', env: Buffer.from(future) });
    await add({ env: Buffer.from('no channel') });
    await add({ ch: 'bad:1' });
    await add({ ch: 'bad:2', env: Buffer.from(encodeEnvelope(message('bad:1', 'x', 'channel differs'))) });
    await add({ ch: 'bad:1', env: Buffer.from(encodeEnvelope(message('bad:1', 'x', 'other origin', 'r9'))) });
    await add({ ch: 'bad:1', env: Buffer.from(encodeEnvelope(good)) });
    await raw.close();

    await eventually(() => rec.got.length === 1, 10_000, 'the good entry');
    expect(rec.ids()).toEqual([good.id]);
    // One undecodable envelope, one missing: both `malformed`.
    expect(await counter(registry, 'wsgw_bus_malformed_total', { reason: 'malformed' })).toBe(2);
    expect(await counter(registry, 'wsgw_bus_malformed_total', { reason: 'unknown_version' })).toBe(1);
    expect(await counter(registry, 'wsgw_bus_malformed_total', { reason: 'no_key' })).toBe(1);
    expect(await counter(registry, 'wsgw_bus_malformed_total', { reason: 'key_mismatch' })).toBe(1);
    expect(await counter(registry, 'wsgw_bus_malformed_total', { reason: 'origin_mismatch' })).toBe(1);
    expect(bus.health()).toEqual({ ok: true });
    await bus.probe(5_000);
  });

  it('skips unwanted entries before decoding them and counts them', async () => {
    const streamPrefix = uniqueStreamPrefix();
    const registry = new Registry();
    const bus = track(redisBus({ nodeId: 'n1', streamPrefix, registry }));
    const rec = new Recorder((ch) => ch === 'keep');
    await bus.start(rec);
    const raw = await rawClient(redis().a);
    // Undecodable envelopes on an unwanted channel: skipped by channel, never counted as malformed.
    for (let i = 0; i < 50; i++) await raw.xAdd(bus.stream, '*', { ch: 'other', env: randomBytes(32) });
    await raw.close();
    const keep = message('keep', 'n1', 'kept');
    const receipt = await bus.publish(keep);
    expect(receipt.offset).toMatch(/^\d+-\d+$/);
    await eventually(() => rec.got.length === 1, 10_000, 'the wanted entry');
    await eventually(
      () => rec.asked.filter((c) => c === 'other').length === 50,
      5_000,
      'wants(other) 50 times',
    );
    expect(await counter(registry, 'wsgw_bus_skipped_unwanted_total')).toBe(50);
    expect(
      rec.passed.filter(
        (p) => p.channel === 'other' && p.msg instanceof Uint8Array && p.msg.byteLength === 32,
      ),
    ).toHaveLength(50);
    expect(await counter(registry, 'wsgw_bus_malformed_total')).toBe(0);
    expect(await counter(registry, 'wsgw_bus_delivered_total', { origin: 'r1' })).toBe(1);
    expect(await counter(registry, 'wsgw_bus_produced_total', { topic: bus.stream })).toBe(1);
    expect(await registry.metrics()).toMatch(/wsgw_bus_up 1/);
  });

  it('refuses a message that is too large for good, and keeps publishing the others', async () => {
    const streamPrefix = uniqueStreamPrefix();
    const bus = track(redisBus({ nodeId: 'n1', streamPrefix, maxMessageBytes: 10_000 }));
    const rec = new Recorder();
    await bus.start(rec);
    const before = message('big:1', 'n1', 'before');
    const after = message('big:1', 'n1', 'after');
    const results = await Promise.allSettled([
      bus.publish(before),
      bus.publish({ ...message('big:1', 'n1', 'x'), payload: new Uint8Array(20_000) }),
      bus.publish(after),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'bus_rejected' });
    await eventually(() => rec.got.length === 2, 10_000, 'the two small messages');
    expect(rec.ids()).toEqual([before.id, after.id]);
  });

  it('refuses for good what Redis refuses for good (a key of another type), and says the stream is unreadable', async () => {
    const streamPrefix = uniqueStreamPrefix();
    const bus = track(redisBus({ nodeId: 'n1', streamPrefix, connectTimeoutMs: 1_000 }));
    const raw = await rawClient(redis().a);
    await raw.set(`${streamPrefix}r1`, 'not a stream');
    await raw.close();
    await bus.start(new Recorder());
    await expect(bus.publish(message('x:1', 'n1', 'into a string'))).rejects.toMatchObject({
      code: 'bus_rejected',
      message: expect.stringMatching(/WRONGTYPE/),
    });
    await eventually(() => bus.health().reason === 'redis_error', 5_000, 'the reader to report the error');
  });

  it('rejects a message of another origin', async () => {
    const bus = track(redisBus({ nodeId: 'n1', streamPrefix: uniqueStreamPrefix() }));
    await bus.start(new Recorder());
    await expect(bus.publish(message('x:1', 'n1', 'from elsewhere', 'r2'))).rejects.toMatchObject({
      code: 'bus_rejected',
    });
  });

  it('reads back the history window at start, into history only, and says from when', async () => {
    const streamPrefix = uniqueStreamPrefix();
    const writer = track(redisBus({ nodeId: 'w', streamPrefix }));
    await writer.start(new Recorder());
    const old = [message('h:1', 'w', 'one'), message('h:2', 'w', 'two')];
    for (const m of old) await writer.publish(m);
    await new Promise((r) => setTimeout(r, 1_200)); // older than the start slack
    const reading: [string | undefined, number][] = [];
    const rec = new (class extends Recorder {
      reading(origin: string | undefined, since: number): void {
        reading.push([origin, since]);
      }
    })();
    const t0 = Date.now();
    const late = track(redisBus({ nodeId: 'late', streamPrefix, readBackMs: 60_000 }));
    await late.start(rec);
    const since = await late.historyWarm;
    expect(since).toBeLessThanOrEqual(t0 - 60_000);
    expect(since).toBeGreaterThan(t0 - 62_000);
    expect(reading).toEqual([['r1', since]]);
    // Handed to history (skipped), never delivered, although wanted.
    expect(rec.passed.map((p) => (p.msg instanceof Uint8Array ? 'bytes' : p.msg.id))).toEqual(
      old.map((m) => m.id),
    );
    expect(rec.got).toEqual([]);
    const now = message('h:1', 'w', 'live');
    await writer.publish(now);
    await eventually(() => rec.got.length === 1, 10_000, 'the live message');
    expect(rec.ids()).toEqual([now.id]);
  });

  it('says its history is complete only from after what the stream no longer holds', async () => {
    const streamPrefix = uniqueStreamPrefix();
    const writer = track(redisBus({ nodeId: 'w', streamPrefix }));
    await writer.start(new Recorder());
    const gone = message('t:1', 'w', 'trimmed');
    const kept = message('t:1', 'w', 'kept');
    const goneAt = (await writer.publish(gone)).offset!;
    await new Promise((r) => setTimeout(r, 20));
    const keptAt = (await writer.publish(kept)).offset!;
    // Trim exactly up to the second entry (appends trim approximately, whole nodes at a time).
    const raw = await rawClient(redis().a);
    expect(await raw.xTrim(writer.stream, 'MINID', keptAt)).toBe(1);
    await raw.close();
    await new Promise((r) => setTimeout(r, 1_100)); // both older than the start slack
    const rec = new Recorder();
    const late = track(redisBus({ nodeId: 'late', streamPrefix, readBackMs: 60_000 }));
    await late.start(rec);
    const since = await late.historyWarm;
    // Complete from after the first entry left's millisecond (removed ones may share it).
    expect(since).toBe(Number(keptAt.split('-')[0]) + 1);
    expect(since).toBeGreaterThan(Number(goneAt.split('-')[0]));
    expect(rec.passed.map((p) => (p.msg instanceof Uint8Array ? 'bytes' : p.msg.id))).toEqual([kept.id]);
  });

  it('advances progress on an idle stream from the server clock, and past every delivered stamp', async () => {
    const streamPrefix = uniqueStreamPrefix();
    const progress: number[] = [];
    const stamps: number[] = [];
    const rec = new (class extends Recorder {
      override deliver(msg: Parameters<Recorder['deliver']>[0], stamp?: number): void {
        super.deliver(msg);
        stamps.push(stamp!);
      }
      progress(origin: string, s: number): void {
        expect(origin).toBe('r1');
        progress.push(s);
      }
    })();
    const bus = track(redisBus({ nodeId: 'n1', streamPrefix, blockMs: 100 }));
    await bus.start(rec);
    const t0 = Date.now();
    await eventually(() => (progress.at(-1) ?? 0) > t0, 5_000, 'progress past the start on an idle stream');
    const m = message('p:1', 'n1', 'stamped');
    const sentAt = Date.now();
    await bus.publish(m);
    await eventually(() => rec.got.length === 1, 5_000, 'the message');
    // The stamp is the server's append time: within this host's clock around the publish.
    expect(stamps[0]).toBeGreaterThanOrEqual(sentAt - 5);
    expect(stamps[0]).toBeLessThanOrEqual(Date.now() + 5);
    await eventually(() => (progress.at(-1) ?? 0) >= stamps[0]!, 5_000, 'progress past the stamp');
    // Never decreasing.
    expect(progress).toEqual([...progress].sort((x, y) => x - y));
  });

  it('reads another region directly from its Redis, and is not unready while that Redis is away', async () => {
    const streamPrefix = uniqueStreamPrefix();
    const registry = new Registry();
    const a = track(
      new RedisBus({
        url: redis().a,
        region: 'ra',
        nodeId: 'a1',
        streamPrefix,
        remotes: [{ region: 'rb', url: redis().b }],
        registry,
      }),
    );
    const b = track(
      new RedisBus({
        url: redis().b,
        region: 'rb',
        nodeId: 'b1',
        streamPrefix,
        remotes: [{ region: 'ra', url: redis().a }],
      }),
    );
    const ra = new Recorder();
    const rb = new Recorder();
    await Promise.all([a.start(ra), b.start(rb)]);
    const fromB = message('x:1', 'b1', 'from b', 'rb');
    const fromA = message('x:1', 'a1', 'from a', 'ra');
    await Promise.all([b.publish(fromB), a.publish(fromA)]);
    await eventually(
      () => ra.got.length === 2 && rb.got.length === 2,
      10_000,
      'both messages in both regions',
    );
    expect(ra.ids().sort()).toEqual([fromA.id, fromB.id].sort());
    expect(await counter(registry, 'wsgw_bus_remote_up', { region: 'rb' })).toBe(1);

    // A remote Redis that is not there: this bus is still ready.
    const c = track(
      new RedisBus({
        url: redis().a,
        region: 'rc',
        nodeId: 'c1',
        streamPrefix,
        remotes: [{ region: 'rd', url: 'redis://127.0.0.1:1' }],
        connectTimeoutMs: 500,
      }),
    );
    await c.start(new Recorder());
    expect(c.health()).toEqual({ ok: true });
    await c.probe(5_000);
  });
});

describe('RedisBus with bad connection settings', () => {
  const open: RedisBus[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((b) => b.close()));
  });

  /** Starts a bus that cannot connect; its start stays pending, its health names why. */
  async function unready(url: string): Promise<{ bus: RedisBus; reason: string | undefined; err: unknown }> {
    const bus = new RedisBus({
      url,
      region: 'r1',
      nodeId: 'n1',
      streamPrefix: uniqueStreamPrefix(),
      connectTimeoutMs: 1_000,
      bufferTimeoutMs: 500,
    });
    open.push(bus);
    let settled = false;
    void bus.start(new Recorder()).then(
      () => (settled = true),
      () => (settled = true),
    );
    await eventually(
      () => !['connecting', 'not_started'].includes(bus.health().reason ?? ''),
      5_000,
      'a reason',
    );
    expect(settled).toBe(false);
    expect(bus.health().ok).toBe(false);
    const err = await bus.publish(message('x:1', 'n1', 'nowhere')).catch((e: unknown) => e);
    return { bus, reason: bus.health().reason, err };
  }

  it('names a wrong password, a missing password, nobody listening, and TLS to a plain server', async () => {
    const good = new URL(redis().a);
    const wrong = new URL(good);
    wrong.password = 'not-the-password';
    const none = new URL(good);
    none.password = '';
    const tls = new URL(good);
    tls.protocol = 'rediss:';
    const results = await Promise.all([
      unready(wrong.toString()),
      unready(none.toString()),
      unready('redis://127.0.0.1:1'),
      unready(tls.toString()),
    ]);
    expect(results.map((r) => r.reason)).toEqual([
      'redis_auth_failed',
      'redis_auth_failed',
      'redis_unreachable',
      'redis_tls_failed',
    ]);
    // Nothing was sent: the publishes say so.
    for (const r of results) expect(r.err).toMatchObject({ code: 'bus_unavailable' });
    // Closing a bus that never connected ends its start with bus_closed.
    const { bus } = results[0]!;
    const start = bus.start(new Recorder());
    await bus.close();
    await expect(start).rejects.toMatchObject({ code: 'bus_closed' });
  });

  it('refuses a URL that is not a Redis URL, naming the option', () => {
    expect(() => new RedisBus({ url: 'http://x:1', region: 'r1', nodeId: 'n1' })).toThrow(/^url: /);
    expect(
      () =>
        new RedisBus({
          url: redis().a,
          region: 'r1',
          nodeId: 'n1',
          remotes: [{ region: 'r1', url: redis().b }],
        }),
    ).toThrow(/remotes/);
  });
});
