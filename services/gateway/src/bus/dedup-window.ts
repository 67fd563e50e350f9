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
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('dedupWindow: must be a positive integer');
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
