import { describe, expect, it } from 'vitest';
import { startGateway, waitFor } from '../helpers/gateway.js';
import { TestClient } from '../helpers/client.js';

describe('graceful drain', () => {
  it('turns readiness off at once, refuses upgrades, then closes with 1001 in batches spread over the window', async () => {
    const gw = await startGateway({
      WSGW_DRAIN_DELAY_MS: '500',
      WSGW_DRAIN_WINDOW_MS: '2000',
      WSGW_DRAIN_DEADLINE_MS: '6000',
    });
    await waitFor(async () => (await fetch(`${gw.http}/readyz`)).status === 200, 5_000, 'ready');
    const clients = await Promise.all(Array.from({ length: 40 }, () => TestClient.connect(gw.url)));
    for (const c of clients) await c.sub('d');
    const closedAt = new Map<TestClient, number>();
    for (const c of clients) c.ws.on('close', () => closedAt.set(c, Date.now()));

    const t0 = Date.now();
    const drained = gw.gateway.drain();
    const ready = await fetch(`${gw.http}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'draining' });
    await expect(TestClient.connect(gw.url)).rejects.toMatchObject({ status: 503 });
    // Liveness stays up while draining: the orchestrator must not kill a draining task.
    expect((await fetch(`${gw.http}/healthz`)).status).toBe(200);

    await drained;
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeLessThan(6_000);
    for (const c of clients) expect(c.closed).toEqual({ code: 1001, reason: 'server draining' });
    const times = [...closedAt.values()].map((t) => t - t0).sort((a, b) => a - b);
    expect(times[0]).toBeGreaterThanOrEqual(500); // nobody is closed before the deregistration delay
    // Spread: the closes cover most of the window rather than landing in one burst.
    expect(times.at(-1)! - times[0]!).toBeGreaterThan(1_000);
    expect(gw.gateway.state).toBe('stopped');
  });

  it('terminates what is left at the hard deadline', async () => {
    const gw = await startGateway({
      WSGW_DRAIN_DELAY_MS: '100',
      WSGW_DRAIN_WINDOW_MS: '200',
      WSGW_DRAIN_DEADLINE_MS: '2000',
    });
    // A client that never completes the close handshake: its socket stops reading.
    const stuck = await TestClient.connect(gw.url);
    (stuck.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const t0 = Date.now();
    await gw.gateway.drain();
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(gw.gateway.connectionCount).toBe(0);
  });
});
