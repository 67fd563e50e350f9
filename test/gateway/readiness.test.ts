import { describe, expect, it } from 'vitest';
import { startGateway, waitFor } from '../helpers/gateway.js';
import { MemoryBus } from '../../services/gateway/src/bus/bus-memory.js';
import type { BusHandler } from '../../services/gateway/src/bus/bus.js';

const readyz = async (http: string) => {
  const r = await fetch(`${http}/readyz`);
  return { status: r.status, body: (await r.json()) as { status: string } };
};

/** A memory bus that reads back history at start, as the Kafka bus does: done after `ms`. */
class ReadBackBus extends MemoryBus {
  private done: (since: number) => void = () => {};
  readonly historyWarm = new Promise<number>((r) => (this.done = r));
  constructor(
    private readonly ms: number,
    private readonly reachesBackMs: number,
  ) {
    super();
  }
  override async start(handler: BusHandler): Promise<void> {
    await super.start(handler);
    const since = Date.now() - this.reachesBackMs;
    setTimeout(() => this.done(since), this.ms);
  }
}

describe('readiness and the recovery history', () => {
  it('is ready at once in embedded mode: the memory bus has nothing to read back', async () => {
    const gw = await startGateway({ WSGW_HISTORY_WARM_MS: '30000' });
    await waitFor(async () => (await readyz(gw.http)).status === 200, 2_000, 'ready');
    await gw.stop();
  });

  it('waits for the read-back, and for the history to cover WSGW_HISTORY_WARM_MS, then stays ready whatever the history holds', async () => {
    // The read-back takes 300 ms and reaches 200 ms back: 800 ms are covered 600 ms after it is done.
    const gw = await startGateway(
      { WSGW_HISTORY_WARM_MS: '800', WSGW_HISTORY_MAX_BYTES: '0' },
      new ReadBackBus(300, 200),
    );
    const t0 = Date.now();
    expect(await readyz(gw.http)).toEqual({ status: 503, body: { status: 'warming_history' } });
    await waitFor(async () => (await readyz(gw.http)).status === 200, 5_000, 'ready after the warm-up');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(550);
    // A zero-byte history evicts every message at once; readiness was a start-up gate only.
    for (let i = 0; i < 20; i++) await gw.gateway.publish('busy', 'application/json', Buffer.from(String(i)));
    await new Promise((r) => setTimeout(r, 50));
    expect(gw.gateway.history.size).toBe(0);
    expect((await readyz(gw.http)).status).toBe(200);
    await gw.stop();
  });
});
