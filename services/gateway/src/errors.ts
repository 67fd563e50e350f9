import { BusError } from './bus/bus.js';

/**
 * Every error a client can be told about, in one table. Codes are stable API: clients branch on
 * them (retry after `rate_limited` or `bus_unavailable`, get a new token after `forbidden`, ...),
 * so never rename one; add new ones instead.
 */
export const ERROR_CODES = Object.freeze({
  /** The frame is not valid JSON / protobuf, or not an object. Sent without `id`. */
  bad_frame: 'frame could not be parsed',
  /** Unknown `op`, missing or mistyped field. */
  bad_request: 'request is not valid',
  /** Channel name too long, empty, or with characters outside the allowed set. */
  bad_channel: 'channel name is not valid',
  /** The token does not grant this operation on this channel. */
  forbidden: 'not allowed on this channel',
  /** The connection already holds the maximum number of subscriptions. */
  too_many_subscriptions: 'subscription limit reached',
  /** The connection sends faster than its rate limit; retry later. */
  rate_limited: 'rate limit exceeded',
  /** The bus (Kafka) cannot take the message now; retry later. Nothing was published. */
  bus_unavailable: 'message bus unavailable, retry later',
  /** The bus refused the message for good. */
  bus_rejected: 'message bus rejected the message',
  /** The bus did not confirm the message in time; it may still be delivered (a retry may duplicate it). */
  bus_uncertain: 'message bus did not confirm the message in time; it may still be delivered',
  /** The gateway is draining and takes no new publishes. */
  draining: 'gateway is shutting down',
  internal: 'internal error',
} as const);

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * The error code a failed publish reports, for WebSocket and HTTP publishers alike: the bus's own
 * code where a client acts on it differently, `bus_unavailable` for the other bus errors (a closed
 * bus included), undefined when `err` is not a bus error.
 */
export function busFailureCode(err: unknown): 'bus_rejected' | 'bus_uncertain' | 'bus_unavailable' | undefined {
  if (!(err instanceof BusError)) return undefined;
  return err.code === 'bus_rejected' || err.code === 'bus_uncertain' ? err.code : 'bus_unavailable';
}

/** An error that is reported to the client as `{"op":"error","code":...}`. */
export class ClientError extends Error {
  constructor(readonly code: ErrorCode, message: string = ERROR_CODES[code]) {
    super(message);
    this.name = 'ClientError';
  }
}
