/**
 * Two regions through real Kafka: gateway buses on clusters a and b, MirrorMaker 2 replicating
 * `wsgw.fanout.*` both ways (the vitest global setup). A message published in one region reaches
 * both regions exactly once — not deduplicated into once: nothing arrives twice at all — and
 * nothing loops back.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusMessage } from '../../services/gateway/src/bus/bus.js';
import { KafkaBus } from '../../services/gateway/src/bus/bus-kafka.js';
import { eventually, message, Recorder, text } from '../bus/bus-conformance.js';
import { kafka } from '../setup/kafka.js';

describe('cross-region delivery through MirrorMaker 2', () => {
  const regions = ['a', 'b'] as const;
  const buses = new Map<string, KafkaBus>();
  const recorders = new Map<string, Recorder>();
  const registries = new Map<string, Registry>();

  beforeAll(async () => {
    const k = await kafka();
    for (const region of regions) {
      const registry = new Registry();
      const rec = new Recorder((ch) => ch.startsWith('xr:'));
      const bus = new KafkaBus({
        brokers: k[region],
        region,
        nodeId: `gw-${region}`,
        registry,
        topicRefreshMs: 1_000,
      });
      buses.set(region, bus);
      recorders.set(region, rec);
      registries.set(region, registry);
      await bus.start(rec);
    }
  });
  afterAll(async () => {
    await Promise.all([...buses.values()].map((b) => b.close()));
  });

  const fromOrigin = (region: string, origin: string): BusMessage[] =>
    recorders.get(region)!.got.filter((m) => m.origin === origin);
  const duplicates = async (region: string): Promise<number> => {
    const m = (await registries.get(region)!.getMetricsAsJSON()).find(
      (x) => x.name === 'wsgw_bus_duplicates_total',
    );
    return Number(m?.values[0]?.value ?? 0);
  };

  it('consumes the local origin topic and the replicated copy', () => {
    expect(buses.get('a')!.consumes('wsgw.fanout.a')).toBe(true);
    expect(buses.get('a')!.consumes('b.wsgw.fanout.b')).toBe(true);
    expect(buses.get('a')!.consumes('mm2-offset-syncs.b.internal')).toBe(false);
  });

  it('delivers each region’s messages to both regions exactly once, in order, without loops', async () => {
    const n = 20;
    const sent = new Map<string, BusMessage[]>();
    for (const origin of regions) {
      const bus = buses.get(origin)!;
      const msgs = Array.from({ length: n }, (_, i) =>
        message(`xr:${origin}`, `gw-${origin}`, String(i), origin),
      );
      sent.set(origin, msgs);
      for (const m of msgs) await bus.publish(m);
    }
    for (const region of regions) {
      for (const origin of regions) {
        await eventually(
          () => fromOrigin(region, origin).length >= n,
          60_000,
          `${n} messages from ${origin} in ${region}`,
        );
      }
    }
    // Long enough for a looped or doubly replicated copy to show up.
    await new Promise((r) => setTimeout(r, 3_000));
    for (const region of regions) {
      for (const origin of regions) {
        const got = fromOrigin(region, origin);
        expect(got.map((m) => m.id)).toEqual(sent.get(origin)!.map((m) => m.id));
        expect(got.map(text)).toEqual(Array.from({ length: n }, (_, i) => String(i)));
      }
      expect(await duplicates(region)).toBe(0);
    }
    const delay = await registries.get('b')!.metrics();
    expect(delay).toMatch(/wsgw_bus_replication_delay_seconds_count\{origin="a"\} 20/);
  });
});
