import { describe, expect, it } from 'vitest';
import { startGateway, waitFor } from '../helpers/gateway.js';

const readyz = async (http: string) => {
  const r = await fetch(`${http}/readyz`);
  return { status: r.status, body: (await r.json()) as { status: string } };
};

describe('readiness and the recovery history', () => {
  it('waits for the history to cover WSGW_HISTORY_WARM_MS, then stays ready even when heavy traffic shortens it', async () => {
    const gw = await startGateway({ WSGW_HISTORY_WARM_MS: '800', WSGW_HISTORY_MAX_BYTES: '0' });
    expect(await readyz(gw.http)).toEqual({ status: 503, body: { status: 'warming_history' } });
    await waitFor(async () => (await readyz(gw.http)).status === 200, 5_000, 'ready after the warm-up');
    // A zero-byte history evicts every message at once, raising its floor to "now".
    for (let i = 0; i < 20; i++) await gw.gateway.publish('busy', 'application/json', Buffer.from(String(i)));
    await new Promise((r) => setTimeout(r, 50));
    expect(Date.now() - gw.gateway.history.coveredSince).toBeLessThan(800);
    expect((await readyz(gw.http)).status).toBe(200);
    await gw.stop();
  });
});
