/**
 * In-process bus: the reference implementation of {@link Bus}, used by embedded mode and tests.
 *
 * Instances created from one {@link MemoryBusNetwork} behave like gateways sharing one Kafka
 * cluster: every instance receives every message published after it started. Delivery is
 * asynchronous (next macrotask) so that callers never observe re-entrant delivery, as with a real
 * broker. Ordering per channel per origin holds because one network delivers in publish order.
 */
import type { Bus, BusHandler, BusHealth, BusMessage, PublishReceipt } from './bus.js';
import { BusError } from './bus.js';
import { DedupWindow } from './dedup-window.js';

/** A set of memory buses that see each other's messages. */
export class MemoryBusNetwork {
  readonly members = new Set<MemoryBus>();
  private queue: BusMessage[] = [];
  private scheduled = false;
  private offset = 0;

  /** @internal */
  enqueue(msg: BusMessage): number {
    this.queue.push(msg);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
    return this.offset++;
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const msg of batch) {
      for (const member of this.members) member.receive(msg);
    }
  };
}

export class MemoryBus implements Bus {
  private handler: BusHandler | undefined;
  private closed = false;
  private readonly probes = new Map<string, () => void>();
  private probeSeq = 0;
  /** Drops a message id seen recently (the contract's bounded dedup window). */
  private readonly seen = new DedupWindow(50_000);

  constructor(private readonly network: MemoryBusNetwork = new MemoryBusNetwork()) {}

  async start(handler: BusHandler): Promise<void> {
    if (this.closed) throw new BusError('bus_closed', 'bus is closed');
    this.handler = handler;
    this.network.members.add(this);
  }

  async publish(msg: BusMessage): Promise<PublishReceipt> {
    if (this.closed) throw new BusError('bus_closed', 'bus is closed');
    return { offset: String(this.network.enqueue(msg)) };
  }

  health(): BusHealth {
    return this.closed ? { ok: false, reason: 'closed' } : this.handler ? { ok: true } : { ok: false, reason: 'not_started' };
  }

  probe(timeoutMs: number): Promise<void> {
    if (this.closed || !this.handler) return Promise.reject(new BusError('bus_unavailable', 'bus is not running'));
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
  receive(msg: BusMessage): void {
    const h = this.handler;
    if (h === undefined) return;
    if (!h.wants(msg.channel)) h.skipped?.(msg.channel, msg);
    else if (this.seen.add(msg.id)) h.deliver(msg);
  }
}

// Compile-time check that the reference implementation satisfies the contract.
const _check: Bus = new MemoryBus();
void _check;
