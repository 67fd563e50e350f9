/**
 * How far this gateway has handed each origin's stream to its sockets, as the sync point its
 * pongs and sub acks carry (services/shared/src/sync.ts).
 *
 * The bus reports progress per origin (bus.ts): every record of an origin stamped at or before
 * that point has been handed over. Frames are queued in the order the bus hands records over, so a
 * pong queued now follows every message its sync point covers.
 *
 * One common point keeps pongs small: it is the lowest point among origins whose progress is
 * recent. An origin that lags further (its region down, its replication stalled) is listed on its
 * own, so that one stalled region never holds back the others' sync points.
 */
import type { Sync } from '../../shared/src/sync.js';

export class Progress {
  private readonly stamps = new Map<string, number>();

  /** @param laggingAfterMs an origin whose progress is older than this is listed on its own */
  constructor(private readonly laggingAfterMs = 5_000) {}

  /** The bus's report for one origin; progress never goes back. */
  update(origin: string, stamp: number): void {
    const cur = this.stamps.get(origin);
    if (cur === undefined || stamp > cur) this.stamps.set(origin, stamp);
  }

  /** Origins with progress. */
  get origins(): ReadonlySet<string> {
    return new Set(this.stamps.keys());
  }

  /** The sync point to hand a client now; undefined before the bus has reported anything. */
  sync(now: number = Date.now()): Sync | undefined {
    if (this.stamps.size === 0) return undefined;
    let common = Infinity;
    for (const s of this.stamps.values()) if (now - s <= this.laggingAfterMs) common = Math.min(common, s);
    if (common === Infinity) for (const s of this.stamps.values()) common = Math.min(common, s);
    const lagging: Record<string, number> = {};
    for (const [o, s] of this.stamps) if (s < common) lagging[o] = s;
    return { common, lagging };
  }
}
