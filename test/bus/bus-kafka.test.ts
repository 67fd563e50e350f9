/**
 * The Kafka bus against a real broker (cluster a of the test Kafka): the shared Bus contract, then
 * what only Kafka has: malformed records on the wire, skip accounting, metrics, topic discovery.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaBus, type KafkaBusOptions } from '../../services/gateway/src/bus/bus-kafka.js';
import { encodeEnvelope, protoTypes } from '../../services/shared/src/envelope.js';
import { kafka } from '../setup/kafka.js';
import { describeBus, eventually, message, Recorder } from './bus-conformance.js';

const uniquePrefix = (): string => `t${randomBytes(4).toString('hex')}.fanout.`;

function kafkaBus(
  brokers: string[],
  o: Partial<KafkaBusOptions> & Pick<KafkaBusOptions, 'nodeId' | 'topicPrefix'>,
): KafkaBus {
  return new KafkaBus({ brokers, region: 'r1', partitions: 3, topicRefreshMs: 500, ...o });
}

describeBus(
  'KafkaBus',
  async () => {
    const { a } = await kafka();
    const topicPrefix = uniquePrefix();
    return { create: (nodeId) => kafkaBus(a, { nodeId, topicPrefix }), dispose: async () => {} };
  },
  { deliverMs: 20_000, quietMs: 500 },
);

describe('KafkaBus on the wire', () => {
  const open: KafkaBus[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((b) => b.close()));
  });
  const counter = async (
    reg: Registry,
    name: string,
    labels: Record<string, string> = {},
  ): Promise<number> => {
    const m = (await reg.getMetricsAsJSON()).find((x) => x.name === name);
    const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
    return Number(v?.value ?? 0);
  };

  it('counts and skips malformed records without stopping delivery', async () => {
    const { a } = await kafka();
    const topicPrefix = uniquePrefix();
    const registry = new Registry();
    const bus = kafkaBus(a, { nodeId: 'n1', topicPrefix, registry });
    open.push(bus);
    const rec = new Recorder();
    await bus.start(rec);

    // A backend writing straight to the topic, badly.
    const producer = new Kafka({ clientId: 'wsgw-test', brokers: a, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const future = protoTypes.Envelope.encode({
      version: 2,
      id: 'v2',
      channel: 'bad:1',
      origin: 'r1',
      node: 'x',
      ts: Date.now(),
      contentType: 'application/json',
      payload: new Uint8Array(),
    }).finish();
    const good = message('bad:1', 'backend', 'still delivered');
    await producer.send({
      topic: bus.topic,
      acks: -1,
      messages: [
        { key: 'bad:1', value: randomBytes(64) },
        { key: 'bad:1', value: Buffer.from(future) },
        { key: null, value: Buffer.from('no key') },
        { key: 'bad:2', value: Buffer.from(encodeEnvelope(message('bad:1', 'x', 'key and channel differ'))) },
        { key: 'bad:1', value: Buffer.from(encodeEnvelope(good)) },
      ],
    });
    await producer.disconnect();

    await eventually(() => rec.got.length === 1, 15_000, 'the good record');
    expect(rec.ids()).toEqual([good.id]);
    expect(
      await counter(registry, 'wsgw_bus_malformed_total', { reason: 'malformed' }),
    ).toBeGreaterThanOrEqual(1);
    expect(await counter(registry, 'wsgw_bus_malformed_total', { reason: 'unknown_version' })).toBe(1);
    expect(await counter(registry, 'wsgw_bus_malformed_total', { reason: 'no_key' })).toBe(1);
    expect(await counter(registry, 'wsgw_bus_malformed_total', { reason: 'key_mismatch' })).toBe(1);
    expect(bus.health()).toEqual({ ok: true });
    await bus.probe(10_000);
  });

  it('skips unwanted records before decoding them and counts them', async () => {
    const { a } = await kafka();
    const topicPrefix = uniquePrefix();
    const registry = new Registry();
    const bus = kafkaBus(a, { nodeId: 'n1', topicPrefix, registry });
    open.push(bus);
    const rec = new Recorder((ch) => ch === 'keep');
    await bus.start(rec);
    // Undecodable values on an unwanted channel: skipped by key, so never counted as malformed.
    const producer = new Kafka({ clientId: 'wsgw-test', brokers: a, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    await producer.send({
      topic: bus.topic,
      acks: -1,
      messages: Array.from({ length: 50 }, () => ({ key: 'other', value: randomBytes(32) })),
    });
    await producer.disconnect();
    const keep = message('keep', 'n1', 'kept');
    await bus.publish(keep);
    await eventually(() => rec.got.length === 1, 15_000, 'the wanted record');
    await eventually(
      () => rec.asked.filter((c) => c === 'other').length === 50,
      5_000,
      'wants(other) 50 times',
    );
    expect(await counter(registry, 'wsgw_bus_skipped_unwanted_total')).toBe(50);
    // Declined records reach the optional `skipped` hook as raw bytes, copied out of the fetch buffer.
    expect(
      rec.passed.filter(
        (p) => p.channel === 'other' && p.msg instanceof Uint8Array && p.msg.byteLength === 32,
      ),
    ).toHaveLength(50);
    expect(await counter(registry, 'wsgw_bus_malformed_total')).toBe(0);
    expect(await counter(registry, 'wsgw_bus_delivered_total', { origin: 'r1' })).toBe(1);
    expect(await counter(registry, 'wsgw_bus_produced_total', { topic: bus.topic })).toBe(1);
    const text = await registry.metrics();
    expect(text).toMatch(/wsgw_bus_up 1/);
    expect(text).toMatch(/wsgw_bus_replication_delay_seconds_count\{origin="r1"\} 1/);
    expect(text).toMatch(/wsgw_bus_consumer_lag\{topic="[^"]+",partition="\d+"\} 0/);
  });

  it('refuses a message that is too large for good, and keeps publishing the others', async () => {
    const { a } = await kafka();
    const topicPrefix = uniquePrefix();
    const big = (n: number) => ({ ...message('big:1', 'n1', 'x'), payload: new Uint8Array(n) });
    // The bus's own limit: refused before it is queued.
    const guarded = kafkaBus(a, { nodeId: 'n1', topicPrefix, maxMessageBytes: 10_000 });
    open.push(guarded);
    await guarded.start(new Recorder());
    await expect(guarded.publish(big(20_000))).rejects.toMatchObject({ code: 'bus_rejected' });

    // The broker's limit (1 MB): the batch is split to find the record, which alone is refused.
    const registry = new Registry();
    const bus = kafkaBus(a, { nodeId: 'n2', topicPrefix, maxMessageBytes: 4_000_000, registry });
    open.push(bus);
    const rec = new Recorder();
    await bus.start(rec);
    const before = message('big:1', 'n2', 'before');
    const after = message('big:1', 'n2', 'after');
    const results = await Promise.allSettled([
      bus.publish(before),
      bus.publish(big(2_000_000)),
      bus.publish(after),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'bus_rejected' });
    await eventually(() => rec.got.length === 2, 15_000, 'the two small messages');
    expect(rec.ids()).toEqual([before.id, after.id]);
    expect(await counter(registry, 'wsgw_bus_errors_total', { kind: 'rejected' })).toBe(1);
    expect(bus.health()).toEqual({ ok: true });
  });

  it('starts consuming a fan-out topic that appears after start', async () => {
    const { a } = await kafka();
    const topicPrefix = uniquePrefix();
    const listener = kafkaBus(a, { nodeId: 'n1', topicPrefix });
    open.push(listener);
    const rec = new Recorder();
    await listener.start(rec);
    // A gateway of another region joins later with its own origin topic.
    const other = kafkaBus(a, { nodeId: 'n2', topicPrefix, region: 'r2' });
    open.push(other);
    await other.start(new Recorder());
    const m = message('late:1', 'n2', 'from a new topic', 'r2');
    await other.publish(m);
    await eventually(() => rec.got.length === 1, 15_000, 'the message on the new topic');
    expect(rec.got[0]).toMatchObject({ id: m.id, origin: 'r2' });
  });
});
