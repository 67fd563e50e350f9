import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CAPACITY_RESULTS,
  MEASURED,
  USABLE_MEMORY_SHARE,
  connectionMemory,
  historyBudgetBytes,
  maxConnectionsPerTask,
  taskCpu,
} from '../../infra/capacity.js';

interface VariantResult {
  variant: string;
  memory: { rssBeforeBytes?: number; rssPerConnBytes: number; kernelObjectsPerSocketBytes: number };
  serverPing: { cpuUs: number };
  clientPing: { cpuUs: number };
  delivery: { cpuUs: number };
  storm: { cpuMsPerHandshake: number };
}

const root = fileURLToPath(new URL('../../', import.meta.url));
const results = JSON.parse(readFileSync(join(root, CAPACITY_RESULTS), 'utf8')) as {
  smoke: boolean;
  scenarios: { capacity: { repeats: VariantResult[][] } };
};
const runs = results.scenarios.capacity.repeats.flat();
const largest = (variant: string, f: (r: VariantResult) => number | undefined) =>
  Math.max(...runs.filter((r) => r.variant === variant).map((r) => f(r) ?? 0));

describe('measured capacity figures', () => {
  it('come from a full capacity run', () => {
    expect(results.smoke).toBe(false);
    expect(results.scenarios.capacity.repeats.length).toBeGreaterThanOrEqual(2);
  });

  it('are the larger of the repeats, for every edge', () => {
    for (const e of Object.values(MEASURED.edges)) {
      expect(e.rssPerConnectionBytes).toBe(largest(e.variant, (r) => r.memory.rssPerConnBytes));
      expect(e.kernelPerConnectionBytes).toBe(
        largest(e.variant, (r) => r.memory.kernelObjectsPerSocketBytes),
      );
      expect(e.cpu).toEqual({
        gatewayPingUs: largest(e.variant, (r) => r.serverPing.cpuUs),
        sdkPingUs: largest(e.variant, (r) => r.clientPing.cpuUs),
        deliveryUs: largest(e.variant, (r) => r.delivery.cpuUs),
        handshakeMs: largest(e.variant, (r) => r.storm.cpuMsPerHandshake),
      });
    }
    expect(MEASURED.processBaselineBytes).toBe(Math.max(...runs.map((r) => r.memory.rssBeforeBytes ?? 0)));
  });
});

describe('connections per task', () => {
  it('fill the usable share of the memory after the process and its history', () => {
    for (const edge of ['alb', 'nlb'] as const) {
      for (const mib of [512, 2048, 4096, 8192]) {
        const m = connectionMemory(edge);
        const most = maxConnectionsPerTask(mib, edge);
        const room =
          mib * 2 ** 20 * USABLE_MEMORY_SHARE - MEASURED.processBaselineBytes - historyBudgetBytes(mib);
        expect(most % 1000).toBe(0);
        expect(most * m.perConnectionBytes).toBeLessThanOrEqual(room);
        expect((most + 1000) * m.perConnectionBytes).toBeGreaterThan(room);
      }
    }
  });

  it('cost a TLS task several times the memory of a plain one', () => {
    expect(maxConnectionsPerTask(4096, 'alb')).toBeGreaterThan(3 * maxConnectionsPerTask(4096, 'nlb'));
  });

  it('give the history a sixteenth of the task', () => {
    expect(historyBudgetBytes(2048)).toBe(128 * 2 ** 20);
    expect(historyBudgetBytes(512)).toBe(32 * 2 ** 20);
  });
});

describe('task CPU', () => {
  it('adds each event at its measured cost', () => {
    const c = MEASURED.edges.nlb.cpu;
    // 10,000 connections, a gateway ping each every 100 s, an SDK ping every 50 s, a delivery every
    // 10 s, and 10 new connections a second.
    const busy = taskCpu('nlb', {
      connections: 10_000,
      gatewayPingsPerSecond: 0.01,
      sdkPingsPerSecond: 0.02,
      deliveriesPerSecond: 0.1,
      handshakesPerSecond: 10,
    });
    expect(busy).toBeCloseTo(
      (10_000 * (0.01 * c.gatewayPingUs + 0.02 * c.sdkPingUs + 0.1 * c.deliveryUs)) / 1e6 +
        (10 * c.handshakeMs) / 1e3,
      12,
    );
  });
});
