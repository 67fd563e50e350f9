/**
 * Load-balancer capacity units, computed dimension by dimension as the ELB pricing page defines them.
 * ELB bills, every hour, the largest of the dimensions. WebSocket connections are long-lived, so
 * the active-connection dimension is usually the one that decides the bill.
 *
 * | dimension (per unit)            | ALB LCU | NLB NLCU, TLS listener | NLB NLCU, TCP listener |
 * |---------------------------------|---------|------------------------|------------------------|
 * | new connections per second      | 25      | 50                     | 800                    |
 * | active connections (per minute) | 3,000   | 3,000                  | 100,000                |
 * | processed GB per hour           | 1       | 1                      | 1                      |
 * | rule evaluations per second     | 1,000   | n/a                    | n/a                    |
 *
 * ALB rule evaluations = request rate × (rules processed − 10 free rules).
 */

export type LoadBalancerKind = 'alb' | 'nlb-tls' | 'nlb-tcp';

/** Traffic seen by one load balancer, averaged over an hour. */
export interface LbTraffic {
  newConnectionsPerSecond: number;
  activeConnections: number;
  processedGbPerHour: number;
  /** HTTP requests per second (ALB only; WebSocket upgrades and `POST /publish`). */
  requestsPerSecond: number;
  /** Listener rules evaluated per request (ALB only). */
  rulesPerRequest: number;
}

export interface CapacityUnits {
  kind: LoadBalancerKind;
  /** Units needed by each dimension. */
  byDimension: {
    newConnections: number;
    activeConnections: number;
    processedBytes: number;
    ruleEvaluations: number;
  };
  /** Billed units: the largest dimension. */
  units: number;
  /** The dimension that decided `units`. */
  dominant: 'newConnections' | 'activeConnections' | 'processedBytes' | 'ruleEvaluations';
}

/** Capacity of one unit per dimension, from the ELB pricing page. */
export const LCU_DIMENSIONS: Readonly<
  Record<
    LoadBalancerKind,
    { newPerSecond: number; active: number; gbPerHour: number; rulesPerSecond: number | null }
  >
> = Object.freeze({
  alb: { newPerSecond: 25, active: 3_000, gbPerHour: 1, rulesPerSecond: 1_000 },
  'nlb-tls': { newPerSecond: 50, active: 3_000, gbPerHour: 1, rulesPerSecond: null },
  'nlb-tcp': { newPerSecond: 800, active: 100_000, gbPerHour: 1, rulesPerSecond: null },
});

/** ALB listener rules that are free per request. */
export const ALB_FREE_RULES = 10;

export function capacityUnits(kind: LoadBalancerKind, t: LbTraffic): CapacityUnits {
  const d = LCU_DIMENSIONS[kind];
  const ruleEvaluations =
    d.rulesPerSecond === null
      ? 0
      : (t.requestsPerSecond * Math.max(0, t.rulesPerRequest - ALB_FREE_RULES)) / d.rulesPerSecond;
  const byDimension = {
    newConnections: t.newConnectionsPerSecond / d.newPerSecond,
    activeConnections: t.activeConnections / d.active,
    processedBytes: t.processedGbPerHour / d.gbPerHour,
    ruleEvaluations,
  };
  let dominant: CapacityUnits['dominant'] = 'activeConnections';
  for (const k of ['newConnections', 'processedBytes', 'ruleEvaluations'] as const) {
    if (byDimension[k] > byDimension[dominant]) dominant = k;
  }
  return { kind, byDimension, units: byDimension[dominant], dominant };
}
