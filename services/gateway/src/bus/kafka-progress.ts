/**
 * Progress per origin on Kafka (bus.ts, Stamps and progress): which records of each origin's
 * stream this gateway has read, told by the stamps of *ticks*.
 *
 * Why ticks, and why append time:
 * - The origin topic stamps each record with the broker's append time
 *   (`message.timestamp.type=LogAppendTime`), so stamps follow the order of the log; replication
 *   (MirrorMaker 2, MSK Replicator) copies records in order with their timestamps.
 * - A partition with no traffic says nothing about where it is, so the gateways of the origin
 *   region write a tick (key `__wsgw.tick`) into every partition of their topic about once per
 *   `tickMs`: reading a tick stamped `s` means every earlier record of that partition has been
 *   read. The origin's progress is the lowest tick stamp over its partitions, less one ms (a later
 *   record may share the tick's millisecond).
 * - A tick's one-byte value says whether its writer checked that its topic stamps append time;
 *   progress is only taken from ticks that say so. A replicated copy that restamps its records (a
 *   copy created with `LogAppendTime` of its own) is read with the stamps of another clock, so it
 *   gives no progress either, and says so once in the log.
 */

/** Key of progress ticks. Under the reserved prefix, so no consumer mistakes one for a channel. */
export const TICK_KEY = '__wsgw.tick';
/** A tick's value: its writer verified that its topic stamps records with the append time. */
export const TICK_VERIFIED = Buffer.from([1]);
export const TICK_UNVERIFIED = Buffer.from([0]);

/** kafkajs TimestampTypes.LOG_APPEND_TIME, as found in a record's `batchContext`. */
const LOG_APPEND_TIME = 1;

interface TopicState {
  readonly origin: string;
  /** Read from a replicated copy in the local cluster, rather than from the origin's own log. */
  readonly copy: boolean;
  /** Partition -> the newest verified tick's stamp (or where reading began, less one). */
  readonly stamps: Map<number, number>;
  restamped: boolean;
}

export class OriginProgress {
  private readonly topics = new Map<string, TopicState>();
  private readonly reported = new Map<string, number>();

  /**
   * @param skewMs how far the append times of one log may run backwards (its brokers' clocks
   *   disagreeing across a leader change): a tick vouches only for what is stamped this much before it
   */
  constructor(
    private readonly report: (origin: string, stamp: number) => void,
    private readonly warn: (msg: string, fields: object) => void,
    private readonly skewMs = 0,
  ) {}

  /**
   * Starts following a topic: every partition counts as read up to `liveFrom - 1`, since the bus
   * delivers what is stamped from there on.
   */
  follow(
    topic: string,
    origin: string,
    copy: boolean,
    partitions: readonly number[],
    liveFrom: number,
  ): void {
    let t = this.topics.get(topic);
    if (t === undefined) {
      t = { origin, copy, stamps: new Map(), restamped: false };
      this.topics.set(topic, t);
    }
    for (const p of partitions) if (!t.stamps.has(p)) t.stamps.set(p, liveFrom - 1);
    this.flush(origin);
  }

  /**
   * One fetched batch: the ticks it holds advance its partition. `ticks` are the stamps of the
   * verified ticks in the batch; `timestampType` is the batch's (from kafkajs' batchContext).
   */
  batch(topic: string, partition: number, ticks: readonly number[], timestampType: number | undefined): void {
    const t = this.topics.get(topic);
    if (t === undefined || ticks.length === 0) return;
    if (t.copy && timestampType === LOG_APPEND_TIME) {
      if (!t.restamped) {
        t.restamped = true;
        this.warn(
          "a replicated fan-out topic stamps its own append times: recovery cannot vouch for its origin until it keeps the origin's timestamps (create it with message.timestamp.type=CreateTime)",
          { topic, origin: t.origin },
        );
      }
      return;
    }
    const cur = t.stamps.get(partition);
    let max = cur ?? -Infinity;
    for (const s of ticks) if (s - 1 - this.skewMs > max) max = s - 1 - this.skewMs;
    if (cur === undefined || max > cur) {
      t.stamps.set(partition, max);
      this.flush(t.origin);
    }
  }

  /** The current progress of an origin (the lowest over its topics' partitions), if followed. */
  of(origin: string): number | undefined {
    let min: number | undefined;
    for (const t of this.topics.values()) {
      if (t.origin !== origin) continue;
      for (const s of t.stamps.values()) min = min === undefined ? s : Math.min(min, s);
    }
    return min;
  }

  private flush(origin: string): void {
    const s = this.of(origin);
    if (s === undefined) return;
    const prev = this.reported.get(origin);
    if (prev !== undefined && s <= prev) return;
    this.reported.set(origin, s);
    this.report(origin, s);
  }
}

/**
 * Decides when this gateway writes ticks into its own topic: a partition gets one when no tick has
 * been read from it for `tickMs` plus this gateway's jitter, so that a region's gateways share the
 * work (about one tick per partition per interval in all) instead of each writing its own.
 */
export class TickSchedule {
  private readonly lastSeen = new Map<number, number>();
  private readonly jitterMs: number;

  constructor(
    private readonly tickMs: number,
    random: () => number = Math.random,
  ) {
    this.jitterMs = Math.floor(random() * (tickMs / 2));
  }

  /** A tick was read from (or written to) this partition of the own topic. */
  seen(partition: number, now: number = Date.now()): void {
    this.lastSeen.set(partition, now);
  }

  /** The partitions of the own topic that are due a tick now. */
  due(partitions: readonly number[], now: number = Date.now()): number[] {
    return partitions.filter((p) => now - (this.lastSeen.get(p) ?? -Infinity) >= this.tickMs + this.jitterMs);
  }
}
