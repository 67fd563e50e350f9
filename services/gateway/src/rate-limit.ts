/**
 * Token bucket, refilled lazily on each take: no timers, two numbers of state per connection.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  /**
   * @param ratePerSec tokens added per second
   * @param burst bucket capacity (and initial fill)
   */
  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    now: number = performance.now(),
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes one token; false when the bucket is empty. */
  take(now: number = performance.now()): boolean {
    const refill = ((now - this.last) * this.ratePerSec) / 1000;
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + refill);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
