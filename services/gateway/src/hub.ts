/**
 * The local channel registry and fan-out. The hub is the bus's {@link BusHandler}: the bus asks
 * {@link Hub.wants} with a record's key before decoding it, and hands over what this gateway's
 * clients hold.
 *
 * Fan-out encodes each message once per wire shape present among the channel's subscribers
 * (JSON text and/or protobuf binary), frames it at most twice per shape (plain, and compressed for
 * the clients that negotiated permessage-deflate), and queues the same Buffer on every subscriber
 * of that kind; see conn.ts for how queued frames are coalesced per socket.
 */
import type { BusHandler, BusMessage } from './bus/bus.js';
import type { Conn } from './conn.js';
import { OutboundFrames, binaryFrame, textFrame } from './framing.js';
import { encodeMsgJson, encodeMsgProto, isJsonPayload } from '../../shared/src/frames.js';
import { originLabel, type GatewayMetrics } from './metrics.js';
import type { History } from './history.js';
import type { Progress } from './progress.js';
import { LOAD_CHANNEL } from './rebalance.js';

export type SubscribeResult = 'subscribed' | 'already' | 'limit';

export interface HubOptions {
  readonly maxSubscriptions: number;
  /** Payloads below this many bytes are never compressed (WSGW_COMPRESSION_MIN_BYTES). */
  readonly compressionMinBytes: number;
  readonly metrics: GatewayMetrics;
  /** Called for each connection whose outbound buffer overflowed during a fan-out. */
  readonly onSlowConsumer: (conn: Conn) => void;
  /** Keeps every message of every channel for recovery. */
  readonly history: History;
  /** Where the bus's progress per origin goes: the sync point of pongs and acks. */
  readonly progress: Progress;
  /** Receives the gateways' own control messages (load reports). */
  readonly onControl: (msg: BusMessage) => void;
}

export class Hub implements BusHandler {
  private readonly channels = new Map<string, Set<Conn>>();
  private subscriptionCount = 0;

  constructor(private readonly opts: HubOptions) {}

  get channelCount(): number {
    return this.channels.size;
  }

  get subscriptions(): number {
    return this.subscriptionCount;
  }

  /** Local subscribers of a channel (read-only view for tests and diagnostics). */
  subscribers(ch: string): ReadonlySet<Conn> | undefined {
    return this.channels.get(ch);
  }

  wants(ch: string): boolean {
    return this.channels.has(ch) || ch === LOAD_CHANNEL;
  }

  skipped(ch: string, value: Uint8Array | BusMessage, stamp: number, origin: string): void {
    if (value instanceof Uint8Array) this.opts.history.addRaw(ch, origin, value, stamp);
    else this.opts.history.add(value, stamp);
  }

  progress(origin: string, stamp: number): void {
    this.opts.progress.update(origin, stamp);
  }

  reading(origin: string | undefined, since: number): void {
    this.opts.history.reading(origin, since);
  }

  subscribe(conn: Conn, ch: string): SubscribeResult {
    if (conn.subs.has(ch)) return 'already';
    if (conn.subs.size >= this.opts.maxSubscriptions) return 'limit';
    let set = this.channels.get(ch);
    if (set === undefined) {
      set = new Set();
      this.channels.set(ch, set);
    }
    set.add(conn);
    conn.subs.add(ch);
    this.subscriptionCount++;
    return 'subscribed';
  }

  /** Returns false when the connection was not subscribed. */
  unsubscribe(conn: Conn, ch: string): boolean {
    if (!conn.subs.delete(ch)) return false;
    this.subscriptionCount--;
    const set = this.channels.get(ch);
    if (set !== undefined) {
      set.delete(conn);
      // Channels are freed with their last subscriber, so the map never outgrows live interest.
      if (set.size === 0) this.channels.delete(ch);
    }
    return true;
  }

  /** Removes every subscription of a connection that is going away. */
  removeAll(conn: Conn): void {
    for (const ch of conn.subs) {
      const set = this.channels.get(ch);
      if (set !== undefined) {
        set.delete(conn);
        if (set.size === 0) this.channels.delete(ch);
      }
    }
    this.subscriptionCount -= conn.subs.size;
    conn.subs.clear();
  }

  deliver(msg: BusMessage, stamp: number): void {
    if (msg.channel === LOAD_CHANNEL) return this.opts.onControl(msg);
    this.opts.history.add(msg, stamp);
    const set = this.channels.get(msg.channel);
    if (set === undefined) return;
    const { metrics } = this.opts;
    let json: OutboundFrames | undefined;
    let jsonBad = false;
    let bin: OutboundFrames | undefined;
    let sent = 0;
    let bytes = 0;
    let slow: Conn[] | undefined;
    for (const conn of set) {
      let out: OutboundFrames;
      if (conn.proto) {
        out = bin ??= this.frames(msg, true)!;
      } else {
        if (json === undefined) {
          if (jsonBad || (json = this.frames(msg, false)) === undefined) {
            jsonBad = true;
            metrics.drops.inc({ reason: 'invalid_json_payload' });
            continue;
          }
        }
        out = json;
      }
      const frame = out.for(conn.deflate);
      const r = conn.send(frame);
      if (r === 'queued') {
        sent++;
        bytes += frame.length;
      } else if (r === 'overflow') {
        (slow ??= []).push(conn);
      }
    }
    metrics.tallies.messagesOut += sent;
    metrics.tallies.bytesOut += bytes;
    if (msg.ts > 0)
      metrics.latency.observe(
        { origin: originLabel.of(msg.origin) },
        Math.max(0, Date.now() - msg.ts) / 1000,
      );
    if (slow !== undefined) {
      metrics.drops.inc({ reason: 'slow_consumer' }, slow.length);
      for (const c of slow) this.opts.onSlowConsumer(c);
    }
  }

  private readonly countDeflate = (): void => {
    this.opts.metrics.tallies.compressedFrames++;
  };

  /** The `msg` frames of one wire shape; undefined for a JSON frame whose payload is not valid JSON. */
  private frames(msg: BusMessage, proto: boolean): OutboundFrames | undefined {
    const pos = { [msg.origin]: msg.id };
    const min = this.opts.compressionMinBytes;
    if (proto)
      return OutboundFrames.binary(
        encodeMsgProto(msg.channel, msg.contentType, msg.payload, pos),
        min,
        this.countDeflate,
      );
    if (!jsonPayloadOk(msg)) return undefined;
    return OutboundFrames.text(
      encodeMsgJson(msg.channel, msg.contentType, msg.payload, pos),
      min,
      this.countDeflate,
    );
  }
}

/**
 * The complete plain `msg` frame for one wire shape (recovery: one client, so never compressed); undefined for a JSON frame whose payload is not
 * valid JSON (see {@link jsonPayloadOk}).
 */
export function msgFrame(msg: BusMessage, proto: boolean): Buffer | undefined {
  const pos = { [msg.origin]: msg.id };
  if (proto) return binaryFrame(encodeMsgProto(msg.channel, msg.contentType, msg.payload, pos));
  if (!jsonPayloadOk(msg)) return undefined;
  return textFrame(encodeMsgJson(msg.channel, msg.contentType, msg.payload, pos));
}

/**
 * JSON payloads are spliced verbatim into JSON frames, so one that does not parse (a backend may
 * produce envelopes directly) would corrupt every JSON subscriber's stream. Checked once per
 * message, not per subscriber.
 */
function jsonPayloadOk(msg: BusMessage): boolean {
  return msg.contentType !== 'application/json' || isJsonPayload(msg.payload);
}
