/**
 * Graceful drain on SIGTERM:
 *
 *   SIGTERM ──► /readyz 503, upgrades refused ──(drainDelay: LB deregisters)──►
 *   close 1001 in jittered batches over drainWindow ──► bus closed ──► exit 0
 *                         (hard deadline: whatever is left is terminated)
 *
 * Closing everyone at once would send every client to reconnect in the same second: the batches
 * spread that load over the window, and the jitter inside each batch keeps batch edges soft.
 */

/** One close moment in the drain plan: close `count` connections `atMs` after the window opens. */
export interface DrainStep {
  readonly atMs: number;
  readonly count: number;
}

/**
 * Plans when to close `connections` connections over `windowMs`: roughly one batch per
 * `tickMs`, equal shares, each step's time jittered within its slot.
 */
export function planDrain(
  connections: number,
  windowMs: number,
  tickMs = 250,
  random: () => number = Math.random,
): DrainStep[] {
  if (connections <= 0) return [];
  const slots = Math.max(1, Math.min(connections, Math.floor(windowMs / tickMs)));
  const slotMs = windowMs / slots;
  const steps: DrainStep[] = [];
  let left = connections;
  for (let i = 0; i < slots; i++) {
    const count = Math.round(left / (slots - i));
    left -= count;
    if (count > 0) steps.push({ atMs: Math.floor(i * slotMs + random() * slotMs * 0.9), count });
  }
  return steps;
}
