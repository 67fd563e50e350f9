/**
 * Readiness probes without a broker: what a probe publishes, and how it is answered. The round
 * trip through a real broker is covered by test/bus/bus-kafka.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { BusError } from '../../services/gateway/src/bus/bus.js';
import { Probes } from '../../services/gateway/src/bus/kafka-probe.js';
import { decodeEnvelope } from '../../services/shared/src/envelope.js';

describe('Probes', () => {
  it("publishes a reserved key of this instance's, and resolves when that key is read back, not another instance's", async () => {
    const probes = new Probes('r1', 'n1', 'ab12');
    const sent: { key: string; value: Uint8Array }[] = [];
    let done = false;
    const probe = probes
      .send(10_000, async (key, value) => {
        sent.push({ key, value });
      })
      .then(() => (done = true));
    expect(sent.map((s) => s.key)).toEqual(['__wsgw.probe.n1.ab12.1']);
    expect(decodeEnvelope(sent[0]!.value)).toMatchObject({
      channel: '__wsgw.probe.n1.ab12.1',
      origin: 'r1',
      node: 'n1',
    });
    probes.answered('__wsgw.probe.n1.cd34.1');
    await new Promise((r) => setTimeout(r, 10));
    expect(done).toBe(false);
    probes.answered('__wsgw.probe.n1.ab12.1');
    await probe;
    expect(done).toBe(true);
  });

  it('rejects with bus_unavailable when the probe does not come back in time', async () => {
    const probes = new Probes('r1', 'n1', 'ab12');
    await expect(probes.send(20, async () => {})).rejects.toMatchObject({ code: 'bus_unavailable' });
  });

  it('rejects with the publish error when the probe cannot be published', async () => {
    const probes = new Probes('r1', 'n1', 'ab12');
    const closed = new BusError('bus_closed', 'bus is closed');
    await expect(probes.send(10_000, () => Promise.reject(closed))).rejects.toBe(closed);
  });
});
