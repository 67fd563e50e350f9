/**
 * Zone-local reads: a real two-broker cluster whose brokers sit in two racks (as MSK brokers sit in
 * zones, `broker.rack` = zone id) with rack-aware replica selection. A gateway process that learns
 * its zone from the ECS task metadata (a local stand-in here) and maps it through
 * WSGW_KAFKA_RACK_MAP fetches only from the broker in its rack; a gateway without a rack fetches
 * from the leaders on both brokers. Both deliver every message, in order.
 */
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { startCluster } from '../../scripts/kafka/index.mjs';
import { WsgwClient } from '../../services/client/src/client.js';
import { build } from '../helpers/process.js';
import { JWT_SECRET, kill, publish, startFleetGateway, type FleetGateway } from '../helpers/fleet.js';
import { waitFor } from '../helpers/gateway.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

let cluster: Cluster | undefined;
let agent: Server | undefined;
const gateways: FleetGateway[] = [];
const clients: WsgwClient[] = [];

beforeAll(async () => {
  build();
  cluster = await startCluster({
    name: `rack-${process.pid}`,
    racks: ['az-1', 'az-2'],
    owner: process.pid,
    partitions: 6,
  });
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(gateways.map((g) => (g.proc.child.exitCode === null ? kill(g, 'SIGKILL') : undefined)));
  agent?.close();
  await cluster?.stop();
  if (cluster) rmSync(cluster.dir, { recursive: true, force: true });
}, 60_000);

/** `wsgw_bus_fetches_total` per broker, from the gateway's /metrics. */
async function fetches(g: FleetGateway): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${g.metricsPort}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^wsgw_bus_fetches_total\{broker="([^"]+)"\} (\d+)/gm))
    out.set(m[1]!, Number(m[2]));
  return out;
}

const delta = (before: Map<string, number>, after: Map<string, number>, broker: string): number =>
  (after.get(broker) ?? 0) - (before.get(broker) ?? 0);

describe('rack-aware reads', () => {
  it('a gateway told its zone fetches only from the broker in that zone; one without fetches from the leaders', async () => {
    const [broker1, broker2] = cluster!.brokers as [string, string];
    // Stand-in for the ECS task metadata endpoint: this task runs in zone "test-zone-b".
    agent = createServer((req, res) => {
      if (req.url !== '/v4/task-1/task') return void res.writeHead(404).end();
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ AvailabilityZone: 'test-zone-b', DesiredStatus: 'RUNNING' }));
    });
    await new Promise<void>((r) => agent!.listen(0, '127.0.0.1', r));
    const metadataUri = `http://127.0.0.1:${(agent.address() as { port: number }).port}/v4/task-1`;

    const racked = await startFleetGateway('racked', 'r', cluster!.brokers, {
      WSGW_KAFKA_RACK_MAP: 'test-zone-a=az-1,test-zone-b=az-2',
      ECS_CONTAINER_METADATA_URI_V4: metadataUri,
      WSGW_LOG_LEVEL: 'info',
    });
    gateways.push(racked);
    const plain = await startFleetGateway('plain', 'r', cluster!.brokers);
    gateways.push(plain);
    expect(
      racked.proc.stdout.some((l) => l.includes('Kafka consumer rack set') && l.includes('"rack":"az-2"')),
    ).toBe(true);

    const token = await new SignJWT({ subscribe: ['*'], publish: ['*'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(JWT_SECRET));
    const received = new Map<FleetGateway, Array<{ seq: number; latency: number }>>();
    for (const g of [racked, plain]) {
      const got: Array<{ seq: number; latency: number }> = [];
      received.set(g, got);
      const c = new WsgwClient({ url: `ws://127.0.0.1:${g.port}/`, token });
      clients.push(c);
      c.on('message', (m) => {
        const d = m.data as { seq: number; at: number };
        got.push({ seq: d.seq, latency: Date.now() - d.at });
      });
      await c.connect();
      await c.subscribe('rack:1');
    }

    // Warm-up: the first fetches go to the leaders, whose answers name the preferred replica.
    expect(await publish(plain.port, 'rack:1', { seq: -1, at: Date.now() })).toBe(true);
    await waitFor(
      () => [...received.values()].every((r) => r.length === 1),
      20_000,
      'the warm-up message on both gateways',
    );
    await new Promise((r) => setTimeout(r, 1_000));
    const before = new Map([
      [racked, await fetches(racked)],
      [plain, await fetches(plain)],
    ]);

    const count = 200;
    for (let i = 0; i < count; i++) {
      // Spread over both gateways' topics' partitions: channel keys pick the partition.
      expect(
        await publish(i % 2 === 0 ? plain.port : racked.port, 'rack:1', { seq: i, at: Date.now() }),
      ).toBe(true);
      await new Promise((r) => setTimeout(r, 10));
    }
    await waitFor(
      () => [...received.values()].every((r) => r.length === count + 1),
      30_000,
      'every message on both gateways',
    );
    for (const got of received.values())
      expect(got.slice(1).map((r) => r.seq)).toEqual(Array.from({ length: count }, (_, i) => i));

    const afterRacked = await fetches(racked);
    const afterPlain = await fetches(plain);
    const r1 = delta(before.get(racked)!, afterRacked, broker1);
    const r2 = delta(before.get(racked)!, afterRacked, broker2);
    const p1 = delta(before.get(plain)!, afterPlain, broker1);
    const p2 = delta(before.get(plain)!, afterPlain, broker2);
    const pct = (xs: number[], q: number) =>
      [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
    const lat = (g: FleetGateway) =>
      received
        .get(g)!
        .slice(1)
        .map((r) => r.latency);
    console.log(
      `rack-aware reads: fetches racked gateway broker1 (az-1) ${r1}, broker2 (az-2) ${r2}; plain gateway broker1 ${p1}, broker2 ${p2}; ` +
        `publish-to-deliver p50/p99 racked ${pct(lat(racked), 0.5)}/${pct(lat(racked), 0.99)} ms, plain ${pct(lat(plain), 0.5)}/${pct(lat(plain), 0.99)} ms`,
    );
    // A quiet channel: one message every 300 ms. A follower serves a record only after a fetch
    // from the leader told it the high watermark; with the short replica.fetch.wait.max.ms that
    // zone-local reads set, that adds nothing noticeable (Kafka's default 500 ms would add ~200 ms).
    const mark = new Map([...received].map(([g, r]) => [g, r.length]));
    for (let i = 0; i < 15; i++) {
      expect(await publish(plain.port, 'rack:1', { seq: count + i, at: Date.now() })).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
    }
    await waitFor(
      () => [...received.values()].every((r) => r.length === count + 16),
      30_000,
      'every quiet-channel message on both gateways',
    );
    const quiet = (g: FleetGateway) =>
      received
        .get(g)!
        .slice(mark.get(g))
        .map((r) => r.latency);
    console.log(
      `quiet channel: publish-to-deliver p50/max racked ${pct(quiet(racked), 0.5)}/${Math.max(...quiet(racked))} ms, plain ${pct(quiet(plain), 0.5)}/${Math.max(...quiet(plain))} ms`,
    );

    // The racked gateway reads everything from its zone's broker...
    expect(r2).toBeGreaterThan(20);
    expect(r1).toBeLessThanOrEqual(1);
    // ...while the same traffic without a rack goes to the leaders, which are on both brokers.
    expect(p1).toBeGreaterThan(5);
    expect(p2).toBeGreaterThan(5);
  }, 180_000);
});
