/** Small helpers shared by the scenarios. */
import { sumCpu } from './proc.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Waits until the processes stop using CPU (at most one 10 ms clock tick in 150 ms), so that one
 * phase's leftovers (closing sockets, garbage collection) are not billed to the next. Bounded.
 */
export async function quiesce(pids: readonly number[], maxMs = 10_000): Promise<void> {
  const until = Date.now() + maxMs;
  let last = sumCpu(pids);
  while (Date.now() < until) {
    await sleep(150);
    const now = sumCpu(pids);
    if (now - last < 0.015) return;
    last = now;
  }
}

/** Rounds to `digits` significant digits (for readable JSON and tables). */
export function sig(v: number, digits = 3): number {
  if (!Number.isFinite(v) || v === 0) return v;
  return Number(v.toPrecision(digits));
}
