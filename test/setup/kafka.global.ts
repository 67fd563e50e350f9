/**
 * vitest global setup: real Kafka for the whole run.
 *
 * Starts two single-node KRaft clusters, `a` and `b`, with MirrorMaker 2 replicating both ways, once
 * per run, and stops them at teardown. The start runs in the background so that tests which do not
 * need Kafka are not held up; tests that do call `kafka()` from ./kafka.ts, which waits for it.
 *
 * `WSGW_TEST_KAFKA_BROKERS` (cluster a) and `WSGW_TEST_KAFKA_BROKERS_B` (cluster b) point the suite
 * at existing clusters instead; when both are given, MirrorMaker is assumed to run between them.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import {
  KAFKA_DIR,
  fetchKafka,
  freePort,
  startCluster,
  startMirrorMaker,
} from '../../scripts/kafka/index.mjs';
import type { Cluster, MirrorMaker } from '../../scripts/kafka/index.mjs';
import type { KafkaStatus, TestKafka } from './kafka.js';

const HEAP = '384m';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const externalA = parseBrokers(process.env.WSGW_TEST_KAFKA_BROKERS);
  const externalB = parseBrokers(process.env.WSGW_TEST_KAFKA_BROKERS_B);
  const dir = join(KAFKA_DIR, `test-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const statusFile = join(dir, 'status.json');
  // Written whole and renamed into place, so that a reader never sees half a file.
  const writeStatus = (s: KafkaStatus): void => {
    writeFileSync(`${statusFile}.tmp`, JSON.stringify(s));
    renameSync(`${statusFile}.tmp`, statusFile);
  };

  // Ports are chosen now so that tests know the brokers before the clusters serve.
  const a = externalA ?? [`127.0.0.1:${await freePort()}`];
  const b = externalB ?? [`127.0.0.1:${await freePort()}`];
  const provided: TestKafka = { a, b, statusFile, managed: !externalA || !externalB };
  project.provide('wsgwKafka', provided);

  const started: Cluster[] = [];
  let mirror: MirrorMaker | undefined;
  const abort = new AbortController();
  const { signal } = abort;
  writeStatus({ state: 'starting' });

  const startAll = async (): Promise<void> => {
    if (externalA && externalB) return;
    fetchKafka();
    const spec = (name: string, brokers: string[]) => ({
      name,
      port: Number(brokers[0]!.split(':')[1]),
      dir: join(dir, name),
      heap: HEAP,
      owner: process.pid,
      signal,
    });
    const specs = [externalA ? undefined : spec('a', a), externalB ? undefined : spec('b', b)];
    await Promise.all(specs.map(async (s) => s && started.push(await startCluster(s))));
    if (signal.aborted) return;
    mirror = await startMirrorMaker({
      clusters: [
        { name: 'a', brokers: a },
        { name: 'b', brokers: b },
      ],
      dir: join(dir, 'mm2'),
      heap: HEAP,
      owner: process.pid,
      signal,
    });
  };

  const t0 = Date.now();
  let settled = false;
  const starting = startAll()
    .finally(() => (settled = true))
    .then(
      () => writeStatus({ state: 'ready', ms: Date.now() - t0 }),
      (err: unknown) =>
        writeStatus({ state: 'failed', error: err instanceof Error ? err.message : String(err) }),
    );

  return async () => {
    // A run whose tests never needed Kafka may end before it is up: stop starting it.
    if (!settled) abort.abort();
    await starting;
    // The clusters' data is thrown away, so there is nothing to shut down cleanly for.
    await mirror?.kill();
    await Promise.all(started.map((c) => c.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
}

function parseBrokers(v: string | undefined): string[] | undefined {
  const list = (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return list.length > 0 ? list : undefined;
}
