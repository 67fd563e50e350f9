/**
 * Bounded per-channel history, fed from the bus, that answers "everything after this position"
 * for clients that reconnect (docs/protocol.md, Recovery).
 *
 * Every gateway keeps the recent messages of every channel, not only the ones its clients hold,
 * because a client may reconnect to any gateway in any region. To keep that cheap, records nobody
 * here subscribes to are kept as the raw envelope bytes the bus read (no decoding) and decoded only
 * if a recovery ever asks for them.
 *
 * Memory is bounded three ways: entries per channel, bytes in all, and age. Eviction is FIFO over
 * one global arrival-ordered list, so each channel's entries are also in arrival order (which is the
 * per-origin order the bus guarantees) and a channel's oldest entry is always at its head. The byte
 * bound counts what an entry really costs on the heap, not only its payload (see {@link COST}).
 *
 * What the history vouches for, per channel and origin: every record stamped after its *floor*,
 * where the floor is the highest of where the bus began reading that origin ({@link reading}), the
 * newest stamp of that origin evicted by age or size, and the newest stamp of that channel and
 * origin evicted by the per-channel cap. A client whose sync point for an origin lies below the
 * floor cannot be vouched for ("recovered": false).
 */
import { decodeEnvelope } from '../../shared/src/envelope.js';
import type { Position } from '../../shared/src/frames.js';
import { idsOf, syncFor, syncOf } from '../../shared/src/sync.js';
import type { BusMessage } from './bus/bus.js';

export interface HistoryOptions {
  /** Most entries kept per channel. */
  readonly perChannel: number;
  /** Most bytes kept in all, counted as in {@link COST}. */
  readonly maxBytes: number;
  /** Oldest entry kept (ms). */
  readonly maxAgeMs: number;
}

/**
 * What one entry costs beyond its payload bytes, in bytes of heap and off-heap memory, measured on
 * Node 20 (x64) by test/unit/history-memory.test.ts against `process.memoryUsage()`:
 * - `raw`: the entry object, its slot in the global list and in its channel's list, and the
 *   Buffer view of its bytes (small ones share Node's 8 KiB pool);
 * - `decoded`: the same with a decoded envelope instead: the message object, its id, node and
 *   channel strings and the payload view;
 * - `channel`: a channel's log (map entry, key string, object, arrays), once per channel.
 */
export const COST = Object.freeze({ raw: 285, decoded: 430, channel: 290 });

interface Entry {
  readonly log: ChannelLog;
  readonly origin: string;
  /** Decoded, or the raw envelope until first needed. */
  value: BusMessage | Uint8Array;
  bytes: number;
  /** Local arrival time, relative to the history's base (ms; small integers stay unboxed). */
  readonly at: number;
  /** The record's stamp, relative to the history's base (ms). */
  readonly stamp: number;
  /** Set when removed, so the channel's list can skip it lazily. */
  evicted: boolean;
}

interface ChannelLog {
  readonly channel: string;
  entries: Entry[];
  /** Index of the first live entry (lazy shift). */
  head: number;
  /** Per origin, the newest stamp (relative) evicted by the per-channel cap. */
  floors: Map<string, number> | undefined;
}

export type Recovery =
  | { readonly recovered: true; readonly messages: readonly BusMessage[] }
  /** `origin`: the first origin that could not be vouched for, and why. */
  | {
      readonly recovered: false;
      readonly origin: string;
      readonly reason: 'no_sync_point' | 'not_read_yet' | 'evicted';
    };

/** The bytes an entry holding a decoded message is counted at. */
function decodedCost(m: BusMessage): number {
  return COST.decoded + m.payload.byteLength + m.id.length + m.node.length + m.channel.length;
}

export class History {
  private readonly channels = new Map<string, ChannelLog>();
  private fifo: Entry[] = [];
  private fifoHead = 0;
  private bytes = 0;
  /** Stamps and times are kept relative to this, as small integers. */
  private readonly base: number;
  /** Per origin, the newest stamp (relative) evicted by age or size. */
  private readonly globalFloors = new Map<string, number>();
  /** Per origin, the stamp (relative) from which the bus hands over every record. */
  private readonly coverage = new Map<string, number>();
  /** The same for every origin not named in {@link coverage}. */
  private defaultCoverage: number | undefined;
  /** Origin strings, one copy each. */
  private readonly origins = new Map<string, string>();

  constructor(
    private readonly opts: HistoryOptions,
    now: number = Date.now(),
  ) {
    this.base = now;
  }

  get size(): number {
    return this.fifo.length - this.fifoHead;
  }

  get byteSize(): number {
    return this.bytes;
  }

  /**
   * The bus hands over every record of `origin` (undefined: of every origin) stamped at or after
   * `since`. The earliest such point counts if told twice.
   */
  reading(origin: string | undefined, since: number): void {
    const rel = since - this.base;
    if (origin === undefined) this.defaultCoverage = Math.min(this.defaultCoverage ?? rel, rel);
    else this.coverage.set(this.intern(origin), Math.min(this.coverage.get(origin) ?? rel, rel));
  }

  /** Keeps a decoded message (one that local subscribers received). */
  add(msg: BusMessage, stamp: number, now: number = Date.now()): void {
    // A decoded payload may be a view into a whole Kafka fetch response; keeping the view would
    // pin that buffer for as long as the entry lives, far beyond what the byte bound counts.
    const p = msg.payload;
    const kept =
      p.buffer.byteLength > p.byteLength * 2 + 64
        ? { ...msg, payload: Uint8Array.prototype.slice.call(p) }
        : msg;
    this.push(msg.channel, msg.origin, kept, decodedCost(msg), now, stamp);
  }

  /**
   * Keeps a record nobody here wanted, undecoded: a copy of its bytes in a buffer of its own, so
   * that it pins no fetch response. (Copies into Node's shared 8 KiB pool were measured at three
   * times their size: the pool's slabs interleave them with short-lived buffers and live as long
   * as any copy in them.)
   */
  addRaw(channel: string, origin: string, value: Uint8Array, stamp: number, now: number = Date.now()): void {
    this.push(
      channel,
      origin,
      Uint8Array.prototype.slice.call(value),
      COST.raw + value.byteLength,
      now,
      stamp,
    );
  }

  private intern(origin: string): string {
    let o = this.origins.get(origin);
    if (o === undefined) {
      o = origin;
      this.origins.set(o, o);
    }
    return o;
  }

  private push(
    channel: string,
    origin: string,
    value: BusMessage | Uint8Array,
    bytes: number,
    now: number,
    stamp: number,
  ): void {
    let log = this.channels.get(channel);
    if (log === undefined) {
      log = { channel, entries: [], head: 0, floors: undefined };
      this.channels.set(channel, log);
      this.bytes += COST.channel + channel.length;
    }
    const e: Entry = {
      log,
      origin: this.intern(origin),
      value,
      bytes,
      at: now - this.base,
      stamp: stamp - this.base,
      evicted: false,
    };
    log.entries.push(e);
    this.fifo.push(e);
    this.bytes += bytes;
    if (log.entries.length - log.head > this.opts.perChannel) {
      const old = log.entries[log.head]!;
      this.evict(old);
      log.floors ??= new Map();
      log.floors.set(old.origin, Math.max(log.floors.get(old.origin) ?? -Infinity, old.stamp));
      this.compact(log);
    }
    this.trim(now);
  }

  /** Evicts by age and size from the global head. */
  trim(now: number = Date.now()): void {
    const minAt = now - this.base - this.opts.maxAgeMs;
    while (this.fifoHead < this.fifo.length) {
      const e = this.fifo[this.fifoHead]!;
      if (!e.evicted && e.at >= minAt && this.bytes <= this.opts.maxBytes) break;
      this.fifoHead++;
      if (e.evicted) continue;
      this.evict(e);
      this.globalFloors.set(e.origin, Math.max(this.globalFloors.get(e.origin) ?? -Infinity, e.stamp));
      this.compact(e.log);
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

  private compact(log: ChannelLog): void {
    while (log.head < log.entries.length && log.entries[log.head]!.evicted) log.head++;
    if (log.head === log.entries.length) {
      // An empty log matters only while one of its floors is above the origin's global floor.
      if (
        log.floors === undefined ||
        [...log.floors].every(([o, f]) => f <= (this.globalFloors.get(o) ?? -Infinity))
      ) {
        this.channels.delete(log.channel);
        this.bytes -= COST.channel + log.channel.length;
      } else {
        log.entries = [];
        log.head = 0;
      }
    } else if (log.head > 64 && log.head * 2 > log.entries.length) {
      log.entries = log.entries.slice(log.head);
      log.head = 0;
    }
  }

  /** Origin -> id of the newest message of `channel` held here, per origin. */
  position(channel: string): Record<string, string> {
    const pos: Record<string, string> = {};
    const log = this.channels.get(channel);
    if (log === undefined) return pos;
    for (let i = log.entries.length - 1; i >= log.head; i--) {
      const e = log.entries[i]!;
      if (e.evicted || pos[e.origin] !== undefined) continue;
      const m = this.decoded(e);
      if (m !== undefined) pos[m.origin] = m.id;
    }
    return pos;
  }

  /**
   * What a client whose position on `channel` is `since` is owed, in arrival order (so in order
   * per origin), without duplicates; or why it cannot be vouched for. Per origin this history
   * holds a record of:
   * - exact: the client's last id from there is held: everything after it;
   * - otherwise everything stamped after the client's sync point for that origin, provided the
   *   floor (see the file comment) is not above it. Anything stamped later that has not arrived
   *   yet will be delivered live, in order, after the ack.
   */
  recover(channel: string, since: Position): Recovery {
    const ids = idsOf(since);
    const sync = syncOf(since);
    const log = this.channels.get(channel);
    const live: Entry[] = [];
    if (log !== undefined)
      for (let i = log.head; i < log.entries.length; i++)
        if (!log.entries[i]!.evicted) live.push(log.entries[i]!);

    // Per origin, where the client's missed messages start: after an index, or after a stamp.
    const afterIndex = new Map<string, number>();
    for (let i = 0; i < live.length; i++) {
      const e = live[i]!;
      const id = ids[e.origin];
      if (id !== undefined && this.decoded(e)?.id === id) afterIndex.set(e.origin, i);
    }
    const afterStamp = new Map<string, number>();
    // Every origin this history knows of for the channel: held, read, named by the client, or evicted.
    const origins = new Set<string>([
      ...live.map((e) => e.origin),
      ...this.coverage.keys(),
      ...this.globalFloors.keys(),
      ...(log?.floors?.keys() ?? []),
      ...(this.defaultCoverage === undefined ? [] : Object.keys(ids)),
    ]);
    for (const origin of origins) {
      if (afterIndex.has(origin)) continue;
      if (sync === undefined) return { recovered: false, origin, reason: 'no_sync_point' };
      const w = syncFor(sync, origin) - this.base;
      const cov = this.coverage.get(origin) ?? this.defaultCoverage;
      if (cov === undefined || cov - 1 > w) return { recovered: false, origin, reason: 'not_read_yet' };
      const floor = Math.max(
        this.globalFloors.get(origin) ?? -Infinity,
        log?.floors?.get(origin) ?? -Infinity,
      );
      if (floor > w) return { recovered: false, origin, reason: 'evicted' };
      afterStamp.set(origin, w);
    }

    const seen = new Set<string>();
    const out: BusMessage[] = [];
    for (let i = 0; i < live.length; i++) {
      const e = live[i]!;
      const idx = afterIndex.get(e.origin);
      if (idx !== undefined ? i <= idx : e.stamp <= afterStamp.get(e.origin)!) continue;
      const m = this.decoded(e);
      if (m === undefined || seen.has(m.id)) continue; // a producer retry written twice
      seen.add(m.id);
      out.push(m);
    }
    return { recovered: true, messages: out };
  }

  private decoded(e: Entry): BusMessage | undefined {
    if (!(e.value instanceof Uint8Array)) return e.value;
    try {
      const m = decodeEnvelope(e.value);
      // The origin travels twice: in the topic the record was read from, and in the envelope.
      if (m.origin !== e.origin || m.channel !== e.log.channel)
        throw new Error('envelope does not match its record');
      e.value = m;
      const bytes = decodedCost(m);
      this.bytes += bytes - e.bytes;
      e.bytes = bytes;
      return m;
    } catch {
      // Malformed records were already counted by the bus; they simply are not history (and,
      // not being messages, raise no floor).
      this.evict(e);
      return undefined;
    }
  }
}
