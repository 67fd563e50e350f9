import { describe, expect, it } from 'vitest';
import type { EventEmitter } from 'node:events';
import * as ws from 'ws';

/** ws's frame parser; exported at run time, absent from @types/ws. */
const { Receiver } = ws as unknown as {
  Receiver: new (opts: {
    isServer: boolean;
    maxPayload: number;
  }) => EventEmitter & { write(chunk: Buffer): void };
};
import { binaryFrame, textFrame } from '../../services/gateway/src/framing.js';

/** Parses frames with ws's own Receiver, acting as a client. */
function parse(frames: Buffer[]): Promise<Array<{ data: Buffer; isBinary: boolean }>> {
  return new Promise((resolve, reject) => {
    const out: Array<{ data: Buffer; isBinary: boolean }> = [];
    const r = new Receiver({ isServer: false, maxPayload: 0 });
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
