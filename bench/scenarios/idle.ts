/**
 * Idle connections: N connections opened (a bounded number in flight) and held, then the server's
 * resident memory and V8 heap compared with what it used before the first one. Each measurement
 * uses a freshly started server, so memory kept from an earlier phase cannot hide the cost.
 */
import type { ClientPool } from '../load/pool.js';
import type { Target } from '../load/wire.js';
import type { Running } from '../servers/targets.js';
import { sumRss } from '../lib/proc.js';
import { quiesce, sig, sleep } from '../lib/util.js';

export interface IdleResult {
  readonly connections: number;
  readonly failed: number;
  readonly firstError?: string;
  readonly processes: number;
  /** From the first connect to the last completed handshake. */
  readonly connectAllMs: number;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  readonly rssPerConnBytes: number;
  /** Heap per connection (undefined when the heap of every server process cannot be read). */
  readonly heapPerConnBytes: number | undefined;
}

export async function runIdle(
  run: Running,
  pool: ClientPool,
  n: number,
  processes: number,
  /** The server's target with client options (permessage-deflate); `run.target` by default. */
  target: Target = run.target,
): Promise<IdleResult> {
  await quiesce(run.serverPids());
  const rss0 = sumRss(run.serverPids());
  const heap0 = await run.heapUsed();
  const c = await pool.connect(target, n, { kind: 'none' }, { concurrency: 100, timeoutMs: 180_000 });
  // Let the accept path's garbage settle before reading memory.
  await sleep(1_000);
  await quiesce(run.serverPids());
  const rss1 = sumRss(run.serverPids());
  const heap1 = await run.heapUsed();
  await pool.closeAll();
  const k = Math.max(1, c.opened);
  return {
    connections: c.opened,
    failed: c.failed,
    ...(c.firstError ? { firstError: c.firstError } : {}),
    processes,
    connectAllMs: sig(c.openMs),
    rssBeforeBytes: rss0,
    rssAfterBytes: rss1,
    rssPerConnBytes: sig((rss1 - rss0) / k),
    heapPerConnBytes: heap0 !== undefined && heap1 !== undefined ? sig((heap1 - heap0) / k) : undefined,
  };
}
