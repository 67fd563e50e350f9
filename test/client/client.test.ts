import { afterEach, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { WebSocketServer } from 'ws';
import {
  WsgwClient,
  WsgwError,
  type MessageEvent,
  type WebSocketCtor,
} from '../../services/client/src/client.js';
import { MemoryBus, MemoryBusNetwork } from '../../services/gateway/src/bus/bus-memory.js';
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { TestBalancer } from '../helpers/balancer.js';

const secret = 'client-test-secret-0123456789abcdefgh';
const key = new TextEncoder().encode(secret);

/**
 * A token that lives `lifetimeS` to `lifetimeS + 1` seconds. exp is in whole seconds and rounded up:
 * a floor could leave a short-lived token a few milliseconds, and the handshake would refuse it.
 */
function sign(lifetimeS: number, claims: Record<string, unknown> = { subscribe: ['*'], publish: ['*'] }) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(Math.ceil(Date.now() / 1000) + lifetimeS)
    .sign(key);
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function gateways(n: number, env: Record<string, string> = {}): Promise<TestGateway[]> {
  const net = new MemoryBusNetwork();
  const out: TestGateway[] = [];
  for (let i = 0; i < n; i++) {
    const gw = await startGateway({ WSGW_REBALANCE_INTERVAL_MS: '0', ...env }, new MemoryBus(net));
    cleanups.push(() => gw.stop());
    out.push(gw);
  }
  return out;
}

function client(url: string, opts: Partial<ConstructorParameters<typeof WsgwClient>[0]> = {}) {
  const c = new WsgwClient({ url, backoff: { baseMs: 20, maxMs: 200 }, ...opts });
  const got: MessageEvent[] = [];
  c.on('message', (m) => got.push(m));
  cleanups.push(() => c.close());
  return { c, got, values: () => got.map((m) => m.data) };
}

describe.each(['json', 'proto'] as const)('WsgwClient over %s', (protocol) => {
  it('subscribes, publishes and receives with promises settled by ack', async () => {
    const [gw] = await gateways(1);
    const a = client(gw!.url, { protocol });
    await a.c.connect();
    await a.c.subscribe('room:1');
    await a.c.publish('room:1', { n: 1 });
    await waitFor(() => a.got.length === 1);
    expect(a.got[0]).toMatchObject({ ch: 'room:1', data: { n: 1 }, contentType: 'application/json' });
    expect(Object.keys(a.got[0]!.pos)).toEqual(['local']);
  });

  it('rejects with the server error code', async () => {
    const [gw] = await gateways(1);
    const a = client(gw!.url, { protocol });
    await a.c.connect();
    await expect(a.c.subscribe('bad channel')).rejects.toMatchObject({ code: 'bad_channel' });
  });

  it('reconnects to another gateway and recovers exactly the messages it missed, then live ones', async () => {
    const [g1, g2] = await gateways(2);
    await new Promise((r) => setTimeout(r, 100)); // let the histories' coverage pass the skew
    const proxy = await new TestBalancer([g1!.gateway.port]).listen();
    cleanups.push(() => proxy.close());
    const a = client(proxy.url, { protocol });
    const resub: Array<{ recovered: boolean; missed: number }> = [];
    a.c.on('resubscribed', (e) => resub.push(e));
    await a.c.connect();
    await a.c.subscribe('room:r');
    for (let i = 0; i < 5; i++)
      await g2!.gateway.publish('room:r', 'application/json', Buffer.from(JSON.stringify(i)));
    await waitFor(() => a.got.length === 5);
    // Ping so the client holds a recent sync time, then lose the link and publish meanwhile.
    await new Promise((r) => setTimeout(r, 50));
    proxy.setTargets([g2!.gateway.port]);
    proxy.dropAll();
    for (let i = 5; i < 15; i++)
      await g2!.gateway.publish('room:r', 'application/json', Buffer.from(JSON.stringify(i)));
    await waitFor(() => resub.length === 1, 5_000, 'resubscribe');
    expect(resub[0]!.recovered).toBe(true);
    for (let i = 15; i < 20; i++)
      await g1!.gateway.publish('room:r', 'application/json', Buffer.from(JSON.stringify(i)));
    await waitFor(() => a.got.length >= 20);
    await new Promise((r) => setTimeout(r, 100));
    expect(a.values()).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});

describe('WsgwClient recovery limits', () => {
  it('emits gap when the history no longer covers what was missed', async () => {
    const [g1] = await gateways(1, { WSGW_HISTORY_SIZE: '3' });
    const proxy = await new TestBalancer([g1!.gateway.port]).listen();
    cleanups.push(() => proxy.close());
    const a = client(proxy.url, { backoff: { baseMs: 300, maxMs: 300 } });
    const gaps: string[] = [];
    a.c.on('gap', (e) => gaps.push(e.ch));
    await a.c.connect();
    await a.c.subscribe('g');
    await g1!.gateway.publish('g', 'application/json', Buffer.from('0'));
    await waitFor(() => a.got.length === 1);
    proxy.dropAll();
    for (let i = 1; i <= 10; i++) await g1!.gateway.publish('g', 'application/json', Buffer.from(String(i)));
    await waitFor(() => gaps.length === 1, 5_000, 'gap event');
    expect(gaps).toEqual(['g']);
  });
});

describe('WsgwClient connection handling', () => {
  it('queues publishes while offline and flushes them on reconnect', async () => {
    const [g1] = await gateways(1);
    const proxy = await new TestBalancer([g1!.gateway.port]).listen();
    cleanups.push(() => proxy.close());
    const a = client(proxy.url, { backoff: { baseMs: 200, maxMs: 200 } });
    await a.c.connect();
    await a.c.subscribe('q');
    // Publish the moment the link is known to be down, whatever the reconnect delay drawn.
    const sent = new Promise<Array<Promise<void>>>((resolve) => {
      const off = a.c.on('disconnected', () => {
        off();
        resolve([a.c.publish('q', 'a'), a.c.publish('q', 'b')]);
      });
    });
    proxy.dropAll();
    await Promise.all(await sent);
    await waitFor(() => a.got.length === 2);
    expect(a.values()).toEqual(['a', 'b']);
  });

  it('refuses publishes beyond the offline queue limit', async () => {
    const a = client('ws://127.0.0.1:9/', { offlineQueueLimit: 1 });
    const first = a.c.publish('q', 1);
    await expect(a.c.publish('q', 2)).rejects.toMatchObject({ code: 'offline_queue_full' });
    a.c.close();
    await expect(first).rejects.toBeInstanceOf(WsgwError);
  });

  it('asks for a fresh token after 4001 and reconnects with it', async () => {
    const [g1] = await gateways(1, { WSGW_JWT_SECRET: secret });
    let issued = 0;
    const token = () => sign(++issued === 1 ? 1 : 3600);
    const a = client(g1!.url, { token });
    const codes: number[] = [];
    a.c.on('disconnected', (e) => codes.push(e.code));
    await a.c.connect();
    await a.c.subscribe('t');
    await waitFor(() => codes.includes(4001), 5_000, 'token expiry');
    await waitFor(() => a.c.state === 'open' && issued === 2, 5_000, 'reconnect with a new token');
    await a.c.publish('t', 'after refresh');
    await waitFor(() => a.values().includes('after refresh'));
  });

  it('stops on 1008 and detects a dead link by missing pongs', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => wss.once('listening', r));
    cleanups.push(() => new Promise((r) => wss.close(r)));
    let connections = 0;
    wss.on('connection', (ws) => {
      connections++;
      // The first connection never answers pings (a dead proxy); the second is refused by policy.
      if (connections === 2) ws.close(1008, 'policy');
    });
    const port = (wss.address() as { port: number }).port;
    const a = client(`ws://127.0.0.1:${port}/`, { pingIntervalMs: 100 });
    const codes: number[] = [];
    a.c.on('disconnected', (e) => codes.push(e.code));
    await a.c.connect();
    await waitFor(() => a.c.state === 'closed', 5_000, 'stop after 1008');
    expect(codes).toEqual([1006, 1008]);
    expect(connections).toBe(2);
  });

  it('keeps backing off from a server that accepts and closes at once, and starts over after a connection that lasted', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => wss.once('listening', r));
    cleanups.push(() => new Promise((r) => wss.close(r)));
    let accepted = 0;
    let holdOpen = false;
    wss.on('connection', (ws) => {
      accepted++;
      // A subscriber that cannot take a message is closed with 4008 as soon as it connects.
      if (!holdOpen) ws.close(4008, 'slow consumer');
    });
    const port = (wss.address() as { port: number }).port;
    // random() = 1: every delay is its whole window, so the backoff steps show.
    const a = client(`ws://127.0.0.1:${port}/`, {
      backoff: { baseMs: 10, maxMs: 10_000 },
      random: () => 0.999,
      stableAfterMs: 300,
      pingIntervalMs: 0,
    });
    const delays: number[] = [];
    a.c.on('disconnected', (e) => delays.push(e.delayMs ?? -1));
    await a.c.connect();
    await waitFor(() => delays.length >= 5, 5_000, 'five closes');
    expect(delays.slice(0, 5)).toEqual([9, 19, 39, 79, 159]);
    // A connection that stays up past stableAfterMs resets the backoff.
    holdOpen = true;
    await waitFor(() => a.c.state === 'open', 5_000, 'a connection that stays');
    await new Promise((r) => setTimeout(r, 400));
    for (const ws of wss.clients) ws.close(4008, 'slow consumer');
    await waitFor(() => delays.length >= 6, 5_000, 'the next close');
    expect(delays[5]).toBe(9);
    expect(accepted).toBeGreaterThanOrEqual(6);
  });
});

describe('WsgwClient tokens', () => {
  it('asks for a new token before a reconnect when the cached one expired while the link was down', async () => {
    const [g1] = await gateways(1, { WSGW_JWT_SECRET: secret });
    const lb = await new TestBalancer([g1!.gateway.port]).listen();
    cleanups.push(() => lb.close());
    let issued = 0;
    // The first token lives 1 to 2 s: long enough to connect, expired by the time the link is back.
    const a = client(lb.url, {
      token: () => sign(++issued === 1 ? 1 : 3600),
      backoff: { baseMs: 50, maxMs: 100 },
    });
    await a.c.connect();
    lb.setTargets([]);
    lb.dropAll();
    await new Promise((r) => setTimeout(r, 2_500));
    const before = issued;
    lb.setTargets([g1!.gateway.port]);
    await waitFor(() => a.c.state === 'open', 5_000, 'reconnected with a fresh token');
    // Attempts that never opened asked again each time; the one that opened used a new token.
    expect(issued).toBeGreaterThan(before);
  });

  it('asks again after a handshake that was refused before it opened', async () => {
    const [g1] = await gateways(1, { WSGW_JWT_SECRET: secret });
    let issued = 0;
    // The first token is already expired: the upgrade is refused with 401, which a browser sees
    // only as a close before open.
    const a = client(g1!.url, {
      token: () => sign(++issued === 1 ? -10 : 3600),
      backoff: { baseMs: 20, maxMs: 40 },
    });
    await a.c.connect();
    expect(issued).toBe(2);
  });
});

describe('WsgwClient with the standard WebSocket (undici, as in browsers and Node 22)', () => {
  it('detects a dead link by missing pongs and reconnects, where closing with 1001 used to throw', async () => {
    const { WebSocket: StandardWebSocket } = await import('undici');
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => wss.once('listening', r));
    cleanups.push(() => new Promise((r) => wss.close(r)));
    let connections = 0;
    wss.on('connection', () => connections++); // never answers the app pings
    const port = (wss.address() as { port: number }).port;
    const a = client(`ws://127.0.0.1:${port}/`, {
      pingIntervalMs: 100,
      WebSocket: StandardWebSocket as unknown as WebSocketCtor,
    });
    const errors: Error[] = [];
    a.c.on('error', (e) => errors.push(e.error));
    await a.c.connect();
    await waitFor(() => connections >= 2, 5_000, 'a reconnect after the missed pong');
    expect(errors).toEqual([]);
  });
});

describe('WsgwClient publishing', () => {
  it('re-sends a publish the link dropped before its ack, with its message id, and it is delivered once', async () => {
    const [g1] = await gateways(1);
    const lb = await new TestBalancer([g1!.gateway.port]).listen();
    cleanups.push(() => lb.close());
    const reader = client(g1!.url);
    await reader.c.connect();
    await reader.c.subscribe('once');
    const w = client(lb.url, { backoff: { baseMs: 20, maxMs: 40 } });
    await w.c.connect();
    // Drop the link in the same turn as the publish is written: the ack cannot arrive on it.
    const sent = w.c.publish('once', { n: 1 });
    lb.dropAll();
    await sent;
    await waitFor(() => reader.values().length >= 1, 5_000, 'the message');
    await new Promise((r) => setTimeout(r, 200));
    expect(reader.values()).toEqual([{ n: 1 }]);
  });

  it('reports a publish the bus did not confirm in time as bus_uncertain with its id; the retry with that id delivers once', async () => {
    const net = new MemoryBusNetwork();
    let hold = true;
    const held: Array<() => void> = [];
    // A bus whose acknowledgements are held back: the publish is written, its ack is late.
    class SlowBus extends MemoryBus {
      override async publish(m: Parameters<MemoryBus['publish']>[0]) {
        const r = await super.publish(m);
        if (hold) await new Promise<void>((resolve) => held.push(resolve));
        return r;
      }
    }
    const gw = await startGateway({ WSGW_PUBLISH_TIMEOUT_MS: '300' }, new SlowBus(net));
    cleanups.push(() => gw.stop());
    const reader = client(gw.url);
    await reader.c.connect();
    await reader.c.subscribe('maybe');
    const w = client(gw.url);
    await w.c.connect();
    const err = (await w.c.publish('maybe', 'x').catch((e: unknown) => e)) as WsgwError;
    expect(err).toBeInstanceOf(WsgwError);
    expect(err.code).toBe('bus_uncertain');
    expect(err.messageId).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    hold = false;
    held.forEach((r) => r());
    await w.c.publish('maybe', 'x', { messageId: err.messageId });
    await waitFor(() => reader.values().length >= 1, 5_000, 'the message');
    await new Promise((r) => setTimeout(r, 200));
    expect(reader.values()).toEqual(['x']);
  });
});

describe('WsgwClient subscriptions the server refuses', () => {
  it('drops a forbidden subscription instead of sending it again on every reconnect', async () => {
    const [g1] = await gateways(1, { WSGW_JWT_SECRET: secret });
    const lb = await new TestBalancer([g1!.gateway.port]).listen();
    cleanups.push(() => lb.close());
    const token = () => sign(3600, { subscribe: ['ok:*'] });
    const a = client(lb.url, { token, backoff: { baseMs: 20, maxMs: 40 } });
    await a.c.connect();
    await a.c.subscribe('ok:1');
    await expect(a.c.subscribe('no:1')).rejects.toMatchObject({ code: 'forbidden', channel: 'no:1' });
    const forbiddenBefore = await forbiddenCount(g1!);
    let drops = 0;
    a.c.on('disconnected', () => drops++);
    for (let i = 1; i <= 3; i++) {
      lb.dropAll();
      await waitFor(() => drops === i, 2_000, 'the drop');
      await waitFor(() => a.c.state === 'open', 5_000, 'the reconnect');
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(await forbiddenCount(g1!)).toBe(forbiddenBefore);
    expect(a.c.position('no:1')).toBeUndefined();
  });
});

async function forbiddenCount(g: TestGateway): Promise<number> {
  const text = await (await fetch(`${g.metrics}/metrics`)).text();
  return Number(/^wsgw_client_errors_total\{code="forbidden"\} (\d+)/m.exec(text)?.[1] ?? 0);
}

describe('WsgwClient with permessage-deflate', () => {
  /** A state snapshot of about 4 KB: above the compression threshold, and compressible. */
  const snapshot = {
    players: Array.from({ length: 40 }, (_, i) => ({
      id: `p${i}`,
      name: `player ${i}`,
      x: i * 3,
      y: 100 - i,
    })),
  };

  it.each([
    ['ws', undefined],
    ['the standard WebSocket (undici)', 'undici'],
  ] as const)('negotiates it over %s and sends and receives large messages compressed', async (_, impl) => {
    const [gw] = await gateways(1);
    const WebSocket =
      impl === 'undici' ? ((await import('undici')).WebSocket as unknown as WebSocketCtor) : undefined;
    for (const protocol of ['json', 'proto'] as const) {
      const a = client(gw!.url, { protocol, ...(WebSocket ? { WebSocket } : {}) });
      await a.c.connect();
      await a.c.subscribe(`snap:${protocol}`);
      const before = (await (await fetch(`${gw!.metrics}/metrics`)).text()).match(
        /^wsgw_compressed_frames_total (\d+)$/m,
      )?.[1];
      await a.c.publish(`snap:${protocol}`, snapshot);
      await waitFor(() => a.got.length === 1);
      expect(a.got[0]).toMatchObject({ ch: `snap:${protocol}`, data: snapshot });
      const text = await (await fetch(`${gw!.metrics}/metrics`)).text();
      // The gateway compressed the delivery: the client negotiated the extension and inflated it.
      expect(Number(text.match(/^wsgw_compressed_frames_total (\d+)$/m)?.[1])).toBe(Number(before) + 1);
    }
  });
});
