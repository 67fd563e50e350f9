/**
 * Publishing on the Redis bus (docs/redis.md, Publishing): publishes wait in a bounded queue and
 * go out in batches, one batch in flight at a time, each entry an `XADD` to the origin stream
 * (pipelined: one round trip per batch), followed by `WAIT <replicas>` where replicas must confirm.
 *
 * What a publish's outcome means, which is why the queue keeps "sent" and "not sent" apart:
 * - resolved: Redis appended the entry (and, with `waitReplicas`, that many replicas hold it);
 * - `bus_unavailable`: never sent (Redis away, the queue full, or it waited `bufferTimeoutMs`
 *   unsent), or refused by Redis without being appended (`OOM`, `READONLY`, `LOADING`, …);
 * - `bus_uncertain`: sent, but neither acknowledged within `ackTimeoutMs` nor refused (a frozen
 *   server, a connection lost with the command on the wire, too few replicas confirming): it may
 *   still be appended, and then delivered;
 * - `bus_rejected`: Redis refused it for good (e.g. `WRONGTYPE`), or it is too large.
 * A batch that timed out stays in flight until Redis answers or its connection is closed, so
 * nothing queued behind it is sent into a server that does not answer; meanwhile `ok` is false.
 */
import { ErrorReply } from 'redis';
import { BusError, type PublishReceipt } from './bus.js';
import type { BusLogger } from './kafka-bus-options.js';
import type { KafkaBusMetrics } from './kafka-metrics.js';
import type { RedisConnection } from './redis-connection.js';

/** Field names of a stream entry: the channel travels apart so that readers skip by it undecoded. */
export const CHANNEL_FIELD = 'ch';
export const ENVELOPE_FIELD = 'env';

interface Pending {
  readonly channel: string;
  readonly value: Uint8Array;
  readonly since: number;
  readonly resolve: (r: PublishReceipt) => void;
  readonly reject: (e: BusError) => void;
}

export interface PublishQueueOptions {
  readonly stream: string;
  readonly bufferLimit: number;
  readonly bufferTimeoutMs: number;
  readonly maxBatch: number;
  readonly maxMessageBytes: number;
  readonly ackTimeoutMs: number;
  readonly waitReplicas: number;
  /** Entries older than this are trimmed by each append (ms). */
  readonly retainMs: number;
  /** A batch has gone unanswered for twice `ackTimeoutMs`: the connection should be replaced. */
  readonly onStuck: () => void;
  readonly metrics: KafkaBusMetrics;
  readonly log: BusLogger;
}

/** Error replies after which Redis has appended nothing and may take the entry later. */
const TRANSIENT_REPLY =
  /^(OOM|READONLY|LOADING|MISCONF|BUSY|NOAUTH|NOPERM|MASTERDOWN|NOREPLICAS|TRYAGAIN|CLUSTERDOWN|MOVED|ASK)\b/;

export class RedisPublishQueue {
  private readonly waiting: Pending[] = [];
  private conn: RedisConnection | undefined;
  private inFlight = false;
  /** When the batch in flight went past its acknowledgement deadline, if it has. */
  private stuckSince: number | undefined;
  private accepting = true;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly opts: PublishQueueOptions) {}

  /** Publishes go out on `conn` from now on. */
  attach(conn: RedisConnection): void {
    this.conn = conn;
    this.pump();
  }

  /** The connection is gone; what waits stays queued until another is attached. */
  detach(): void {
    this.conn = undefined;
  }

  /** Whether publishes are expected to succeed now: connected, and the last batch answered in time. */
  get ok(): boolean {
    return this.conn?.ready === true && this.stuckSince === undefined;
  }

  /** Whether the batch in flight is past its deadline (a frozen or lost server). */
  get stuck(): boolean {
    return this.stuckSince !== undefined;
  }

  get full(): boolean {
    return this.waiting.length >= this.opts.bufferLimit;
  }

  get length(): number {
    return this.waiting.length;
  }

  enqueue(channel: string, value: Uint8Array): Promise<PublishReceipt> {
    const { metrics } = this.opts;
    if (!this.accepting) return Promise.reject(new BusError('bus_closed', 'bus is closed'));
    if (value.byteLength > this.opts.maxMessageBytes) {
      metrics.errors.inc({ kind: 'rejected' });
      return Promise.reject(
        new BusError(
          'bus_rejected',
          `message of ${value.byteLength} bytes exceeds ${this.opts.maxMessageBytes}`,
        ),
      );
    }
    if (this.full) {
      metrics.errors.inc({ kind: 'buffer_full' });
      return Promise.reject(new BusError('bus_unavailable', 'publish buffer is full'));
    }
    return new Promise<PublishReceipt>((resolve, reject) => {
      this.waiting.push({ channel, value, since: Date.now(), resolve, reject });
      metrics.buffered.set(this.waiting.length);
      this.sweeper ??= setInterval(() => this.sweep(), Math.min(250, this.opts.bufferTimeoutMs)).unref();
      this.pump();
    });
  }

  /** Stops taking publishes; those still waiting keep going out until {@link close}. */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Rejects whatever never went out with `bus_closed`. */
  close(): void {
    this.accepting = false;
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const p of this.waiting.splice(0))
      p.reject(new BusError('bus_closed', 'bus closed before the publish was sent'));
    this.opts.metrics.buffered.set(0);
  }

  /** Rejects publishes that waited too long unsent; tells when a batch is stuck. */
  private sweep(): void {
    const now = Date.now();
    let n = 0;
    while (n < this.waiting.length && now - this.waiting[n]!.since >= this.opts.bufferTimeoutMs) n++;
    if (n > 0) {
      this.opts.metrics.errors.inc({ kind: 'buffer_timeout' }, n);
      for (const p of this.waiting.splice(0, n))
        p.reject(
          new BusError(
            'bus_unavailable',
            `Redis did not take the publish within ${this.opts.bufferTimeoutMs} ms`,
          ),
        );
      this.opts.metrics.buffered.set(this.waiting.length);
    }
    if (this.stuckSince !== undefined && now - this.stuckSince >= this.opts.ackTimeoutMs) this.opts.onStuck();
    if (this.waiting.length === 0 && !this.inFlight) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  private pump(): void {
    const conn = this.conn;
    if (this.inFlight || conn === undefined || !conn.ready || this.waiting.length === 0) return;
    const batch = this.waiting.splice(0, this.opts.maxBatch);
    this.opts.metrics.buffered.set(this.waiting.length);
    this.inFlight = true;
    this.send(conn, batch)
      .catch((err: unknown) => this.opts.log.error({ err }, 'redis publish batch failed'))
      .finally(() => {
        this.inFlight = false;
        this.stuckSince = undefined;
        this.pump();
      });
  }

  /** Sends one batch and settles its publishes; resolves once Redis answered or the connection went. */
  private async send(conn: RedisConnection, batch: Pending[]): Promise<void> {
    const { stream, retainMs, waitReplicas, ackTimeoutMs, metrics } = this.opts;
    // Trim by age on the way (`~`: whole nodes at a time, cheap); ids are the server's ms, this is
    // ours: clocks that disagree by seconds only shift the trim by as much.
    const minId = String(Math.max(0, Date.now() - retainMs));
    const appends = batch.map((p) =>
      conn.send([
        'XADD',
        stream,
        'MINID',
        '~',
        minId,
        '*',
        CHANNEL_FIELD,
        p.channel,
        ENVELOPE_FIELD,
        Buffer.from(p.value.buffer, p.value.byteOffset, p.value.byteLength),
      ]),
    );
    const waited =
      waitReplicas > 0
        ? conn.send(['WAIT', String(waitReplicas), String(ackTimeoutMs)])
        : Promise.resolve(null);
    const settled = Promise.allSettled([...appends, waited]);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>(
      (r) => (timer = setTimeout(() => r('late'), ackTimeoutMs + (waitReplicas > 0 ? 1_000 : 0))),
    );
    const first = await Promise.race([settled, late]);
    clearTimeout(timer);
    if (first === 'late') {
      this.stuckSince = Date.now();
      metrics.errors.inc({ kind: 'produce' });
      this.opts.log.warn(
        { stream, entries: batch.length, ackTimeoutMs },
        'Redis did not acknowledge a batch in time',
      );
      for (const p of batch)
        p.reject(
          new BusError(
            'bus_uncertain',
            `Redis did not acknowledge the publish within ${ackTimeoutMs} ms; it may still be delivered`,
          ),
        );
      // Stay in flight until Redis answers or the connection is replaced.
      await settled;
      return;
    }
    const results = first;
    const wait = results.at(-1)!;
    const replicas = wait.status === 'fulfilled' && typeof wait.value === 'number' ? wait.value : 0;
    const confirmed = waitReplicas === 0 || replicas >= waitReplicas;
    let produced = 0;
    batch.forEach((p, i) => {
      const r = results[i]!;
      if (r.status === 'fulfilled') {
        if (!confirmed) {
          p.reject(
            new BusError(
              'bus_uncertain',
              `${replicas} of ${waitReplicas} replicas confirmed the publish within ${ackTimeoutMs} ms`,
            ),
          );
          return;
        }
        produced++;
        p.resolve({ offset: String(r.value) });
        return;
      }
      p.reject(this.failure(r.reason));
    });
    if (produced > 0) metrics.produced.inc({ topic: stream }, produced);
    if (produced < batch.length) metrics.errors.inc({ kind: 'produce' }, batch.length - produced);
  }

  /** What a publish whose command failed tells its publisher. */
  private failure(err: unknown): BusError {
    const msg = err instanceof Error ? err.message : String(err);
    // An error reply means Redis ran the command and appended nothing.
    const replied = err instanceof ErrorReply;
    if (replied && TRANSIENT_REPLY.test(msg))
      return new BusError('bus_unavailable', `Redis refused the publish: ${msg}`, { cause: err });
    if (replied) {
      this.opts.metrics.errors.inc({ kind: 'rejected' });
      return new BusError('bus_rejected', `Redis refused the publish: ${msg}`, { cause: err });
    }
    // The connection went with the command on the wire: it may have been appended.
    return new BusError('bus_uncertain', `the connection to Redis closed before it answered: ${msg}`, {
      cause: err,
    });
  }
}
