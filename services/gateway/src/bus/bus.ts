import type { Envelope } from '../../../shared/src/envelope.js';

/**
 * The bus carries every published message from the gateway that accepted it to every gateway
 * in every region (docs/architecture.md). The hub never knows which implementation it talks to.
 *
 * Stamps and progress (what recovery rests on, docs/protocol.md, Recovery):
 * - Every record carries a *stamp*: the time its origin's log appended it (for Kafka the broker's
 *   append time, `message.timestamp.type=LogAppendTime` on the origin topic, kept by replication).
 *   Within one channel of one origin, stamps never decrease in delivery order.
 * - The bus reports *progress* per origin: `progress(origin, s)` promises that every record of
 *   that origin stamped at or before `s` has been handed to the handler (delivered or skipped),
 *   or lies before where the bus began reading. Because stamps are the origin's, a gateway in
 *   another region can hold a client to that promise: it is the sync point a client carries.
 * - `reading(origin, since)` tells from which stamp on the bus holds every record of an origin
 *   (its history is complete from there); `undefined` names every origin, for buses that read
 *   all of them from one point (the memory bus).
 *
 * Contract, for every implementation:
 * - `publish` resolves only once the message is durably accepted (for Kafka: acknowledged by all
 *   in-sync replicas); it rejects with a {@link BusError} otherwise. A resolved publish is never lost.
 * - Delivery is broadcast: every running bus instance (every gateway) receives every message
 *   published after it started, its own included, through the {@link BusHandler}.
 * - Order is kept per channel per origin region. Nothing is promised across channels or origins.
 * - Before decoding a message the bus asks {@link BusHandler.wants} with the channel (the record key)
 *   and skips the message when the answer is false; this keeps the per-record cost of traffic no
 *   local client cares about to a key comparison.
 * - Duplicates (same message id, e.g. after a producer retry) are delivered at most once within a
 *   bounded window: the last ids for gateway-made ids, ten minutes for ids clients chose
 *   (`pub.mid`, dedup-window.ts), so that a client's retry of an uncertain publish is harmless.
 * - `health()` is cheap and synchronous; `probe()` round-trips a message through the real path.
 */
export interface Bus {
  /**
   * Connects and starts the fan-out stream; resolves when delivery has begun. While the backend
   * is unreachable an implementation keeps trying in the background (with `health()` not ok) rather
   * than rejecting, so callers must not hold start-up on it; it rejects with `bus_closed` if the bus
   * is closed first. Calling it again while it is pending returns the same promise.
   */
  start(handler: BusHandler): Promise<void>;
  /** Publishes one message. See the contract above. */
  publish(msg: BusMessage): Promise<PublishReceipt>;
  /** Cheap, synchronous view of the bus state for `/readyz` and metrics. */
  health(): BusHealth;
  /** Sends a probe through the bus and resolves when it came back; rejects on timeout. */
  probe(timeoutMs: number): Promise<void>;
  /** Flushes what is pending, then disconnects. Idempotent. */
  close(): Promise<void>;
  /**
   * Optional: buses that read back recent traffic at start-up (into `skipped`) resolve this with
   * the time from which the handler has seen every message, once the read-back is done.
   */
  readonly historyWarm?: Promise<number>;
}

/** Receives the fan-out stream. */
export interface BusHandler {
  /** Whether any local subscriber holds `channel`. Called before the message is decoded. */
  wants(channel: string): boolean;
  /** One message for a wanted channel, decoded, duplicates removed, with its stamp. */
  deliver(msg: BusMessage, stamp: number): void;
  /**
   * Optional: every well-keyed record that `wants` declined, still undecoded (the raw envelope
   * bytes), or the message itself when the bus holds it decoded anyway, with its origin (known
   * without decoding: from the topic) and stamp. The gateway keeps these as history for clients
   * that reconnect from elsewhere. Not deduplicated; may be malformed.
   */
  skipped?(channel: string, value: Uint8Array | BusMessage, stamp: number, origin: string): void;
  /**
   * Optional: every record of `origin` stamped at or before `stamp` has been handed over, or lies
   * before where the bus began reading it. Non-decreasing per origin.
   */
  progress?(origin: string, stamp: number): void;
  /**
   * Optional: from now on the handler has been handed, or will be, every record of `origin`
   * (`undefined`: of every origin) stamped at or after `since`. Called once the bus has read
   * whatever it reads back from before its start.
   */
  reading?(origin: string | undefined, since: number): void;
}

/** One message as it travels between regions: the protobuf `Envelope` (services/shared/src/envelope.ts). */
export type BusMessage = Envelope;

/** What a durable publish returns. */
export interface PublishReceipt {
  /** Implementation-specific position in the origin's log (e.g. `partition:offset`), for logs. */
  readonly offset?: string;
}

export interface BusHealth {
  /** True while publishes are expected to succeed and delivery is flowing. */
  readonly ok: boolean;
  /** Short machine-readable reason when not ok. */
  readonly reason?: string;
}

/** Stable error codes a bus rejects with; the gateway maps them onto client `error` codes. */
export type BusErrorCode =
  /** The bus is down or its buffer is full: the client may retry later. */
  | 'bus_unavailable'
  /** The bus refused this message for good (e.g. too large). */
  | 'bus_rejected'
  /**
   * The message was handed to the broker but not confirmed in time: it may or may not be
   * delivered. A retry may deliver it twice (under a new id).
   */
  | 'bus_uncertain'
  | 'bus_closed';

export class BusError extends Error {
  readonly code: BusErrorCode;
  constructor(code: BusErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BusError';
    this.code = code;
  }
}
