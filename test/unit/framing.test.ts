import { describe, expect, it } from 'vitest';
import type { EventEmitter } from 'node:events';
import * as ws from 'ws';

/** ws's frame parser; exported at run time, absent from @types/ws. */
const { Receiver } = ws as unknown as {
  Receiver: new (opts: {
    isServer: boolean;
    maxPayload: number;
    extensions?: Record<string, unknown>;
  }) => EventEmitter & { write(chunk: Buffer): void };
};
const { PerMessageDeflate } = ws as unknown as {
  PerMessageDeflate: new (opts: { isServer: boolean; clientNoContextTakeover?: boolean }) => {
    accept(offers: Array<Record<string, unknown>>): unknown;
  };
};
import { OutboundFrames, binaryFrame, textFrame } from '../../services/gateway/src/framing.js';

/** Parses frames with ws's own Receiver, acting as a client. */
function parse(
  frames: Buffer[],
  extensions?: Record<string, unknown>,
): Promise<Array<{ data: Buffer; isBinary: boolean }>> {
  return new Promise((resolve, reject) => {
    const out: Array<{ data: Buffer; isBinary: boolean }> = [];
    const r = new Receiver({ isServer: false, maxPayload: 0, extensions });
    r.on('message', (data: Buffer, isBinary: boolean) => {
      out.push({ data, isBinary });
      if (out.length === frames.length) resolve(out);
    });
    r.on('error', reject);
    r.write(Buffer.concat(frames));
  });
}

describe('framing', () => {
  it('produces frames a WebSocket client parses, at every length encoding', async () => {
    const sizes = [0, 1, 125, 126, 65_535, 65_536, 200_000];
    const texts = sizes.map((n) => 'é'.repeat(Math.ceil(n / 2)).slice(0, Math.ceil(n / 2)));
    const bins = sizes.map((n) => Buffer.alloc(n, 7));
    const parsed = await parse([...texts.map(textFrame), ...bins.map(binaryFrame)]);
    parsed.slice(0, sizes.length).forEach((p, i) => {
      expect(p.isBinary).toBe(false);
      expect(p.data.toString()).toBe(texts[i]);
    });
    parsed.slice(sizes.length).forEach((p, i) => {
      expect(p.isBinary).toBe(true);
      expect(p.data.equals(bins[i]!)).toBe(true);
    });
  });
});

describe('compressed framing', () => {
  /** ws's client side of the extension, as negotiated with the gateway. */
  function deflateClient(): Record<string, unknown> {
    const pmd = new PerMessageDeflate({ isServer: false });
    pmd.accept([{ server_no_context_takeover: [true], client_no_context_takeover: [true] }]);
    return { 'permessage-deflate': pmd };
  }

  it('builds one compressed frame (RSV1) that a client inflates, shared by every caller', async () => {
    let deflates = 0;
    const text = JSON.stringify({ ticks: Array.from({ length: 60 }, (_, i) => ({ s: 'ACME', p: 100 + i })) });
    const out = OutboundFrames.text(text, 512, () => deflates++);
    const a = out.for(true);
    const b = out.for(true);
    expect(a).toBe(b);
    expect(deflates).toBe(1);
    expect(a[0]).toBe(0x80 | 0x40 | 0x1);
    expect(a.length).toBeLessThan(text.length / 2);
    const plain = out.for(false);
    expect(plain[0]).toBe(0x81);
    // Several compressed messages in a row: each one stands alone (no context takeover).
    const parsed = await parse([a, plain, b, a], deflateClient());
    expect(parsed.map((p) => p.data.toString())).toEqual([text, text, text, text]);
  });

  it('leaves RSV1 clear below the threshold and when deflate does not shrink the payload', () => {
    let deflates = 0;
    const small = OutboundFrames.text('{"x":"' + 'a'.repeat(400) + '"}', 512, () => deflates++);
    expect(small.for(true)[0]).toBe(0x81);
    const noise = OutboundFrames.binary(
      Uint8Array.from({ length: 4_096 }, () => Math.floor(Math.random() * 256)),
      512,
      () => deflates++,
    );
    expect(noise.for(true)[0]).toBe(0x82);
    expect(deflates).toBe(0);
  });
});
