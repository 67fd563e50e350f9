/**
 * The broadcast consumer of the Kafka bus: reads every partition of every fan-out topic (the local
 * origin topic and the replicated copies) from "now" on, and follows new topics as they appear.
 *
 * Why a consumer group of one, and how "now" is kept:
 * - kafkajs has no manual partition assignment; every consumer belongs to a group. Each bus
 *   instance therefore uses its own group (`wsgw.<region>.<node>.<random>`), is its only member,
 *   and so is assigned every partition: broadcast. The group is deleted on close.
 * - Before the consumer runs, the position of every partition of a newly subscribed topic is looked
 *   up: the first record at or after the start time (`fetchTopicOffsetsByTimestamp`). When the
 *   consumer joins its group it seeks there, before its first fetch. There is thus no window in which
 *   "latest" is resolved after a publish that followed `start()`, and a topic that appears later (a
 *   new region, a replicated copy that MirrorMaker back-fills with old records) is read from the
 *   start time, not from its beginning. (`admin.setOffsets` would do the same through a throw-away
 *   consumer, but costs about five seconds per call.)
 * - Offsets are then committed about once a second, by this class rather than by kafkajs: kafkajs'
 *   auto-commit sends an OffsetCommit after every non-empty batch, i.e. per partition per fetch, and
 *   waits for it before fetching again, which cost ~40 ms of delivery latency at 1,000 msg/s over six
 *   partitions. Offsets matter only to this instance: after a broker restart or a topic refresh the
 *   consumer resumes where it was (replaying at most the last second, which the bus's dedup window
 *   absorbs) instead of jumping to "latest" and losing what was published meanwhile.
 * - kafkajs resolves a RegExp subscription once, at subscribe time. New topics are found by
 *   listing topics every `refreshMs`; when one appears, the consumer is stopped (committing and
 *   leaving the group), subscribed to the new topic as well and run again.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka, TopicPartitionOffset } from 'kafkajs';

const COMMIT_INTERVAL_MS = 1_000;

export interface FanoutConsumerOptions {
  readonly groupId: string;
  /** Whether a topic name is a fan-out topic. */
  readonly match: (topic: string) => boolean;
  /** Records from this time on (ms since the epoch, record timestamp) are read. */
  readonly fromTimestamp: number;
  /**
   * Also read the records of this many ms before `fromTimestamp` ("backfill"): they go to the
   * gateway's history, never to clients (see {@link FanoutConsumer.backfillEnd}). Default 0.
   */
  readonly readBackMs?: number;
  /** Longest time the broker holds a fetch open when there is no data (ms). */
  readonly maxWaitTimeMs: number;
  /**
   * The rack (on MSK: the availability zone id) this consumer runs in: with a rack-aware broker
   * setting (`replica.selector.class`), fetches go to an in-sync replica in the same rack instead
   * of the leader (KIP-392), which keeps the read traffic inside the zone.
   */
  readonly rackId?: string;
  /** Called with the broker (`host:port`) each fetch request went to. */
  readonly onFetch?: (broker: string) => void;
  /**
   * Receives each fetched batch, with the first offset of its partition's live range while the
   * partition is still being read back (records before it feed history only). Must not throw.
   */
  readonly onBatch: (payload: EachBatchPayload, liveFrom: bigint | undefined) => void;
  /** A topic is about to be read: its partitions, and the stamp its live range starts at. */
  readonly onTopic?: (topic: string, partitions: readonly number[], liveFrom: number) => void;
  /** Everything of a topic stamped at or after `since` has been read (its read-back is done). */
  readonly onCovered?: (topic: string, since: number) => void;
  /** Called when the consumer has joined (up) or stopped running (down). */
  readonly onState: (up: boolean, err?: unknown) => void;
}

export class FanoutConsumer {
  private consumer: Consumer | undefined;
  private readonly topics = new Set<string>();
  private busy: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Next offset to read, per `topic|partition`, as last processed (or sought). */
  private readonly positions = new Map<string, TopicPartitionOffset>();
  private dirty = false;
  private commitTimer: NodeJS.Timeout | undefined;
  /** Per `topic|partition` still being backfilled: the first offset of the live range. */
  private readonly backfill = new Map<string, bigint>();
  /** Per topic being backfilled: its partitions still backfilling, and where its read-back began. */
  private readonly backfilling = new Map<string, { left: number; since: number }>();
  private warmResolve: (() => void) | undefined;
  /** Resolves once every partition's backfill (if any) has been read. */
  readonly warm: Promise<void> = new Promise((r) => (this.warmResolve = r));

  constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly opts: FanoutConsumerOptions,
  ) {}

  /** Topics currently consumed. */
  get subscribed(): ReadonlySet<string> {
    return this.topics;
  }

  /** Subscribes to the fan-out topics that exist now and resolves once the consumer has joined. */
  start(): Promise<void> {
    return this.serial(async () => {
      const found = (await this.admin.listTopics()).filter(this.opts.match);
      await this.launch(found);
    });
  }

  /** Looks for new fan-out topics; restarts the consumer to include them. Returns the new ones. */
  refresh(): Promise<string[]> {
    let added: string[] = [];
    return this.serial(async () => {
      if (this.stopped || this.consumer === undefined) return;
      added = (await this.admin.listTopics()).filter((t) => this.opts.match(t) && !this.topics.has(t));
      if (added.length === 0) return;
      await this.halt();
      await this.launch(added);
    }).then(() => added);
  }

  /**
   * Replaces a consumer that kafkajs gave up on (a crash it will not restart from): the same
   * group, so that committed offsets carry over.
   */
  recover(): Promise<void> {
    return this.serial(async () => {
      if (this.stopped) return;
      await this.halt();
      await this.launch([]);
    });
  }

  /** Commits, leaves the group and disconnects. */
  stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.commitTimer);
    return this.serial(() => this.halt());
  }

  /**
   * For a batch, the first offset that is live rather than backfill; undefined when the whole
   * partition is live. Once a partition's backfill is read its entry is dropped, so the common
   * case costs one failed map lookup per batch.
   */
  private backfillEnd(topic: string, partition: number, lastOffset: string): bigint | undefined {
    const key = `${topic}|${partition}`;
    const end = this.backfill.get(key);
    if (end === undefined) return undefined;
    if (BigInt(lastOffset) + 1n >= end) {
      this.backfill.delete(key);
      const t = this.backfilling.get(topic);
      if (t !== undefined && --t.left === 0) {
        this.backfilling.delete(topic);
        this.opts.onCovered?.(topic, t.since);
      }
      if (this.backfill.size === 0) this.warmResolve?.();
    }
    return end;
  }

  private note(topic: string, partition: number, offset: string): void {
    this.positions.set(`${topic}|${partition}`, { topic, partition, offset });
    this.dirty = true;
  }

  private async commit(): Promise<void> {
    const c = this.consumer;
    if (!c || !this.dirty) return;
    this.dirty = false;
    try {
      await c.commitOffsets([...this.positions.values()]);
    } catch {
      // Rebalancing or broker gone: try again at the next tick.
      this.dirty = true;
    }
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.busy.then(fn);
    this.busy = next.catch(() => undefined);
    return next;
  }

  private async halt(): Promise<void> {
    const c = this.consumer;
    if (c) await Promise.race([this.commit(), new Promise((r) => setTimeout(r, 2_000).unref())]);
    this.consumer = undefined;
    if (c) await c.disconnect();
  }

  /** (Re)creates and runs the consumer on all topics; `fresh` ones start at the start time. */
  private async launch(fresh: string[]): Promise<void> {
    const seeks: { topic: string; partition: number; offset: string }[] = [];
    const readBack = this.opts.readBackMs ?? 0;
    const covered: string[] = [];
    for (const topic of fresh) {
      const live = await this.admin.fetchTopicOffsetsByTimestamp(topic, this.opts.fromTimestamp);
      const back =
        readBack > 0
          ? await this.admin.fetchTopicOffsetsByTimestamp(topic, this.opts.fromTimestamp - readBack)
          : live;
      let left = 0;
      for (const p of live) {
        const from = back.find((b) => b.partition === p.partition)?.offset ?? p.offset;
        seeks.push({ topic, partition: p.partition, offset: from });
        if (BigInt(from) < BigInt(p.offset)) {
          this.backfill.set(`${topic}|${p.partition}`, BigInt(p.offset));
          left++;
        }
      }
      this.opts.onTopic?.(
        topic,
        live.map((p) => p.partition),
        this.opts.fromTimestamp,
      );
      if (left > 0) this.backfilling.set(topic, { left, since: this.opts.fromTimestamp - readBack });
      else covered.push(topic);
      this.topics.add(topic);
    }
    // Nothing to read back: covered from the start of the live range (or of the empty read-back).
    for (const topic of covered) this.opts.onCovered?.(topic, this.opts.fromTimestamp - readBack);
    if (this.backfill.size === 0) this.warmResolve?.();
    if (this.stopped) return;
    const consumer = this.kafka.consumer({
      groupId: this.opts.groupId,
      maxWaitTimeInMs: this.opts.maxWaitTimeMs,
      minBytes: 1,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 200, maxRetryTime: 2_000, retries: 5 },
      ...(this.opts.rackId ? { rackId: this.opts.rackId } : {}),
    });
    const onFetch = this.opts.onFetch;
    if (onFetch) {
      consumer.on(consumer.events.REQUEST, (e) => {
        if (e.payload.apiName === 'Fetch') onFetch(e.payload.broker);
      });
    }
    const joined = new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.GROUP_JOIN, () => {
        // Runs before the first fetch; seeking is committed, so later rejoins resume from there.
        for (const s of seeks.splice(0)) {
          consumer.seek(s);
          this.note(s.topic, s.partition, s.offset);
        }
        this.opts.onState(true);
        resolve();
      });
      consumer.on(consumer.events.CRASH, (e) => {
        this.opts.onState(false, e.payload.error);
        reject(e.payload.error);
        // kafkajs restarts by itself after retriable errors; after the others it stays down.
        if (!e.payload.restart && this.consumer === consumer) {
          setTimeout(
            () => void this.recover().catch((err: unknown) => this.opts.onState(false, err)),
            1_000,
          ).unref();
        }
      });
    });
    joined.catch(() => undefined);
    this.consumer = consumer;
    try {
      await consumer.connect();
      if (this.topics.size > 0) await consumer.subscribe({ topics: [...this.topics], fromBeginning: false });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        eachBatch: async (payload) => {
          const { batch } = payload;
          this.opts.onBatch(payload, this.backfillEnd(batch.topic, batch.partition, batch.lastOffset()));
          if (batch.messages.length > 0)
            this.note(batch.topic, batch.partition, (BigInt(batch.lastOffset()) + 1n).toString());
        },
      });
      // commit() catches its own failures (it retries at the next tick).
      this.commitTimer ??= setInterval(
        () => void this.commit().catch(() => undefined),
        COMMIT_INTERVAL_MS,
      ).unref();
      await joined;
      // The start positions must be committed before anything else happens: a consumer that
      // rejoins (after a broker restart) with no committed offset for a partition would resolve
      // "latest" there and silently skip what was published while it was away.
      await this.commit();
      if (this.dirty) throw new Error('could not commit the start positions');
    } catch (err) {
      this.consumer = undefined;
      await consumer.disconnect().catch(() => undefined);
      throw err;
    }
  }
}
