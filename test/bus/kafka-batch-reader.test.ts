/**
 * What the Kafka bus makes of a fetched batch, without a broker: batches are built here the way
 * kafkajs hands them over. The same paths against real records are covered by
 * test/bus/bus-kafka.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { BusHandler, BusMessage } from '../../services/gateway/src/bus/bus.js';
import {
  BatchReader,
  type FetchedBatch,
  type FetchedRecord,
} from '../../services/gateway/src/bus/kafka-batch-reader.js';
import { noLog } from '../../services/gateway/src/bus/kafka-bus-options.js';
import { KafkaBusMetrics } from '../../services/gateway/src/bus/kafka-metrics.js';
import {
  OriginProgress,
  TICK_KEY,
  TICK_UNVERIFIED,
  TICK_VERIFIED,
  TickSchedule,
} from '../../services/gateway/src/bus/kafka-progress.js';
import { encodeEnvelope, protoTypes } from '../../services/shared/src/envelope.js';
import { message } from './bus-conformance.js';

const OWN = 'wsgw.fanout.r1';

/** A reader of region r1's gateway, with what it reports. */
function reader(): {
  reader: BatchReader;
  metrics: KafkaBusMetrics;
  ticks: TickSchedule;
  progress: OriginProgress;
  events: string[];
  probes: string[];
} {
  const metrics = new KafkaBusMetrics();
  const events: string[] = [];
  const probes: string[] = [];
  const progress = new OriginProgress(
    (origin, stamp) => events.push(`progress ${origin} ${stamp}`),
    () => {},
  );
  const ticks = new TickSchedule(1_000, () => 0);
  const r = new BatchReader({
    ownTopic: OWN,
    originOf: (topic) => /^(?:.+\.)?wsgw\.fanout\.([A-Za-z0-9_-]+)$/.exec(topic)?.[1],
    dedupWindow: 100,
    ticks,
    progress,
    onProbe: (key) => probes.push(key),
    metrics,
    log: noLog,
  });
  return { reader: r, metrics, ticks, progress, events, probes };
}

/** Records as kafkajs hands them over: offsets from 0, stamped `stamp` unless they say otherwise. */
function batchOf(
  topic: string,
  records: { key: string | null; value: Uint8Array | null; stamp?: number }[],
  partition = 0,
): FetchedBatch {
  const messages: FetchedRecord[] = records.map((r, i) => ({
    key: r.key === null ? null : Buffer.from(r.key),
    value: r.value === null ? null : Buffer.from(r.value),
    timestamp: String(r.stamp ?? 1_000 + i),
    offset: String(i),
  }));
  return { topic, partition, messages, offsetLag: () => '0' };
}

const record = (m: BusMessage, stamp?: number) => ({
  key: m.channel,
  value: encodeEnvelope(m),
  ...(stamp === undefined ? {} : { stamp }),
});

/** A handler that keeps what it is asked and handed, and logs each delivery in `events`. */
class Handler implements BusHandler {
  readonly asked: string[] = [];
  readonly got: BusMessage[] = [];
  readonly stamps: number[] = [];
  /** The channels of the records handed to `skipped` (history). */
  readonly history: string[] = [];
  constructor(
    private readonly events: string[] = [],
    private readonly accept: (channel: string) => boolean = () => true,
  ) {}
  wants(channel: string): boolean {
    this.asked.push(channel);
    return this.accept(channel);
  }
  deliver(msg: BusMessage, stamp: number): void {
    this.got.push(msg);
    this.stamps.push(stamp);
    this.events.push(`deliver ${msg.id}`);
  }
  skipped(channel: string): void {
    this.history.push(channel);
  }
  ids(): string[] {
    return this.got.map((m) => m.id);
  }
}

async function count(
  metrics: KafkaBusMetrics,
  name: 'malformed' | 'errors' | 'duplicates' | 'skippedUnwanted' | 'consumed' | 'delivered',
  labels: Record<string, string> = {},
): Promise<number> {
  const values = (await metrics[name].get()).values;
  return (
    values.find((v) =>
      Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l),
    )?.value ?? 0
  );
}

describe('BatchReader', () => {
  it('delivers a wanted record decoded, with its stamp, and a message id only once', async () => {
    const { reader: r, metrics } = reader();
    const rec = new Handler();
    const m = message('ch', 'n1', 'hello');
    r.read(batchOf(OWN, [record(m, 5_000), record(m, 5_001)]), undefined, rec);
    expect(rec.ids()).toEqual([m.id]);
    expect(rec.stamps).toEqual([5_000]);
    expect(await count(metrics, 'duplicates')).toBe(1);
    expect(await count(metrics, 'delivered', { origin: 'r1' })).toBe(1);
    expect(await count(metrics, 'consumed', { topic: OWN })).toBe(2);
  });

  it('counts each kind of malformed record by reason, skips it, and delivers the rest of the batch', async () => {
    const { reader: r, metrics } = reader();
    const rec = new Handler();
    const good = message('ch', 'n1', 'still delivered');
    const future = protoTypes.Envelope.encode({ ...message('ch', 'n1', 'v2'), version: 2 }).finish();
    r.read(
      batchOf(OWN, [
        { key: null, value: encodeEnvelope(good) },
        { key: '', value: encodeEnvelope(good) },
        { key: 'ch', value: new Uint8Array([0xff, 0xff, 0xff]) },
        { key: 'ch', value: null },
        { key: 'ch', value: future },
        { key: 'other', value: encodeEnvelope(message('ch', 'n1', 'key and channel differ')) },
        record(message('ch', 'n1', 'from another region', 'r2')),
        record(good),
      ]),
      undefined,
      rec,
    );
    expect(rec.ids()).toEqual([good.id]);
    expect(await count(metrics, 'malformed', { reason: 'no_key' })).toBe(2);
    expect(await count(metrics, 'malformed', { reason: 'malformed' })).toBe(2);
    expect(await count(metrics, 'malformed', { reason: 'unknown_version' })).toBe(1);
    expect(await count(metrics, 'malformed', { reason: 'key_mismatch' })).toBe(1);
    // The topic says where a record comes from; an envelope that claims another origin is refused.
    expect(await count(metrics, 'malformed', { reason: 'origin_mismatch' })).toBe(1);
  });

  it('hands unwanted and read-back records to history undecoded, and never delivers them', async () => {
    const { reader: r, metrics } = reader();
    const rec = new Handler([], (ch) => ch === 'keep');
    const back = message('keep', 'n1', 'before the start');
    const live = message('keep', 'n1', 'live');
    const garbage = new Uint8Array([0xff, 0xff, 0xff]);
    // Offsets 0 and 1 lie before the live range, which starts at offset 2.
    r.read(
      batchOf(OWN, [
        record(back),
        { key: 'other', value: garbage },
        { key: 'other', value: garbage },
        record(live),
      ]),
      2n,
      rec,
    );
    expect(rec.ids()).toEqual([live.id]);
    expect(rec.history).toEqual(['keep', 'other', 'other']);
    // Skipped by key: an undecodable value on a channel nobody wants is not even looked at.
    expect(await count(metrics, 'malformed')).toBe(0);
    expect(await count(metrics, 'skippedUnwanted')).toBe(3);
    expect(rec.asked).toEqual(['other', 'keep']);
  });

  it('takes progress from verified ticks only, and only after the records of the batch are handed over', () => {
    const { reader: r, progress, events } = reader();
    progress.follow(OWN, 'r1', false, [0], 1_000);
    expect(events).toEqual(['progress r1 999']);
    const m = message('ch', 'n1', 'x');
    const rec = new Handler(events);
    r.read(
      batchOf(OWN, [
        { key: TICK_KEY, value: TICK_VERIFIED, stamp: 5_000 },
        { key: TICK_KEY, value: TICK_UNVERIFIED, stamp: 9_000 },
        record(m, 5_000),
      ]),
      undefined,
      rec,
    );
    expect(events).toEqual(['progress r1 999', `deliver ${m.id}`, 'progress r1 4999']);
    // Ticks are the bus's own: never asked about, never delivered.
    expect(rec.asked).toEqual(['ch']);
  });

  it('tells the tick schedule about ticks read from its own topic only', () => {
    const { reader: r, ticks } = reader();
    const rec = new Handler();
    const now = Date.now();
    r.read(batchOf('b.wsgw.fanout.r1', [{ key: TICK_KEY, value: TICK_VERIFIED }], 3), undefined, rec);
    expect(ticks.due([3], now)).toEqual([3]);
    r.read(batchOf(OWN, [{ key: TICK_KEY, value: TICK_VERIFIED }], 3), undefined, rec);
    expect(ticks.due([3], now)).toEqual([]);
  });

  it('passes other reserved keys to onProbe, never to the handler', () => {
    const { reader: r, probes } = reader();
    const rec = new Handler();
    r.read(batchOf(OWN, [{ key: '__wsgw.probe.n1.ab12.1', value: new Uint8Array() }]), undefined, rec);
    expect(probes).toEqual(['__wsgw.probe.n1.ab12.1']);
    expect(rec.asked).toEqual([]);
    expect(rec.history).toEqual([]);
  });

  it('counts a handler that throws, in deliver or in skipped, and goes on with the batch', async () => {
    const { reader: r, metrics } = reader();
    const rec = new Handler([], (ch) => ch === 'ch');
    const first = message('ch', 'n1', 'throws');
    const second = message('ch', 'n1', 'delivered');
    const deliver = rec.deliver.bind(rec);
    rec.deliver = (msg, stamp) => {
      if (msg.id === first.id) throw new Error('handler bug');
      deliver(msg, stamp);
    };
    rec.skipped = () => {
      throw new Error('history bug');
    };
    r.read(
      batchOf(OWN, [record(first), record(message('other', 'n1', 'unwanted')), record(second)]),
      undefined,
      rec,
    );
    expect(rec.ids()).toEqual([second.id]);
    expect(await count(metrics, 'errors', { kind: 'handler' })).toBe(2);
  });
});
