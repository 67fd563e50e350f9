/**
 * What Kafka tests use to reach the clusters started by ./kafka.global.ts.
 *
 *   const { a, b } = await kafka();   // waits until both clusters and MirrorMaker are ready
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { inject } from 'vitest';

/** Progress of the background start, shared through a file written by the global setup. */
export type KafkaStatus =
  { state: 'starting' } | { state: 'ready'; ms: number } | { state: 'failed'; error: string };

/** What the global setup provides to tests. */
export interface TestKafka {
  /** Bootstrap brokers of cluster a (region `a`). */
  readonly a: string[];
  /** Bootstrap brokers of cluster b (region `b`); MirrorMaker replicates `wsgw.fanout.*` both ways. */
  readonly b: string[];
  /** File holding a {@link KafkaStatus}. */
  readonly statusFile: string;
  /** Whether this run started (some of) the clusters itself. */
  readonly managed: boolean;
}

declare module 'vitest' {
  export interface ProvidedContext {
    wsgwKafka: TestKafka;
  }
}

/** Resolves with the brokers once the clusters serve and replicate; throws if the start failed. */
export async function kafka(timeoutMs = 150_000): Promise<TestKafka> {
  const k = inject('wsgwKafka');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = JSON.parse(readFileSync(k.statusFile, 'utf8')) as KafkaStatus;
    if (status.state === 'ready') return k;
    if (status.state === 'failed') throw new Error(`test Kafka failed to start: ${status.error}`);
    if (Date.now() > deadline) throw new Error(`test Kafka not ready within ${timeoutMs} ms`);
    await sleep(200);
  }
}
