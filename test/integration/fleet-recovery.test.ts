/**
 * Reconnects that lose nothing, with real gateway processes on real Kafka and real clients
 * (the SDK) behind a load balancer: a gateway killed mid-stream, a rolling restart of the whole
 * fleet, a region failover, and rebalancing onto a new gateway. Every client must end with every
 * acknowledged message exactly once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { kafka, type TestKafka } from '../setup/kafka.js';
import { build } from '../helpers/process.js';
import { TestBalancer } from '../helpers/balancer.js';
import { JWT_SECRET, kill, startFleetGateway, type FleetGateway } from '../helpers/fleet.js';
import { expectExactlyOnce, publishStream, subscribers } from '../helpers/fleet-clients.js';
import { waitFor } from '../helpers/gateway.js';

let k: TestKafka;
let token: string;
beforeAll(async () => {
  build();
  k = await kafka();
  token = await new SignJWT({ subscribe: ['*'], publish: ['*'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(JWT_SECRET));
}, 180_000);

const fleet: FleetGateway[] = [];
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await Promise.all(
    fleet.splice(0).map((g) => (g.proc.child.exitCode === null ? kill(g, 'SIGKILL') : undefined)),
  );
});
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function gateway(
  name: string,
  region: 'a' | 'b',
  env: Record<string, string> = {},
): Promise<FleetGateway> {
  const g = await startFleetGateway(name, region, k[region], { WSGW_REBALANCE_INTERVAL_MS: '0', ...env });
  fleet.push(g);
  return g;
}

async function balancer(ports: number[]): Promise<TestBalancer> {
  const b = await new TestBalancer(ports).listen();
  cleanups.push(() => b.close());
  return b;
}

describe('fleet recovery', () => {
  it('SIGKILL of one gateway mid-stream: its 1,000 clients reconnect to the others, with jitter, and lose nothing', async () => {
    const gs = [await gateway('k1', 'a'), await gateway('k2', 'a'), await gateway('k3', 'a')];
    const lb = await balancer(gs.map((g) => g.port));
    const subs = await subscribers(1_000, lb.url, 'kill:1', token, cleanups);
    const victim = gs[0]!;
    let killedAt = 0;
    const acked = await publishStream(
      () => gs.filter((g) => g.proc.child.exitCode === null && g !== victim).map((g) => g.port),
      'kill:1',
      200,
      async (i) => {
        if (i === 80) {
          lb.remove(victim.port);
          killedAt = performance.now();
          await kill(victim, 'SIGKILL');
        }
      },
    );
    expect(acked.size).toBe(200);
    await expectExactlyOnce(fleet, subs, acked, 200);

    // Reconnect storm: the dropped clients chose delays spread over the whole first window
    // (full jitter, base 250 ms), not one value...
    const firstDelays = subs.filter((s) => s.delays.length > 0).map((s) => s.delays[0]!);
    expect(firstDelays.length).toBeGreaterThanOrEqual(300);
    const quarters = [0, 0, 0, 0];
    for (const d of firstDelays) quarters[Math.min(3, Math.floor(d / 62.5))]!++;
    for (const q of quarters) expect(q).toBeGreaterThan(firstDelays.length / 8); // ~1/4 each when uniform
    // The balancer saw them come back. Where they land in time is not asserted: the clients share
    // this process's event loop with the balancer, so a stall of it (3 gateways and 2 brokers on
    // 2 cores) fires every timer due meanwhile at once and bunches the accepts whatever the
    // clients chose. The delays the clients chose, above, are what jitter controls.
    const after = lb.accepts.filter((t) => t >= killedAt);
    expect(after.length).toBeGreaterThanOrEqual(300);
  }, 240_000);

  it('rolling restart of every gateway loses no message', async () => {
    const env = { WSGW_DRAIN_DELAY_MS: '200', WSGW_DRAIN_WINDOW_MS: '1000', WSGW_DRAIN_DEADLINE_MS: '4000' };
    const names = ['r1', 'r2', 'r3'];
    const gs: FleetGateway[] = [];
    for (const n of names) gs.push(await gateway(n, 'a', env));
    const lb = await balancer(gs.map((g) => g.port));
    const subs = await subscribers(300, lb.url, 'roll:1', token, cleanups);
    const live = () => gs.filter((g) => g.proc.child.exitCode === null).map((g) => g.port);
    let restarting = Promise.resolve();
    const acked = await publishStream(live, 'roll:1', 240, (i) => {
      if (i % 60 === 20 && i / 60 < 3) {
        const idx = Math.floor(i / 60);
        restarting = restarting.then(async () => {
          const old = gs[idx]!;
          const fresh = await gateway(`${names[idx]}b`, 'a', env);
          lb.add(fresh.port);
          lb.remove(old.port);
          await kill(old, 'SIGTERM');
          expect(old.proc.child.exitCode).toBe(0);
          gs[idx] = fresh;
        });
      }
    });
    await restarting;
    await expectExactlyOnce(fleet, subs, acked, 240);
    expect(acked.size).toBe(240);
  }, 240_000);

  it('region failover: clients of region a move to region b and recover', async () => {
    const a = [await gateway('fa1', 'a'), await gateway('fa2', 'a')];
    const b = [await gateway('fb1', 'b'), await gateway('fb2', 'b')];
    const lb = await balancer(a.map((g) => g.port));
    const subs = await subscribers(200, lb.url, 'fo:1', token, cleanups);
    const bPorts = b.map((g) => g.port);
    // Publishes enter in region b and reach region a through MirrorMaker.
    const acked = await publishStream(
      () => bPorts,
      'fo:1',
      150,
      async (i) => {
        if (i === 50) {
          await waitFor(
            () => subs.every((s) => s.seqs.length >= 40),
            30_000,
            'replicated messages before the failover',
          );
          lb.setTargets(bPorts); // Global Accelerator sends new connections to the healthy region
          await Promise.all(a.map((g) => kill(g, 'SIGKILL')));
        }
      },
    );
    expect(acked.size).toBe(150);
    await expectExactlyOnce(fleet, subs, acked, 150);
  }, 240_000);

  it('rebalancing: a second gateway takes half of 2,000 clients within the configured time, losing nothing', async () => {
    const env = {
      WSGW_REBALANCE_INTERVAL_MS: '500',
      WSGW_REBALANCE_THRESHOLD: '0.1',
      WSGW_REBALANCE_RATE: '0.1',
    };
    const g1 = await gateway('b1', 'a', env);
    const lb = await balancer([g1.port]);
    const subs = await subscribers(2_000, lb.url, 'bal:1', token, cleanups);
    const g2 = await gateway('b2', 'a', env);
    lb.setTargets([g2.port, g1.port]);
    const connections = async (g: FleetGateway) => {
      const text = await (await fetch(`http://127.0.0.1:${g.metricsPort}/metrics`)).text();
      return Number(/^wsgw_connections (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const acked = await publishStream(() => [g1.port, g2.port], 'bal:1', 100);
    // 10% of 2,000 per second at first: about 8 s to reach the average, 20 s allowed.
    await waitFor(
      async () => {
        const [c1, c2] = [await connections(g1), await connections(g2)];
        return c1 + c2 === 2_000 && Math.abs(c1 - c2) <= 0.2 * 1_000;
      },
      20_000,
      'load within 20% of the average',
    );
    for (const seq of await publishStream(() => [g1.port, g2.port], 'bal:1', 50, undefined, 100))
      acked.add(seq);
    expect(acked.size).toBe(150);
    await expectExactlyOnce(fleet, subs, acked, 150);
  }, 240_000);

  it('a new gateway warms its history from Kafka: clients moving to it recover messages published before it started', async () => {
    const g1 = await gateway('w1', 'a');
    const lb = await balancer([g1.port]);
    const subs = await subscribers(50, lb.url, 'warm:1', token, cleanups);
    const early = await publishStream(() => [g1.port], 'warm:1', 40);
    await waitFor(() => subs.every((s) => s.seqs.length === 40), 20_000, 'early messages');
    // Cut the clients off, publish while they are away, then start a gateway that has never seen
    // any of it. A 30 s warm-up would keep it unready; the read-back makes it ready at once.
    lb.setTargets([]);
    await kill(g1, 'SIGKILL');
    const g0 = await gateway('w0', 'a');
    const missed = await publishStream(() => [g0.port], 'warm:1', 40, undefined, 40);
    const t0 = Date.now();
    const g2 = await gateway('w2', 'a', { WSGW_HISTORY_WARM_MS: '30000' });
    expect(Date.now() - t0).toBeLessThan(20_000);
    lb.setTargets([g2.port]);
    const acked = new Set([...early, ...missed]);
    await expectExactlyOnce(fleet, subs, acked, 80);
    expect(subs.every((s) => s.resubs.length > 0 && s.resubs.every((r) => r.startsWith('recovered')))).toBe(
      true,
    );
  }, 240_000);
});
