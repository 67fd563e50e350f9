/**
 * In-process bus: the reference implementation of {@link Bus}, used by embedded mode and tests.
 *
 * A {@link MemoryBusNetwork} plays one region's cluster: one log that every instance created from
 * it reads, each instance seeing every record appended after it started. Delivery is asynchronous
 * (next macrotask) so that callers never observe re-entrant delivery, as with a real broker. Order
 * per channel per origin holds because a network delivers in append order.
 *
 * Stamps and progress work as they do on Kafka (bus.ts): the network stamps each record when it
 * appends it (its clock, never going back), and writes a *tick* into its log every `tickMs` for
 * each origin that publishes into it; a tick read means every earlier record of that origin has
 * been read. {@link MemoryBusNetwork.replicateTo} copies a network's own records and ticks to
 * another network, in order, after a delay, stamps kept: two networks so linked behave like two
 * regions with MirrorMaker between them, which is how the recovery tests put replication lag
 * between regions.
 */
import type { Bus, BusHandler, BusHealth, BusMessage, PublishReceipt } from './bus.js';
import { BusError } from './bus.js';
import { MessageDedup } from './dedup-window.js';

/** One record of a network's log: a message, or a progress tick of one origin. */
type LogRecord =
  { readonly msg: BusMessage; readonly stamp: number } | { readonly tick: string; readonly stamp: number };

export interface MemoryBusNetworkOptions {
  /** The region this network's own records come from; it ticks for it from the start. Default `local`. */
  readonly region?: string;
  /** How often the network writes a progress tick per own origin (ms). Default 50. */
  readonly tickMs?: number;
}

/** A set of memory buses that see each other's messages: one region's log. */
export class MemoryBusNetwork {
  readonly members = new Set<MemoryBus>();
  readonly region: string;
  private queue: LogRecord[] = [];
  private scheduled = false;
  private offset = 0;
  private lastStamp = 0;
  /** Origins whose records are appended here first (not copies): the network ticks for them. */
  private readonly own = new Set<string>();
  /** Every origin whose records this network holds: its own and those replicated into it. */
  readonly origins = new Set<string>();
  private readonly links: Array<(r: LogRecord) => void> = [];
  private readonly replicas: MemoryBusNetwork[] = [];
  private ticker: NodeJS.Timeout | undefined;

  constructor(private readonly opts: MemoryBusNetworkOptions = {}) {
    this.region = opts.region ?? 'local';
    this.own.add(this.region);
    this.origins.add(this.region);
  }

  /** The network's clock: wall time that never goes back. */
  now(): number {
    this.lastStamp = Math.max(this.lastStamp, Date.now());
    return this.lastStamp;
  }

  /**
   * Copies every record and tick of this network's own origins to `target`, in order, each after
   * `delayMs()` (at least the previous one's delivery time), with its stamp: replication.
   */
  replicateTo(target: MemoryBusNetwork, delayMs: () => number = () => 0): void {
    for (const o of this.own) target.origins.add(o);
    this.replicas.push(target);
    // One queue and one timer per link: separate timers for records due in the same millisecond
    // may fire out of order, and replication never reorders a log.
    const queue: Array<{ r: LogRecord; due: number }> = [];
    let timer: NodeJS.Timeout | undefined;
    const drain = (): void => {
      timer = undefined;
      const now = Date.now();
      while (queue.length > 0 && queue[0]!.due <= now) target.append(queue.shift()!.r);
      if (queue.length > 0) timer = setTimeout(drain, Math.max(1, queue[0]!.due - now)).unref();
    };
    this.links.push((r) => {
      const due = Math.max(queue.at(-1)?.due ?? 0, Date.now() + Math.max(0, delayMs()));
      queue.push({ r, due });
      timer ??= setTimeout(drain, Math.max(0, due - Date.now())).unref();
    });
  }

  /** Stops ticking; the network delivers nothing more of its own. */
  close(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  /** @internal a member published a message */
  enqueue(msg: BusMessage): number {
    if (!this.own.has(msg.origin)) {
      this.own.add(msg.origin);
      this.origins.add(msg.origin);
      for (const r of this.replicas) r.origins.add(msg.origin);
    }
    const r: LogRecord = { msg, stamp: this.now() };
    this.append(r);
    for (const link of this.links) link(r);
    return this.offset - 1;
  }

  /** @internal a member started: ticks flow while anyone listens */
  joined(): void {
    this.ticker ??= setInterval(() => this.tick(), this.opts.tickMs ?? 50).unref();
  }

  private tick(): void {
    for (const origin of this.own) {
      const r: LogRecord = { tick: origin, stamp: this.now() };
      this.append(r);
      for (const link of this.links) link(r);
    }
  }

  private append(r: LogRecord): void {
    this.offset++;
    this.queue.push(r);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const r of batch) {
      for (const member of this.members) member.receive(r);
    }
  };
}

export class MemoryBus implements Bus {
  private handler: BusHandler | undefined;
  private closed = false;
  private readonly probes = new Map<string, () => void>();
  private probeSeq = 0;
  /** Drops a message id seen recently (the contract's bounded dedup window). */
  private readonly seen = new MessageDedup(50_000);

  constructor(private readonly network: MemoryBusNetwork = new MemoryBusNetwork()) {}

  async start(handler: BusHandler): Promise<void> {
    if (this.closed) throw new BusError('bus_closed', 'bus is closed');
    this.handler = handler;
    this.network.members.add(this);
    this.network.joined();
    // Everything appended from now on reaches this instance: history is complete from here, for
    // every origin, and so is progress (nothing before it is owed to anyone subscribing here).
    const now = this.network.now();
    handler.reading?.(undefined, now);
    for (const o of this.network.origins) handler.progress?.(o, now - 1);
  }

  async publish(msg: BusMessage): Promise<PublishReceipt> {
    if (this.closed) throw new BusError('bus_closed', 'bus is closed');
    return { offset: String(this.network.enqueue(msg)) };
  }

  health(): BusHealth {
    return this.closed
      ? { ok: false, reason: 'closed' }
      : this.handler
        ? { ok: true }
        : { ok: false, reason: 'not_started' };
  }

  probe(timeoutMs: number): Promise<void> {
    if (this.closed || !this.handler)
      return Promise.reject(new BusError('bus_unavailable', 'bus is not running'));
    const key = `probe:${++this.probeSeq}`;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.probes.delete(key);
        reject(new BusError('bus_unavailable', `probe did not return within ${timeoutMs} ms`));
      }, timeoutMs);
      this.probes.set(key, () => {
        clearTimeout(timer);
        resolve();
      });
      // Probes travel the same queue as messages but only ever reach their sender.
      setImmediate(() => this.probes.get(key)?.());
    }).finally(() => this.probes.delete(key));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.network.members.delete(this);
    this.handler = undefined;
  }

  /** @internal called by the network */
  receive(r: LogRecord): void {
    const h = this.handler;
    if (h === undefined) return;
    if ('tick' in r) {
      // A later record may share the tick's millisecond: only what is stamped before it is done.
      h.progress?.(r.tick, r.stamp - 1);
      return;
    }
    const { msg, stamp } = r;
    if (!h.wants(msg.channel)) h.skipped?.(msg.channel, msg, stamp, msg.origin);
    else if (this.seen.add(msg.id)) h.deliver(msg, stamp);
  }
}

// Compile-time check that the reference implementation satisfies the contract.
const _check: Bus = new MemoryBus();
void _check;
