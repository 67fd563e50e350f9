/**
 * The two buses side by side in one run (docs/redis.md, docs/benchmarks.md): through one local
 * redis-server and through one local Kafka broker,
 *   1. publish-to-deliver latency at a steady rate, from one bus instance's `publish()` to another's
 *      `deliver()` (two gateways' buses in this process);
 *   2. the read-and-skip rate: records per second one bus reads and skips when no channel is wanted
 *      (traffic no local client cares about: a channel comparison, no decoding, the raw envelope
 *      handed to history), from a backlog of real envelopes on 10,000 channels.
 * Both buses run the same code here, with the same payloads; only the bus differs.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { createClient } from 'redis';
import type { Bus, BusMessage } from '../../services/gateway/src/bus/bus.js';
import { KafkaBus } from '../../services/gateway/src/bus/bus-kafka.js';
import { RedisBus } from '../../services/gateway/src/bus/bus-redis.js';
import { encodeEnvelope } from '../../services/shared/src/envelope.js';
import { originStream } from '../../services/shared/src/names.js';
import { KAFKA_DIR, startCluster } from '../../scripts/kafka/index.mjs';
import { startRedis } from '../../scripts/redis/server.mjs';

export interface BusesConfig {
  /** Publishes per second of the latency run. */
  readonly rate: number;
  /** Measured seconds of the latency run (after a warm-up). */
  readonly seconds: number;
  readonly warmupMs: number;
  /** Records in the backlog of the skip run. */
  readonly skip: number;
  /** Whether to start a Kafka broker too (a smoke run has no time for its start). */
  readonly kafka: boolean;
}

export interface LatencyResult {
  readonly rate: number;
  readonly seconds: number;
  readonly delivered: number;
  readonly lost: number;
  readonly failed: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface SkipResult {
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSec: number;
}

export interface BusResult {
  readonly server: string;
  readonly latency: LatencyResult;
  readonly skip: SkipResult;
}

export interface BusesResult {
  readonly redis: BusResult;
  readonly kafka: BusResult | { readonly status: 'skipped'; readonly reason: string };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const payload = new TextEncoder().encode(JSON.stringify({ text: 'x'.repeat(100) }));
const CHANNELS = 10_000;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (v: number): number => Math.round(v * 100) / 100;

/** Latency from `writer.publish()` to `reader`'s `deliver()`, paced by the clock. */
async function latency(writer: Bus, reader: Bus, cfg: BusesConfig): Promise<LatencyResult> {
  const sentAt = new Map<string, bigint>();
  const samples: number[] = [];
  await writer.start({ wants: () => false, deliver: () => {} });
  await reader.start({
    wants: () => true,
    deliver: (m: BusMessage) => {
      const t = sentAt.get(m.id);
      if (t === undefined) return;
      sentAt.delete(m.id);
      samples.push(Number(process.hrtime.bigint() - t) / 1e6);
    },
  });
  let sent = 0;
  let failed = 0;
  const t0 = performance.now();
  const total = cfg.warmupMs + cfg.seconds * 1_000;
  while (performance.now() - t0 < total) {
    const measuring = performance.now() - t0 >= cfg.warmupMs;
    const due = Math.floor(((performance.now() - t0) / 1_000) * cfg.rate);
    for (; sent < due; sent++) {
      const id = randomUUID();
      if (measuring) sentAt.set(id, process.hrtime.bigint());
      writer
        .publish({
          id,
          channel: `bench:${sent % 100}`,
          origin: 'r1',
          node: 'writer',
          ts: Date.now(),
          contentType: 'application/json',
          payload,
        })
        .catch(() => void failed++);
    }
    await sleep(1);
  }
  await sleep(1_000);
  const lost = sentAt.size;
  await Promise.all([writer.close(), reader.close()]);
  samples.sort((x, y) => x - y);
  return {
    rate: cfg.rate,
    seconds: cfg.seconds,
    delivered: samples.length,
    lost,
    failed,
    p50Ms: round(percentile(samples, 50)),
    p90Ms: round(percentile(samples, 90)),
    p99Ms: round(percentile(samples, 99)),
    maxMs: round(samples.at(-1) ?? NaN),
  };
}

/** Real envelopes on 10,000 channels, one per channel, reused round robin. */
function envelopes(): { channel: string; value: Buffer }[] {
  return Array.from({ length: CHANNELS }, (_, i) => ({
    channel: `room:${i}`,
    value: Buffer.from(
      encodeEnvelope({
        id: randomUUID(),
        channel: `room:${i}`,
        origin: 'r1',
        node: 'bench',
        ts: Date.now(),
        contentType: 'application/json',
        payload,
      }),
    ),
  }));
}

/** How fast `bus` reads through a backlog of `records` that nobody wants (it starts reading at once). */
async function skipRate(bus: Bus, records: number): Promise<SkipResult> {
  let asked = 0;
  let first = 0;
  let last = 0;
  await bus.start({
    wants: () => {
      if (asked++ === 0) first = performance.now();
      last = performance.now();
      return false;
    },
    deliver: () => {},
    // As the gateway does: declined records go to history, undecoded.
    skipped: () => {},
  });
  const deadline = Date.now() + 120_000;
  while (asked < records && Date.now() < deadline) await sleep(20);
  await bus.close();
  const seconds = (last - first) / 1_000;
  return { records: asked, seconds: round(seconds), recordsPerSec: Math.round(asked / seconds) };
}

async function redisRun(cfg: BusesConfig, dir: string): Promise<BusResult> {
  // Persistence as the fault tests run it: an append-only file, fsynced on every write.
  const server = await startRedis({ dir: join(dir, 'redis') });
  try {
    const prefix = () => `bench${randomBytes(3).toString('hex')}.fanout.`;
    let streamPrefix = prefix();
    const lat = await latency(
      new RedisBus({ url: server.url, region: 'r1', nodeId: 'writer', streamPrefix }),
      new RedisBus({ url: server.url, region: 'r1', nodeId: 'reader', streamPrefix }),
      cfg,
    );
    streamPrefix = prefix();
    const client = createClient({ url: server.url, RESP: 2 });
    client.on('error', () => undefined);
    await client.connect();
    const values = envelopes();
    const stream = originStream('r1', streamPrefix);
    for (let done = 0; done < cfg.skip; done += 5_000) {
      const n = Math.min(5_000, cfg.skip - done);
      const multi = client.multi();
      for (let i = 0; i < n; i++) {
        const v = values[(done + i) % CHANNELS]!;
        multi.xAdd(stream, '*', { ch: v.channel, env: v.value });
      }
      await multi.execAsPipeline();
    }
    await client.close();
    const skip = await skipRate(
      new RedisBus({
        url: server.url,
        region: 'r1',
        nodeId: 'skipper',
        streamPrefix,
        startSlackMs: 3_600_000,
      }),
      cfg.skip,
    );
    return { server: 'local redis-server (appendfsync always)', latency: lat, skip };
  } finally {
    await server.stop();
  }
}

async function kafkaRun(cfg: BusesConfig, dir: string): Promise<BusResult> {
  const cluster = await startCluster({
    name: 'bench',
    dir: join(dir, 'kafka'),
    heap: '512m',
    owner: process.pid,
  });
  const brokers = cluster.brokers;
  try {
    let topicPrefix = `bench${randomBytes(3).toString('hex')}.fanout.`;
    const lat = await latency(
      new KafkaBus({ brokers, region: 'r1', nodeId: 'writer', topicPrefix, partitions: 6 }),
      new KafkaBus({ brokers, region: 'r1', nodeId: 'reader', topicPrefix, partitions: 6 }),
      cfg,
    );
    topicPrefix = `bench${randomBytes(3).toString('hex')}.fanout.`;
    const topic = `${topicPrefix}r1`;
    const kafka = new Kafka({ clientId: 'wsgw-bench', brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic, numPartitions: 6, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const values = envelopes();
    for (let done = 0; done < cfg.skip; done += 5_000) {
      const n = Math.min(5_000, cfg.skip - done);
      await producer.send({
        topic,
        acks: 1,
        messages: Array.from({ length: n }, (_, i) => {
          const v = values[(done + i) % CHANNELS]!;
          return { key: v.channel, value: v.value };
        }),
      });
    }
    await producer.disconnect();
    const skip = await skipRate(
      new KafkaBus({ brokers, region: 'r1', nodeId: 'skipper', topicPrefix, startSlackMs: 3_600_000 }),
      cfg.skip,
    );
    return { server: 'local single-node KRaft broker', latency: lat, skip };
  } finally {
    await cluster.kill();
  }
}

export async function runBuses(cfg: BusesConfig, log: (s: string) => void): Promise<BusesResult> {
  const dir = join(KAFKA_DIR, `bench-buses-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  try {
    log(`buses: Redis, ${cfg.rate} msg/s for ${cfg.seconds} s, then ${cfg.skip} records to skip`);
    const redis = await redisRun(cfg, dir);
    log(`  redis: ${JSON.stringify(redis)}`);
    let kafka: BusesResult['kafka'] = {
      status: 'skipped',
      reason: 'a Kafka broker takes longer to start than the smoke budget',
    };
    if (cfg.kafka) {
      log(`buses: Kafka, the same`);
      kafka = await kafkaRun(cfg, dir);
      log(`  kafka: ${JSON.stringify(kafka)}`);
    }
    return { redis, kafka };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The two buses as a markdown table, with Redis ÷ Kafka where both ran. */
export function busesMarkdown(r: BusesResult): string {
  const k = 'latency' in r.kafka ? r.kafka : undefined;
  const cell = (v: number | undefined, unit: string) => (v === undefined ? '–' : `${v} ${unit}`);
  const ratio = (a: number, b: number | undefined) => (b === undefined ? '–' : `${(a / b).toFixed(2)}×`);
  const rows: [string, number, number | undefined, string][] = [
    [`publish→deliver p50 at ${r.redis.latency.rate} msg/s`, r.redis.latency.p50Ms, k?.latency.p50Ms, 'ms'],
    [`publish→deliver p99 at ${r.redis.latency.rate} msg/s`, r.redis.latency.p99Ms, k?.latency.p99Ms, 'ms'],
    ['read-and-skip, nothing wanted', r.redis.skip.recordsPerSec, k?.skip.recordsPerSec, 'records/s'],
  ];
  return [
    '| | Redis | Kafka | Redis ÷ Kafka |',
    '|---|---|---|---|',
    ...rows.map(([name, a, b, unit]) => `| ${name} | ${cell(a, unit)} | ${cell(b, unit)} | ${ratio(a, b)} |`),
  ].join('\n');
}
