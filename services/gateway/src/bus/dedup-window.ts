/**
 * Remembers the last `capacity` message ids so that a message delivered twice (a producer retry,
 * a consumer replaying after a restart, the same record reaching a region twice) is delivered once.
 * Memory is bounded: the oldest id is forgotten when a new one arrives at capacity.
 */
export class DedupWindow {
  private readonly ids = new Set<string>();
  private readonly ring: (string | undefined)[];
  private next = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('dedupWindow: must be a positive integer');
    this.ring = new Array<string | undefined>(capacity);
  }

  /** Records `id`; returns false when it was already within the window. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    const evicted = this.ring[this.next];
    if (evicted !== undefined) this.ids.delete(evicted);
    this.ring[this.next] = id;
    this.next = (this.next + 1) % this.capacity;
    this.ids.add(id);
    return true;
  }

  get size(): number {
    return this.ids.size;
  }
}

/** Ids that clients choose (`pub.mid`) start with this; gateway-made ids never do. */
export const CLIENT_ID_PREFIX = '~';

/**
 * Duplicates of both kinds of message id. Gateway-made ids repeat only through retries and
 * replays close together, so a window of the last `capacity` ids suffices. Client-chosen ids
 * repeat when an application retries a publish whose outcome it did not learn, possibly minutes
 * later and across reconnects, so they are kept for `clientTtlMs` whatever the traffic (bounded
 * by `clientCapacity`, past which the oldest are forgotten early).
 */
export class MessageDedup {
  private readonly recent: DedupWindow;
  /** Client ids in arrival order, with when each may be forgotten. */
  private readonly clientIds = new Map<string, number>();

  constructor(
    capacity: number,
    readonly clientTtlMs = 600_000,
    readonly clientCapacity = 200_000,
  ) {
    this.recent = new DedupWindow(capacity);
  }

  /** Records `id`; returns false when it is a duplicate within its window. */
  add(id: string, now: number = Date.now()): boolean {
    if (!id.startsWith(CLIENT_ID_PREFIX)) return this.recent.add(id);
    // Forget what has expired (arrival order is expiry order), then check, then make room.
    for (const [old, until] of this.clientIds) {
      if (until > now) break;
      this.clientIds.delete(old);
    }
    if (this.clientIds.has(id)) return false;
    for (const old of this.clientIds.keys()) {
      if (this.clientIds.size < this.clientCapacity) break;
      this.clientIds.delete(old);
    }
    this.clientIds.set(id, now + this.clientTtlMs);
    return true;
  }
}
