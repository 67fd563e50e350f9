/**
 * The Redis bus: the fleet's {@link Bus} on Redis Streams, for small deployments
 * (docs/redis.md; how its guarantees differ from Kafka's: docs/architecture.md).
 *
 * Streams and entries: each region's gateways append to one stream on that region's Redis,
 * `<streamPrefix><region>` (services/shared/src/names.ts), each entry with two fields: `ch`, the
 * channel, and `env`, the protobuf envelope. Every gateway reads its own region's stream from its
 * Redis and every other region's stream directly from that region's Redis (`remotes`), from the
 * time it started (less `startSlackMs`), after reading `readBackMs` before it into history.
 * Appends trim the stream by age (`MINID ~`), so it holds the history window, not a retention.
 * There are no consumer groups: every gateway reads everything and keeps its own position.
 *
 * Start and readiness:
 * - `start()` resolves once this region's Redis answered and the local stream is being read; while
 *   Redis is away it keeps trying in the background, `health()` naming why (`connecting`,
 *   `redis_unreachable`, `redis_auth_failed`, `redis_tls_failed`, `redis_unresponsive`,
 *   `reader_down`, `buffer_full`, `closed`).
 * - `probe()` appends an entry with the reserved channel `__wsgw.probe.<node>.<instance>.<n>` and
 *   resolves when this instance reads it back; readers skip reserved channels before `wants()`.
 *
 * Publishing (./redis-publish-queue.ts) and reading (./redis-stream-reader.ts, which also says how
 * stamps and progress are derived) have modules of their own.
 */
import { randomBytes } from 'node:crypto';
import { encodeEnvelope } from '../../../shared/src/envelope.js';
import { originStream } from '../../../shared/src/names.js';
import { backoff, Naps } from './backoff.js';
import type { Bus, BusHandler, BusHealth, BusMessage, PublishReceipt } from './bus.js';
import { BusError } from './bus.js';
import { MessageDedup } from './dedup-window.js';
import { noLog, type BusLogger } from './kafka-bus-options.js';
import { KafkaBusMetrics } from './kafka-metrics.js';
import { Probes } from './kafka-probe.js';
import { describe, RedisConnectError, RedisConnection, type RedisDownReason } from './redis-connection.js';
import {
  redactUrl,
  resolveRedisBusOptions,
  type RedisBusOptions,
  type ResolvedRedisBusOptions,
} from './redis-options.js';
import { RedisPublishQueue } from './redis-publish-queue.js';
import { StreamReader } from './redis-stream-reader.js';

export type { RedisBusOptions } from './redis-options.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class RedisBus implements Bus {
  /** Metrics under the same names as the Kafka bus's (`topic` labels name streams here). */
  readonly metrics: KafkaBusMetrics;
  /** The stream this gateway appends to. */
  readonly stream: string;
  private readonly opts: ResolvedRedisBusOptions;
  private readonly log: BusLogger;
  private readonly instance = randomBytes(4).toString('hex');
  private readonly probes: Probes;
  private readonly queue: RedisPublishQueue;
  private readonly dedup: MessageDedup;
  private readonly naps = new Naps();
  private readonly readers: StreamReader[] = [];
  private local: StreamReader | undefined;
  private readonly progressed = new Map<string, number>();

  private handler: BusHandler | undefined;
  private starting: Promise<void> | undefined;
  private state: 'new' | 'connecting' | 'running' | 'closed' = 'new';
  private conn: RedisConnection | undefined;
  /** Why the publishing connection is down, while it is. */
  private downReason: RedisDownReason | undefined = undefined;
  private closing: Promise<void> | undefined;

  constructor(options: RedisBusOptions) {
    const opts = resolveRedisBusOptions(options);
    this.opts = opts;
    this.log = options.logger ?? noLog;
    this.metrics = new KafkaBusMetrics(options.registry, () => this.health().ok);
    this.stream = originStream(opts.region, opts.streamPrefix);
    this.probes = new Probes(opts.region, opts.nodeId, this.instance);
    this.dedup = new MessageDedup(opts.dedupWindow);
    this.queue = new RedisPublishQueue({
      stream: this.stream,
      bufferLimit: opts.bufferLimit,
      bufferTimeoutMs: opts.bufferTimeoutMs,
      maxBatch: opts.maxBatch,
      maxMessageBytes: opts.maxMessageBytes,
      ackTimeoutMs: opts.ackTimeoutMs,
      waitReplicas: opts.waitReplicas,
      retainMs: opts.retainMs,
      // A batch unanswered this long: replace the connection (its socket may be dead silently).
      onStuck: () => this.conn?.fail('redis_unresponsive', new Error('a publish went unanswered')),
      metrics: this.metrics,
      log: this.log,
    });
  }

  private isClosed(): boolean {
    return this.state === 'closed';
  }

  start(handler: BusHandler): Promise<void> {
    if (this.state === 'closed') return Promise.reject(new BusError('bus_closed', 'bus is closed'));
    if (this.starting) return this.starting;
    this.handler = handler;
    this.state = 'connecting';
    this.starting = this.begin(Date.now());
    return this.starting;
  }

  publish(msg: BusMessage): Promise<PublishReceipt> {
    if (this.state === 'closed') return Promise.reject(new BusError('bus_closed', 'bus is closed'));
    // The stream says where an entry comes from, and every reader checks the envelope against it.
    if (msg.origin !== this.opts.region)
      return Promise.reject(
        new BusError(
          'bus_rejected',
          `message origin ${msg.origin} is not this bus's region ${this.opts.region}`,
        ),
      );
    return this.queue.enqueue(msg.channel, encodeEnvelope(msg));
  }

  health(): BusHealth {
    switch (this.state) {
      case 'closed':
        return { ok: false, reason: 'closed' };
      case 'new':
        return { ok: false, reason: 'not_started' };
      case 'connecting':
        return { ok: false, reason: this.downReason ?? 'connecting' };
    }
    if (this.queue.stuck) return { ok: false, reason: 'redis_unresponsive' };
    if (!this.queue.ok) return { ok: false, reason: this.downReason ?? 'redis_unreachable' };
    if (this.local !== undefined && !this.local.up)
      return { ok: false, reason: this.local.reason ?? 'reader_down' };
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

  private warmResolve: (since: number) => void = () => {};
  /**
   * Resolves, once the local stream's read-back is done, with the time from which the handler has
   * seen every entry of it (the read-back window's start).
   */
  readonly historyWarm: Promise<number> = new Promise((r) => (this.warmResolve = r));

  // -------------------------------------------------------------------------------------------
  // Connecting

  private async begin(startedAt: number): Promise<void> {
    const liveFrom = startedAt - this.opts.startSlackMs;
    const from = liveFrom - this.opts.readBackMs;
    let localUp!: () => void;
    const localRead = new Promise<void>((r) => (localUp = r));
    this.local = this.reader(this.opts.url, this.opts.region, true, from, liveFrom, localUp);
    const remotes = this.opts.remotes.map((r) =>
      this.reader(r.url, r.region, false, from, liveFrom, () => {}),
    );
    // The publishing connection, kept open (and reopened) for as long as the bus runs.
    const published = this.keepPublishing();
    this.local.start();
    for (const r of remotes) r.start();
    await Promise.race([Promise.all([published, localRead]), this.closedSignal]);
    if (this.isClosed()) throw new BusError('bus_closed', 'bus closed before it connected');
    this.state = 'running';
    this.log.info(
      { url: redactUrl(this.opts.url), stream: this.stream, remotes: this.opts.remotes.map((r) => r.region) },
      'redis bus running',
    );
  }

  private closedResolve: () => void = () => {};
  private readonly closedSignal: Promise<void> = new Promise((r) => (this.closedResolve = r));

  private reader(
    url: string,
    region: string,
    own: boolean,
    from: number,
    liveFrom: number,
    onUp: () => void,
  ): StreamReader {
    let wasUp: boolean | undefined;
    if (!own) this.metrics.remoteUp.set({ region }, 0);
    const r = new StreamReader({
      url,
      clientName: `wsgw-${this.opts.region}-${this.opts.nodeId}-read-${region}`,
      connectTimeoutMs: this.opts.connectTimeoutMs,
      stream: originStream(region, this.opts.streamPrefix),
      origin: region,
      own,
      from,
      liveFrom,
      blockMs: this.opts.blockMs,
      readCount: this.opts.readCount,
      stampSkewMs: this.opts.stampSkewMs,
      stallMs: this.opts.ackTimeoutMs,
      dedup: this.dedup,
      handler: () => (this.isClosed() ? undefined : this.handler),
      onProbe: (key) => this.probes.answered(key),
      onCovered: (origin, since) => {
        this.handler?.reading?.(origin, since);
        if (own) this.warmResolve(since);
      },
      onProgress: (origin, s) => {
        const prev = this.progressed.get(origin);
        if (prev !== undefined && s <= prev) return;
        this.progressed.set(origin, s);
        this.handler?.progress?.(origin, s);
      },
      onState: (up, reason, err) => {
        if (!own) this.metrics.remoteUp.set({ region }, up ? 1 : 0);
        if (up) onUp();
        if (up === wasUp) return;
        wasUp = up;
        if (up) this.log.info({ origin: region, url: redactUrl(url) }, 'reading the stream');
        else {
          this.metrics.errors.inc({ kind: 'consumer_crash' });
          this.log.warn(
            { origin: region, url: redactUrl(url), reason, err: describe(err) },
            own ? 'cannot read the local stream; retrying' : 'remote region unreachable; retrying',
          );
        }
      },
      metrics: this.metrics,
      log: this.log,
    });
    this.readers.push(r);
    return r;
  }

  /** Opens the publishing connection, and a new one whenever it goes; resolves on the first. */
  private keepPublishing(): Promise<void> {
    let first!: () => void;
    const opened = new Promise<void>((r) => (first = r));
    const loop = async (): Promise<void> => {
      let attempt = 0;
      let lastReason: RedisDownReason | undefined;
      while (!this.isClosed()) {
        let down!: () => void;
        const gone = new Promise<void>((r) => (down = r));
        try {
          this.conn = await RedisConnection.open({
            url: this.opts.url,
            name: `wsgw-${this.opts.region}-${this.opts.nodeId}-publish`,
            connectTimeoutMs: this.opts.connectTimeoutMs,
            onDown: (reason, err) => {
              this.downReason = reason;
              this.queue.detach();
              this.metrics.errors.inc({ kind: 'connect' });
              this.log.warn({ reason, err: describe(err) }, 'lost the connection to Redis; reconnecting');
              down();
            },
          });
        } catch (err) {
          const reason = err instanceof RedisConnectError ? err.reason : 'redis_unreachable';
          this.downReason = reason;
          this.metrics.errors.inc({ kind: 'connect' });
          // One line per change of reason, not one per retry.
          if (reason !== lastReason)
            this.log.error(
              { reason, url: redactUrl(this.opts.url), err: describe(err) },
              `cannot connect to Redis (${reason}): ${describe(err)}; retrying`,
            );
          lastReason = reason;
          await this.naps.nap(backoff(attempt++));
          continue;
        }
        if (this.isClosed()) {
          this.conn.destroy();
          return;
        }
        attempt = 0;
        lastReason = undefined;
        this.downReason = undefined;
        this.queue.attach(this.conn);
        first();
        await Promise.race([gone, this.closedSignal]);
        if (!this.isClosed()) await this.naps.nap(backoff(attempt++));
      }
    };
    loop().catch((err: unknown) => this.log.error({ err }, 'redis publishing loop failed'));
    return opened;
  }

  // -------------------------------------------------------------------------------------------
  // Closing

  private async shutdown(): Promise<void> {
    const wasRunning = this.state === 'running';
    // Give what is queued a moment to be acknowledged, then refuse the rest.
    this.queue.stopAccepting();
    const deadline = Date.now() + (wasRunning ? 5_000 : 0);
    while (this.queue.length > 0 && Date.now() < deadline && this.queue.ok) await sleep(10);
    this.state = 'closed';
    this.closedResolve();
    this.naps.wakeAll();
    this.queue.close();
    this.conn?.destroy();
    this.queue.detach();
    await Promise.all(this.readers.map((r) => r.stop()));
    this.handler = undefined;
  }
}

// Compile-time check that the Redis bus satisfies the contract.
const _check: (o: RedisBusOptions) => Bus = (o) => new RedisBus(o);
void _check;
