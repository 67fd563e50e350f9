/** Messages between the bench driver and its client worker processes (Node IPC, JSON). */
import type { Target } from './wire.js';
import type { Shape } from './shapes.js';

/** Which channels each connection subscribes to. */
export type ChannelSpec =
  | { readonly kind: 'none' }
  /** Every connection subscribes to the same channel. */
  | { readonly kind: 'one'; readonly ch: string }
  /** Every connection subscribes to `per` distinct channels drawn at random from `ch0 … ch<count-1>`. */
  | { readonly kind: 'random'; readonly count: number; readonly per: number; readonly prefix: string };

export type Command =
  | {
      readonly type: 'connect';
      readonly id: number;
      readonly target: Target;
      readonly count: number;
      /** Source addresses to spread the connections over (each holds at most a few thousand). */
      readonly addresses: readonly string[];
      /** Handshakes in flight at once; 0 starts every connection at once (a storm). */
      readonly concurrency: number;
      readonly channels: ChannelSpec;
      readonly timeoutMs: number;
    }
  /** Zeroes the counters; messages published before `splitAt` (clock ms) count as the early half. */
  | { readonly type: 'reset'; readonly id: number; readonly splitAt: number }
  | { readonly type: 'stats'; readonly id: number }
  | {
      readonly type: 'publish';
      readonly id: number;
      /** Messages per second, paced evenly. */
      readonly rate: number;
      readonly durationMs: number;
      /** Payload size in bytes. */
      readonly size: number;
      /** Each message goes to one of these, drawn at random (or the only one). */
      readonly channels: readonly string[];
      /** Realistic JSON of this shape (shapes.ts) instead of `x` padding. */
      readonly shape?: Shape;
    }
  /**
   * Every open connection sends the SDK's app-level ping once per `intervalMs` for `durationMs`,
   * the connections' pings spread evenly over the interval (as independent clients' timers are).
   */
  | { readonly type: 'ping'; readonly id: number; readonly intervalMs: number; readonly durationMs: number }
  | { readonly type: 'close'; readonly id: number };

export interface ConnectReply {
  readonly type: 'connect';
  readonly id: number;
  readonly opened: number;
  readonly subscribed: number;
  readonly failed: number;
  readonly firstError: string | undefined;
  /** Clock (ms, see wire.clock) when the last handshake finished / the last subscription was acknowledged. */
  readonly lastOpenAt: number;
  readonly lastSubscribedAt: number;
  /** How many of this worker's connections hold each channel. */
  readonly subsPerChannel: Record<string, number>;
}

export interface StatsReply {
  readonly type: 'stats';
  readonly id: number;
  readonly delivered: number;
  /** Bytes of the delivered messages' frames, headers included. */
  readonly deliveredBytes: number;
  /** Sparse latency histograms (see Histogram.toSparse) of messages published before and after `splitAt`. */
  readonly early: Array<[number, number]>;
  readonly late: Array<[number, number]>;
  /** Connections that closed after opening, since the last reset. */
  readonly dropped: number;
  readonly lastDropReason: string | undefined;
  readonly open: number;
  /** WebSocket pings the server sent (and the clients answered) since the last reset. */
  readonly serverPings: number;
}

export interface PublishReply {
  readonly type: 'publish';
  readonly id: number;
  readonly sent: number;
  /** Largest bytes the publisher's socket held back (the server not reading fast enough). */
  readonly maxBacklog: number;
  /** Messages sent per channel. */
  readonly perChannel: Record<string, number>;
}

export interface PingReply {
  readonly type: 'ping';
  readonly id: number;
  readonly sent: number;
  /** Pongs received until the end of the phase (a late pong of the last round may miss it). */
  readonly pongs: number;
}

export type Reply =
  | ConnectReply
  | StatsReply
  | PublishReply
  | PingReply
  | { readonly type: 'reset' | 'close'; readonly id: number };
