/**
 * Log lines for events a client can cause at will (a `sub` with a position too old to recover,
 * say) are aggregated: the first goes out at once, later ones are counted and written as one line
 * per interval, so no client can flood the logs. Metrics still count every event.
 */
import type { Logger } from './logger.js';

export class LogSampler {
  private counts = new Map<string, number>();
  private lastAt = -Infinity;

  constructor(
    private readonly log: Pick<Logger, 'info'>,
    private readonly message: string,
    private readonly intervalMs = 10_000,
  ) {}

  /** Counts one event under `key` (a bounded set: reasons, origins). */
  note(...key: string[]): void {
    const k = key.join(' ');
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    if (performance.now() - this.lastAt >= this.intervalMs) this.flush();
  }

  /** Writes what was counted since the last line, if anything. */
  flush(): void {
    if (this.counts.size === 0) return;
    this.lastAt = performance.now();
    const counts = Object.fromEntries(this.counts);
    this.counts = new Map();
    this.log.info({ counts, perMs: this.intervalMs }, this.message);
  }
}
