/**
 * Reads one origin region's stream from one Redis server (docs/redis.md, Reading): a blocking
 * `XREAD` from the last id seen, on a connection of its own (a blocking read holds its
 * connection), reconnecting with backoff and resuming from that id, so that nothing appended
 * meanwhile is missed while the stream still holds it.
 *
 * Each entry becomes a delivery, a history entry (`skipped`), a probe's answer, a dropped duplicate
 * or a count of what was malformed; the channel field is looked at before the envelope, so traffic
 * no local client wants costs a comparison and is never decoded.
 *
 * Stamps and progress (bus.ts): an entry's stamp is its id's millisecond part, which Redis takes
 * from its own clock when it appends the entry and never lets go back within a stream (a new id is
 * above the stream's last one). Progress is what the reads prove:
 * - after a read that returned entries up to id `X`, every entry up to `X` has been handed over;
 *   one appended later may still share `X`'s millisecond, so progress is `ms(X) - 1`;
 * - each read is pipelined behind a `TIME` on the same connection, answered at `T` before the read
 *   is served. A read that comes back with less than a full `COUNT` (empty after blocking, too)
 *   returned everything the stream held when it was served, at or after `T`; whatever is appended
 *   later gets an id whose millisecond is at least the server's clock then, so at least `T`.
 *   Progress is then `T - 1`: every entry stamped before `T` has been handed over.
 * Both are reported `stampSkewMs` lower, for a failover to a replica whose clock runs behind
 * (the new primary keeps ids above the last one, but its `TIME` may be earlier).
 */
import { RESERVED_CHANNEL_PREFIX } from '../../../shared/src/channel.js';
import { backoff, Naps } from './backoff.js';
import type { BusHandler } from './bus.js';
import type { MessageDedup } from './dedup-window.js';
import type { BusLogger } from './kafka-bus-options.js';
import type { KafkaBusMetrics, MalformedReason } from './kafka-metrics.js';
import {
  classify,
  RedisConnectError,
  RedisConnection,
  type RedisDownReason,
  type Reply,
} from './redis-connection.js';
import { CHANNEL_FIELD, ENVELOPE_FIELD } from './redis-publish-queue.js';
import { handOver, handSkipped } from './record-handoff.js';

/** The largest sequence part of a stream id: `<ms - 1>-<this>` is just before millisecond `ms`. */
const MAX_SEQ = '18446744073709551615';

export interface StreamReaderOptions {
  readonly url: string;
  readonly clientName: string;
  readonly connectTimeoutMs: number;
  readonly stream: string;
  readonly origin: string;
  /** Whether this is the gateway's own region's stream: probes are answered from it. */
  readonly own: boolean;
  /** Read entries stamped from here on (ms): the start of the read-back window. */
  readonly from: number;
  /** Entries stamped before this go to history only, never delivered (ms). */
  readonly liveFrom: number;
  readonly blockMs: number;
  readonly readCount: number;
  readonly stampSkewMs: number;
  /** A read unanswered for `blockMs` plus this long means the server is frozen (ms). */
  readonly stallMs: number;
  readonly dedup: MessageDedup;
  readonly handler: () => BusHandler | undefined;
  readonly onProbe: (key: string) => void;
  /** The read-back is done: from `since` on, every entry of the stream is or will be handed over. */
  readonly onCovered: (origin: string, since: number) => void;
  readonly onProgress: (origin: string, stamp: number) => void;
  readonly onState: (up: boolean, reason?: RedisDownReason, err?: unknown) => void;
  readonly metrics: KafkaBusMetrics;
  readonly log: BusLogger;
}

export class StreamReader {
  private lastId: string;
  private covered = false;
  /** The stamp up to which the stream had removed entries before the read-back got to them. */
  private trimmedUpTo = -Infinity;
  private stopped = false;
  private conn: RedisConnection | undefined;
  private readonly naps = new Naps();
  private running: Promise<void> | undefined;
  private upValue = false;
  private downReason: RedisDownReason | undefined = undefined;

  constructor(private readonly opts: StreamReaderOptions) {
    this.lastId = `${opts.from - 1}-${MAX_SEQ}`;
  }

  /** Whether a read connection is open. */
  get up(): boolean {
    return this.upValue;
  }

  /** Why the reader is not up, if it is not. */
  get reason(): RedisDownReason | undefined {
    return this.downReason;
  }

  /** The id of the last entry read (or where reading starts). */
  get position(): string {
    return this.lastId;
  }

  /** Starts reading in the background; resolves when the first connection is open. */
  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.naps.wakeAll();
    this.conn?.destroy();
    await this.running;
  }

  private setState(up: boolean, reason?: RedisDownReason, err?: unknown): void {
    this.upValue = up;
    this.downReason = up ? undefined : reason;
    this.opts.onState(up, reason, err);
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      let conn: RedisConnection;
      try {
        conn = await RedisConnection.open({
          url: this.opts.url,
          name: this.opts.clientName,
          connectTimeoutMs: this.opts.connectTimeoutMs,
          onDown: () => undefined,
        });
      } catch (err) {
        this.setState(false, err instanceof RedisConnectError ? err.reason : 'redis_unreachable', err);
        await this.naps.nap(backoff(attempt++));
        continue;
      }
      if (this.stopped) {
        conn.destroy();
        return;
      }
      this.conn = conn;
      attempt = 0;
      this.setState(true);
      try {
        await this.checkTrimmed(conn);
        await this.readLoop(conn);
      } catch (err) {
        if (!this.stopped)
          this.setState(false, err instanceof RedisConnectError ? err.reason : classify(err), err);
      } finally {
        conn.destroy();
        this.conn = undefined;
      }
      if (!this.stopped) await this.naps.nap(backoff(attempt++));
    }
  }

  private async readLoop(conn: RedisConnection): Promise<void> {
    const { stream, readCount, blockMs, stallMs } = this.opts;
    while (!this.stopped) {
      // TIME first, on the same connection: answered before the read is served (see above).
      const time = conn.send(['TIME']);
      const read = conn.send([
        'XREAD',
        'COUNT',
        String(readCount),
        'BLOCK',
        String(blockMs),
        'STREAMS',
        stream,
        this.lastId,
      ]);
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new RedisConnectError(
                'redis_unresponsive',
                `a read got no answer within ${blockMs + stallMs} ms`,
              ),
            ),
          blockMs + stallMs,
        );
      });
      let t: Reply;
      let r: Reply;
      try {
        [t, r] = await Promise.race([Promise.all([time, read]), stalled]);
      } finally {
        clearTimeout(timer);
      }
      if (this.stopped) return;
      const entries = streamEntries(r);
      this.handle(entries);
      const full = entries.length >= readCount;
      let s = stampOf(this.lastId) - 1;
      if (!full) s = Math.max(s, serverTime(t) - 1);
      this.opts.onProgress(this.opts.origin, s - this.opts.stampSkewMs);
      if (!full && !this.covered) {
        this.covered = true;
        this.opts.onCovered(this.opts.origin, Math.max(this.opts.from, this.trimmedUpTo + 1));
      }
    }
  }

  /**
   * Whether the stream may have dropped entries this reader has not read (trimmed by age, or
   * deleted). `XINFO STREAM` tells the highest id `XDEL` removed, how many entries were ever added
   * against how many remain, and the first entry: when some were removed and the first one left
   * lies past where this reader is, what was removed may lie past it too. During the read-back that
   * moves where the history is complete from (`reading`: after the first entry's millisecond, as
   * removed entries may share it); after it, it is a gap this gateway cannot fill, counted
   * (`wsgw_bus_errors_total{kind="gap"}`) and logged.
   */
  private async checkTrimmed(conn: RedisConnection): Promise<void> {
    let info: Reply;
    try {
      info = await conn.send(['XINFO', 'STREAM', this.opts.stream]);
    } catch {
      return; // no stream yet: nothing was removed from it
    }
    if (!Array.isArray(info)) return;
    const field = (name: string): string | undefined => {
      for (let i = 0; i + 1 < info.length; i += 2) if (String(info[i]) === name) return String(info[i + 1]);
      return undefined;
    };
    let upTo = -Infinity;
    const deleted = field('max-deleted-entry-id');
    if (deleted !== undefined && compareIds(deleted, this.lastId) > 0) upTo = stampOf(deleted);
    const first = field('recorded-first-entry-id');
    const removed = Number(field('entries-added') ?? 0) - Number(field('length') ?? 0);
    if (removed > 0 && first !== undefined && compareIds(first, this.lastId) > 0)
      upTo = Math.max(upTo, stampOf(first));
    // Emptied altogether: everything up to the last id it gave out may be gone.
    const last = field('last-generated-id');
    if (removed > 0 && field('length') === '0' && last !== undefined && compareIds(last, this.lastId) > 0)
      upTo = Math.max(upTo, stampOf(last));
    if (upTo === -Infinity) return;
    if (!this.covered) {
      this.trimmedUpTo = Math.max(this.trimmedUpTo, upTo);
      this.opts.log.warn(
        { stream: this.opts.stream, upTo, from: this.lastId },
        'the stream no longer holds the start of the read-back window: history is complete from later',
      );
      return;
    }
    this.opts.metrics.errors.inc({ kind: 'gap' });
    this.opts.log.error(
      { stream: this.opts.stream, upTo, lastRead: this.lastId },
      'entries may have been removed from the stream before this gateway read them (away longer than the stream keeps them)',
    );
  }

  /** Hands a read's entries to the handler, in order. */
  private handle(entries: readonly Reply[]): void {
    const { metrics, origin, liveFrom } = this.opts;
    const h = this.opts.handler();
    let skipped = 0;
    for (const e of entries) {
      if (!Array.isArray(e) || !Buffer.isBuffer(e[0]) || !Array.isArray(e[1])) continue;
      const id = e[0].toString();
      this.lastId = id;
      if (h === undefined) continue;
      const stamp = stampOf(id);
      const fields = e[1];
      let channel: Buffer | undefined;
      let value: Buffer | undefined;
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const name = fields[i];
        const v = fields[i + 1];
        if (!Buffer.isBuffer(name) || !Buffer.isBuffer(v)) continue;
        const n = name.toString();
        if (n === CHANNEL_FIELD) channel = v;
        else if (n === ENVELOPE_FIELD) value = v;
      }
      if (channel === undefined || channel.length === 0) {
        this.malformed('no_key');
        continue;
      }
      const key = channel.toString();
      if (key.startsWith(RESERVED_CHANNEL_PREFIX)) {
        if (this.opts.own) this.opts.onProbe(key);
        continue;
      }
      if (stamp < liveFrom || !h.wants(key)) {
        skipped++;
        if (value !== undefined) handSkipped(h, key, value, stamp, origin, metrics);
        continue;
      }
      const bad = handOver(value, key, origin, stamp, h, this.opts);
      if (bad !== undefined) this.malformed(bad);
    }
    if (entries.length > 0) metrics.consumed.inc({ topic: this.opts.stream }, entries.length);
    if (skipped > 0) metrics.skippedUnwanted.inc(skipped);
  }

  private malformed(reason: MalformedReason): void {
    this.opts.metrics.malformed.inc({ reason });
  }
}

/** The entries of an `XREAD` reply for one stream (none when it timed out). */
function streamEntries(r: Reply): readonly Reply[] {
  if (!Array.isArray(r) || r.length === 0) return [];
  const first = r[0];
  if (!Array.isArray(first) || !Array.isArray(first[1])) return [];
  return first[1];
}

/** Orders two stream ids (`<ms>-<seq>`, both parts unsigned 64-bit). */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-');
  const [bm, bs] = b.split('-');
  const ms = BigInt(am ?? 0) - BigInt(bm ?? 0);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as ?? 0) - BigInt(bs ?? 0);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

/** A stream id's millisecond part: when Redis appended the entry, by its clock. */
export function stampOf(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

/** A `TIME` reply in milliseconds. */
function serverTime(t: Reply): number {
  if (!Array.isArray(t) || t.length < 2) return 0;
  return Number(String(t[0])) * 1000 + Math.floor(Number(String(t[1])) / 1000);
}
