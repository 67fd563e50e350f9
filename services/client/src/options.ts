/**
 * The client's options, their defaults, and the events it emits.
 */
import type { Position } from '../../shared/src/frames.js';
import { PUBLISH_DEADLINE_MS } from '../../shared/src/constants.js';
import type { BackoffOptions } from './backoff.js';
import type { WebSocketCtor } from './socket.js';

export interface ClientOptions {
  /** `wss://host/`; the token is added as `?token=`. */
  readonly url: string;
  /**
   * A token, or a function that returns a fresh one: called for the first connection, and again
   * before a reconnect whenever the cached token expires within 30 s, the server closed with 4001,
   * or the last attempt never opened (a refused handshake: browsers cannot see its status).
   */
  readonly token?: string | (() => string | Promise<string>);
  /** Wire shape: `json` (default) or `proto`. */
  readonly protocol?: 'json' | 'proto';
  /** WebSocket implementation; defaults to the platform's, or `ws` in Node. */
  readonly WebSocket?: WebSocketCtor;
  /** Reconnect backoff; default 500 ms doubling to 30 s, full jitter. */
  readonly backoff?: BackoffOptions;
  /** App-level ping interval (ms); a missing pong within the same time reconnects. Default 20 000; 0 disables. */
  readonly pingIntervalMs?: number;
  /** Most publishes held while disconnected. Default 1 000. */
  readonly offlineQueueLimit?: number;
  /**
   * A connection must stay open this long (ms) before the reconnect backoff starts over. A server
   * that accepts and then closes at once (a message the client cannot take, an overloaded task)
   * must not be hammered at the first backoff step forever. Default 10 000.
   */
  readonly stableAfterMs?: number;
  /** How long a request waits for its reply (ms). Default 10 000. */
  readonly requestTimeoutMs?: number;
  /**
   * How long a publish waits for its ack (ms) before it is rejected as `bus_uncertain`. Longer than
   * the gateway's own deadline (`PUBLISH_DEADLINE_MS`), so that the gateway's answer arrives first.
   * Default 40 000.
   */
  readonly publishTimeoutMs?: number;
  /** Message ids remembered per channel to drop duplicates after a recovery. Default 1 000. */
  readonly dedupWindow?: number;
  /** Source of randomness for jitter (tests). */
  readonly random?: () => number;
}

/** The defaults of {@link ClientOptions}; the cost model reads the keepalive interval from here. */
export const CLIENT_DEFAULTS = Object.freeze({
  protocol: 'json' as const,
  backoff: Object.freeze({ baseMs: 500, maxMs: 30_000 }),
  pingIntervalMs: 20_000,
  offlineQueueLimit: 1_000,
  requestTimeoutMs: 10_000,
  publishTimeoutMs: PUBLISH_DEADLINE_MS + 10_000,
  stableAfterMs: 10_000,
  dedupWindow: 1_000,
});

export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface MessageEvent {
  readonly ch: string;
  /** The JSON value, or the bytes of a binary payload. */
  readonly data: unknown;
  readonly contentType: 'application/json' | 'application/octet-stream';
  readonly pos: Position;
}

export interface ClientEvents {
  state: { state: ClientState; previous: ClientState };
  message: MessageEvent;
  /** A subscription was renewed after a reconnect; `recovered` is true when nothing was lost. */
  resubscribed: { ch: string; recovered: boolean; missed: number };
  /** The gateway could not recover a channel: messages may have been lost; reload state. */
  gap: { ch: string };
  /** The connection closed; `delayMs` is when the next attempt happens (absent when stopping). */
  disconnected: { code: number; reason: string; delayMs?: number };
  error: { error: Error };
}

/** Options of one publish. */
export interface PublishOptions {
  /**
   * The message id (8-64 of A-Z a-z 0-9 _ -); a random one by default. A publish repeated with the
   * same id is delivered once, so retrying a publish that failed as `bus_uncertain` with the
   * `messageId` of its error is always safe.
   */
  readonly messageId?: string;
}
