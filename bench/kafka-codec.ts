/**
 * `npm run bench:kafka-codec`: what kafkajs's built-in GZIP codec (the only one it ships; Snappy,
 * LZ4 and ZSTD need third-party codecs) does to the gateway's record batches, against none.
 *
 * Record batches are built with kafkajs's own RecordBatch encoder (the bytes the producer sends
 * and the brokers store and replicate), from real envelopes (services/shared/src/envelope.ts)
 * with the benchmark's realistic JSON payloads (load/shapes.ts) and the 256-byte default of the
 * cost model, in batches of 1, 10 and 100 records (the publish queue sends what accumulated while
 * the previous batch was in flight: 1 at low rates). Prints bytes per record and producer CPU per
 * record, and writes bench/results/kafka-codec.json.
 */
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeEnvelope } from '../services/shared/src/envelope.js';
import { shapedBody, type Shape } from './load/shapes.js';
import { ROOT } from './servers/targets.js';

const require = createRequire(import.meta.url);
type Encoded = { buffer: Buffer };
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (o: { compression: number; records: unknown[] }) => Promise<Encoded>;
};
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (o: {
  offsetDelta: number;
  key: Buffer;
  value: Buffer;
}) => unknown;
const { Types } = require('kafkajs/src/protocol/message/compression') as {
  Types: { None: number; GZIP: number };
};

const PAYLOADS: Array<{ name: string; shape: Shape; size: number }> = [
  { name: 'chat, 256 B', shape: 'chat', size: 256 },
  { name: 'chat, 1 KiB', shape: 'chat', size: 1024 },
  { name: 'ticks, 1 KiB', shape: 'ticks', size: 1024 },
  { name: 'snapshot, 1 KiB', shape: 'snapshot', size: 1024 },
  { name: 'chat, 8 KiB', shape: 'chat', size: 8192 },
  { name: 'ticks, 8 KiB', shape: 'ticks', size: 8192 },
];
const BATCHES = [1, 10, 100];

function records(shape: Shape, size: number, n: number, from: number): unknown[] {
  return Array.from({ length: n }, (_, i) => {
    const ch = `room:${(from + i) % 50}`;
    const value = encodeEnvelope({
      id: `use1-7f3a9c.${(from + i).toString(36)}`,
      channel: ch,
      origin: 'us-east-1',
      node: 'ip-10-16-3-17.ec2.internal.4k2j',
      ts: 1_764_000_000_000 + from + i,
      contentType: 'application/json',
      payload: Buffer.from(shapedBody(shape, size, from + i)),
    });
    return Record({ offsetDelta: i, key: Buffer.from(ch), value: Buffer.from(value) });
  });
}

async function measure(compression: number, batch: unknown[][]): Promise<{ bytes: number; cpuUs: number }> {
  // Warm up, then time: the CPU of encoding (and compressing) every batch once.
  for (const b of batch.slice(0, 3)) await RecordBatch({ compression, records: b });
  const c0 = process.cpuUsage();
  let bytes = 0;
  for (const b of batch) bytes += (await RecordBatch({ compression, records: b })).buffer.length;
  const c = process.cpuUsage(c0);
  return { bytes, cpuUs: c.user + c.system };
}

async function main(): Promise<void> {
  const rows: Array<Record<string, string | number>> = [];
  for (const p of PAYLOADS) {
    for (const n of BATCHES) {
      const count = Math.max(20, Math.ceil(4_000 / n));
      const batches = Array.from({ length: count }, (_, i) => records(p.shape, p.size, n, i * n));
      const none = await measure(Types.None, batches);
      const gzip = await measure(Types.GZIP, batches);
      const k = count * n;
      rows.push({
        payload: p.name,
        recordsPerBatch: n,
        bytesPerRecordNone: Math.round(none.bytes / k),
        bytesPerRecordGzip: Math.round(gzip.bytes / k),
        ratio: Number((gzip.bytes / none.bytes).toFixed(3)),
        cpuUsPerRecordNone: Number((none.cpuUs / k).toFixed(1)),
        cpuUsPerRecordGzip: Number((gzip.cpuUs / k).toFixed(1)),
      });
    }
  }
  const header =
    '| payload | records per batch | bytes per record, none | bytes per record, GZIP | GZIP ÷ none | producer CPU µs per record, none | GZIP |';
  const lines = [header, '|---|---:|---:|---:|---:|---:|---:|'];
  for (const r of rows)
    lines.push(
      `| ${r.payload} | ${r.recordsPerBatch} | ${r.bytesPerRecordNone} | ${r.bytesPerRecordGzip} | ${r.ratio} | ${r.cpuUsPerRecordNone} | ${r.cpuUsPerRecordGzip} |`,
    );
  process.stdout.write(lines.join('\n') + '\n');
  const out = join(ROOT, 'bench', 'results', 'kafka-codec.json');
  writeFileSync(
    out,
    JSON.stringify({ node: process.version, startedAt: new Date().toISOString(), rows }, null, 2) + '\n',
  );
  process.stderr.write(`wrote ${out}\n`);
}

await main();
