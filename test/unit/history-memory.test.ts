/**
 * The history's byte bound counts what entries really cost: measured here against
 * `process.memoryUsage()` (heap and off-heap, after full collections) for the shapes that matter:
 * many small undecoded records, decoded messages, and one record per channel (where the channel's
 * own log dominates). Counted and real must agree within 20 %; they were 2.4x to 4.4x apart when
 * only payload bytes were counted.
 */
import { describe, expect, it } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { History } from '../../services/gateway/src/history.js';
import { encodeEnvelope } from '../../services/shared/src/envelope.js';
import type { BusMessage } from '../../services/gateway/src/bus/bus.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const used = (): number => {
  for (let i = 0; i < 4; i++) gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};

function message(i: number, channels: number, payloadBytes: number): BusMessage {
  return {
    id: `ip-10-0-1-7-a1b2c3-${i.toString(36)}`,
    channel: `room:${i % channels}`,
    origin: 'us-east-1',
    node: 'ip-10-0-1-7-a1b2c3',
    ts: 1_764_340_000_000,
    contentType: 'application/json',
    payload: Buffer.from(JSON.stringify('x'.repeat(payloadBytes))),
  };
}

describe('History memory', () => {
  it.each([
    ['300k small undecoded records on 1,000 channels', 300_000, 1_000, false, 60],
    ['100k decoded messages on 1,000 channels', 100_000, 1_000, true, 60],
    ['100k undecoded records, one per channel', 100_000, 100_000, false, 60],
    ['100k 1 KB undecoded records', 100_000, 1_000, false, 1_000],
  ])(
    'counts what it holds within 20 %: %s',
    (_name, n, channels, decoded, payload) => {
      const h = new History({ perChannel: 1_000_000, maxBytes: Number.MAX_SAFE_INTEGER, maxAgeMs: 1e9 }, 0);
      h.reading(undefined, 0);
      const before = used();
      for (let i = 0; i < n; i++) {
        const m = message(i, channels, payload);
        if (decoded) h.add(m, i, i);
        else h.addRaw(m.channel, m.origin, encodeEnvelope(m), i, i);
      }
      const real = used() - before;
      expect(h.size).toBe(n);
      const ratio = real / h.byteSize;
      expect(
        ratio,
        `real ${(real / n).toFixed(0)} B per entry, counted ${(h.byteSize / n).toFixed(0)}`,
      ).toBeGreaterThan(0.8);
      expect(ratio).toBeLessThan(1.2);
    },
    60_000,
  );
});
