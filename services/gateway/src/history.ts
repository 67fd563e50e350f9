/**
 * Bounded per-channel history, fed from the bus, that answers "everything after this position"
 * for clients that reconnect (design.md §2, Positions).
 *
 * Every gateway keeps the recent messages of every channel, not only the ones its clients hold,
 * because a client may reconnect to any gateway in any region. To keep that cheap, records nobody
 * here subscribes to are retained as the raw envelope bytes the bus read (no decoding, no copy)
 * and decoded only if a recovery ever asks for them.
 *
 * Memory is bounded three ways: entries per channel, total bytes, and age. Eviction is FIFO over
 * one global arrival-ordered list, so each channel's entries are also in arrival order (which is
 * the per-origin order the bus guarantees) and the oldest entry of a channel is always at its head.
 *
 * Coverage: a channel's history covers every message that arrived after its *floor*: the later of
 * when this history began and the origin timestamp of the newest entry evicted from the channel.
 * A recovery point older than the floor cannot be answered ("recovered: false").
 */
import { decodeEnvelope } from '../../shared/src/envelope.js';
import type { Position } from '../../shared/src/frames.js';
import type { BusMessage } from './bus/bus.js';

/** Reserved key of a position vector: the client's last known in-sync server time (ms, decimal). */
export const SYNC_KEY = '@';

export interface HistoryOptions {
  /** Most entries kept per channel. */
  readonly perChannel: number;
  /** Most bytes kept in all (payload or raw envelope sizes). */
  readonly maxBytes: number;
  /** Oldest entry kept (ms). */
  readonly maxAgeMs: number;
  /**
   * Origin clocks differ and replication lags: a message stamped up to this long before a client's
   * sync time may still have been in flight then. Recovery of origins the client has not heard
   * from reaches back this much further.
   */
  readonly skewMs: number;
}

interface Entry {
  readonly channel: string;
  /** Decoded, or the raw envelope until first needed. */
  value: BusMessage | Uint8Array;
  readonly bytes: number;
  /** Local arrival time (ms), for age eviction. */
  readonly at: number;
  /** Origin time (ms) when known before decoding (the Kafka record timestamp), for floors. */
  readonly ts: number | undefined;
  /** Set when removed, so the channel's deque can skip it lazily. */
  evicted: boolean;
}

interface ChannelLog {
  entries: Entry[];
  /** Index of the first live entry (lazy shift). */
  head: number;
  /** Origin ts of the newest entry evicted by the per-channel cap. */
  floor: number;
}

export type Recovery =
  | { readonly recovered: true; readonly messages: readonly BusMessage[] }
  | { readonly recovered: false; readonly sync: number; readonly floor: number };

export class History {
  private readonly channels = new Map<string, ChannelLog>();
  private fifo: Entry[] = [];
  private fifoHead = 0;
  private bytes = 0;
  /** Origin ts below which global (age/size) eviction may have removed entries of any channel. */
  private globalFloor: number;

  constructor(private readonly opts: HistoryOptions, startedAt: number = Date.now()) {
    this.globalFloor = startedAt;
  }

  get size(): number {
    return this.fifo.length - this.fifoHead;
  }

  get byteSize(): number {
    return this.bytes;
  }

  /** Every channel's history is complete for messages stamped after this time (ms). */
  get coveredSince(): number {
    return this.globalFloor;
  }

  /**
   * Lowers the floor to `since`: called after warming the history by reading back from the bus,
   * which delivered everything since then.
   */
  coverFrom(since: number): void {
    this.globalFloor = Math.min(this.globalFloor, since);
  }

  /** Keeps a decoded message (one that local subscribers received). */
  add(msg: BusMessage, now: number = Date.now()): void {
    // A decoded payload may be a view into a whole Kafka fetch response; keeping the view would
    // pin that buffer for as long as the entry lives, far beyond what the byte bound counts.
    const p = msg.payload;
    const kept = p.buffer.byteLength > p.byteLength * 2 + 64 ? { ...msg, payload: Uint8Array.prototype.slice.call(p) } : msg;
    this.push(msg.channel, kept, p.byteLength + 64, now, msg.ts);
  }

  /** Keeps a record nobody here wanted, undecoded; `ts` is its timestamp if the bus knows it. */
  addRaw(channel: string, value: Uint8Array, now: number = Date.now(), ts?: number): void {
    this.push(channel, value, value.byteLength + 32, now, ts !== undefined && Number.isFinite(ts) ? ts : undefined);
  }

  private push(channel: string, value: BusMessage | Uint8Array, bytes: number, now: number, ts: number | undefined): void {
    let log = this.channels.get(channel);
    if (log === undefined) {
      log = { entries: [], head: 0, floor: 0 };
      this.channels.set(channel, log);
    }
    const e: Entry = { channel, value, bytes, at: now, ts, evicted: false };
    log.entries.push(e);
    this.fifo.push(e);
    this.bytes += bytes;
    if (log.entries.length - log.head > this.opts.perChannel) {
      const old = log.entries[log.head]!;
      this.evict(old);
      log.floor = Math.max(log.floor, tsOf(old));
      this.compact(log, channel);
    }
    this.trim(now);
  }

  /** Evicts by age and size from the global head. */
  trim(now: number = Date.now()): void {
    const minAt = now - this.opts.maxAgeMs;
    while (this.fifoHead < this.fifo.length) {
      const e = this.fifo[this.fifoHead]!;
      if (!e.evicted && e.at >= minAt && this.bytes <= this.opts.maxBytes) break;
      this.fifoHead++;
      if (e.evicted) continue;
      this.evict(e);
      this.globalFloor = Math.max(this.globalFloor, tsOf(e));
      const log = this.channels.get(e.channel);
      if (log !== undefined) this.compact(log, e.channel);
    }
    if (this.fifoHead > 4096 && this.fifoHead * 2 > this.fifo.length) {
      this.fifo = this.fifo.slice(this.fifoHead);
      this.fifoHead = 0;
    }
  }

  private evict(e: Entry): void {
    e.evicted = true;
    this.bytes -= e.bytes;
  }

  private compact(log: ChannelLog, channel: string): void {
    while (log.head < log.entries.length && log.entries[log.head]!.evicted) log.head++;
    if (log.head === log.entries.length) {
      // Per-channel floors only matter while the channel has entries; once it is empty the
      // global floor (or the channel floor kept here) still bounds it.
      if (log.floor <= this.globalFloor) this.channels.delete(channel);
      else {
        log.entries = [];
        log.head = 0;
      }
    } else if (log.head > 64 && log.head * 2 > log.entries.length) {
      log.entries = log.entries.slice(log.head);
      log.head = 0;
    }
  }

  /**
   * The channel's latest position: origin -> id of the newest retained message from there, plus
   * the sync key set to `now`. This is what a subscriber starts its recovery point from.
   */
  position(channel: string, now: number = Date.now()): Record<string, string> {
    const pos: Record<string, string> = {};
    const log = this.channels.get(channel);
    if (log !== undefined) {
      for (let i = log.entries.length - 1; i >= log.head; i--) {
        const e = log.entries[i]!;
        if (e.evicted) continue;
        const m = this.decoded(e);
        if (m !== undefined && pos[m.origin] === undefined) pos[m.origin] = m.id;
      }
    }
    pos[SYNC_KEY] = String(now);
    return pos;
  }

  /**
   * What a client that saw everything up to `since` missed on `channel`, in arrival order (so in
   * order per origin), without duplicates.
   *
   * - For an origin whose id in `since` is retained here: every entry after it. Exact.
   * - For any other origin (not in `since`, or its id evicted or not arrived yet because of
   *   replication lag): every entry stamped after the sync time less the skew. This may repeat a
   *   few messages the client saw within the skew window; the client drops them by id.
   * - Not recoverable when the sync time is missing or older than the channel's floor.
   */
  recover(channel: string, since: Position): Recovery {
    const sync = Number(since[SYNC_KEY]);
    const log = this.channels.get(channel);
    const floor = Math.max(this.globalFloor, log?.floor ?? 0);
    if (!Number.isFinite(sync) || sync <= 0 || sync - this.opts.skewMs < floor) return { recovered: false, sync, floor };
    if (log === undefined) return { recovered: true, messages: [] };

    const live: BusMessage[] = [];
    for (let i = log.head; i < log.entries.length; i++) {
      const e = log.entries[i]!;
      if (e.evicted) continue;
      const m = this.decoded(e);
      if (m !== undefined) live.push(m);
    }
    // Where each known origin's missed messages start: after the last occurrence of its id.
    const startAfter = new Map<string, number>();
    for (let i = 0; i < live.length; i++) {
      const m = live[i]!;
      if (since[m.origin] === m.id) startAfter.set(m.origin, i);
    }
    const seen = new Set<string>();
    const out: BusMessage[] = [];
    for (let i = 0; i < live.length; i++) {
      const m = live[i]!;
      const after = startAfter.get(m.origin);
      if (after !== undefined) {
        if (i <= after) continue;
      } else if (m.ts < sync - this.opts.skewMs) {
        continue;
      }
      if (seen.has(m.id)) continue; // a producer retry written twice
      seen.add(m.id);
      out.push(m);
    }
    return { recovered: true, messages: out };
  }

  private decoded(e: Entry): BusMessage | undefined {
    if (!(e.value instanceof Uint8Array)) return e.value;
    try {
      e.value = decodeEnvelope(e.value);
      return e.value;
    } catch {
      // Malformed records were already counted by the bus; they simply are not history.
      this.evict(e);
      return undefined;
    }
  }
}

function tsOf(e: Entry): number {
  if (!(e.value instanceof Uint8Array)) return e.value.ts;
  // Undecoded: the record timestamp, or else its arrival time, a safe upper bound of its origin time.
  return e.ts ?? e.at;
}
