/**
 * The fleet tests on the Redis bus: real gateway processes on the test Redis servers (one per
 * region, each region reading the other's stream directly), real clients behind a balancer. A
 * gateway killed mid-stream, delivery across two regions with a region failover, rebalancing onto a
 * new gateway, and a new gateway warming its history from the stream. Every client must end with every acknowledged message
 * exactly once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { redis, uniqueStreamPrefix } from '../setup/redis.js';
import { build } from '../helpers/process.js';
import { TestBalancer } from '../helpers/balancer.js';
import { JWT_SECRET, kill, startFleetGateway, type FleetGateway } from '../helpers/fleet.js';
import { expectExactlyOnce, publishStream, subscribers } from '../helpers/fleet-clients.js';
import { waitFor } from '../helpers/gateway.js';

let token: string;
beforeAll(async () => {
  build();
  token = await new SignJWT({ subscribe: ['*'], publish: ['*'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(JWT_SECRET));
}, 180_000);

const fleet: FleetGateway[] = [];
const cleanups: Array<() => unknown> = [];
let streamPrefix = uniqueStreamPrefix();
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await Promise.all(
    fleet.splice(0).map((g) => (g.proc.child.exitCode === null ? kill(g, 'SIGKILL') : undefined)),
  );
  streamPrefix = uniqueStreamPrefix();
});
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A gateway of region `a` or `b` on that region's Redis, reading the other region's directly. */
async function gateway(
  name: string,
  region: 'a' | 'b',
  env: Record<string, string> = {},
): Promise<FleetGateway> {
  const other = region === 'a' ? 'b' : 'a';
  const g = await startFleetGateway(name, region, [], {
    WSGW_REDIS_URL: redis()[region],
    WSGW_REDIS_REMOTES: `${other}=${redis()[other]}`,
    WSGW_REDIS_STREAM_PREFIX: streamPrefix,
    WSGW_REBALANCE_INTERVAL_MS: '0',
    ...env,
  });
  fleet.push(g);
  return g;
}

async function balancer(ports: number[]): Promise<TestBalancer> {
  const b = await new TestBalancer(ports).listen();
  cleanups.push(() => b.close());
  return b;
}

describe('fleet recovery on Redis', () => {
  it('SIGKILL of one gateway mid-stream: its clients reconnect to the others and lose nothing', async () => {
    const gs = [await gateway('k1', 'a'), await gateway('k2', 'a'), await gateway('k3', 'a')];
    const lb = await balancer(gs.map((g) => g.port));
    const subs = await subscribers(600, lb.url, 'kill:1', token, cleanups);
    const victim = gs[0]!;
    const acked = await publishStream(
      () => gs.filter((g) => g.proc.child.exitCode === null && g !== victim).map((g) => g.port),
      'kill:1',
      200,
      async (i) => {
        if (i === 80) {
          lb.remove(victim.port);
          await kill(victim, 'SIGKILL');
        }
      },
    );
    expect(acked.size).toBe(200);
    await expectExactlyOnce(fleet, subs, acked, 200);
    // The victim's clients came back through recovery, not by luck.
    expect(subs.filter((s) => s.resubs.length > 0).length).toBeGreaterThanOrEqual(100);
    expect(subs.every((s) => s.resubs.every((r) => r.startsWith('recovered')))).toBe(true);
  }, 240_000);

  it('two regions: publishes in b reach clients in a, which fail over to b and recover', async () => {
    const a = [await gateway('fa1', 'a'), await gateway('fa2', 'a')];
    const b = [await gateway('fb1', 'b'), await gateway('fb2', 'b')];
    const lb = await balancer(a.map((g) => g.port));
    const subs = await subscribers(200, lb.url, 'fo:1', token, cleanups);
    const bPorts = b.map((g) => g.port);
    // Publishes enter in region b and reach region a by a's gateways reading b's Redis directly.
    const acked = await publishStream(
      () => bPorts,
      'fo:1',
      150,
      async (i) => {
        if (i === 50) {
          await waitFor(() => subs.every((s) => s.seqs.length >= 40), 30_000, 'messages of b in a');
          lb.setTargets(bPorts);
          await Promise.all(a.map((g) => kill(g, 'SIGKILL')));
        }
      },
    );
    expect(acked.size).toBe(150);
    await expectExactlyOnce(fleet, subs, acked, 150);
  }, 240_000);

  it('rebalancing: a second gateway takes half of 1,000 clients within the configured time, losing nothing', async () => {
    // The gateways' load reports travel on the bus like any message: on Redis, through the stream.
    const env = {
      WSGW_REBALANCE_INTERVAL_MS: '500',
      WSGW_REBALANCE_THRESHOLD: '0.1',
      WSGW_REBALANCE_RATE: '0.1',
    };
    const g1 = await gateway('b1', 'a', env);
    const lb = await balancer([g1.port]);
    const subs = await subscribers(1_000, lb.url, 'bal:1', token, cleanups);
    const g2 = await gateway('b2', 'a', env);
    lb.setTargets([g2.port, g1.port]);
    const connections = async (g: FleetGateway) => {
      const text = await (await fetch(`http://127.0.0.1:${g.metricsPort}/metrics`)).text();
      return Number(/^wsgw_connections (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const acked = await publishStream(() => [g1.port, g2.port], 'bal:1', 100);
    // 10% of 1,000 per second at first: about 8 s to reach the average, 20 s allowed.
    await waitFor(
      async () => {
        const [c1, c2] = [await connections(g1), await connections(g2)];
        return c1 + c2 === 1_000 && Math.abs(c1 - c2) <= 0.2 * 500;
      },
      20_000,
      'load within 20% of the average',
    );
    for (const seq of await publishStream(() => [g1.port, g2.port], 'bal:1', 50, undefined, 100))
      acked.add(seq);
    expect(acked.size).toBe(150);
    await expectExactlyOnce(fleet, subs, acked, 150);
  }, 240_000);

  it('a new gateway warms its history from the stream: clients moving to it recover what they missed', async () => {
    const g1 = await gateway('w1', 'a');
    const lb = await balancer([g1.port]);
    const subs = await subscribers(50, lb.url, 'warm:1', token, cleanups);
    const early = await publishStream(() => [g1.port], 'warm:1', 40);
    await waitFor(() => subs.every((s) => s.seqs.length === 40), 20_000, 'early messages');
    lb.setTargets([]);
    await kill(g1, 'SIGKILL');
    const g0 = await gateway('w0', 'a');
    const missed = await publishStream(() => [g0.port], 'warm:1', 40, undefined, 40);
    const t0 = Date.now();
    const g2 = await gateway('w2', 'a', { WSGW_HISTORY_WARM_MS: '30000' });
    expect(Date.now() - t0).toBeLessThan(20_000);
    lb.setTargets([g2.port]);
    await expectExactlyOnce(fleet, subs, new Set([...early, ...missed]), 80);
    expect(subs.every((s) => s.resubs.length > 0 && s.resubs.every((r) => r.startsWith('recovered')))).toBe(
      true,
    );
  }, 240_000);
});
