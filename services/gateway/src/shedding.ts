/**
 * Letting go of connections gently: the jittered close shared by drain and rebalancing, and the
 * rebalancing itself (gateways report their connection counts on the bus, one well above its
 * region's average sheds, rebalance.ts).
 */
import type { BusMessage } from './bus/bus.js';
import type { Conn } from './conn.js';
import type { GatewayConfig } from './config.js';
import type { GatewayMetrics } from './metrics.js';
import type { Logger } from './logger.js';
import type { Publisher } from './publisher.js';
import type { Sessions } from './session.js';
import { LOAD_CHANNEL, Rebalancer, type LoadReport } from './rebalance.js';
import { planDrain } from './drain.js';
import { CLOSE_CODES } from '../../shared/src/constants.js';

/**
 * Closes `conns` in random order, in jittered batches spread over `windowMs` (drain.ts), so that
 * their reconnects reach the load balancer as a trickle, not a wave. Resolves once all are closed.
 */
export function closeSpread(conns: Conn[], windowMs: number, close: (c: Conn) => void): Promise<void> {
  const order = shuffle(conns);
  let next = 0;
  const steps = planDrain(order.length, windowMs).map((step) => ({
    atMs: step.atMs,
    batch: order.slice(next, (next += step.count)),
  }));
  return Promise.all(
    steps.map(
      ({ atMs, batch }) =>
        new Promise<void>((resolve) => {
          setTimeout(() => {
            for (const c of batch) close(c);
            resolve();
          }, atMs).unref();
        }),
    ),
  ).then(() => undefined);
}

export interface ShedderDeps {
  readonly config: Pick<GatewayConfig, 'nodeId' | 'region' | 'rebalance'>;
  readonly sessions: Sessions;
  readonly publisher: Publisher;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
}

/** Rebalancing: reports this gateway's load, hears the others', sheds with 1012 while well above. */
export class Shedder {
  private readonly rebalancer: Rebalancer;

  constructor(private readonly d: ShedderDeps) {
    this.rebalancer = new Rebalancer({
      nodeId: d.config.nodeId,
      region: d.config.region,
      ...d.config.rebalance,
    });
  }

  /** Publishes this gateway's connection count. */
  report(): void {
    const report: LoadReport = {
      node: this.d.config.nodeId,
      region: this.d.config.region,
      connections: this.d.sessions.size,
    };
    this.d.publisher
      .publish(LOAD_CHANNEL, 'application/json', Buffer.from(JSON.stringify(report)))
      .catch((err: unknown) => this.d.log.debug({ err }, 'load report not published'));
  }

  /** Another gateway's load report (the bus's control channel). */
  observe(msg: BusMessage): void {
    try {
      this.rebalancer.observe(JSON.parse(Buffer.from(msg.payload).toString('utf8')) as LoadReport);
    } catch {
      this.d.metrics.drops.inc({ reason: 'bad_load_report' });
    }
  }

  /** Sheds what the rebalancer allows for `elapsedMs` (rebalance.ts). */
  shed(elapsedMs: number): void {
    const { sessions, log } = this.d;
    const n = this.rebalancer.shed(sessions.size, elapsedMs);
    if (n === 0) return;
    const victims = shuffle(sessions.list().filter((c) => !c.closing)).slice(0, n);
    log.info(
      { shedding: victims.length, connections: sessions.size },
      'rebalancing: above the region average',
    );
    closeSpread(victims, 1_000, (c) => sessions.close(c, CLOSE_CODES.reconnectNow, 'rebalance')).catch(
      (err: unknown) => log.error({ err }, 'rebalancing close failed'),
    );
  }
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
