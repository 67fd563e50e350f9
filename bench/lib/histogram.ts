/**
 * A fixed-size latency histogram with logarithmic buckets (2 % wide, 1 µs to ~100 s): constant
 * memory and one Math.log per sample, so workers record every delivery, and histograms from
 * several workers merge by adding counts.
 */
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
export const BUCKETS = 1024;

export class Histogram {
  readonly counts: Float64Array;
  total = 0;

  constructor(counts?: ArrayLike<number>) {
    this.counts = new Float64Array(BUCKETS);
    if (counts !== undefined) {
      for (let i = 0; i < BUCKETS; i++) this.counts[i] = counts[i] ?? 0;
      this.total = this.counts.reduce((a, b) => a + b, 0);
    }
  }

  /** Records one value in milliseconds (negative values, from clock jitter, count as 1 µs). */
  record(ms: number): void {
    const us = ms * 1000;
    const i = us <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(us) / LOG_GROWTH));
    this.counts[i]!++;
    this.total++;
  }

  merge(other: ArrayLike<number>): void {
    for (let i = 0; i < BUCKETS; i++) {
      const v = other[i] ?? 0;
      this.counts[i]! += v;
      this.total += v;
    }
  }

  /** The value (ms) at quantile q in [0, 1], as the upper edge of its bucket; NaN when empty. */
  quantile(q: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return GROWTH ** i / 1000;
    }
    return GROWTH ** (BUCKETS - 1) / 1000;
  }

  /** Sparse form for IPC: [index, count] pairs of non-empty buckets. */
  toSparse(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]! > 0) out.push([i, this.counts[i]!]);
    return out;
  }

  static fromSparse(pairs: ReadonlyArray<readonly [number, number]>): Histogram {
    const h = new Histogram();
    for (const [i, c] of pairs) {
      h.counts[i]! += c;
      h.total += c;
    }
    return h;
  }
}
