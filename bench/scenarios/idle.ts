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
  /**
   * The same two figures after a full collection, when the server can be made to run one
   * ({@link Running.collect}): what the connections retain, without garbage not yet collected.
   */
  readonly rssPerConnAfterGcBytes?: number;
  readonly heapPerConnAfterGcBytes?: number;
}

export async function runIdle(
  run: Running,
  pool: ClientPool,
  n: number,
  processes: number,
  /** The server's target with client options (permessage-deflate); `run.target` by default. */
  target: Target = run.target,
): Promise<IdleResult> {
  // A collectable server starts from a collected heap, so that both readings share one baseline.
  await run.collect?.();
  await quiesce(run.serverPids());
  const rss0 = sumRss(run.serverPids());
  const heap0 = await run.heapUsed();
  const c = await pool.connect(target, n, { kind: 'none' }, { concurrency: 100, timeoutMs: 180_000 });
  // Let the accept path's garbage settle before reading memory.
  await sleep(1_000);
  await quiesce(run.serverPids());
  const rss1 = sumRss(run.serverPids());
  const heap1 = await run.heapUsed();
  let afterGc: { rss: number; heap: number | undefined } | undefined;
  if (run.collect !== undefined) {
    await run.collect();
    afterGc = { rss: sumRss(run.serverPids()), heap: await run.heapUsed() };
  }
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
    ...(afterGc === undefined
      ? {}
      : {
          rssPerConnAfterGcBytes: sig((afterGc.rss - rss0) / k),
          ...(heap0 !== undefined && afterGc.heap !== undefined
            ? { heapPerConnAfterGcBytes: sig((afterGc.heap - heap0) / k) }
            : {}),
        }),
  };
}

/** The gateway's idle connections with one ping each, without and with permessage-deflate. */
export interface IdleDeflateEntry {
  readonly connections: number;
  /** Each figure the median of {@link runs} ({@link medianIdle}). */
  readonly plain: IdleResult;
  readonly deflate: IdleResult;
  /** Every measurement, in the order taken (absent in older results). */
  readonly runs?: ReadonlyArray<{ readonly plain: IdleResult; readonly deflate: IdleResult }>;
}

/** Figure by figure, the median of several measurements of one variant. */
export function medianIdle(results: readonly IdleResult[]): IdleResult {
  if (results.length === 0) throw new Error('medianIdle: no results');
  const out: Record<string, unknown> = { ...results[0] };
  for (const key of Object.keys(out)) {
    const values = results.map((r) => (r as unknown as Record<string, unknown>)[key]);
    if (!values.every((v): v is number => typeof v === 'number')) continue;
    out[key] = median(values);
  }
  return out as unknown as IdleResult;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
