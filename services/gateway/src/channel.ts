/**
 * Channel names. They travel as Kafka record keys, Prometheus never sees them (unbounded
 * cardinality), and permission patterns match them, so they are kept short and plain.
 */

/** Longest channel name accepted, in characters. */
export const MAX_CHANNEL_LENGTH = 128;

/** Letters, digits and `_ - . : @ / = +`; at most {@link MAX_CHANNEL_LENGTH} characters. */
const CHANNEL = /^[A-Za-z0-9_\-.:@/=+]{1,128}$/;

export function isValidChannel(ch: string): boolean {
  return CHANNEL.test(ch);
}
