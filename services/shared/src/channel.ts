/**
 * Channel names: the one rule, shared by the gateway, the bus and the clients. Names travel as
 * Kafka record keys, Prometheus never sees them (unbounded cardinality), and permission patterns
 * match them, so they are kept short and plain.
 */

/** Longest channel name accepted, in characters. */
export const MAX_CHANNEL_LENGTH = 128;

/**
 * Record keys under this prefix are the bus's own (probes, progress ticks), never channels: a
 * consumer skips them before anything else, so a channel named like this could never be delivered.
 */
export const RESERVED_CHANNEL_PREFIX = '__wsgw.';

/** Letters, digits and `_ - . : @ / = +`; at most {@link MAX_CHANNEL_LENGTH} characters. */
const CHANNEL = /^[A-Za-z0-9_\-.:@/=+]{1,128}$/;

export function isValidChannel(ch: string): boolean {
  return CHANNEL.test(ch) && !ch.startsWith(RESERVED_CHANNEL_PREFIX);
}

/** Why a name is refused, for the `bad_channel` error; undefined for a valid name. */
export function channelProblem(ch: string): string | undefined {
  if (isValidChannel(ch)) return undefined;
  const shown = JSON.stringify(ch.slice(0, 140));
  if (ch.startsWith(RESERVED_CHANNEL_PREFIX))
    return `channel names starting with ${RESERVED_CHANNEL_PREFIX} are reserved (got ${shown})`;
  return `channel must be 1-${MAX_CHANNEL_LENGTH} characters of letters, digits and _ - . : @ / = + (got ${shown})`;
}
