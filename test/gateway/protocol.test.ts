import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { TestClient } from '../helpers/client.js';
import { encodeClientProto } from '../../services/shared/src/frames.js';
import { MemoryBus, MemoryBusNetwork } from '../../services/gateway/src/bus/bus-memory.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({ WSGW_MAX_SUBSCRIPTIONS: '3' });
});
afterAll(() => gw.stop());

describe('subprotocol negotiation', () => {
  it('speaks JSON when the client offers no subprotocol', async () => {
    const c = await TestClient.connect(gw.url);
    expect(c.ws.protocol).toBe('');
    expect(await c.request({ op: 'ping' })).toMatchObject({ op: 'pong' });
    c.close();
  });

  it('selects wsgw.v1.json and wsgw.v1.proto when offered, preferring protobuf', async () => {
    const j = await TestClient.connect(gw.url, { protocols: ['wsgw.v1.json'] });
    expect(j.ws.protocol).toBe('wsgw.v1.json');
    const p = await TestClient.connect(gw.url, { protocols: ['wsgw.v1.json', 'wsgw.v1.proto'], proto: true });
    expect(p.ws.protocol).toBe('wsgw.v1.proto');
    j.close();
    p.close();
  });

  it('fails the handshake when only unknown subprotocols are offered', async () => {
    await expect(TestClient.connect(gw.url, { protocols: ['mqtt'] })).rejects.toThrow();
  });
});

describe.each([
  ['JSON', false],
  ['protobuf', true],
])('protocol v1 over %s', (_name, proto) => {
  it('acks sub, delivers pub to every subscriber with pos, acks unsub and stops delivery', async () => {
    const a = await TestClient.connect(gw.url, { proto });
    const b = await TestClient.connect(gw.url, { proto });
    expect(await a.sub(`room:${proto}`)).toMatchObject({ op: 'ack' });
    expect(await b.sub(`room:${proto}`)).toMatchObject({ op: 'ack' });
    expect(await a.pub(`room:${proto}`, { text: 'hi', n: 1 })).toMatchObject({ op: 'ack' });
    await waitFor(() => a.messages().length === 1 && b.messages().length === 1);
    const m = b.messages()[0]!;
    expect(m.ch).toBe(`room:${proto}`);
    expect(m.contentType).toBe('application/json');
    expect(JSON.parse(Buffer.from(m.payload).toString())).toEqual({ text: 'hi', n: 1 });
    expect(Object.keys(m.pos)).toEqual(['local']);
    expect(m.pos.local).toMatch(/-1$|-[0-9a-z]+$/);

    expect(await b.request({ op: 'unsub', ch: `room:${proto}` })).toMatchObject({ op: 'ack' });
    await a.pub(`room:${proto}`, { n: 2 });
    await waitFor(() => a.messages().length === 2);
    await new Promise((r) => setTimeout(r, 50));
    expect(b.messages()).toHaveLength(1);
    a.close();
    b.close();
  });

  it('answers ping with pong carrying the id', async () => {
    const c = await TestClient.connect(gw.url, { proto });
    const id = c.send({ op: 'ping' });
    await waitFor(() => c.frames.some((f) => f.op === 'pong' && f.id === id));
    c.close();
  });

  it('rejects invalid channel names with bad_channel', async () => {
    const c = await TestClient.connect(gw.url, { proto });
    for (const ch of ['', 'has space', 'x'.repeat(129), 'émoji', 'a*b', '__wsgw.probe.x', '__wsgw.tick']) {
      expect(await c.request({ op: 'sub', ch })).toMatchObject({ op: 'error', code: 'bad_channel' });
      expect(
        await c.request({ op: 'pub', ch, contentType: 'application/json', payload: Buffer.from('1') }),
      ).toMatchObject({ op: 'error', code: 'bad_channel' });
    }
    expect(await c.request({ op: 'unsub', ch: 'bad ch' })).toMatchObject({
      op: 'error',
      code: 'bad_channel',
    });
    expect(
      await c.request({
        op: 'pub',
        ch: 'bad ch',
        contentType: 'application/json',
        payload: Buffer.from('1'),
      }),
    ).toMatchObject({ op: 'error', code: 'bad_channel' });
    expect(await c.sub('x'.repeat(128))).toMatchObject({ op: 'ack' });
    c.close();
  });

  it('enforces the subscription limit per connection', async () => {
    const c = await TestClient.connect(gw.url, { proto });
    for (const ch of ['l:1', 'l:2', 'l:3']) expect(await c.sub(ch)).toMatchObject({ op: 'ack' });
    expect(await c.sub('l:4')).toMatchObject({ op: 'error', code: 'too_many_subscriptions' });
    // Subscribing again to a held channel is idempotent and does not count twice.
    expect(await c.sub('l:1')).toMatchObject({ op: 'ack' });
    await c.request({ op: 'unsub', ch: 'l:1' });
    expect(await c.sub('l:4')).toMatchObject({ op: 'ack' });
    c.close();
  });
});

describe('channels', () => {
  it('are created on first subscribe and freed on last unsubscribe or disconnect', async () => {
    const hub = gw.gateway.hub;
    const a = await TestClient.connect(gw.url);
    const b = await TestClient.connect(gw.url);
    expect(hub.wants('life:1')).toBe(false);
    await a.sub('life:1');
    await b.sub('life:1');
    await a.sub('life:2');
    expect(hub.subscribers('life:1')?.size).toBe(2);
    expect(hub.subscribers('life:2')?.size).toBe(1);
    await a.request({ op: 'unsub', ch: 'life:1' });
    expect(hub.subscribers('life:1')?.size).toBe(1);
    b.close();
    await waitFor(() => !hub.wants('life:1'), 5_000, 'life:1 freed');
    expect(hub.wants('life:2')).toBe(true);
    a.close();
    await waitFor(() => !hub.wants('life:2'), 5_000, 'life:2 freed');
  });

  it('carries binary payloads to JSON clients as base64 and to protobuf clients as bytes', async () => {
    const j = await TestClient.connect(gw.url);
    const p = await TestClient.connect(gw.url, { proto: true });
    await j.sub('bin:1');
    await p.sub('bin:1');
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    expect(
      await p.request({ op: 'pub', ch: 'bin:1', contentType: 'application/octet-stream', payload: bytes }),
    ).toMatchObject({ op: 'ack' });
    await waitFor(() => j.messages().length === 1 && p.messages().length === 1);
    expect(JSON.parse(j.raw.find((r) => r.includes('"msg"'))!)).toMatchObject({
      op: 'msg',
      ch: 'bin:1',
      data: bytes.toString('base64'),
      enc: 'base64',
    });
    expect(Buffer.from(p.messages()[0]!.payload)).toEqual(bytes);
    j.close();
    p.close();
  });
});

describe('malformed frames', () => {
  it('answers unparseable JSON with an error without id, and bad requests with their id', async () => {
    const c = await TestClient.connect(gw.url);
    c.ws.send('{not json');
    c.ws.send('[1,2]');
    c.ws.send('{"op":"fly","id":7}');
    c.ws.send('{"op":"sub","id":8}');
    c.ws.send('{"op":"pub","ch":"a","id":9}');
    c.ws.send('{"op":"ping","id":-1}');
    c.ws.send(Buffer.from([1, 2, 3]));
    await waitFor(() => c.errors().length === 7);
    const e = c.errors();
    expect(e[0]).toMatchObject({ code: 'bad_frame', id: undefined });
    expect(e[1]).toMatchObject({ code: 'bad_frame', id: undefined });
    expect(e[2]).toMatchObject({ code: 'bad_request', id: 7 });
    expect(e[3]).toMatchObject({ code: 'bad_request', id: 8 });
    expect(e[4]).toMatchObject({ code: 'bad_request', id: 9 });
    expect(e[5]).toMatchObject({ code: 'bad_request', id: undefined });
    expect(e[6]).toMatchObject({ code: 'bad_frame' });
    // The connection stays usable.
    expect(await c.sub('still:ok')).toMatchObject({ op: 'ack' });
    c.close();
  });

  it('answers malformed protobuf, text frames and invalid JSON payloads on the binary protocol', async () => {
    const c = await TestClient.connect(gw.url, { proto: true });
    c.ws.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
    c.ws.send('{"op":"ping"}');
    c.ws.send(
      encodeClientProto({
        op: 'pub',
        id: 5,
        ch: 'x',
        contentType: 'application/json',
        payload: Buffer.from('{nope'),
      }),
    );
    c.ws.send(Buffer.from([0x08, 0x06])); // id 6, no operation
    await waitFor(() => c.errors().length === 4);
    expect(c.errors().map((e) => e.code)).toEqual(['bad_frame', 'bad_frame', 'bad_request', 'bad_request']);
    expect(c.errors()[2]!.id).toBe(5);
    expect(c.errors()[3]!.id).toBe(6);
    c.close();
  });

  it('refuses a JSON payload that JSON subscribers could not receive (a byte-order mark, invalid UTF-8), so nothing is acked that is not delivered', async () => {
    const pub = await TestClient.connect(gw.url, { proto: true });
    const json = await TestClient.connect(gw.url);
    await json.sub('bom');
    for (const [i, payload] of [
      Buffer.from('\uFEFF{"a":1}'),
      Buffer.from([0x22, 0xc3, 0x28, 0x22]),
    ].entries()) {
      expect(
        await pub.request({ op: 'pub', ch: 'bom', contentType: 'application/json', payload }),
      ).toMatchObject({ op: 'error', code: 'bad_request', id: i + 1 });
    }
    expect(
      await pub.request({
        op: 'pub',
        ch: 'bom',
        contentType: 'application/json',
        payload: Buffer.from('{"a":2}'),
      }),
    ).toMatchObject({ op: 'ack' });
    await waitFor(() => json.data('bom').length === 1);
    expect(json.data('bom')).toEqual([{ a: 2 }]);
    pub.close();
    json.close();
  });

  it('survives random bytes on both protocols without crashing or leaking connections', async () => {
    const gw = await startGateway({ WSGW_RATE_LIMIT_BURST: '10000' });
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const clients = await Promise.all([
      TestClient.connect(gw.url),
      TestClient.connect(gw.url, { proto: true }),
    ]);
    for (const c of clients) {
      for (let i = 0; i < 300; i++) {
        const len = Math.floor(rnd() * 64);
        const buf = Buffer.alloc(len);
        for (let j = 0; j < len; j++) buf[j] = Math.floor(rnd() * 256);
        if (c.proto || rnd() < 0.5) c.ws.send(buf);
        else c.ws.send(buf.toString('latin1'));
      }
    }
    for (const c of clients) expect(await c.request({ op: 'ping' })).toMatchObject({ op: 'pong' });
    for (const c of clients) c.close();
    const health = await fetch(`${gw.http}/healthz`);
    expect(health.status).toBe(200);
    await waitFor(() => gw.gateway.connectionCount === 0, 5_000, 'connections released');
    await gw.stop();
  });
});

describe('raw socket', () => {
  it('handles a client that sends a frame and disconnects before the reply', async () => {
    for (let i = 0; i < 20; i++) {
      const ws = new WebSocket(gw.url);
      await new Promise((r) => ws.once('open', r));
      ws.send('{"op":"sub","ch":"gone","id":1}');
      ws.terminate();
    }
    await waitFor(() => gw.gateway.hub.subscribers('gone') === undefined);
    expect((await fetch(`${gw.http}/healthz`)).status).toBe(200);
  });
});

describe('message ids', () => {
  it('are unique across restarts of a gateway with a fixed WSGW_NODE_ID: none is dropped as a duplicate', async () => {
    const net = new MemoryBusNetwork();
    const receiver = await startGateway({}, new MemoryBus(net));
    const sub = await TestClient.connect(receiver.url);
    await sub.sub('restarts');
    for (let run = 0; run < 3; run++) {
      const publisher = await startGateway({ WSGW_NODE_ID: 'task-1' }, new MemoryBus(net));
      const c = await TestClient.connect(publisher.url);
      for (let i = 0; i < 3; i++) expect(await c.pub('restarts', { run, i })).toMatchObject({ op: 'ack' });
      await publisher.stop();
    }
    await waitFor(() => sub.data('restarts').length === 9, 5_000, 'all nine messages');
    const ids = sub.messages('restarts').map((m) => Object.values(m.pos)[0]!);
    expect(new Set(ids).size).toBe(9);
    expect(ids.every((id) => id.startsWith('task-1.'))).toBe(true);
    await receiver.stop();
  });
});

describe('idempotent publishing', () => {
  it('delivers a client-chosen message id once, over WebSocket in both wire shapes and over HTTP', async () => {
    const g = await startGateway({ WSGW_PUBLISH_KEY: 'idempotent-key-0123456789' });
    const reader = await TestClient.connect(g.url);
    await reader.sub('idem');
    const json = await TestClient.connect(g.url);
    const proto = await TestClient.connect(g.url, { proto: true });
    const payload = Buffer.from('{"n":1}');
    // The same id three times: a first try, and two retries after an uncertain outcome.
    expect(
      await json.request({
        op: 'pub',
        ch: 'idem',
        contentType: 'application/json',
        payload,
        mid: 'retry-0000000001',
      }),
    ).toMatchObject({ op: 'ack' });
    expect(
      await proto.request({
        op: 'pub',
        ch: 'idem',
        contentType: 'application/json',
        payload,
        mid: 'retry-0000000001',
      }),
    ).toMatchObject({ op: 'ack' });
    const post = (mid: string) =>
      fetch(`${g.http}/publish`, {
        method: 'POST',
        headers: { authorization: 'Bearer idempotent-key-0123456789' },
        body: JSON.stringify({ ch: 'idem', data: { n: 1 }, mid }),
      });
    expect((await post('retry-0000000001')).status).toBe(202);
    expect((await post('retry-0000000002')).status).toBe(202);
    await waitFor(() => reader.data('idem').length >= 2, 5_000, 'two messages');
    await new Promise((r) => setTimeout(r, 100));
    expect(reader.messages('idem').map((m) => Object.values(m.pos)[0])).toEqual([
      '~retry-0000000001',
      '~retry-0000000002',
    ]);
    // A malformed id is refused, never published under some other id.
    expect(
      await json.request({
        op: 'pub',
        ch: 'idem',
        contentType: 'application/json',
        payload,
        mid: 'short',
      } as never),
    ).toMatchObject({ op: 'error', code: 'bad_request' });
    expect((await post('has spaces in it')).status).toBe(400);
    await g.stop();
  });
});
