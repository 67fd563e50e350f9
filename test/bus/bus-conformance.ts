/**
 * The Bus contract (services/gateway/src/bus/bus.ts) as one suite, run against every
 * implementation: the memory bus (the reference) and the Kafka bus.
 *
 *   describeBus('MemoryBus', async () => ({ create: () => new MemoryBus(network), dispose: async () => {} }));
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Bus, BusHandler, BusMessage } from '../../services/gateway/src/bus/bus.js';
import { BusError } from '../../services/gateway/src/bus/bus.js';
import { decodeEnvelope } from '../../services/shared/src/envelope.js';

/** A set of bus instances that see each other's messages (one network, one cluster). */
export interface BusHarness {
  /** A new, not yet started instance; `node` names it in envelopes. */
  create(node: string): Bus;
  /** Releases whatever the harness holds (instances are closed by the suite). */
  dispose(): Promise<void>;
}

/** Records what a bus delivers. */
export class Recorder implements BusHandler {
  readonly got: BusMessage[] = [];
  readonly asked: string[] = [];
  /** What the bus handed to `skipped`, decoded here when it came as (decodable) bytes. */
  readonly passed: { channel: string; msg: BusMessage | Uint8Array }[] = [];
  constructor(private readonly accept: (channel: string) => boolean = () => true) {}
  wants(channel: string): boolean {
    this.asked.push(channel);
    return this.accept(channel);
  }
  deliver(msg: BusMessage): void {
    this.got.push(msg);
  }
  skipped(channel: string, value: Uint8Array | BusMessage): void {
    let msg: BusMessage | Uint8Array = value;
    try {
      if (value instanceof Uint8Array) msg = decodeEnvelope(value);
    } catch {
      // not an envelope: kept as bytes
    }
    this.passed.push({ channel, msg });
  }
  ids(): string[] {
    return this.got.map((m) => m.id);
  }
}

export function message(channel: string, node: string, text: string, origin = 'r1'): BusMessage {
  return {
    id: randomUUID(),
    channel,
    origin,
    node,
    ts: Date.now(),
    contentType: 'application/json',
    payload: new TextEncoder().encode(JSON.stringify(text)),
  };
}

export const text = (m: BusMessage): string => JSON.parse(new TextDecoder().decode(m.payload)) as string;

export async function eventually(
  cond: () => boolean,
  timeoutMs = 15_000,
  what: string | (() => string) = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline)
      throw new Error(`${typeof what === 'string' ? what : what()} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Time allowed for a message to travel, and for "nothing more arrives" checks. */
export interface ConformanceTiming {
  readonly deliverMs: number;
  readonly quietMs: number;
}

export function describeBus(
  name: string,
  factory: () => Promise<BusHarness>,
  timing: ConformanceTiming = { deliverMs: 15_000, quietMs: 300 },
): void {
  describe(`Bus contract: ${name}`, () => {
    let harness: BusHarness;
    const buses: Bus[] = [];
    const make = (node: string): Bus => {
      const b = harness.create(node);
      buses.push(b);
      return b;
    };
    const quiet = (): Promise<void> => new Promise((r) => setTimeout(r, timing.quietMs));

    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await Promise.all(buses.splice(0).map((b) => b.close()));
      await harness.dispose();
    });

    it('broadcasts every message to every instance, its sender included', async () => {
      const nodes = ['n1', 'n2', 'n3'];
      const recorders = nodes.map(() => new Recorder());
      const instances = nodes.map(make);
      await Promise.all(instances.map((b, i) => b.start(recorders[i]!)));
      for (const b of instances) expect(b.health()).toEqual({ ok: true });

      const sent = instances.map((b, i) => message(`room:${i}`, nodes[i]!, `hello from ${nodes[i]}`));
      const receipts = await Promise.all(instances.map((b, i) => b.publish(sent[i]!)));
      expect(receipts).toHaveLength(3);

      for (const r of recorders)
        await eventually(() => r.got.length >= 3, timing.deliverMs, 'all three messages');
      await quiet();
      for (const r of recorders) {
        expect(r.ids().sort()).toEqual(sent.map((m) => m.id).sort());
        const first = r.got.find((m) => m.id === sent[0]!.id)!;
        expect(first).toMatchObject({
          channel: 'room:0',
          origin: 'r1',
          node: 'n1',
          contentType: 'application/json',
        });
        expect(text(first)).toBe('hello from n1');
      }
    });

    it('keeps order per channel per origin under concurrent publishers', async () => {
      const rec = new Recorder();
      const reader = make('reader');
      const writers = [make('w1'), make('w2')];
      await Promise.all([reader.start(rec), ...writers.map((w) => w.start(new Recorder()))]);
      const channels = ['order:a', 'order:b', 'order:c', 'order:d'];
      const perWriter = 200;
      // Both writers publish at once, without awaiting one publish before the next.
      await Promise.all(
        writers.map((w, wi) =>
          Promise.all(
            Array.from({ length: perWriter }, (_, n) =>
              w.publish(message(channels[n % channels.length]!, `w${wi + 1}`, String(n))),
            ),
          ),
        ),
      );
      await eventually(() => rec.got.length >= 2 * perWriter, timing.deliverMs, 'all ordered messages');
      const seqs = new Map<string, number[]>();
      for (const m of rec.got) {
        const k = `${m.node}/${m.channel}`;
        seqs.set(k, [...(seqs.get(k) ?? []), Number(text(m))]);
      }
      expect(seqs.size).toBe(2 * channels.length);
      for (const [, seq] of seqs) {
        expect(seq).toHaveLength(perWriter / channels.length);
        expect(seq).toEqual([...seq].sort((x, y) => x - y));
      }
    });

    it('asks wants() with the channel and skips channels nobody wants', async () => {
      const rec = new Recorder((ch) => ch === 'wanted:1');
      const bus = make('n1');
      await bus.start(rec);
      const skipped = message('unwanted:1', 'n1', 'no');
      const kept = message('wanted:1', 'n1', 'yes');
      await bus.publish(skipped);
      await bus.publish(kept);
      await eventually(() => rec.got.length >= 1, timing.deliverMs, 'the wanted message');
      await eventually(() => rec.asked.includes('unwanted:1'), timing.deliverMs, 'wants(unwanted:1)');
      await quiet();
      expect(rec.ids()).toEqual([kept.id]);
      // The optional `skipped` hook sees the declined message (for history), never the wanted one.
      expect(rec.passed.map((p) => [p.channel, p.msg instanceof Uint8Array ? 'bytes' : p.msg.id])).toEqual([
        ['unwanted:1', skipped.id],
      ]);
    });

    it('delivers a message id once even when it is published twice', async () => {
      const rec = new Recorder();
      const bus = make('n1');
      await bus.start(rec);
      const m = message('dup:1', 'n1', 'once');
      await bus.publish(m);
      await bus.publish(m);
      const after = message('dup:1', 'n1', 'after');
      await bus.publish(after);
      await eventually(
        () => rec.ids().includes(after.id),
        timing.deliverMs,
        'the message after the duplicate',
      );
      await quiet();
      expect(rec.ids()).toEqual([m.id, after.id]);
    });

    it('round-trips a probe once started, and only then', async () => {
      const bus = make('n1');
      await expect(bus.probe(1_000)).rejects.toBeInstanceOf(BusError);
      const rec = new Recorder();
      await bus.start(rec);
      await bus.probe(timing.deliverMs);
      await bus.probe(timing.deliverMs);
      await quiet();
      // Probes never reach the handler, not even through wants().
      expect(rec.got).toEqual([]);
      expect(rec.asked).toEqual([]);
    });

    it('closes idempotently and refuses work afterwards', async () => {
      const bus = make('n1');
      await bus.start(new Recorder());
      await bus.close();
      await bus.close();
      expect(bus.health().ok).toBe(false);
      const err = await bus.publish(message('closed:1', 'n1', 'late')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BusError);
      expect((err as BusError).code).toBe('bus_closed');
      await expect(bus.start(new Recorder())).rejects.toMatchObject({ code: 'bus_closed' });
    });
  });
}
