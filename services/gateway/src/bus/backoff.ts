/**
 * Waiting between retries, for the Kafka bus's connect loop and its publish queue: how long, and
 * waits that closing the bus cuts short.
 */

/** The wait before retry `attempt` (0, 1, …): doubling from 200 ms up to 5 s, less up to half at random. */
export const backoff = (attempt: number): number =>
  Math.min(5_000, 200 * 2 ** attempt) * (0.5 + Math.random() / 2);

/** Backoff waits that can all be ended at once. */
export class Naps {
  private readonly waking = new Set<() => void>();

  /**
   * Resolves after `ms`, or at {@link wakeAll}. Its timer keeps the process alive on purpose:
   * someone awaits the start or a publish meanwhile (an unref'd timer let a lone script exit
   * mid-start).
   */
  nap(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waking.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waking.add(done);
    });
  }

  /** Ends every wait now. */
  wakeAll(): void {
    for (const wake of [...this.waking]) wake();
  }
}
