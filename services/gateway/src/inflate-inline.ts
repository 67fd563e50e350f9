/**
 * Small compressed client messages, inflated on the spot: the keep-alive pings, subscriptions and
 * acks a browser compresses once permessage-deflate is on (tens of bytes each).
 *
 * The pool (compression.ts) inflates on libuv's thread pool, which is right for large messages but
 * costs a tiny one a queue slot, a thread-pool trip and the objects that wait for both. When
 * thousands of sockets send at once (every client's first ping, a reconnect storm) those objects
 * outlive the young generation and sit in the old one until the next full collection: about 5-15 %
 * more RSS per idle connection at 19,000 connections. Inflated here, in JavaScript (`fflate`, raw
 * DEFLATE, no zlib context), a small message's garbage dies young, and there is no queue to wait in.
 *
 * Bounded: a message goes this way only when its compressed size is at most
 * {@link INLINE_INFLATE_MAX_BYTES}, and DEFLATE expands a byte to at most 1,032 (a 258-byte match
 * coded in 2 bits), so the output fits a scratch buffer allocated once per process and a bomb costs
 * no memory and well under a millisecond before it is refused.
 */
import { inflateSync } from 'fflate';

/** The largest compressed message (its parts together) inflated inline. */
export const INLINE_INFLATE_MAX_BYTES = 256;

/**
 * What ends every message for the inflater: the sync-flush tail the sender stripped (RFC 7692
 * §7.2.2), then an empty final stored block, so that the stream ends where the message does.
 */
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff]);

/** DEFLATE's largest expansion: a 258-byte match per 2 bits of input. */
const MAX_EXPANSION = 1032;
const SCRATCH_BYTES = (INLINE_INFLATE_MAX_BYTES + TAIL.length) * MAX_EXPANSION + 2 * 258;

let scratch: Uint8Array | undefined;

export type InlineResult =
  | { readonly ok: true; readonly data: Buffer }
  | { readonly ok: false; readonly reason: 'too_large' | 'bad_data' };

/**
 * Inflates one whole message (its compressed parts in order, at most
 * {@link INLINE_INFLATE_MAX_BYTES} together) into a fresh buffer of its own, or says why not.
 */
export function inflateInline(parts: readonly Buffer[], maxBytes: number): InlineResult {
  const input = Buffer.concat([...parts, TAIL]);
  const out = (scratch ??= new Uint8Array(SCRATCH_BYTES));
  let inflated: Uint8Array;
  try {
    inflated = inflateSync(input, { out });
  } catch {
    return { ok: false, reason: 'bad_data' };
  }
  // The bound above makes a full scratch impossible; treat one as too large rather than trust it.
  if (inflated.length > maxBytes || inflated.length >= out.length) return { ok: false, reason: 'too_large' };
  // A copy: the scratch is overwritten by the next message.
  return { ok: true, data: Buffer.from(inflated) };
}
