/**
 * The Kafka bus: the fleet's {@link Bus} in production (docs/architecture.md, docs/kafka.md).
 *
 * Topics and records: each gateway produces to `<topicPrefix><region>` (created when missing),
 * key = channel, value = the protobuf envelope (services/shared/src/envelope.ts). Every gateway
 * consumes every fan-out topic, local and replicated (`a.wsgw.fanout.a`), broadcast, from the time
 * it started (see ./kafka-consumer.ts for how).
 *
 * Start and readiness:
 * - `start()` returns at once when the brokers answer and otherwise keeps connecting with backoff
 *   in the background; its promise resolves when delivery has begun, and rejects only if the bus
 *   is closed first. The gateway therefore does not await it before listening: meanwhile
 *   `health()` reports `{ ok: false, reason: 'connecting' }` and `/readyz` answers 503.
 * - `health()` is ok only while the last produce succeeded, the consumer is in its group and the
 *   publish buffer has room. Reasons when not: `not_started`, `connecting`, `broker_unreachable`,
 *   `consumer_down`, `buffer_full`, `closed`.
 * - `probe()` publishes a record with the reserved key `__wsgw.probe.<node>.<instance>.<n>` to the
 *   local topic and resolves when this instance reads it back (./kafka-probe.ts); every other
 *   consumer skips keys under `__wsgw.` before asking `wants()`, so probes never reach clients.
 *
 * Publishing: publishes wait in a bounded queue, one batch in flight at a time, and resolve once all
 * in-sync replicas acknowledged them (acks=all), so a resolved publish survives a broker restart.
 * While the brokers are away they wait, are retried with a fresh idempotent producer, and are
 * rejected with a {@link BusError} when the queue is full or they waited too long; nothing is
 * dropped silently (./kafka-publish-queue.ts). A retried batch may be written twice; consumers drop
 * the copy by message id (`dedupWindow`).
 *
 * Reading: ./kafka-batch-reader.ts turns each fetched batch into deliveries, history and progress.
 * Malformed records (no key, undecodable value, unknown envelope version, key ≠ channel, an origin
 * other than the topic's) are counted in `wsgw_bus_malformed_total{reason}` and skipped.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, Partitioners, type Admin, type PartitionMetadata } from 'kafkajs';
import { encodeEnvelope } from '../../../shared/src/envelope.js';
import type { Bus, BusHandler, BusHealth, BusMessage, PublishReceipt } from './bus.js';
import { BusError } from './bus.js';
import { buildKafkaConfig, type KafkaConfigDeps } from './kafka-config.js';
import {
  noLog,
  resolveKafkaBusOptions,
  type BusLogger,
  type KafkaBusOptions,
  type ResolvedKafkaBusOptions,
} from './kafka-bus-options.js';
import { FanoutConsumer } from './kafka-consumer.js';
import { BatchReader, type FetchedBatch } from './kafka-batch-reader.js';
import { KafkaBusMetrics, type BusErrorKind } from './kafka-metrics.js';
import { RemoteFeed } from './kafka-remote.js';
import { createOriginTopic, originPartitions, verifyStamps } from './kafka-origin-topic.js';
import { Probes } from './kafka-probe.js';
import { OriginProgress, TICK_KEY, TICK_UNVERIFIED, TICK_VERIFIED, TickSchedule } from './kafka-progress.js';
import { PublishQueue, type OriginProducer } from './kafka-publish-queue.js';
import { backoff, Naps } from './backoff.js';
import { originTopic, topicOrigin } from '../../../shared/src/names.js';

export type { BusLogger, KafkaBusOptions } from './kafka-bus-options.js';
export { RESERVED_KEY_PREFIX } from './kafka-batch-reader.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class KafkaBus implements Bus {
  readonly metrics: KafkaBusMetrics;
  /** The topic this gateway produces to. */
  readonly topic: string;
  private readonly opts: ResolvedKafkaBusOptions;
  private readonly deps: KafkaConfigDeps;
  private readonly feeds: RemoteFeed[] = [];
  private readonly kafka: Kafka;
  private readonly log: BusLogger;
  private readonly groupId: string;
  private readonly reader: BatchReader;
  private readonly partitioner = Partitioners.DefaultPartitioner();
  private partitionMeta: PartitionMetadata[] = [];
  private readonly originOf: (topic: string) => string | undefined;
  private readonly originProgress: OriginProgress;
  private readonly ticks: TickSchedule;
  /** Whether this gateway checked that its origin topic stamps the append time (kafka-progress.ts). */
  private stampsVerified = false;
  /** Partitions of the own topic with a tick of ours on its way. */
  private readonly tickPending = new Set<number>();

  private handler: BusHandler | undefined;
  private starting: Promise<void> | undefined;
  private state: 'new' | 'connecting' | 'running' | 'closed' = 'new';
  private admin: Admin | undefined;
  private consumer: FanoutConsumer | undefined;
  private consumerUp = false;

  private readonly queue: PublishQueue;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly probes: Probes;
  private closing: Promise<void> | undefined;
  private readonly naps = new Naps();

  constructor(options: KafkaBusOptions, deps: KafkaConfigDeps = {}) {
    const opts = resolveKafkaBusOptions(options);
    this.opts = opts;
    this.deps = deps;
    this.log = options.logger ?? noLog;
    this.metrics = new KafkaBusMetrics(options.registry, () => this.health().ok);
    this.topic = originTopic(opts.region, opts.topicPrefix);
    // Local origin topics and replicated copies (`<alias>.<prefix><region>`); never `…internal` etc.
    this.originOf = topicOrigin(opts.topicPrefix);
    const instance = randomBytes(4).toString('hex');
    this.groupId = `wsgw.${opts.region}.${opts.nodeId}.${instance}`;
    this.probes = new Probes(opts.region, opts.nodeId, instance);
    this.originProgress = new OriginProgress(
      (o, s) => this.handler?.progress?.(o, s),
      (msg, fields) => {
        this.countError('stamps');
        this.log.error(fields, msg);
      },
      opts.stampSkewMs,
    );
    this.ticks = new TickSchedule(opts.tickMs);
    this.reader = new BatchReader({
      ownTopic: this.topic,
      originOf: this.originOf,
      dedupWindow: opts.dedupWindow,
      ticks: this.ticks,
      progress: this.originProgress,
      onProbe: (key) => this.probes.answered(key),
      metrics: this.metrics,
      log: this.log,
    });
    this.kafka = new Kafka(
      buildKafkaConfig(
        { ...options, clientId: `wsgw-${opts.region}-${opts.nodeId}` },
        { ...deps, log: deps.log ?? this.log },
      ),
    );
    this.queue = new PublishQueue({
      bufferLimit: opts.bufferLimit,
      bufferTimeoutMs: opts.bufferTimeoutMs,
      maxBatch: opts.maxBatch,
      maxMessageBytes: opts.maxMessageBytes,
      topic: this.topic,
      newProducer: () => this.newProducer(),
      partitionOf: (key) =>
        this.partitioner({
          topic: this.topic,
          partitionMetadata: this.partitionMeta,
          message: { key, value: null },
        }),
      metrics: this.metrics,
      log: this.log,
    });
  }

  /** Read through a method so that TypeScript does not narrow the state across awaits. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Whether `topic` is a fan-out topic this bus consumes. */
  consumes(topic: string): boolean {
    return this.originOf(topic) !== undefined;
  }

  start(handler: BusHandler): Promise<void> {
    if (this.state === 'closed') return Promise.reject(new BusError('bus_closed', 'bus is closed'));
    if (this.starting) return this.starting;
    this.handler = handler;
    this.state = 'connecting';
    this.starting = this.connectLoop(Date.now());
    return this.starting;
  }

  publish(msg: BusMessage): Promise<PublishReceipt> {
    // The topic says where a record comes from, and every reader checks the envelope against it.
    if (msg.origin !== this.opts.region) {
      return Promise.reject(
        new BusError(
          'bus_rejected',
          `message origin ${msg.origin} is not this bus's region ${this.opts.region}`,
        ),
      );
    }
    return this.queue.enqueue(msg.channel, encodeEnvelope(msg));
  }

  health(): BusHealth {
    switch (this.state) {
      case 'closed':
        return { ok: false, reason: 'closed' };
      case 'new':
        return { ok: false, reason: 'not_started' };
      case 'connecting':
        return { ok: false, reason: 'connecting' };
    }
    if (!this.queue.producerOk) return { ok: false, reason: 'broker_unreachable' };
    if (!this.consumerUp) return { ok: false, reason: 'consumer_down' };
    if (this.queue.full) return { ok: false, reason: 'buffer_full' };
    return { ok: true };
  }

  probe(timeoutMs: number): Promise<void> {
    if (this.state !== 'running')
      return Promise.reject(
        new BusError(this.state === 'closed' ? 'bus_closed' : 'bus_unavailable', `bus is ${this.state}`),
      );
    return this.probes.send(timeoutMs, (key, value) => this.queue.enqueue(key, value));
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // -------------------------------------------------------------------------------------------
  // Connecting

  private async connectLoop(startedAt: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.state === 'closed') throw new BusError('bus_closed', 'bus closed before it connected');
      try {
        await this.connect(startedAt);
        if (this.isClosed()) {
          await this.disconnectAll();
          throw new BusError('bus_closed', 'bus closed before it connected');
        }
        this.state = 'running';
        this.log.info(
          { topic: this.topic, group: this.groupId, consuming: [...(this.consumer?.subscribed ?? [])] },
          'kafka bus running',
        );
        // refreshTopics catches its own failures.
        this.timers.push(
          setInterval(
            () => this.contain(this.refreshTopics(), 'topic_refresh'),
            this.opts.topicRefreshMs,
          ).unref(),
        );
        this.startRemoteFeeds(startedAt);
        this.timers.push(
          setInterval(() => this.tick(), Math.max(50, Math.floor(this.opts.tickMs / 4))).unref(),
        );
        this.queue.start();
        return;
      } catch (err) {
        if (err instanceof BusError) throw err;
        this.countError('connect');
        this.log.warn({ err, attempt }, 'kafka bus cannot connect yet; retrying');
        await this.disconnectAll();
        await this.naps.nap(backoff(attempt));
      }
    }
  }

  private async connect(startedAt: number): Promise<void> {
    const admin = this.kafka.admin({ retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 } });
    this.admin = admin;
    await admin.connect();
    await createOriginTopic(admin, {
      topic: this.topic,
      partitions: this.opts.partitions,
      replicationFactor: this.opts.replicationFactor,
    });
    this.stampsVerified = await verifyStamps(admin, this.topic, this.log, this.metrics);
    this.partitionMeta = await originPartitions(admin, this.topic);
    await this.queue.connectProducer();
    if (this.isClosed()) return;
    this.consumer = new FanoutConsumer(this.kafka, admin, {
      groupId: this.groupId,
      match: (t) => this.originOf(t) !== undefined,
      fromTimestamp: startedAt - this.opts.startSlackMs,
      readBackMs: this.opts.readBackMs,
      maxWaitTimeMs: this.opts.maxWaitTimeMs,
      rackId: this.opts.rackId,
      onFetch: (broker) => this.metrics.fetches.inc({ broker }),
      onBatch: ({ batch }, liveFrom) => this.onBatch(batch, liveFrom),
      onTopic: (topic, partitions, liveFrom) => this.follow(topic, partitions, liveFrom, false),
      onCovered: (topic, since) => this.covered(topic, since),
      onState: (up, err) => {
        if (!up && this.consumerUp) {
          this.countError('consumer_crash');
          this.log.warn({ err }, 'kafka consumer stopped; it reconnects');
        } else if (up && !this.consumerUp && this.state === 'running') {
          this.log.info({}, 'kafka consumer back in its group');
        }
        this.consumerUp = up;
      },
    });
    const consumer = this.consumer;
    this.contain(
      consumer.warm.then(() => this.warmResolve(startedAt - this.opts.startSlackMs - this.opts.readBackMs)),
      'connect',
    );
    await consumer.start();
  }

  private warmResolve: (since: number) => void = () => {};
  /**
   * Resolves, once the start-up read-back is done, with the time from which the handler has seen
   * every record of the local cluster's fan-out topics (the read-back window's start).
   */
  readonly historyWarm: Promise<number> = new Promise((r) => (this.warmResolve = r));

  private startRemoteFeeds(startedAt: number): void {
    for (const r of this.opts.remotes ?? []) {
      const kafka = new Kafka(
        buildKafkaConfig(
          {
            ...this.opts,
            brokers: r.brokers,
            awsRegion: r.awsRegion ?? r.region,
            clientId: `wsgw-${this.opts.region}-${this.opts.nodeId}`,
          },
          { ...this.deps, log: this.deps.log ?? this.log },
        ),
      );
      let wasUp = false;
      const feed = new RemoteFeed(kafka, {
        topic: originTopic(r.region, this.opts.topicPrefix),
        groupId: this.groupId,
        fromTimestamp: startedAt - this.opts.startSlackMs,
        readBackMs: this.opts.readBackMs,
        maxWaitTimeMs: this.opts.maxWaitTimeMs,
        retryMs: this.opts.topicRefreshMs,
        onBatch: ({ batch }, liveFrom) => this.onBatch(batch, liveFrom),
        onTopic: (topic, partitions, liveFrom) => this.follow(topic, partitions, liveFrom, true),
        onCovered: (topic, since) => this.covered(topic, since),
        onState: (up, err) => {
          this.metrics.remoteUp.set({ region: r.region }, up ? 1 : 0);
          if (up !== wasUp) {
            if (up) this.log.info({ remote: r.region }, 'reading the remote region directly');
            else this.log.warn({ err, remote: r.region }, 'remote region unreachable; retrying');
          }
          wasUp = up;
        },
      });
      this.metrics.remoteUp.set({ region: r.region }, 0);
      feed.start();
      this.feeds.push(feed);
    }
  }

  /** Starts following a fan-out topic's progress (kafka-progress.ts). */
  private follow(topic: string, partitions: readonly number[], liveFrom: number, remote: boolean): void {
    const origin = this.originOf(topic);
    if (origin === undefined) return;
    // Read here from a copy in the local cluster, unless it is this region's own topic.
    const copy = !remote && origin !== this.opts.region;
    this.originProgress.follow(topic, origin, copy, partitions, liveFrom);
  }

  /** A topic's read-back is done: the handler's history of its origin is complete from `since`. */
  private covered(topic: string, since: number): void {
    const origin = this.originOf(topic);
    if (origin !== undefined) this.handler?.reading?.(origin, since);
  }

  /**
   * Writes a tick into each partition of the origin topic that has gone `tickMs` without one, so
   * that every gateway's progress for this region moves on when nobody publishes. Best effort:
   * never while the brokers are away or publishes wait.
   */
  private tick(): void {
    if (this.state !== 'running' || !this.queue.producerOk || this.queue.length > 100) return;
    const now = Date.now();
    const due = this.ticks
      .due(
        this.partitionMeta.map((p) => p.partitionId),
        now,
      )
      .filter((p) => !this.tickPending.has(p));
    for (const partition of due) {
      this.tickPending.add(partition);
      this.ticks.seen(partition, now);
      this.queue
        .enqueue(TICK_KEY, this.stampsVerified ? TICK_VERIFIED : TICK_UNVERIFIED, partition)
        .catch(() => undefined)
        .finally(() => this.tickPending.delete(partition));
    }
  }

  /** A producer of the origin topic for the publish queue, not yet connected. */
  private newProducer(): OriginProducer {
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      // Partitions are chosen by the bus (same murmur2 partitioner), so that receipts carry offsets.
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      // A batch that still fails after these is retried by the publish queue with a fresh producer.
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    return {
      connect: () => producer.connect(),
      send: (messages) => producer.send({ topic: this.topic, acks: -1, messages }),
      disconnect: () => producer.disconnect(),
    };
  }

  private async refreshTopics(): Promise<void> {
    if (this.state !== 'running' || !this.consumer || !this.consumerUp) return;
    try {
      const added = await this.consumer.refresh();
      if (added.length > 0) this.log.info({ added }, 'kafka bus consumes new fan-out topics');
    } catch (err) {
      this.countError('topic_refresh');
      this.log.warn({ err }, 'kafka topic refresh failed');
    }
  }

  /** One fetched batch, for the handler while the bus is open. */
  private onBatch(batch: FetchedBatch, liveFrom: bigint | undefined): void {
    const h = this.handler;
    if (!h || this.state === 'closed') return;
    this.reader.read(batch, liveFrom, h);
  }

  /** Runs a background task whose failure is counted and logged, never left unhandled. */
  private contain(p: Promise<unknown>, kind: BusErrorKind): void {
    p.catch((err: unknown) => {
      this.countError(kind);
      this.log.error({ err }, `kafka bus background task failed (${kind})`);
    });
  }

  private countError(kind: BusErrorKind): void {
    this.metrics.errors.inc({ kind });
  }

  // -------------------------------------------------------------------------------------------
  // Closing

  private async shutdown(): Promise<void> {
    const wasRunning = this.state === 'running';
    // Give what is buffered a moment to be acknowledged, then refuse the rest.
    this.queue.stopAccepting();
    const deadline = Date.now() + (wasRunning ? 5_000 : 0);
    while (this.queue.length > 0 && Date.now() < deadline && this.queue.producerOk) await sleep(10);
    this.state = 'closed';
    this.naps.wakeAll();
    for (const t of this.timers) clearInterval(t);
    this.queue.close();
    const consumer = this.consumer;
    this.consumer = undefined;
    await Promise.all([
      withTimeout(consumer?.stop(), 5_000),
      ...this.feeds.splice(0).map((f) => withTimeout(f.stop(), 5_000)),
    ]);
    if (this.admin && wasRunning) await withTimeout(this.admin.deleteGroups([this.groupId]), 2_000);
    await this.disconnectAll();
    this.handler = undefined;
  }

  private async disconnectAll(): Promise<void> {
    const { admin, consumer } = this;
    const producer = this.queue.detachProducer();
    this.admin = undefined;
    this.consumer = undefined;
    this.consumerUp = false;
    await Promise.all([
      withTimeout(consumer?.stop(), 5_000),
      withTimeout(producer?.disconnect(), 5_000),
      withTimeout(admin?.disconnect(), 2_000),
    ]);
  }
}

async function withTimeout(p: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!p) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

// Compile-time check that the Kafka bus satisfies the contract.
const _check: (o: KafkaBusOptions) => Bus = (o) => new KafkaBus(o);
void _check;
