/**
 * Reconnect delays: exponential backoff with full jitter (delay uniform in [0, min(cap, base·2^n)]),
 * which spreads a fleet's reconnects over the whole window instead of synchronising them into
 * waves after a deploy or a failover.
 */
export interface BackoffOptions {
  /** First window (ms). */
  readonly baseMs: number;
  /** Largest window (ms). */
  readonly maxMs: number;
}

export function fullJitter(
  attempt: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  const window = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * window);
}

/** What the client does after a close, by code (docs/protocol.md, Close codes). */
export type CloseAction =
  /** Reconnect with the normal backoff. */
  | { readonly kind: 'reconnect'; readonly minAttempt: number }
  /** Get a new token first, then reconnect. */
  | { readonly kind: 'refresh-token' }
  /** Do not reconnect. */
  | { readonly kind: 'stop' };

export function closeAction(code: number): CloseAction {
  switch (code) {
    case 1008: // policy: a new attempt would fail the same way
    case 1009: // our frame was too big: retrying sends it again
      return { kind: 'stop' };
    case 4001:
      return { kind: 'refresh-token' };
    case 1013: // overloaded: start from a longer window
    case 4029: // rate limited
      return { kind: 'reconnect', minAttempt: 4 };
    default: // 1000 idle, 1001 draining, 1006 dead link, 1012 rebalance, 4008 slow
      return { kind: 'reconnect', minAttempt: 0 };
  }
}
