/**
 * What the client keeps per subscribed channel across reconnects: the position it resumes from,
 * the ids it has seen (to drop repeats of a recovery), and the `subscribe()` calls still waiting.
 */
import { idsOf, mergeSync, syncOf, withSync, type Sync } from '../../shared/src/sync.js';
import type { Position } from '../../shared/src/frames.js';

export class ChannelState {
  /** origin -> id of the last message seen from there. */
  readonly pos: Record<string, string> = {};
  /**
   * How far this channel's stream is held, per origin (services/shared/src/sync.ts): the highest
   * sync point of the acks and pongs received while the channel was live. Undefined before the
   * first ack.
   */
  sync: Sync | undefined;
  /** True once the server acknowledged the subscription on the current connection. */
  live = false;
  /** Messages received during a recovery, counted for the `resubscribed` event. */
  missed = 0;
  /** `subscribe()` calls made while disconnected, settled by the next ack. */
  readonly waiters: Array<{ resolve(): void; reject(err: Error): void }> = [];
  /** Recently seen ids, oldest first, for dropping duplicates. */
  private readonly recent: string[] = [];
  private readonly recentSet = new Set<string>();

  constructor(private readonly dedupWindow: number) {}

  /** Where to resume from: the last ids with the sync point, once the server has acked. */
  position(): Position | undefined {
    return this.sync !== undefined ? withSync(this.pos, this.sync) : undefined;
  }

  /**
   * Takes a message's position; false when its id was seen already (recovered twice within the
   * skew window, or redelivered), so the caller drops it.
   */
  accept(pos: Readonly<Record<string, string>>): boolean {
    const entries = Object.entries(pos);
    const id = entries.length > 0 ? entries[0]![1] : undefined;
    if (id === undefined) return true;
    if (this.recentSet.has(id)) return false;
    this.recent.push(id);
    this.recentSet.add(id);
    if (this.recent.length > this.dedupWindow) this.recentSet.delete(this.recent.shift()!);
    for (const [origin, mid] of entries) this.pos[origin] = mid;
    return true;
  }

  /** The server acked the subscription: start from its position for origins not heard from yet. */
  acked(ackPos: Position | undefined): void {
    this.live = true;
    if (ackPos === undefined) return;
    for (const [k, v] of Object.entries(idsOf(ackPos))) if (this.pos[k] === undefined) this.pos[k] = v;
    this.sync = mergeSync(this.sync, syncOf(ackPos));
  }

  /** A pong's sync point: everything it covers was written before it, so a live channel holds it. */
  heldUpTo(sync: Sync): void {
    if (this.live) this.sync = mergeSync(this.sync, sync);
  }

  rejectWaiters(err: Error): void {
    for (const w of this.waiters.splice(0)) w.reject(err);
  }
}
