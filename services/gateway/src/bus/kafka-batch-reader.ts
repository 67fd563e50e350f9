/**
 * What the Kafka bus makes of a fetched batch (docs/kafka.md, Topics and records): each record
 * becomes a delivery, a history entry (`skipped`), a progress tick, a probe's answer, a dropped
 * duplicate, or a count of what was malformed.
 *
 * The order of the checks is the hot path's: a record's key is looked at before its value, so that
 * traffic no local client wants costs a key comparison and is never decoded.
 */
import { RESERVED_CHANNEL_PREFIX } from '../../../shared/src/channel.js';
import type { BusHandler } from './bus.js';
import { MessageDedup } from './dedup-window.js';
import { handOver, handSkipped, type HandoffContext } from './record-handoff.js';
import type { BusLogger } from './kafka-bus-options.js';
import type { KafkaBusMetrics, MalformedReason } from './kafka-metrics.js';
import { TICK_KEY, TICK_VERIFIED, type OriginProgress, type TickSchedule } from './kafka-progress.js';

/** Record keys under this prefix are the bus's own (probes, progress ticks), never channels. */
export const RESERVED_KEY_PREFIX = RESERVED_CHANNEL_PREFIX;

/** What the reader uses of a fetched record (kafkajs' `KafkaMessage`). */
export interface FetchedRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** The record's stamp (ms since the epoch, as text). */
  readonly timestamp: string;
  readonly offset: string;
  /** Set by kafkajs on records of a record batch; its `timestampType` says whose clock stamped it. */
  readonly batchContext?: { readonly timestampType?: number };
}

/** What the reader uses of a fetched batch (kafkajs' `Batch`): one partition's records. */
export interface FetchedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly FetchedRecord[];
  offsetLag(): string;
}

export interface BatchReaderOptions {
  /** The topic this gateway produces to: a tick read there tells the tick schedule. */
  readonly ownTopic: string;
  /** The origin region a fan-out topic carries, or undefined for a topic that is not one. */
  readonly originOf: (topic: string) => string | undefined;
  /** How many recent message ids are remembered to drop duplicates. */
  readonly dedupWindow: number;
  readonly ticks: TickSchedule;
  readonly progress: OriginProgress;
  /** A reserved record that is not a tick: a readiness probe, this instance's or another's. */
  readonly onProbe: (key: string) => void;
  readonly metrics: KafkaBusMetrics;
  readonly log: BusLogger;
}

export class BatchReader {
  private readonly handoff: HandoffContext;

  constructor(private readonly opts: BatchReaderOptions) {
    this.handoff = { dedup: new MessageDedup(opts.dedupWindow), metrics: opts.metrics, log: opts.log };
  }

  /**
   * Hands one fetched batch to `h`. `liveFrom`: while the partition is read back, the offset where
   * its live range starts; records before it go to history only.
   */
  read(batch: FetchedBatch, liveFrom: bigint | undefined, h: BusHandler): void {
    const { metrics } = this.opts;
    const msgs = batch.messages;
    const origin = this.opts.originOf(batch.topic);
    if (origin === undefined) return;
    const own = batch.topic === this.opts.ownTopic;
    let skipped = 0;
    const ticks: number[] = [];
    for (const m of msgs) {
      if (m.key === null || m.key.length === 0) {
        this.malformed('no_key');
        continue;
      }
      const key = m.key.toString();
      const stamp = Number(m.timestamp);
      if (key.startsWith(RESERVED_KEY_PREFIX)) {
        if (key === TICK_KEY) {
          if (m.value !== null && m.value.length === 1 && m.value[0] === TICK_VERIFIED[0]) ticks.push(stamp);
          if (own) this.opts.ticks.seen(batch.partition);
        } else this.opts.onProbe(key);
        continue;
      }
      const backfill = liveFrom !== undefined && BigInt(m.offset) < liveFrom;
      if (backfill || !h.wants(key)) {
        skipped++;
        // kafkajs hands out views into the whole fetch response; the history keeps a copy.
        if (m.value !== null) handSkipped(h, key, m.value, stamp, origin, metrics);
        continue;
      }
      const bad = handOver(m.value, key, origin, stamp, h, this.handoff);
      if (bad !== undefined) this.malformed(bad);
    }
    // After the batch's records: progress promises only what has been handed over.
    this.opts.progress.batch(batch.topic, batch.partition, ticks, msgs[0]?.batchContext?.timestampType);
    metrics.consumed.inc({ topic: batch.topic }, msgs.length);
    if (skipped > 0) metrics.skippedUnwanted.inc(skipped);
    metrics.consumerLag.set(
      { topic: batch.topic, partition: String(batch.partition) },
      Number(batch.offsetLag()),
    );
  }

  private malformed(reason: MalformedReason): void {
    this.opts.metrics.malformed.inc({ reason });
  }
}
