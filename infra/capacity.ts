/**
 * What one gateway task holds per connection and spends per event, as the capacity benchmark
 * measured it: `npm run bench -- --only capacity` (bench/results/capacity.json; method and every
 * figure in docs/benchmarks.md, Capacity). With `wsgw:edge alb` the task speaks plain TCP (the ALB
 * terminates TLS); with `nlb` it terminates TLS itself (ECDSA P-256, TLS 1.3).
 *
 * Each figure is the larger of the run's repeats: memory barely moves between them, CPU moves with
 * whatever else the machine runs, and the larger is the safer for sizing. test/infra/capacity.test.ts
 * checks every figure against the results file, so they cannot drift from the measurement.
 *
 * Pure (no Pulumi): the stack parser and the cost model read it.
 */
import type { Edge } from './stack-config.js';

/** The results file the figures come from, relative to the repository root. */
export const CAPACITY_RESULTS = 'bench/results/capacity.json';

export interface EdgeFigures {
  /** The benchmark variant these figures are (capacity.ts `Variant`). */
  readonly variant: 'plain' | 'tls-ecdsa-p256';
  /** Process RSS per idle connection (socket objects, WebSocket state, TLS state). */
  readonly rssPerConnectionBytes: number;
  /** Kernel slab objects per socket (TCP socket, inode, file, dentry, epoll entry). */
  readonly kernelPerConnectionBytes: number;
  /** Server CPU per keep-alive, delivery and connection set-up. */
  readonly cpu: {
    readonly gatewayPingUs: number;
    readonly sdkPingUs: number;
    readonly deliveryUs: number;
    /** TCP (and TLS) handshake, WebSocket upgrade, one subscribe. */
    readonly handshakeMs: number;
  };
}

export const MEASURED: Readonly<{
  processBaselineBytes: number;
  edges: Readonly<Record<Edge, EdgeFigures>>;
}> = Object.freeze({
  /** RSS of a gateway process before its first connection (the larger of the run's gateways). */
  processBaselineBytes: 114_073_600,
  edges: Object.freeze({
    alb: Object.freeze({
      variant: 'plain',
      rssPerConnectionBytes: 6750,
      kernelPerConnectionBytes: 3990,
      cpu: Object.freeze({ gatewayPingUs: 19.8, sdkPingUs: 39.6, deliveryUs: 14.6, handshakeMs: 0.248 }),
    }),
    nlb: Object.freeze({
      variant: 'tls-ecdsa-p256',
      rssPerConnectionBytes: 32000,
      kernelPerConnectionBytes: 3850,
      cpu: Object.freeze({ gatewayPingUs: 39, sdkPingUs: 60.4, deliveryUs: 26.1, handshakeMs: 1.03 }),
    }),
  }),
});

/**
 * The share of a task's memory connections may fill. The rest is margin for what an idle
 * measurement does not see: garbage the V8 heap carries between collections, frames queued for
 * slow clients (up to WSGW_MAX_BUFFERED_BYTES each), Kafka fetch buffers, a reconnect storm's
 * half-open handshakes. A policy, not a measurement.
 */
export const USABLE_MEMORY_SHARE = 0.7;

/**
 * The recovery history's bound (WSGW_HISTORY_MAX_BYTES) the program gives a task: a sixteenth of
 * its memory (128 MiB for 2 GiB), so a small task keeps room for connections and a large one keeps
 * more history.
 */
export function historyBudgetBytes(taskMemoryMiB: number): number {
  return (taskMemoryMiB * 2 ** 20) / 16;
}

export interface ConnectionMemory {
  readonly perConnectionBytes: number;
  /** What the per-connection figure is made of, for messages. */
  readonly what: string;
  readonly usableShare: number;
  /** Memory a task holds before its first connection: the process and its history bound. */
  reservedBytes(taskMemoryMiB: number): number;
}

export function connectionMemory(edge: Edge): ConnectionMemory {
  const e = MEASURED.edges[edge];
  return {
    perConnectionBytes: e.rssPerConnectionBytes + e.kernelPerConnectionBytes,
    what: `${(e.rssPerConnectionBytes / 1000).toFixed(1)} kB in the process${e.variant === 'plain' ? '' : ' with TLS'} and ${(e.kernelPerConnectionBytes / 1000).toFixed(1)} kB in the kernel, measured`,
    usableShare: USABLE_MEMORY_SHARE,
    reservedBytes: (taskMemoryMiB) => MEASURED.processBaselineBytes + historyBudgetBytes(taskMemoryMiB),
  };
}

/** The most connections a task of this memory holds with this edge, in whole thousands. */
export function maxConnectionsPerTask(taskMemoryMiB: number, edge: Edge): number {
  const m = connectionMemory(edge);
  const room = taskMemoryMiB * 2 ** 20 * m.usableShare - m.reservedBytes(taskMemoryMiB);
  return Math.max(0, Math.floor(room / m.perConnectionBytes / 1000) * 1000);
}

/** What a task's connections cost it in CPU, vCPU-seconds per second. */
export interface TaskCpuLoad {
  readonly connections: number;
  /** Gateway pings per connection per second (after any skipped ones). */
  readonly gatewayPingsPerSecond: number;
  readonly sdkPingsPerSecond: number;
  readonly deliveriesPerSecond: number;
  /** New connections per second on the task. */
  readonly handshakesPerSecond: number;
}

export function taskCpu(edge: Edge, l: TaskCpuLoad): number {
  const c = MEASURED.edges[edge].cpu;
  const perConnection =
    l.gatewayPingsPerSecond * c.gatewayPingUs +
    l.sdkPingsPerSecond * c.sdkPingUs +
    l.deliveriesPerSecond * c.deliveryUs;
  return (l.connections * perConnection) / 1e6 + (l.handshakesPerSecond * c.handshakeMs) / 1e3;
}
