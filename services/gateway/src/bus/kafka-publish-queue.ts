/**
 * The Kafka bus's publish queue: publishes wait here, in order, until the brokers acknowledge them
 * (docs/kafka.md, Publishing, buffering and failures).
 *
 * Policy:
 * - At most `bufferLimit` publishes wait; one more is refused at once with `bus_unavailable`, so a
 *   broker outage reaches publishers as an error they can retry, never as unbounded memory.
 * - One batch is in flight at a time, which keeps each origin's order; publishes made in the same
 *   event-loop turn travel in one request of at most `maxBatch` records.
 * - A publish resolves only once all in-sync replicas have it (acks=all), with `partition:offset`.
 * - A batch that fails stays at the head and is sent again with a new producer after a backoff.
 *   A batch the broker refuses because of one of its records is sent again record by record, and
 *   only the refused record is rejected, with `bus_rejected`.
 * - A publish that waited `bufferTimeoutMs` without being in flight is rejected: `bus_unavailable`
 *   when it was never sent, `bus_uncertain` when a send failed without an answer (the broker may
 *   have written it). A batch in flight is never rejected while its outcome is unknown.
 *
 * The queue reaches Kafka only through an {@link OriginProducer}, so that its logic is tested
 * without a broker (test/bus/kafka-publish-queue.test.ts).
 */
import type { RecordMetadata } from 'kafkajs';
import { BusError, type PublishReceipt } from './bus.js';
import { backoff, Naps } from './backoff.js';
import type { BusLogger } from './kafka-bus-options.js';
import type { BusErrorKind, KafkaBusMetrics } from './kafka-metrics.js';

/** A record as the queue hands it to the producer, its partition chosen so that receipts carry offsets. */
export interface OutgoingRecord {
  readonly key: string;
  readonly value: Buffer;
  readonly partition: number;
}

/** A producer of the origin topic, reduced to what the queue needs. */
export interface OriginProducer {
  connect(): Promise<void>;
  /** Writes the records with acks=all; resolves with the base offset of each partition written. */
  send(records: OutgoingRecord[]): Promise<RecordMetadata[]>;
  disconnect(): Promise<void>;
}

export interface PublishQueueOptions {
  /** Most publishes waiting; beyond it `enqueue` rejects with `bus_unavailable`. */
  readonly bufferLimit: number;
  /** Longest a publish waits without being in flight before it is rejected (ms). */
  readonly bufferTimeoutMs: number;
  /** Most records in one send. */
  readonly maxBatch: number;
  /** Largest record value accepted (bytes); larger ones reject with `bus_rejected`. */
  readonly maxMessageBytes: number;
  /** The topic written to, for `wsgw_bus_produced_total{topic}`. */
  readonly topic: string;
  /** A new, not yet connected producer: at start, and after each failed send. */
  readonly newProducer: () => OriginProducer;
  /** The partition of a record that names none: its key's. */
  readonly partitionOf: (key: string) => number;
  readonly metrics: KafkaBusMetrics;
  readonly log: BusLogger;
  /** The wait before sending again after `attempt` failures in a row (ms). Default {@link backoff}. */
  readonly retryDelayMs?: (attempt: number) => number;
}

interface Pending {
  readonly key: string;
  readonly value: Buffer;
  /** Set for ticks, which go to a partition of their own choosing. */
  readonly partition?: number;
  readonly at: number;
  inFlight: boolean;
  /** Handed to Kafka at least once: a failed attempt may still have been written. */
  attempted: boolean;
  readonly resolve: (r: PublishReceipt) => void;
  readonly reject: (e: Error) => void;
}

export class PublishQueue {
  private readonly queue: Pending[] = [];
  private readonly naps = new Naps();
  private readonly retryDelayMs: (attempt: number) => number;
  private producer: OriginProducer | undefined;
  private producerOkValue = true;
  /** Sending is allowed: from {@link start} to {@link close}. */
  private flowing = false;
  private accepting = true;
  private sending = false;
  private pumpScheduled = false;
  private expiryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: PublishQueueOptions) {
    this.retryDelayMs = opts.retryDelayMs ?? backoff;
  }

  /** Publishes waiting, in flight included. */
  get length(): number {
    return this.queue.length;
  }

  /** Whether a publish now would be refused for want of room. */
  get full(): boolean {
    return this.queue.length >= this.opts.bufferLimit;
  }

  /** False from a failed send until a send succeeds again. */
  get producerOk(): boolean {
    return this.producerOkValue;
  }

  /**
   * Queues a record; resolves with its receipt once acknowledged. `partition` is for ticks, which
   * choose theirs; every other record goes to its key's.
   */
  enqueue(key: string, bytes: Uint8Array, partition?: number): Promise<PublishReceipt> {
    if (!this.accepting) return Promise.reject(new BusError('bus_closed', 'bus is closed'));
    if (bytes.byteLength > this.opts.maxMessageBytes) {
      this.countError('rejected');
      return Promise.reject(
        new BusError(
          'bus_rejected',
          `message of ${bytes.byteLength} bytes exceeds ${this.opts.maxMessageBytes}`,
        ),
      );
    }
    if (this.queue.length >= this.opts.bufferLimit) {
      this.countError('buffer_full');
      return Promise.reject(
        new BusError(
          'bus_unavailable',
          `publish buffer full (${this.opts.bufferLimit} messages waiting for Kafka)`,
        ),
      );
    }
    return new Promise<PublishReceipt>((resolve, reject) => {
      const value = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      this.queue.push({
        key,
        value,
        ...(partition === undefined ? {} : { partition }),
        at: Date.now(),
        inFlight: false,
        attempted: false,
        resolve,
        reject,
      });
      // Publishes time out whatever the connection state, also before the first connect.
      this.expiryTimer ??= setInterval(() => this.expire(), Math.min(250, this.opts.bufferTimeoutMs)).unref();
      this.opts.metrics.buffered.set(this.queue.length);
      this.schedulePump();
    });
  }

  /** Connects a new producer. The bus does so while it connects, so that a start proves produce works. */
  async connectProducer(): Promise<void> {
    const producer = this.opts.newProducer();
    this.producer = producer;
    await producer.connect();
  }

  /** Hands the producer over, for the caller to disconnect it; the next send connects a new one. */
  detachProducer(): OriginProducer | undefined {
    const producer = this.producer;
    this.producer = undefined;
    return producer;
  }

  /** The brokers answer: start sending. Until then publishes only wait (and may expire). */
  start(): void {
    this.flowing = true;
    this.schedulePump();
  }

  /** Refuses new publishes with `bus_closed`; those waiting are still sent. */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Stops sending, and rejects every publish still waiting with `bus_closed`. */
  close(): void {
    this.accepting = false;
    this.flowing = false;
    this.naps.wakeAll();
    clearInterval(this.expiryTimer);
    for (const p of this.queue.splice(0))
      p.reject(new BusError('bus_closed', 'bus closed before Kafka acknowledged the publish'));
    this.opts.metrics.buffered.set(0);
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.sending) return;
    this.pumpScheduled = true;
    // One macrotask of linger: publishes made in the same tick travel in one request.
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump()
        .finally(() => {
          // A pump that died on an unexpected error must not strand what is queued.
          if (this.queue.length > 0 && this.flowing) setTimeout(() => this.schedulePump(), 500).unref();
        })
        .catch((err: unknown) => {
          this.countError('produce');
          this.opts.log.error({ err }, 'kafka bus background task failed (produce)');
        });
    });
  }

  /** Sends the head of the queue, one batch at a time, until it is empty or the queue is closed. */
  private async pump(): Promise<void> {
    if (this.sending || !this.flowing) return;
    this.sending = true;
    let attempt = 0;
    // After a batch failed for a reason that belongs to one of its records, send the records of
    // that batch one by one to find it.
    let isolate = 0;
    try {
      while (this.queue.length > 0 && this.flowing) {
        const batch = this.queue.slice(0, isolate > 0 ? 1 : this.opts.maxBatch);
        for (const p of batch) p.inFlight = true;
        try {
          if (!this.producer) await this.connectProducer();
          const partitions = batch.map((p) => p.partition ?? this.opts.partitionOf(p.key));
          for (const p of batch) p.attempted = true;
          const result = await this.producer!.send(
            batch.map((p, i) => ({ key: p.key, value: p.value, partition: partitions[i]! })),
          );
          this.queue.splice(0, batch.length);
          this.opts.metrics.buffered.set(this.queue.length);
          this.opts.metrics.produced.inc({ topic: this.opts.topic }, batch.length);
          settle(batch, partitions, result);
          if (!this.producerOkValue) this.opts.log.info({}, 'kafka produce works again');
          this.producerOkValue = true;
          attempt = 0;
          if (isolate > 0) isolate--;
        } catch (err) {
          for (const p of batch) p.inFlight = false;
          if (!this.flowing) break;
          if (isRecordError(err)) {
            if (batch.length > 1) {
              isolate = batch.length;
            } else {
              this.queue.shift();
              this.opts.metrics.buffered.set(this.queue.length);
              this.countError('rejected');
              batch[0]!.reject(
                new BusError('bus_rejected', `Kafka refused the message: ${(err as Error).message}`, {
                  cause: err,
                }),
              );
              if (isolate > 0) isolate--;
            }
            continue;
          }
          this.producerOkValue = false;
          this.countError('produce');
          this.opts.log.warn(
            { err, waiting: this.queue.length, attempt },
            'kafka produce failed; retrying with a new producer',
          );
          const old = this.detachProducer();
          await old?.disconnect().catch(() => undefined);
          await this.naps.nap(this.retryDelayMs(attempt++));
          this.expire();
        }
      }
    } finally {
      this.sending = false;
    }
  }

  /** Rejects publishes that waited too long and are not being sent right now. */
  private expire(): void {
    const limit = Date.now() - this.opts.bufferTimeoutMs;
    if (this.queue.length === 0 || this.queue[0]!.at > limit) return;
    let kept = 0;
    for (const p of this.queue) {
      if (!p.inFlight && p.at <= limit) {
        this.countError('buffer_timeout');
        // A request that failed without an answer (a timeout, a dropped connection) may have been
        // written all the same: say so, rather than "nothing was published".
        p.reject(
          p.attempted
            ? new BusError(
                'bus_uncertain',
                `Kafka did not acknowledge within ${this.opts.bufferTimeoutMs} ms; the message was sent and may still be delivered`,
              )
            : new BusError(
                'bus_unavailable',
                `Kafka did not acknowledge within ${this.opts.bufferTimeoutMs} ms`,
              ),
        );
      } else {
        this.queue[kept++] = p;
      }
    }
    this.queue.length = kept;
    this.opts.metrics.buffered.set(kept);
  }

  private countError(kind: BusErrorKind): void {
    this.opts.metrics.errors.inc({ kind });
  }
}

/** Broker answers that condemn a record rather than the connection: retrying cannot help. */
const RECORD_ERRORS: ReadonlySet<string> = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
]);

function isRecordError(err: unknown): boolean {
  const type = (err as { type?: unknown } | null)?.type;
  return (
    err instanceof Error &&
    err.name === 'KafkaJSProtocolError' &&
    typeof type === 'string' &&
    RECORD_ERRORS.has(type)
  );
}

/** Resolves each publish with `partition:offset`, computed from the per-partition base offsets. */
function settle(batch: Pending[], partitions: number[], result: RecordMetadata[]): void {
  const next = new Map<number, bigint>();
  for (const r of result) if (r.baseOffset !== undefined) next.set(r.partition, BigInt(r.baseOffset));
  batch.forEach((p, i) => {
    const part = partitions[i]!;
    const off = next.get(part);
    if (off !== undefined) next.set(part, off + 1n);
    p.resolve(off !== undefined ? { offset: `${part}:${off}` } : {});
  });
}
