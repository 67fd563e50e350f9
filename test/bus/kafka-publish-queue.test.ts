/**
 * The Kafka bus's publish queue without a broker: a scripted producer in front of an in-memory log
 * answers like Kafka (per-partition base offsets), or fails, holds or refuses as a test tells it.
 * What Kafka itself does with these requests is covered by the real-Kafka suites
 * (test/bus/bus-kafka.test.ts, test/integration/kafka-broker-failure.test.ts).
 */
import kafkajs, { type RecordMetadata } from 'kafkajs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BusError, PublishReceipt } from '../../services/gateway/src/bus/bus.js';
import { noLog } from '../../services/gateway/src/bus/kafka-bus-options.js';
import { KafkaBusMetrics, type BusErrorKind } from '../../services/gateway/src/bus/kafka-metrics.js';
import {
  PublishQueue,
  type OriginProducer,
  type OutgoingRecord,
  type PublishQueueOptions,
} from '../../services/gateway/src/bus/kafka-publish-queue.js';

/** kafkajs' error classes are spread into its exports, so only its default export carries them. */
const { KafkaJSProtocolError } = kafkajs;

/** What the broker answers to a request it refuses for good because of one record in it. */
const tooLarge = (): Error =>
  new KafkaJSProtocolError(
    Object.assign(
      new Error('The request included a message larger than the max message size the server will accept'),
      { type: 'MESSAGE_TOO_LARGE', code: 10, retriable: false },
    ),
  );

/** A request that got no answer (the case where the broker may have written it all the same). */
const timedOut = (): Error =>
  Object.assign(new Error('Request Produce(key: 0, version: 7) timed out'), {
    name: 'KafkaJSRequestTimeoutError',
  });

type Step = 'ack' | 'hold' | Error;

/** A producer in front of an in-memory log, scripted request by request. */
class ScriptedKafka {
  /** Each partition's records, in log order (their values as text). */
  readonly log = new Map<number, string[]>();
  /** Every request, in order: its records' values. */
  readonly requests: string[][] = [];
  /** How the next requests are answered, in order; once used up, every request is acknowledged. */
  readonly script: Step[] = [];
  /** Values the broker refuses for good: any request holding one fails with MESSAGE_TOO_LARGE. */
  refused = new Set<string>();
  /** How many of the next producers fail to connect. */
  connectFailures = 0;
  producersMade = 0;
  disconnects = 0;
  private held: (() => void) | undefined;

  readonly newProducer = (): OriginProducer => {
    this.producersMade++;
    return {
      connect: async () => {
        if (this.connectFailures > 0) {
          this.connectFailures--;
          throw new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
        }
      },
      send: (records) => this.send(records),
      disconnect: async () => {
        this.disconnects++;
      },
    };
  };

  /** Answers the request held by a `'hold'` step. */
  release(): void {
    const release = this.held;
    this.held = undefined;
    release?.();
  }

  written(): string[] {
    return [...this.log.values()].flat();
  }

  private async send(records: OutgoingRecord[]): Promise<RecordMetadata[]> {
    const values = records.map((r) => r.value.toString());
    this.requests.push(values);
    const step = this.script.shift();
    if (step === 'hold') await new Promise<void>((r) => (this.held = r));
    else if (step instanceof Error) throw step;
    if (values.some((v) => this.refused.has(v))) throw tooLarge();
    const answer = new Map<number, RecordMetadata>();
    records.forEach((r, i) => {
      const log = this.log.get(r.partition) ?? [];
      this.log.set(r.partition, log);
      if (!answer.has(r.partition))
        answer.set(r.partition, {
          topicName: 't',
          partition: r.partition,
          errorCode: 0,
          baseOffset: String(log.length),
        });
      log.push(values[i]!);
    });
    return [...answer.values()];
  }
}

const open: PublishQueue[] = [];

/** A queue on `kafka`; records go to the partition their key ends with (`ch:1` → 1). */
function queueOn(
  kafka: ScriptedKafka,
  o: Partial<PublishQueueOptions> = {},
): { queue: PublishQueue; metrics: KafkaBusMetrics } {
  const metrics = new KafkaBusMetrics();
  const queue = new PublishQueue({
    bufferLimit: 100,
    bufferTimeoutMs: 30_000,
    maxBatch: 500,
    maxMessageBytes: 1_000,
    topic: 't',
    newProducer: kafka.newProducer,
    partitionOf: (key) => Number(key.slice(-1)),
    metrics,
    log: noLog,
    retryDelayMs: () => 0,
    ...o,
  });
  open.push(queue);
  return { queue, metrics };
}

/** A started queue whose first publish (`a` on `ch:0`) is in flight, its answer held back. */
async function oneInFlight(): Promise<{
  kafka: ScriptedKafka;
  queue: PublishQueue;
  first: Promise<PublishReceipt>;
}> {
  const kafka = new ScriptedKafka();
  kafka.script.push('hold');
  const { queue } = queueOn(kafka);
  queue.start();
  const first = publish(queue, 'ch:0', 'a');
  await vi.waitFor(() => expect(kafka.requests).toHaveLength(1));
  return { kafka, queue, first };
}

/** Publishes `text` under `key`; the rejection counts as handled, so a test may await it or not. */
function publish(
  queue: PublishQueue,
  key: string,
  text: string,
  partition?: number,
): Promise<PublishReceipt> {
  const p = queue.enqueue(key, Buffer.from(text), partition);
  p.catch(() => undefined);
  return p;
}

const codeOf = (p: Promise<unknown>): Promise<string | undefined> =>
  p.then(
    () => undefined,
    (e: unknown) => (e as BusError).code,
  );

async function errors(metrics: KafkaBusMetrics, kind: BusErrorKind): Promise<number> {
  return (await metrics.errors.get()).values.find((v) => v.labels.kind === kind)?.value ?? 0;
}

afterEach(() => {
  for (const q of open.splice(0)) q.close();
  vi.useRealTimers();
});

describe('PublishQueue', () => {
  it('sends what is published in one turn as one request, in order, and resolves each with partition:offset', async () => {
    const kafka = new ScriptedKafka();
    const { queue, metrics } = queueOn(kafka);
    queue.start();
    const receipts = await Promise.all([
      publish(queue, 'ch:0', 'a'),
      publish(queue, 'ch:1', 'b'),
      publish(queue, 'ch:0', 'c'),
    ]);
    expect(kafka.requests).toEqual([['a', 'b', 'c']]);
    expect(receipts).toEqual([{ offset: '0:0' }, { offset: '1:0' }, { offset: '0:1' }]);
    // Offsets come from the broker's answer, not from a count of our own.
    expect(await publish(queue, 'ch:0', 'd')).toEqual({ offset: '0:2' });
    expect((await metrics.produced.get()).values[0]?.value).toBe(4);
    expect((await metrics.buffered.get()).values[0]?.value).toBe(0);
  });

  it('keeps one batch in flight: what is published meanwhile goes in the next request, in order', async () => {
    const { kafka, queue, first } = await oneInFlight();
    const later = [publish(queue, 'ch:0', 'b'), publish(queue, 'ch:1', 'c')];
    await new Promise((r) => setTimeout(r, 20));
    expect(kafka.requests).toHaveLength(1);
    kafka.release();
    await Promise.all([first, ...later]);
    expect(kafka.requests).toEqual([['a'], ['b', 'c']]);
  });

  it('sends at most maxBatch records in one request', async () => {
    const kafka = new ScriptedKafka();
    const { queue } = queueOn(kafka, { maxBatch: 2 });
    queue.start();
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((v) => publish(queue, 'ch:0', v)));
    expect(kafka.requests).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it("sends a tick to the partition it names, and every other record to its key's", async () => {
    const kafka = new ScriptedKafka();
    const asked: string[] = [];
    const { queue } = queueOn(kafka, { partitionOf: (key) => (asked.push(key), 1) });
    queue.start();
    const receipts = await Promise.all([publish(queue, 'ch', 'a'), publish(queue, '__wsgw.tick', 'tick', 5)]);
    expect(receipts).toEqual([{ offset: '1:0' }, { offset: '5:0' }]);
    expect(asked).toEqual(['ch']);
    expect(kafka.log.get(5)).toEqual(['tick']);
  });

  it('refuses a publish beyond bufferLimit at once with bus_unavailable, and takes publishes again once there is room', async () => {
    const kafka = new ScriptedKafka();
    const { queue, metrics } = queueOn(kafka, { bufferLimit: 3 });
    const waiting = ['a', 'b', 'c'].map((v) => publish(queue, 'ch:0', v));
    expect(queue.full).toBe(true);
    expect(await codeOf(publish(queue, 'ch:0', 'over'))).toBe('bus_unavailable');
    expect(await errors(metrics, 'buffer_full')).toBe(1);
    queue.start();
    await Promise.all(waiting);
    expect(queue.full).toBe(false);
    await publish(queue, 'ch:0', 'd');
    expect(kafka.written()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('refuses a record over maxMessageBytes with bus_rejected, without queueing it', async () => {
    const kafka = new ScriptedKafka();
    const { queue, metrics } = queueOn(kafka, { maxMessageBytes: 4 });
    expect(await codeOf(publish(queue, 'ch:0', 'large'))).toBe('bus_rejected');
    expect(queue.length).toBe(0);
    expect(await errors(metrics, 'rejected')).toBe(1);
    queue.start();
    expect(await publish(queue, 'ch:0', 'fits')).toEqual({ offset: '0:0' });
  });

  it('sends nothing until started, and expires a publish never sent with bus_unavailable', async () => {
    vi.useFakeTimers();
    const kafka = new ScriptedKafka();
    const { queue, metrics } = queueOn(kafka, { bufferTimeoutMs: 1_000 });
    const never = publish(queue, 'ch:0', 'a');
    await vi.advanceTimersByTimeAsync(900);
    expect(queue.length).toBe(1);
    await vi.advanceTimersByTimeAsync(400);
    expect(await codeOf(never)).toBe('bus_unavailable');
    expect(kafka.requests).toEqual([]);
    expect(queue.length).toBe(0);
    expect(await errors(metrics, 'buffer_timeout')).toBe(1);
  });

  it('expires a publish whose send failed without an answer with bus_uncertain, and one never sent with bus_unavailable', async () => {
    vi.useFakeTimers();
    const kafka = new ScriptedKafka();
    kafka.script.push(timedOut());
    const { queue } = queueOn(kafka, { bufferTimeoutMs: 1_000, retryDelayMs: () => 60_000 });
    queue.start();
    const sent = publish(queue, 'ch:0', 'sent');
    await vi.advanceTimersByTimeAsync(500);
    expect(kafka.requests).toEqual([['sent']]);
    expect(queue.producerOk).toBe(false);
    const queued = publish(queue, 'ch:0', 'queued');
    await vi.advanceTimersByTimeAsync(1_500);
    expect(await codeOf(sent)).toBe('bus_uncertain');
    expect(await codeOf(queued)).toBe('bus_unavailable');
    expect(kafka.requests).toEqual([['sent']]);
  });

  it('never expires a batch in flight: it waits for the answer while the publishes behind it expire', async () => {
    vi.useFakeTimers();
    const kafka = new ScriptedKafka();
    kafka.script.push('hold');
    const { queue } = queueOn(kafka, { bufferTimeoutMs: 1_000 });
    queue.start();
    let outcome: PublishReceipt | string | undefined;
    const inFlight = publish(queue, 'ch:0', 'a').then(
      (r) => (outcome = r),
      (e: unknown) => (outcome = (e as BusError).code),
    );
    await vi.advanceTimersByTimeAsync(10);
    const behind = publish(queue, 'ch:0', 'b');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await codeOf(behind)).toBe('bus_unavailable');
    expect(outcome).toBeUndefined();
    kafka.release();
    await inFlight;
    expect(outcome).toEqual({ offset: '0:0' });
  });

  it('isolates a record the broker refuses for good: only it rejects with bus_rejected, and its batch-mates are published in order', async () => {
    const kafka = new ScriptedKafka();
    kafka.refused.add('big');
    const { queue, metrics } = queueOn(kafka, { maxBatch: 3 });
    queue.start();
    const results = await Promise.allSettled(
      ['a', 'big', 'c', 'd', 'e'].map((v) => publish(queue, 'ch:0', v)),
    );
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'bus_rejected' });
    // One by one only through the refused batch; then full batches again.
    expect(kafka.requests).toEqual([['a', 'big', 'c'], ['a'], ['big'], ['c'], ['d', 'e']]);
    expect(kafka.written()).toEqual(['a', 'c', 'd', 'e']);
    expect(await errors(metrics, 'rejected')).toBe(1);
    // A refused record says nothing about the connection.
    expect(await errors(metrics, 'produce')).toBe(0);
    expect(kafka.producersMade).toBe(1);
    expect(queue.producerOk).toBe(true);
  });

  it('retries a failed batch with a new producer after a backoff, keeping the order', async () => {
    const kafka = new ScriptedKafka();
    kafka.script.push(timedOut(), timedOut(), 'ack', timedOut());
    const delays: number[] = [];
    const { queue, metrics } = queueOn(kafka, {
      maxBatch: 2,
      retryDelayMs: (attempt) => (delays.push(attempt), 0),
    });
    queue.start();
    const receipts = await Promise.all(['a', 'b', 'c'].map((v) => publish(queue, 'ch:0', v)));
    expect(receipts).toEqual([{ offset: '0:0' }, { offset: '0:1' }, { offset: '0:2' }]);
    // The failed batch stayed at the head until it was written; only then came the next one.
    expect(kafka.requests).toEqual([['a', 'b'], ['a', 'b'], ['a', 'b'], ['c'], ['c']]);
    expect(kafka.written()).toEqual(['a', 'b', 'c']);
    // The backoff grows with failures in a row, and a success starts it over.
    expect(delays).toEqual([0, 1, 0]);
    expect(kafka.producersMade).toBe(4);
    expect(kafka.disconnects).toBe(3);
    expect(await errors(metrics, 'produce')).toBe(3);
    expect(queue.producerOk).toBe(true);
  });

  it('reports the producer not ok from a failed send until one succeeds', async () => {
    const kafka = new ScriptedKafka();
    kafka.script.push(timedOut(), 'hold');
    const { queue } = queueOn(kafka);
    queue.start();
    const sent = publish(queue, 'ch:0', 'a');
    await vi.waitFor(() => expect(kafka.requests).toHaveLength(2));
    expect(queue.producerOk).toBe(false);
    kafka.release();
    await sent;
    expect(queue.producerOk).toBe(true);
  });

  it('treats a producer that cannot connect as a failed send', async () => {
    const kafka = new ScriptedKafka();
    kafka.connectFailures = 1;
    const { queue, metrics } = queueOn(kafka);
    queue.start();
    expect(await publish(queue, 'ch:0', 'a')).toEqual({ offset: '0:0' });
    // The producer that failed to connect is disconnected all the same, and a new one sends.
    expect(kafka.producersMade).toBe(2);
    expect(kafka.disconnects).toBe(1);
    expect(await errors(metrics, 'produce')).toBe(1);
  });

  it('stopAccepting() refuses new publishes with bus_closed while those waiting are still sent', async () => {
    const { kafka, queue, first } = await oneInFlight();
    queue.stopAccepting();
    expect(await codeOf(publish(queue, 'ch:0', 'late'))).toBe('bus_closed');
    kafka.release();
    expect(await first).toEqual({ offset: '0:0' });
  });

  it('close() rejects what is left with bus_closed, ends a backoff wait, and leaves no timer behind', async () => {
    vi.useFakeTimers();
    const kafka = new ScriptedKafka();
    kafka.script.push(timedOut());
    const { queue, metrics } = queueOn(kafka, { retryDelayMs: () => 60_000 });
    queue.start();
    const left = [publish(queue, 'ch:0', 'a'), publish(queue, 'ch:0', 'b')];
    await vi.advanceTimersByTimeAsync(10);
    expect(kafka.requests).toHaveLength(1);
    queue.close();
    expect(await Promise.all(left.map(codeOf))).toEqual(['bus_closed', 'bus_closed']);
    expect(await codeOf(publish(queue, 'ch:0', 'c'))).toBe('bus_closed');
    expect((await metrics.buffered.get()).values[0]?.value).toBe(0);
    await vi.advanceTimersByTimeAsync(0);
    // Neither the expiry check nor the retry wait outlives the queue, and nothing was sent again.
    expect(vi.getTimerCount()).toBe(0);
    expect(kafka.requests).toHaveLength(1);
  });
});
