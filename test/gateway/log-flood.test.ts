/**
 * Logs a client can cause at will are aggregated: hundreds of subscriptions with positions the
 * gateway cannot recover from give one log line with the counts, not hundreds.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { Gateway } from '../../services/gateway/src/gateway.js';
import { loadConfig } from '../../services/gateway/src/config.js';
import { MemoryBus } from '../../services/gateway/src/bus/bus-memory.js';
import { TestClient } from '../helpers/client.js';
import { waitFor } from '../helpers/gateway.js';

describe('log flooding', () => {
  it('writes one line for 500 unrecoverable subscriptions, and counts every one in metrics', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()),
    });
    const config = loadConfig({
      PORT: '0',
      WSGW_METRICS_PORT: '0',
      WSGW_HOST: '127.0.0.1',
      WSGW_RATE_LIMIT_PER_SEC: '100000',
      WSGW_RATE_LIMIT_BURST: '100000',
    });
    const gateway = new Gateway({
      config,
      bus: new MemoryBus(),
      logger: pino({ level: 'info' }, sink),
      emfSink: () => {},
    });
    await gateway.start();
    const c = await TestClient.connect(`ws://127.0.0.1:${gateway.port}/`);
    // A sync point from long before this gateway began reading: never recoverable here.
    for (let i = 0; i < 500; i++)
      c.send({ op: 'sub', ch: `old:${i % 50}`, since: { local: 'gone-1', '@': '1000' } });
    await waitFor(() => c.frames.filter((f) => f.op === 'ack').length === 500, 10_000, '500 acks');
    expect(c.frames.filter((f) => f.op === 'ack' && f.recovered === false)).toHaveLength(500);
    const recoveryLines = lines.filter((l) => l.includes('recovery not possible'));
    expect(recoveryLines.length).toBeLessThanOrEqual(2);
    expect(recoveryLines.length).toBeGreaterThanOrEqual(1);
    const text = await gateway.metrics.registry.metrics();
    expect(text).toMatch(/^wsgw_recoveries_total\{outcome="not_read_yet"\} 500$/m);
    c.close();
    await gateway.stop();
  });
});
