/**
 * Cross-region "direct" mode: each region's gateway reads the other region's origin topic straight
 * from that region's cluster (`remotes`), with no replication involved (the topic prefix here is
 * one MirrorMaker does not copy). A remote topic that does not exist yet is picked up once it does.
 */
import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaBus } from '../../services/gateway/src/bus/bus-kafka.js';
import { eventually, message, Recorder } from '../bus/bus-conformance.js';
import { kafka } from '../setup/kafka.js';

describe('direct cross-region consumption', () => {
  const buses: KafkaBus[] = [];
  afterAll(async () => {
    await Promise.all(buses.map((b) => b.close()));
  });

  it('delivers each region’s messages to the other by reading its cluster, once', async () => {
    const { a, b } = await kafka();
    const topicPrefix = `d${randomBytes(4).toString('hex')}.fanout.`;
    const regB = new Registry();
    const recA = new Recorder();
    const recB = new Recorder();
    // Region b starts first: region a's origin topic does not exist yet.
    const busB = new KafkaBus({
      brokers: b,
      region: 'db',
      nodeId: 'gb',
      topicPrefix,
      partitions: 2,
      topicRefreshMs: 500,
      remotes: [{ region: 'da', brokers: a }],
      registry: regB,
    });
    buses.push(busB);
    await busB.start(recB);
    const busA = new KafkaBus({
      brokers: a,
      region: 'da',
      nodeId: 'ga',
      topicPrefix,
      partitions: 2,
      topicRefreshMs: 500,
      remotes: [{ region: 'db', brokers: b }],
    });
    buses.push(busA);
    await busA.start(recA);
    const remoteUp = async (): Promise<number> =>
      Number(
        (await regB.getMetricsAsJSON()).find((m) => m.name === 'wsgw_bus_remote_up')?.values[0]?.value ?? 0,
      );
    const deadline = Date.now() + 20_000;
    while ((await remoteUp()) !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await remoteUp()).toBe(1);

    const fromA = message('direct:1', 'ga', 'from a', 'da');
    const fromB = message('direct:1', 'gb', 'from b', 'db');
    await busA.publish(fromA);
    await busB.publish(fromB);
    for (const rec of [recA, recB]) await eventually(() => rec.got.length >= 2, 20_000, 'both messages');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(recA.ids().sort()).toEqual([fromA.id, fromB.id].sort());
    expect(recB.ids().sort()).toEqual([fromA.id, fromB.id].sort());
    expect(busA.health()).toEqual({ ok: true });
  });

  it('refuses a remote that is this bus’s own region', () => {
    expect(
      () =>
        new KafkaBus({
          brokers: ['127.0.0.1:1'],
          region: 'r1',
          nodeId: 'n',
          remotes: [{ region: 'r1', brokers: ['127.0.0.1:2'] }],
        }),
    ).toThrow(/^remotes:/);
  });
});
