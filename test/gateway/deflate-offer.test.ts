/**
 * deflate-offer.ts: the gateway's permessage-deflate negotiation (RFC 7692 §5, §7.1). What it
 * accepts and answers, what it declines, that it never throws, and that on single offers it
 * decides as `ws`'s own negotiation would with the gateway's options.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { acceptDeflate } from '../../services/gateway/src/deflate-offer.js';

const BASE = 'permessage-deflate; server_no_context_takeover; client_no_context_takeover';

describe('acceptDeflate', () => {
  it("answers a browser's offer with both no_context_takeover parameters", () => {
    const a = acceptDeflate('permessage-deflate; client_max_window_bits');
    expect(a?.header).toBe(BASE);
    expect(a?.params).toEqual({ server_no_context_takeover: true, client_no_context_takeover: true });
    expect(acceptDeflate('permessage-deflate')?.header).toBe(BASE);
    expect(acceptDeflate('permessage-deflate; client_max_window_bits=10')?.header).toBe(BASE);
  });

  it("repeats the client's server_max_window_bits, quoted or not", () => {
    for (const v of ['10', '"10"']) {
      const a = acceptDeflate(`permessage-deflate; server_max_window_bits=${v}`);
      expect(a?.header).toBe(`${BASE}; server_max_window_bits=10`);
      expect(a?.params.server_max_window_bits).toBe(10);
    }
    expect(
      acceptDeflate('permessage-deflate ;server_max_window_bits = 15 ')?.params.server_max_window_bits,
    ).toBe(15);
  });

  it('shares one answer between handshakes that negotiate the same thing', () => {
    const a = acceptDeflate('permessage-deflate; client_max_window_bits');
    const b = acceptDeflate('permessage-deflate; server_no_context_takeover');
    expect(a).toBe(b);
    expect(Object.isFrozen(a!.params)).toBe(true);
  });

  it('takes the first acceptable offer, skipping declined offers and other extensions', () => {
    expect(
      acceptDeflate('permessage-deflate; foo, permessage-deflate; server_max_window_bits=12')?.params
        .server_max_window_bits,
    ).toBe(12);
    expect(
      acceptDeflate('permessage-deflate; server_max_window_bits=9, permessage-deflate')?.params
        .server_max_window_bits,
    ).toBe(9);
    expect(acceptDeflate('x-webkit-deflate-frame; no_context_takeover, permessage-deflate')?.header).toBe(
      BASE,
    );
    expect(acceptDeflate('foo; a="b, c", permessage-deflate')?.header).toBe(BASE);
    // Reading stops at the accepted offer.
    expect(acceptDeflate('permessage-deflate, ;;')?.header).toBe(BASE);
  });

  it('declines offers with unknown, repeated or out-of-range parameters', () => {
    for (const offer of [
      'permessage-deflate; foo=1',
      'permessage-deflate; foo',
      'permessage-deflate; server_max_window_bits',
      'permessage-deflate; server_max_window_bits=7',
      'permessage-deflate; server_max_window_bits=16',
      'permessage-deflate; server_max_window_bits=010',
      'permessage-deflate; server_max_window_bits=0x0a',
      'permessage-deflate; client_max_window_bits=abc',
      'permessage-deflate; client_max_window_bits=9; client_max_window_bits=10',
      'permessage-deflate; server_no_context_takeover=yes',
      'permessage-deflate; client_no_context_takeover; client_no_context_takeover',
      'x-webkit-deflate-frame',
    ])
      expect(acceptDeflate(offer), offer).toBeUndefined();
  });

  it('declines every offer of a header that does not parse', () => {
    for (const header of [
      '',
      ',',
      ';',
      'permessage-deflate;',
      'permessage-deflate;;;,,',
      'permessage-deflate; =1',
      '"permessage-deflate"',
      'permessage-deflate; x="unterminated',
      'permessage-deflate; server_max_window_bits="1 0"',
      'permessage-deflate permessage-deflate',
      'p'.repeat(8_000),
    ])
      expect(acceptDeflate(header), header).toBeUndefined();
    expect(acceptDeflate(undefined)).toBeUndefined();
  });

  it('never throws, whatever the header', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200, unit: 'binary' }), (header) => {
        const a = acceptDeflate(header);
        if (a !== undefined) expect(a.header.startsWith(BASE)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it("decides a single offer as ws's negotiation does with the gateway's parameters", () => {
    // ws's own parser and PerMessageDeflate, as ws would have used them (ws 8: lib/extension.js,
    // lib/permessage-deflate.js). Offers are built from the grammar, with values in decimal
    // without leading zeros or plainly invalid, where ws and RFC 7692 agree.
    const require = createRequire(import.meta.url);
    const lib = join(dirname(require.resolve('ws')), 'lib');
    const { parse } = require(join(lib, 'extension.js')) as {
      parse: (h: string) => Record<string, unknown[]>;
    };
    const PerMessageDeflate = require(join(lib, 'permessage-deflate.js')) as new (o: object) => {
      accept(offers: unknown[]): Record<string, unknown>;
    };
    const wsDecides = (header: string): number | undefined | 'declined' => {
      try {
        const offers = parse(header)['permessage-deflate'];
        if (offers === undefined) return 'declined';
        const pmd = new PerMessageDeflate({
          serverNoContextTakeover: true,
          clientNoContextTakeover: true,
          isServer: true,
        });
        const params = pmd.accept(offers);
        return (params.server_max_window_bits as number | undefined) ?? undefined;
      } catch {
        return 'declined';
      }
    };
    const value = fc.oneof(
      fc.constant(undefined),
      fc.integer({ min: 6, max: 17 }).map(String),
      fc.constantFrom('abc', 'yes', '1'),
    );
    const param = fc
      .tuple(
        fc.constantFrom(
          'server_no_context_takeover',
          'client_no_context_takeover',
          'server_max_window_bits',
          'client_max_window_bits',
          'x_unknown',
        ),
        value,
        fc.boolean(),
      )
      .map(([name, v, quoted]) => (v === undefined ? name : `${name}=${quoted ? `"${v}"` : v}`));
    fc.assert(
      fc.property(fc.array(param, { maxLength: 4 }), fc.constantFrom('; ', ';', ' ; '), (params, sep) => {
        const header = ['permessage-deflate', ...params].join(sep);
        const ours = acceptDeflate(header);
        const theirs = wsDecides(header);
        if (theirs === 'declined') expect(ours, header).toBeUndefined();
        else {
          expect(ours, header).toBeDefined();
          expect(ours!.params.server_max_window_bits, header).toBe(theirs);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});
