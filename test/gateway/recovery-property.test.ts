/**
 * The recovery guarantee under attack, property-based (fast-check): several regions, each a log
 * of its own (a memory network) replicating to the others with random, per-message delays; real
 * gateways in every region; a real SDK client over loopback that publishes nothing itself, syncs
 * with pings, is cut off at random points and reconnects to a random gateway of a random region.
 *
 * Invariant: whenever a subscription is renewed with `recovered: true`, the client ends up holding
 * every message of the channel published since it first subscribed, each once, in order per
 * origin. The generous history here leaves no reason to answer `recovered: false`, so a gap is a
 * failure too (a gateway that never vouched would pass the first check trivially).
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WsgwClient, type MessageEvent } from '../../services/client/src/client.js';
import { MemoryBus, MemoryBusNetwork } from '../../services/gateway/src/bus/bus-memory.js';
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { TestBalancer } from '../helpers/balancer.js';

const REGIONS = ['r-a', 'r-b', 'r-c'];
const RUNS = Number(process.env.WSGW_PROPERTY_RUNS ?? 40);
const CH = 'prop';

type Step =
  | { readonly kind: 'publish'; readonly region: number; readonly count: number }
  | { readonly kind: 'ping' }
  | { readonly kind: 'wait'; readonly ms: number }
  | { readonly kind: 'move'; readonly region: number; readonly gateway: number; readonly offlineMs: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('publish' as const),
      region: fc.nat(REGIONS.length - 1),
      count: fc.integer({ min: 1, max: 4 }),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'ping' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 120 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('move' as const),
      region: fc.nat(REGIONS.length - 1),
      gateway: fc.nat(1),
      offlineMs: fc.integer({ min: 0, max: 150 }),
    }),
  },
);

const scenario = fc.record({
  /** Replication delay per ordered pair of regions: a base and a jitter per message (ms). */
  delays: fc.array(
    fc.record({ base: fc.integer({ min: 0, max: 150 }), jitter: fc.integer({ min: 0, max: 100 }) }),
    { minLength: REGIONS.length ** 2, maxLength: REGIONS.length ** 2 },
  ),
  start: fc.record({ region: fc.nat(REGIONS.length - 1), gateway: fc.nat(1) }),
  steps: fc.array(step, { minLength: 3, maxLength: 14 }),
  seed: fc.integer(),
});

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

async function run(s: Scenario): Promise<void> {
  const local: Array<() => unknown> = [];
  try {
    let rnd = s.seed;
    const random = () => (rnd = (rnd * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const nets = REGIONS.map((region) => new MemoryBusNetwork({ region, tickMs: 10 }));
    nets.forEach((from, i) =>
      nets.forEach((to, j) => {
        if (i === j) return;
        const d = s.delays[i * REGIONS.length + j]!;
        from.replicateTo(to, () => d.base + Math.floor(random() * (d.jitter + 1)));
      }),
    );
    local.push(() => nets.forEach((n) => n.close()));
    const gateways: TestGateway[][] = [];
    for (const [i, region] of REGIONS.entries()) {
      const gs: TestGateway[] = [];
      for (let g = 0; g < 2; g++) {
        const gw = await startGateway(
          { WSGW_REGION: region, WSGW_REBALANCE_INTERVAL_MS: '0', WSGW_HISTORY_SIZE: '10000' },
          new MemoryBus(nets[i]!),
        );
        local.push(() => gw.stop());
        gs.push(gw);
      }
      gateways.push(gs);
    }
    // Every gateway has read every origin past the moment the last one began reading: from here a
    // gateway's history covers whatever a client could have been synced to elsewhere.
    const begun = Date.now();
    const all = gateways.flat();
    await waitFor(
      () =>
        all.every((g) =>
          REGIONS.every((o) => {
            const sync = g.gateway.progress.sync();
            return sync !== undefined && (sync.lagging[o] ?? sync.common) > begun;
          }),
        ),
      5_000,
      'progress everywhere',
    );
    const lb = await new TestBalancer([gateways[s.start.region]![s.start.gateway]!.gateway.port]).listen();
    local.push(() => lb.close());

    const client = new WsgwClient({
      url: lb.url,
      backoff: { baseMs: 5, maxMs: 20 },
      pingIntervalMs: 25,
      random,
    });
    local.push(() => client.close());
    const got: MessageEvent[] = [];
    const renewals: boolean[] = [];
    client.on('message', (m) => got.push(m));
    client.on('resubscribed', (e) => renewals.push(e.recovered));
    await client.connect();
    await client.subscribe(CH);

    // Everything published from here on is owed to the client.
    const published: { origin: string; seq: number }[] = [];
    const seqs = REGIONS.map(() => 0);
    for (const st of s.steps) {
      switch (st.kind) {
        case 'publish':
          for (let k = 0; k < st.count; k++) {
            const seq = ++seqs[st.region]!;
            published.push({ origin: REGIONS[st.region]!, seq });
            const g = gateways[st.region]![k % 2]!;
            await g.gateway.publish(
              CH,
              'application/json',
              Buffer.from(JSON.stringify({ origin: REGIONS[st.region], seq })),
            );
          }
          break;
        case 'ping':
          await new Promise((r) => setTimeout(r, 30)); // the client pings every 25 ms
          break;
        case 'wait':
          await new Promise((r) => setTimeout(r, st.ms));
          break;
        case 'move':
          lb.setTargets([gateways[st.region]![st.gateway]!.gateway.port]);
          lb.dropAll();
          await new Promise((r) => setTimeout(r, st.offlineMs));
          break;
      }
    }
    // Quiet: every replication delay has passed and the client is back on its last gateway.
    await waitFor(
      () => got.length >= published.length && client.state === 'open',
      5_000,
      'every message',
    ).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));

    const values = got.map((m) => m.data as { origin: string; seq: number });
    const key = (v: { origin: string; seq: number }) => `${v.origin}#${v.seq}`;
    expect(
      renewals.filter((r) => !r),
      'recovered:false with a history that covers everything',
    ).toEqual([]);
    expect(new Set(values.map(key)).size, 'a message delivered twice').toBe(values.length);
    expect(values.map(key).sort(), 'messages missing').toEqual(published.map(key).sort());
    for (const origin of REGIONS) {
      const order = values.filter((v) => v.origin === origin).map((v) => v.seq);
      expect(order, `order of ${origin}`).toEqual([...order].sort((a, b) => a - b));
    }
  } finally {
    for (const c of local.reverse()) await c();
  }
}

describe('recovery across regions with replication lag (property)', () => {
  it(`holds every message once, in order per origin, after every recovered:true (${RUNS} random runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(scenario, (s) => run(s)),
      { numRuns: RUNS, endOnFailure: true },
    );
  }, 600_000);
});
