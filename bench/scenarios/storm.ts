/**
 * Connect storm, as after a region failover: K clients start connecting at the same moment, each
 * subscribing to a channel as soon as it is open. Measures handshakes per second (K over the time
 * to the last completed upgrade) and the time until every client is subscribed.
 */
import type { ClientPool } from '../load/pool.js';
import type { Running } from '../servers/targets.js';
import { quiesce, sig } from '../lib/util.js';

export interface StormResult {
  readonly clients: number;
  readonly opened: number;
  readonly subscribed: number;
  readonly failed: number;
  readonly firstError?: string;
  readonly handshakesPerSec: number;
  readonly allOpenMs: number;
  readonly allSubscribedMs: number;
}

export async function runStorm(run: Running, pool: ClientPool, k: number): Promise<StormResult> {
  await quiesce(run.serverPids());
  const c = await pool.connect(
    run.target,
    k,
    { kind: 'one', ch: 'storm' },
    { concurrency: 0, timeoutMs: 120_000 },
  );
  await pool.closeAll();
  await quiesce(run.serverPids());
  return {
    clients: k,
    opened: c.opened,
    subscribed: c.subscribed,
    failed: c.failed,
    ...(c.firstError ? { firstError: c.firstError } : {}),
    handshakesPerSec: sig(c.opened / (c.openMs / 1000)),
    allOpenMs: sig(c.openMs),
    allSubscribedMs: sig(c.subscribedMs),
  };
}
