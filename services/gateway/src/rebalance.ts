/**
 * Connection rebalancing. After a scale-out the new tasks start empty while the old ones keep
 * their long-lived connections: without help the fleet stays lopsided for hours. Every gateway
 * reports its connection count on the bus; one well above its region's average closes a bounded
 * fraction of its connections per second with 1012 ("reconnect now"), and the load balancer sends
 * those clients to the emptier tasks. It never sheds below the average, so the fleet converges
 * instead of oscillating.
 */

/** The bus channel load reports travel on. `$` is not allowed in client channel names. */
export const LOAD_CHANNEL = '$wsgw:load';

export interface LoadReport {
  readonly node: string;
  readonly region: string;
  readonly connections: number;
}

export interface RebalanceOptions {
  readonly nodeId: string;
  readonly region: string;
  /** Report interval (ms); peers silent for three intervals are forgotten. */
  readonly intervalMs: number;
  /** Shed only above average x (1 + threshold). */
  readonly threshold: number;
  /** Most connections shed per second, as a fraction of this gateway's connections. */
  readonly rate: number;
}

export class Rebalancer {
  private readonly peers = new Map<string, { connections: number; seenAt: number }>();
  /** Fractional connections carried between ticks, so small rates still shed eventually. */
  private carry = 0;

  constructor(private readonly opts: RebalanceOptions) {}

  /** Records a peer's report (reports from other regions and from itself are ignored). */
  observe(report: LoadReport, now: number = Date.now()): void {
    if (report.region !== this.opts.region || report.node === this.opts.nodeId) return;
    if (!Number.isFinite(report.connections) || report.connections < 0) return;
    this.peers.set(report.node, { connections: report.connections, seenAt: now });
  }

  /** The region's average connections per gateway, this one included; undefined when alone. */
  average(own: number, now: number = Date.now()): number | undefined {
    const stale = now - 3 * this.opts.intervalMs;
    let sum = own;
    let n = 1;
    for (const [node, p] of this.peers) {
      if (p.seenAt < stale) this.peers.delete(node);
      else {
        sum += p.connections;
        n++;
      }
    }
    return n > 1 ? sum / n : undefined;
  }

  /** How many connections to close now, `elapsedMs` after the previous call. */
  shed(own: number, elapsedMs: number, now: number = Date.now()): number {
    const avg = this.average(own, now);
    if (avg === undefined || own <= avg * (1 + this.opts.threshold)) {
      this.carry = 0;
      return 0;
    }
    this.carry += (own * this.opts.rate * elapsedMs) / 1000;
    const budget = Math.floor(this.carry + 1e-9);
    const n = Math.max(0, Math.min(budget, own - Math.ceil(avg)));
    this.carry -= n;
    return n;
  }
}
