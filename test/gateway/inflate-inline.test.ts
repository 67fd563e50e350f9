/**
 * inflate-inline.ts against zlib: what a client's zlib compresses (any level, strategy, window and
 * memory setting, any split into fragments) comes back byte for byte; arbitrary bytes never throw
 * and, whenever zlib can read them as a finished stream, give what zlib gives; a bomb is refused.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { INLINE_INFLATE_MAX_BYTES, inflateInline } from '../../services/gateway/src/inflate-inline.js';

const MAX = 64 * 1024;
/** What the inflater appends: the stripped sync-flush tail, then an empty final stored block. */
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff]);

/** One permessage-deflate message as a client sends it (RFC 7692 §7.2.1). */
function clientMessage(data: Buffer, opts: Parameters<typeof deflateRawSync>[1] = {}): Buffer {
  const z = deflateRawSync(data, { ...opts, finishFlush: constants.Z_SYNC_FLUSH });
  return z.subarray(0, z.length - 4);
}

/** Cuts `buf` at the given fractions (fragments of one message). */
function split(buf: Buffer, cuts: readonly number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => Math.floor(c * buf.length)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const to of at) {
    parts.push(buf.subarray(from, to));
    from = to;
  }
  parts.push(buf.subarray(from));
  return parts;
}

describe('inflateInline', () => {
  it("returns what the client's zlib compressed, whatever its settings and fragments", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 600 }).map((s) => Buffer.from(s)),
          fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
          fc.json({ maxDepth: 3 }).map((s) => Buffer.from(s)),
        ),
        fc.record({
          level: fc.integer({ min: 0, max: 9 }),
          windowBits: fc.integer({ min: 9, max: 15 }),
          memLevel: fc.integer({ min: 1, max: 9 }),
          strategy: fc.constantFrom(
            constants.Z_DEFAULT_STRATEGY,
            constants.Z_FILTERED,
            constants.Z_HUFFMAN_ONLY,
            constants.Z_RLE,
            constants.Z_FIXED,
          ),
        }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 }),
        (data, opts, cuts) => {
          const msg = clientMessage(data, opts);
          fc.pre(msg.length <= INLINE_INFLATE_MAX_BYTES);
          const result = inflateInline(split(msg, cuts), MAX);
          expect(result).toEqual({ ok: true, data });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never throws on arbitrary bytes, and agrees with zlib wherever zlib reads a finished stream', () => {
    let compared = 0;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: INLINE_INFLATE_MAX_BYTES }), (bytes) => {
        const input = Buffer.from(bytes);
        const result = inflateInline([input], MAX);
        let expected: Buffer | undefined;
        try {
          expected = inflateRawSync(Buffer.concat([input, TAIL]), { maxOutputLength: MAX });
        } catch {
          expected = undefined;
        }
        if (expected !== undefined) {
          compared++;
          expect(result).toEqual({ ok: true, data: expected });
        } else expect(result.ok === false || Buffer.isBuffer(result.data)).toBe(true);
      }),
      { numRuns: 3_000 },
    );
    // Random bytes are mostly not a finished stream; enough of them are for the comparison to bite.
    expect(compared).toBeGreaterThan(50);
  });

  it('refuses garbage as bad data', () => {
    expect(inflateInline([Buffer.from([0xff, 0xfe, 0x13, 0x37, 0x00, 0x42, 0x99])], MAX)).toEqual({
      ok: false,
      reason: 'bad_data',
    });
    // Block type 3 does not exist.
    expect(inflateInline([Buffer.from([0x07])], MAX)).toEqual({ ok: false, reason: 'bad_data' });
  });

  it('refuses a small bomb as too large, inflating into its fixed scratch buffer', () => {
    // 200,000 zeros in about 210 bytes: small enough to be inflated inline.
    const bomb = clientMessage(Buffer.alloc(200_000), { level: 9 });
    expect(bomb.length).toBeLessThanOrEqual(INLINE_INFLATE_MAX_BYTES);
    expect(inflateInline([bomb], MAX)).toEqual({ ok: false, reason: 'too_large' });
    // The same message is fine under a limit it fits.
    const fits = inflateInline([bomb], 200_000);
    expect(fits.ok && fits.data.length).toBe(200_000);
  });

  it('holds the largest expansion of an inline-sized message', () => {
    // Zeros compress at DEFLATE's best ratio; the largest run that still fits the inline bound.
    let n = 200_000;
    while (clientMessage(Buffer.alloc(n + 1_000), { level: 9 }).length <= INLINE_INFLATE_MAX_BYTES)
      n += 1_000;
    const msg = clientMessage(Buffer.alloc(n), { level: 9 });
    expect(msg.length).toBeLessThanOrEqual(INLINE_INFLATE_MAX_BYTES);
    const result = inflateInline([msg], Number.MAX_SAFE_INTEGER);
    expect(result.ok && result.data.length).toBe(n);
  });

  it('hands out a buffer of its own, not a view into the scratch', () => {
    const a = inflateInline([clientMessage(Buffer.from('first message'))], MAX);
    const b = inflateInline([clientMessage(Buffer.from('second'))], MAX);
    expect(a.ok && a.data.toString()).toBe('first message');
    expect(b.ok && b.data.toString()).toBe('second');
  });
});
