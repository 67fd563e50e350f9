/**
 * The test Kafka itself (scripts/kafka/index.mjs through the vitest global setup): both clusters
 * serve kafkajs, and MirrorMaker 2 replicates origin topics both ways under the default
 * replication policy without sending replicated copies back.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { kafka } from '../setup/kafka.js';

const consumers: Consumer[] = [];
afterAll(async () => {
  await Promise.all(consumers.map((c) => c.disconnect()));
});

function client(brokers: string[]): Kafka {
  return new Kafka({ clientId: 'wsgw-test', brokers, logLevel: logLevel.NOTHING });
}

/** Collects records of `topic` (from the beginning) whose key is `key`. */
async function collect(brokers: string[], topic: string, key: string): Promise<string[]> {
  const got: string[] = [];
  const consumer = client(brokers).consumer({ groupId: `wsgw-test-${randomUUID()}`, maxWaitTimeInMs: 50 });
  consumers.push(consumer);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.key?.toString() === key) got.push(message.value?.toString() ?? '');
    },
  });
  return got;
}

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('test Kafka', () => {
  it('serves produce and consume on cluster a', async () => {
    const { a } = await kafka();
    const producer = client(a).producer({ idempotent: true });
    await producer.connect();
    const key = randomUUID();
    const got = await collect(a, 'wsgw.fanout.a', key);
    const [meta] = await producer.send({
      topic: 'wsgw.fanout.a',
      acks: -1,
      messages: [1, 2, 3].map((n) => ({ key, value: String(n) })),
    });
    await producer.disconnect();
    expect(meta?.errorCode).toBe(0);
    await until(() => got.length === 3, 10_000);
    expect(got).toEqual(['1', '2', '3']);
  });

  it('replicates origin topics both ways and never loops', async () => {
    const { a, b } = await kafka();
    const key = randomUUID();
    const onB = await collect(b, 'a.wsgw.fanout.a', key);
    const onA = await collect(a, 'b.wsgw.fanout.b', key);
    for (const [brokers, topic] of [
      [a, 'wsgw.fanout.a'],
      [b, 'wsgw.fanout.b'],
    ] as const) {
      const p = client([...brokers]).producer();
      await p.connect();
      await p.send({ topic, acks: -1, messages: [{ key, value: topic }] });
      await p.disconnect();
    }
    await until(() => onB.length === 1 && onA.length === 1, 30_000);
    expect(onB).toEqual(['wsgw.fanout.a']);
    expect(onA).toEqual(['wsgw.fanout.b']);

    const topicsOf = async (brokers: string[]) => {
      const admin = client(brokers).admin();
      await admin.connect();
      const names = await admin.listTopics();
      await admin.disconnect();
      return names.filter((t) => t.includes('wsgw.fanout.'));
    };
    // A replicated copy is never replicated again: no b.a.wsgw.fanout.a on a, no a.b.… on b.
    expect((await topicsOf(a)).sort()).toEqual(expect.arrayContaining(['b.wsgw.fanout.b', 'wsgw.fanout.a']));
    expect((await topicsOf(a)).some((t) => t.startsWith('b.a.') || t.startsWith('a.'))).toBe(false);
    expect((await topicsOf(b)).some((t) => t.startsWith('a.b.') || t.startsWith('b.'))).toBe(false);
  });
});
