/**
 * The Kafka bus when its broker is not there: at start (the gateway must come up and report not
 * ready, publishes are bounded and rejected, never lost silently) and mid-stream (a broker killed
 * and restarted loses no acknowledged publish). Uses a broker of its own, which it kills.
 */
import { dirname, join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { BusError, type PublishReceipt } from '../../services/gateway/src/bus/bus.js';
import { KafkaBus } from '../../services/gateway/src/bus/bus-kafka.js';
import { freePort, startCluster, type Cluster } from '../../scripts/kafka/index.mjs';
import { eventually, message, Recorder } from '../bus/bus-conformance.js';
import { kafka } from '../setup/kafka.js';

describe('KafkaBus without its broker', () => {
  let cluster: Cluster | undefined;
  let port = 0;
  let controllerPort = 0;
  const buses: KafkaBus[] = [];
  afterAll(async () => {
    await Promise.all(buses.map((b) => b.close()));
    await cluster?.kill();
  });

  it('starts without a broker, reports not ready, bounds and rejects publishes, then connects', async () => {
    const k = await kafka();
    port = await freePort();
    controllerPort = await freePort();
    const bus = new KafkaBus({
      brokers: [`127.0.0.1:${port}`],
      region: 'f',
      nodeId: 'n1',
      bufferLimit: 5,
      bufferTimeoutMs: 1_500,
      partitions: 3,
    });
    buses.push(bus);
    const rec = new Recorder();
    let started = false;
    const starting = bus.start(rec).then(() => (started = true));

    await new Promise((r) => setTimeout(r, 500));
    expect(started).toBe(false);
    expect(bus.health()).toEqual({ ok: false, reason: 'connecting' });
    await expect(bus.probe(500)).rejects.toMatchObject({ code: 'bus_unavailable' });
    const waiting = Array.from({ length: 5 }, (_, i) =>
      bus.publish(message('f:1', 'n1', String(i), 'f')).catch((e: unknown) => e),
    );
    const overflow = await bus.publish(message('f:1', 'n1', 'overflow', 'f')).catch((e: unknown) => e);
    expect(overflow).toBeInstanceOf(BusError);
    expect((overflow as BusError).code).toBe('bus_unavailable');
    for (const r of await Promise.all(waiting)) expect(r).toMatchObject({ code: 'bus_unavailable' });

    cluster = await startCluster({
      name: 'f',
      port,
      controllerPort,
      dir: join(dirname(k.statusFile), `f-${process.pid}`),
      heap: '384m',
      owner: process.pid,
    });
    await starting;
    expect(bus.health()).toEqual({ ok: true });
    await bus.probe(10_000);
    const m = message('f:1', 'n1', 'after start', 'f');
    await bus.publish(m);
    await eventually(() => rec.ids().includes(m.id), 15_000, 'the first message after the broker came');
  }, 150_000);

  it('loses no acknowledged publish when the broker is killed and restarted mid-stream', async () => {
    expect(cluster).toBeDefined();
    const brokers = cluster!.brokers;
    const registry = new Registry();
    const writer = new KafkaBus({ brokers, region: 'f', nodeId: 'w', registry, bufferTimeoutMs: 60_000 });
    const reader = new KafkaBus({ brokers, region: 'f', nodeId: 'r' });
    buses.push(writer, reader);
    const rec = new Recorder();
    await Promise.all([writer.start(new Recorder()), reader.start(rec)]);

    const acked: string[] = [];
    const rejected: unknown[] = [];
    const inflight: Promise<void>[] = [];
    let sawUnhealthy = false;
    let publishing = true;
    const loop = (async () => {
      for (let i = 0; publishing; i++) {
        const m = message(`f:${i % 8}`, 'w', String(i), 'f');
        inflight.push(
          writer.publish(m).then(
            (_r: PublishReceipt) => void acked.push(m.id),
            (e: unknown) => void rejected.push(e),
          ),
        );
        if (!writer.health().ok) sawUnhealthy = true;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    await new Promise((r) => setTimeout(r, 1_000));
    const ackedBeforeKill = acked.length;
    await cluster!.kill();
    await new Promise((r) => setTimeout(r, 2_000));
    await cluster!.restart();
    await eventually(() => writer.health().ok, 60_000, 'writer healthy again');
    const ackedAtRecovery = acked.length;
    await new Promise((r) => setTimeout(r, 1_000));
    publishing = false;
    await loop;
    await Promise.all(inflight);

    expect(ackedBeforeKill).toBeGreaterThan(50);
    expect(acked.length).toBeGreaterThan(ackedAtRecovery);
    expect(sawUnhealthy).toBe(true);
    // Every publish was answered; with a buffer timeout longer than the outage none was refused.
    expect(acked.length + rejected.length).toBe(inflight.length);
    expect(rejected).toEqual([]);
    const want = new Set(acked);
    const missing = (): string[] => {
      const got = new Set(rec.ids());
      return acked.filter((id) => !got.has(id));
    };
    await eventually(
      () => missing().length === 0,
      60_000,
      () =>
        `every acknowledged message delivered (${missing().length} of ${want.size} missing, reader ${JSON.stringify(reader.health())})`,
    );
    expect(new Set(rec.ids()).size).toBe(rec.got.length);
    const errors = (await registry.getMetricsAsJSON()).find((x) => x.name === 'wsgw_bus_errors_total');
    expect(errors?.values.some((v) => v.labels.kind === 'produce' && Number(v.value) > 0)).toBe(true);
  }, 150_000);

  it('tells a publish sent to a broker that stopped answering (maybe written) from one never sent', async () => {
    expect(cluster).toBeDefined();
    const writer = new KafkaBus({
      brokers: cluster!.brokers,
      region: 'f',
      nodeId: 'u',
      bufferTimeoutMs: 1_000,
      requestTimeoutMs: 1_000,
    });
    buses.push(writer);
    await writer.start(new Recorder());
    await writer.publish(message('f:u', 'u', 'before', 'f'));
    // Freeze the broker: it keeps its connections open and reads nothing, so a request sent now
    // gets no answer at all (the case where the broker may yet write it).
    process.kill(cluster!.pid, 'SIGSTOP');
    try {
      const sent = writer.publish(message('f:u', 'u', 'sent', 'f')).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 100)); // the first is in flight; the next one waits behind it
      const queued = writer.publish(message('f:u', 'u', 'queued', 'f')).catch((e: unknown) => e);
      expect(await queued).toMatchObject({ code: 'bus_unavailable' });
      expect(await sent).toMatchObject({ code: 'bus_uncertain' });
    } finally {
      process.kill(cluster!.pid, 'SIGCONT');
    }
  }, 60_000);
});
