/**
 * Cross-region: two local Kafka clusters (regions `a` and `b`) with MirrorMaker 2 between them,
 * one gateway per region on its own cluster. A publisher on gateway a; subscribers on both. Each
 * message reaches a's subscribers through one hop (gateway a → Kafka a → gateway a) and b's through
 * two more (MirrorMaker 2 → Kafka b → gateway b), so the two latency distributions are the hops.
 *
 * Kafka comes from scripts/kafka/index.mjs (jars fetched with Maven on first use; Java 17 needed).
 * Gateways on the Kafka bus require tokens, so the suite signs an HS256 JWT that grants everything.
 * There is no peer column: neither peer has a cross-region path to compare with.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import {
  KAFKA_DIR,
  fetchKafka,
  freePort,
  startCluster,
  startMirrorMaker,
  type Cluster,
  type MirrorMaker,
} from '../../scripts/kafka/index.mjs';
import type { ClientPool } from '../load/pool.js';
import { startGateway, type Running } from '../servers/targets.js';
import { sig, sleep } from '../lib/util.js';

export interface CrossRegionConfig {
  /** Subscribers per region. */
  readonly subscribers: number;
  /** Messages per second from the publisher on region a. */
  readonly rate: number;
  readonly seconds: number;
  readonly size: number;
}

export interface HopLatency {
  readonly delivered: number;
  readonly expected: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
}

export interface CrossRegionResult {
  readonly status: 'done';
  readonly config: CrossRegionConfig;
  /** Publish on a, receive on a: gateway → Kafka a → gateway. */
  readonly local: HopLatency;
  /** Publish on a, receive on b: … → MirrorMaker 2 → Kafka b → gateway b. */
  readonly remote: HopLatency;
  /** Time from start until the first message published on a reached b (topic discovery and replication warm-up). */
  readonly firstRemoteDeliveryMs: number;
}

const SECRET = 'wsgw-bench-secret-0123456789abcdef0123456789';

export async function runCrossRegion(
  subsA: ClientPool,
  subsB: ClientPool,
  pub: ClientPool,
  cfg: CrossRegionConfig,
  log: (s: string) => void,
): Promise<CrossRegionResult> {
  const dir = join(KAFKA_DIR, `bench-regions-${process.pid}`);
  const clusters: Cluster[] = [];
  let mm: MirrorMaker | undefined;
  const gateways: Running[] = [];
  try {
    log('cross-region: starting Kafka clusters a and b and MirrorMaker 2');
    fetchKafka({ quiet: true });
    const [pa, pb] = [await freePort(), await freePort()];
    clusters.push(
      ...(await Promise.all([
        startCluster({ name: 'a', port: pa, dir: join(dir, 'a'), heap: '384m', owner: process.pid }),
        startCluster({ name: 'b', port: pb, dir: join(dir, 'b'), heap: '384m', owner: process.pid }),
      ])),
    );
    const [a, b] = clusters as [Cluster, Cluster];
    mm = await startMirrorMaker({
      clusters: [
        { name: 'a', brokers: a.brokers },
        { name: 'b', brokers: b.brokers },
      ],
      dir: join(dir, 'mm2'),
      heap: '384m',
      owner: process.pid,
    });
    const token = await new SignJWT({ subscribe: ['*'], publish: ['*'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('bench')
      .setExpirationTime('2h')
      .sign(new TextEncoder().encode(SECRET));
    const query = `token=${token}`;
    for (const [region, c] of [
      ['a', a],
      ['b', b],
    ] as const) {
      gateways.push(
        await startGateway(
          1,
          {
            WSGW_REGION: region,
            WSGW_KAFKA_BROKERS: c.brokers.join(','),
            WSGW_JWT_SECRET: SECRET,
            WSGW_NODE_ID: `bench-${region}`,
          },
          query,
        ),
      );
    }
    const [ga, gb] = gateways as [Running, Running];
    const spec = { kind: 'one', ch: 'xr' } as const;
    const ca = await subsA.connect(ga.target, cfg.subscribers, spec, { concurrency: 100, timeoutMs: 60_000 });
    const cb = await subsB.connect(gb.target, cfg.subscribers, spec, { concurrency: 100, timeoutMs: 60_000 });
    const cp = await pub.connect(ga.target, 1, { kind: 'none' }, { concurrency: 1, timeoutMs: 10_000 });
    if (ca.subscribed < cfg.subscribers || cb.subscribed < cfg.subscribers || cp.opened !== 1) {
      throw new Error(
        `cross-region: clients did not connect (${ca.firstError ?? cb.firstError ?? cp.firstError})`,
      );
    }
    // Warm-up: region b's gateway finds the replicated topic only once MirrorMaker has created it.
    const t0 = Date.now();
    await subsB.reset();
    let first = -1;
    while (Date.now() - t0 < 120_000) {
      await pub.publish(5, 1_000, cfg.size, ['xr']);
      if ((await subsB.stats()).delivered > 0) {
        first = Date.now() - t0;
        break;
      }
    }
    if (first < 0) throw new Error('cross-region: nothing reached region b within 120 s');
    log(`cross-region: first message reached region b after ${first} ms; measuring`);
    await sleep(2_000);
    await Promise.all([subsA.reset(), subsB.reset()]);
    const p = await pub.publish(cfg.rate, cfg.seconds * 1_000, cfg.size, ['xr']);
    const expected = p.sent * cfg.subscribers;
    const until = Date.now() + 15_000;
    while (
      Date.now() < until &&
      ((await subsA.stats()).delivered < expected || (await subsB.stats()).delivered < expected)
    )
      await sleep(200);
    const hop = async (pool: ClientPool): Promise<HopLatency> => {
      const s = await pool.stats();
      return {
        delivered: s.delivered,
        expected,
        p50Ms: sig(s.latency.quantile(0.5)),
        p99Ms: sig(s.latency.quantile(0.99)),
        p999Ms: sig(s.latency.quantile(0.999)),
      };
    };
    const result: CrossRegionResult = {
      status: 'done',
      config: cfg,
      local: await hop(subsA),
      remote: await hop(subsB),
      firstRemoteDeliveryMs: first,
    };
    log(`cross-region: local ${JSON.stringify(result.local)}; remote ${JSON.stringify(result.remote)}`);
    return result;
  } finally {
    await Promise.allSettled([subsA.closeAll(), subsB.closeAll(), pub.closeAll()]);
    await Promise.allSettled(gateways.map((g) => g.stop()));
    await mm?.stop().catch(() => {});
    await Promise.allSettled(clusters.map((c) => c.stop()));
    // The clusters' data is of no use after the run.
    rmSync(dir, { recursive: true, force: true });
  }
}
