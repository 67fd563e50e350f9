/**
 * How a failed publish reaches the publisher: each bus error code maps to its own client error code
 * (WebSocket `error`) and HTTP status (`POST /publish`), so that a client can tell "nothing was
 * published, retry" from "refused for good" and from "sent, outcome unknown".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BusError,
  type BusErrorCode,
  type BusMessage,
  type PublishReceipt,
} from '../../services/gateway/src/bus/bus.js';
import { MemoryBus } from '../../services/gateway/src/bus/bus-memory.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { TestClient } from '../helpers/client.js';

/** The reference bus, except that publishing fails with the code the test sets. */
class FailingBus extends MemoryBus {
  failWith: BusErrorCode | undefined;
  override publish(msg: BusMessage): Promise<PublishReceipt> {
    return this.failWith
      ? Promise.reject(new BusError(this.failWith, `failing with ${this.failWith}`))
      : super.publish(msg);
  }
}

const KEY = 'bus-errors-publish-key-0123';
const bus = new FailingBus();
let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({ WSGW_PUBLISH_KEY: KEY }, bus);
});
afterAll(() => gw.stop());

describe('bus errors reach the publisher', () => {
  it.each([
    ['bus_unavailable', 'bus_unavailable', 503],
    ['bus_rejected', 'bus_rejected', 422],
    ['bus_uncertain', 'bus_uncertain', 504],
    ['bus_closed', 'bus_unavailable', 503],
  ] as const)(
    '%s becomes error %s over WebSocket and HTTP %i on /publish',
    async (busCode, clientCode, status) => {
      bus.failWith = busCode;
      const c = await TestClient.connect(gw.url);
      expect(await c.pub('e:1', { n: 1 })).toMatchObject({ op: 'error', code: clientCode });
      c.close();
      const r = await fetch(`${gw.http}/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ch: 'e:1', data: { n: 2 } }),
      });
      expect(r.status).toBe(status);
      expect(await r.json()).toMatchObject({ error: clientCode });
    },
  );

  it('publishes again once the bus works', async () => {
    bus.failWith = undefined;
    const c = await TestClient.connect(gw.url);
    await c.sub('e:2');
    expect(await c.pub('e:2', { n: 3 })).toMatchObject({ op: 'ack' });
    c.close();
  });
});
