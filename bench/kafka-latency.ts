/**
 * Kafka bus benchmark (a program, not a test): through one local broker,
 *   1. publish-to-deliver latency at a steady 1,000 msg/s, from one gateway's `publish()` to another
 *      gateway's `deliver()`;
 *   2. how many records per second one consumer reads and skips when no channel is wanted (the cost
 *      of traffic no local client cares about: a key comparison, no decoding).
 *
 *   npx tsx bench/kafka-latency.ts [--seconds 10] [--rate 1000] [--skip 500000]
 *
 * Starts its own single-node KRaft broker (scripts/kafka/index.mjs) unless WSGW_BENCH_KAFKA_BROKERS
 * names one. Prints a table and writes bench/results/kafka-latency.json.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import { KafkaBus } from '../services/gateway/src/bus/bus-kafka.js';
import type { BusMessage } from '../services/gateway/src/bus/bus.js';
import { encodeEnvelope } from '../services/shared/src/envelope.js';
import { KAFKA_DIR, ROOT, startCluster, type Cluster } from '../scripts/kafka/index.mjs';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '1000' },
    skip: { type: 'string', default: '500000' },
  },
});
const SECONDS = Number(args.seconds);
const RATE = Number(args.rate);
const SKIP_RECORDS = Number(args.skip);
const WARMUP_MS = 5_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const payload = new TextEncoder().encode(JSON.stringify({ text: 'x'.repeat(100) }));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function latency(brokers: string[]): Promise<Record<string, number>> {
  const topicPrefix = `bench${randomBytes(3).toString('hex')}.fanout.`;
  // Publish time of each message published inside the measured window (after the warm-up).
  const sentAt = new Map<string, bigint>();
  const samples: number[] = [];
  let measuring = false;
  let lost = 0;
  const reader = new KafkaBus({ brokers, region: 'r1', nodeId: 'reader', topicPrefix, partitions: 6 });
  const writer = new KafkaBus({ brokers, region: 'r1', nodeId: 'writer', topicPrefix, partitions: 6 });
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

  // Paced by the clock: each turn publishes whatever is due, so the rate holds on a busy loop too.
  let sent = 0;
  let failed = 0;
  const t0 = performance.now();
  const total = WARMUP_MS + SECONDS * 1_000;
  while (performance.now() - t0 < total) {
    measuring = performance.now() - t0 >= WARMUP_MS;
    const due = Math.floor(((performance.now() - t0) / 1_000) * RATE);
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
  lost = sentAt.size;
  await Promise.all([writer.close(), reader.close()]);
  samples.sort((x, y) => x - y);
  return {
    rate: RATE,
    seconds: SECONDS,
    delivered: samples.length,
    lost,
    failed,
    p50_ms: percentile(samples, 50),
    p90_ms: percentile(samples, 90),
    p99_ms: percentile(samples, 99),
    max_ms: samples.at(-1) ?? NaN,
  };
}

async function skipRate(brokers: string[]): Promise<Record<string, number>> {
  const topicPrefix = `bench${randomBytes(3).toString('hex')}.fanout.`;
  const topic = `${topicPrefix}r1`;
  const kafka = new Kafka({ clientId: 'wsgw-bench', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: 6, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  // Real envelopes on 10,000 channels, written before the consumer starts.
  const producer = kafka.producer();
  await producer.connect();
  const channels = 10_000;
  const values = Array.from({ length: channels }, (_, i) =>
    Buffer.from(
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
  );
  for (let done = 0; done < SKIP_RECORDS; done += 5_000) {
    const n = Math.min(5_000, SKIP_RECORDS - done);
    await producer.send({
      topic,
      acks: 1,
      messages: Array.from({ length: n }, (_, i) => ({
        key: `room:${(done + i) % channels}`,
        value: values[(done + i) % channels]!,
      })),
    });
  }
  await producer.disconnect();

  // The consumer reads the backlog from the beginning (its start slack reaches back an hour).
  const registry = new Registry();
  let asked = 0;
  let first = 0;
  let last = 0;
  const bus = new KafkaBus({
    brokers,
    region: 'r1',
    nodeId: 'skipper',
    topicPrefix,
    startSlackMs: 3_600_000,
    registry,
  });
  await bus.start({
    wants: () => {
      if (asked++ === 0) first = performance.now();
      last = performance.now();
      return false;
    },
    deliver: () => {},
  });
  const deadline = Date.now() + 120_000;
  while (asked < SKIP_RECORDS && Date.now() < deadline) await sleep(50);
  await bus.close();
  const seconds = (last - first) / 1_000;
  return { records: asked, seconds: Number(seconds.toFixed(3)), records_per_s: Math.round(asked / seconds) };
}

async function main(): Promise<void> {
  let cluster: Cluster | undefined;
  let brokers = (process.env.WSGW_BENCH_KAFKA_BROKERS ?? '').split(',').filter(Boolean);
  const dir = join(KAFKA_DIR, `bench-${process.pid}`);
  if (brokers.length === 0) {
    process.stderr.write('starting a local broker…\n');
    cluster = await startCluster({ name: 'bench', dir, heap: '512m', owner: process.pid, fastStart: false });
    brokers = cluster.brokers;
  }
  try {
    const lat = await latency(brokers);
    const skip = await skipRate(brokers);
    const result = {
      when: new Date().toISOString(),
      cores: availableParallelism(),
      node: process.version,
      brokers: cluster ? 'local single-node KRaft (Kafka 4.1.1)' : brokers.join(','),
      latency: lat,
      skip,
    };
    const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(2));
    process.stdout.write(`\nKafka bus, one broker, ${result.cores} cores\n`);
    process.stdout.write(
      `publish→deliver at ${lat.rate} msg/s for ${lat.seconds} s: p50 ${fmt(lat.p50_ms!)} ms  p90 ${fmt(lat.p90_ms!)} ms  p99 ${fmt(lat.p99_ms!)} ms  max ${fmt(lat.max_ms!)} ms  (delivered ${lat.delivered}, lost ${lat.lost}, failed ${lat.failed})\n`,
    );
    process.stdout.write(
      `read-and-skip, nothing wanted: ${skip.records} records in ${skip.seconds} s = ${skip.records_per_s} records/s\n`,
    );
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(
      join(ROOT, 'bench', 'results', 'kafka-latency.json'),
      `${JSON.stringify(result, null, 2)}\n`,
    );
  } finally {
    await cluster?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
