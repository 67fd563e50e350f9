import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { TestClient } from '../helpers/client.js';
import { EMF } from '../../services/shared/src/constants.js';

const KEY = 'publish-key-0123456789';
let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({
    WSGW_PUBLISH_KEY: KEY,
    WSGW_EMF_INTERVAL_MS: '1000',
    WSGW_SERVICE_NAME: 'wsgw-test',
    WSGW_MAX_PAYLOAD_BYTES: '4096',
  });
});
afterAll(() => gw.stop());

const post = (body: string, key: string | null = KEY) =>
  fetch(`${gw.http}/publish`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
  });

describe('health and readiness', () => {
  it('answers /healthz and, once the bus probe round-trips, /readyz', async () => {
    expect((await fetch(`${gw.http}/healthz`)).status).toBe(200);
    await waitFor(async () => (await fetch(`${gw.http}/readyz`)).status === 200, 5_000, 'ready');
  });

  it('serves the demo page at / and 404 elsewhere', async () => {
    const page = await fetch(`${gw.http}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    expect(html).toContain("import { WsgwClient } from '/wsgw-client.js'");
    expect(html).toContain('client.subscribe(ch)');
    expect((await fetch(`${gw.http}/nope`)).status).toBe(404);
  });
});

describe('POST /publish', () => {
  it('publishes to subscribers with the publish key', async () => {
    const c = await TestClient.connect(gw.url);
    await c.sub('backend:1');
    const r = await post(JSON.stringify({ ch: 'backend:1', data: { from: 'backend' } }));
    expect(r.status).toBe(202);
    expect((await r.json()) as object).toHaveProperty('id');
    await waitFor(() => c.messages().length === 1);
    expect(c.data()).toEqual([{ from: 'backend' }]);
    c.close();
  });

  it('refuses a missing or wrong key, bad bodies, bad channels and oversize bodies', async () => {
    expect((await post('{"ch":"a","data":1}', null)).status).toBe(401);
    expect((await post('{"ch":"a","data":1}', 'wrong-key-wrong-key')).status).toBe(401);
    expect((await post('not json')).status).toBe(400);
    expect((await post('{"ch":"a"}')).status).toBe(400);
    const bad = await post('{"ch":"no spaces","data":1}');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'bad_channel' });
    expect((await post(JSON.stringify({ ch: 'a', data: 'z'.repeat(5000) }))).status).toBe(413);
    expect((await fetch(`${gw.http}/publish`)).status).toBe(405);
  });

  it('is disabled without WSGW_PUBLISH_KEY', async () => {
    const other = await startGateway();
    const r = await fetch(`${other.http}/publish`, { method: 'POST', body: '{"ch":"a","data":1}' });
    expect(r.status).toBe(403);
    expect(await r.json()).toMatchObject({ error: 'publish_disabled' });
    await other.stop();
  });
});

describe('/metrics', () => {
  it('exposes connection, subscription, message, close and latency metrics with the wsgw_ prefix', async () => {
    const c = await TestClient.connect(gw.url);
    await c.sub('m:1');
    await c.pub('m:1', { x: 1 });
    await waitFor(() => c.messages().length === 1);
    const text = await (await fetch(`${gw.metrics}/metrics`)).text();
    expect(text).toMatch(/^wsgw_connections [1-9]/m);
    expect(text).toMatch(/^wsgw_subscriptions [1-9]/m);
    expect(text).toMatch(/^wsgw_channels [1-9]/m);
    expect(text).toMatch(/^wsgw_messages_in_total [1-9]/m);
    expect(text).toMatch(/^wsgw_messages_out_total [1-9]/m);
    expect(text).toMatch(/^wsgw_bytes_out_total [1-9]/m);
    expect(text).toMatch(/^wsgw_publish_to_deliver_seconds_count\{origin="local"\} [1-9]/m);
    expect(text).toMatch(/^wsgw_nodejs_eventloop_lag_seconds /m);
    c.close();
  });

  it('are served on the metrics port only: the public port answers 404', async () => {
    expect((await fetch(`${gw.http}/metrics`)).status).toBe(404);
    expect((await fetch(`${gw.metrics}/metrics`)).status).toBe(200);
    // The metrics listener serves nothing else.
    expect((await fetch(`${gw.metrics}/publish`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${gw.metrics}/`)).status).toBe(404);
  });

  it('bounds the close-code label: codes a client chooses fall into "other"', async () => {
    for (const code of [4321, 4322, 3999, 1000]) {
      const c = await TestClient.connect(gw.url);
      c.ws.close(code);
      await c.waitClosed();
    }
    await waitFor(
      async () =>
        /^wsgw_closes_total\{code="other"\} 3$/m.test(await (await fetch(`${gw.metrics}/metrics`)).text()),
      3_000,
      'three closes counted as other',
    );
    const text = await (await fetch(`${gw.metrics}/metrics`)).text();
    expect(text).toMatch(/^wsgw_closes_total\{code="1000"\} [1-9]/m);
    expect(text).not.toMatch(/code="43/);
  });
});

describe('demo page', () => {
  it('is served only in embedded mode or when WSGW_DEMO_PAGE=true; the SDK bundle path stays', async () => {
    const off = await startGateway({ WSGW_DEMO_PAGE: 'false' });
    expect((await fetch(`${off.http}/`)).status).toBe(404);
    expect((await fetch(`${gw.http}/`)).status).toBe(200);
    await off.stop();
  });
});

describe('EMF', () => {
  it('prints ActiveConnections with the single dimension ServiceName on every interval', async () => {
    const c = await TestClient.connect(gw.url);
    const start = gw.emf.length;
    await waitFor(() => gw.emf.length > start, 3_000, 'an EMF line');
    const doc = JSON.parse(gw.emf.at(-1)!);
    expect(doc._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: EMF.namespace,
        Dimensions: [[EMF.dimension]],
        Metrics: [{ Name: EMF.metricName, Unit: 'Count', StorageResolution: 60 }],
      },
    ]);
    expect(doc[EMF.dimension]).toBe('wsgw-test');
    expect(doc[EMF.metricName]).toBeGreaterThanOrEqual(1);
    expect(typeof doc._aws.Timestamp).toBe('number');
    c.close();
  });
});
