/**
 * Every error code wsgw speaks, in one table: in error frames (`{"op":"error","code":...}`), in the
 * JSON body of a refused upgrade or HTTP request (`{"error":"<code>","message":...}`), and in the
 * SDK's `WsgwError`. Codes are stable API: clients branch on them (retry after `rate_limited` or
 * `bus_unavailable`, get a new token after `token_expired`, ...), so never rename one; add new ones.
 *
 * Per code: the default message; `frame` when a gateway sends it in an error frame; `status` when it
 * answers an HTTP request or a refused upgrade with it; `sdk` when only the SDK raises it (no server
 * says it). docs/protocol.md lists them for people writing clients.
 */
export const ERRORS = Object.freeze({
  // Frames a client sends.
  bad_frame: { message: 'frame could not be parsed', frame: true },
  bad_request: { message: 'request is not valid', frame: true, status: 400 },
  bad_channel: { message: 'channel name is not valid', frame: true, status: 400 },
  forbidden: { message: 'not allowed on this channel', frame: true },
  too_many_subscriptions: { message: 'subscription limit reached', frame: true },
  rate_limited: { message: 'rate limit exceeded', frame: true },
  // Publishing: the bus's answers, over WebSocket and HTTP alike.
  bus_unavailable: {
    message: 'message bus unavailable, retry later; nothing was published',
    frame: true,
    status: 503,
  },
  bus_rejected: { message: 'message bus rejected the message', frame: true, status: 422 },
  bus_uncertain: {
    message: 'message bus did not confirm the message in time; it may still be delivered',
    frame: true,
    status: 504,
  },
  // Refused upgrades.
  token_missing: { message: 'a token is required (?token= or Authorization: Bearer)', status: 401 },
  token_invalid: { message: 'token is not valid', status: 401 },
  token_expired: { message: 'token has expired', status: 401 },
  auth_unavailable: { message: 'token keys cannot be fetched right now; retry', status: 503 },
  origin: { message: 'origin is not allowed', status: 403 },
  draining: { message: 'gateway is draining; connect to another task', status: 503 },
  max_connections: { message: 'this task is full; retry', status: 503 },
  // HTTP routes.
  not_found: { message: 'not found', status: 404 },
  method_not_allowed: { message: 'method not allowed', status: 405 },
  unauthorized: { message: 'Authorization: Bearer <publish key> required', status: 401 },
  publish_disabled: { message: 'set WSGW_PUBLISH_KEY to enable POST /publish', status: 403 },
  payload_too_large: { message: 'body is too large', status: 413 },
  // A bug met the request; the gateway logged and counted it.
  internal: { message: 'internal error', frame: true, status: 500 },
  // Raised by the SDK itself.
  timeout: { message: 'no reply in time', sdk: true },
  disconnected: { message: 'connection closed before the reply', sdk: true },
  closed: { message: 'client closed', sdk: true },
  offline_queue_full: { message: 'too many publishes wait for the connection', sdk: true },
  unsubscribed: { message: 'unsubscribed before the ack', sdk: true },
} as const);

type Table = typeof ERRORS;

/** Any error code. */
export type ErrorCode = keyof Table;
/** Codes a gateway sends in error frames. */
export type FrameErrorCode = { [K in ErrorCode]: Table[K] extends { frame: true } ? K : never }[ErrorCode];
/** Codes a gateway answers HTTP requests and refused upgrades with. */
export type HttpErrorCode = { [K in ErrorCode]: Table[K] extends { status: number } ? K : never }[ErrorCode];

/** The HTTP status of a code. */
export function statusOf(code: HttpErrorCode): number {
  return (ERRORS[code] as { status: number }).status;
}

/** Whether a string from the wire is a code of this table. */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERRORS, code);
}
