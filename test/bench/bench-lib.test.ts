/**
 * The benchmark suite's own parts: the latency histogram, the advantage ratios of the summary, and
 * the load generator's raw WebSocket client against a real `ws` server (handshake, ack, message
 * timestamps, server pings). `npm run bench -- --smoke` exercises the whole suite end to end.
 */
import { describe, expect, it, afterEach, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { Histogram } from '../../bench/lib/histogram.js';
import { row } from '../../bench/lib/report.js';
import { WireClient, clock, payloadFor, pubFrame, type ClientEvents } from '../../bench/load/wire.js';

describe('Histogram', () => {
  it('returns quantiles within one 2 % bucket of the recorded values', () => {
    const h = new Histogram();
    for (let i = 1; i <= 1000; i++) h.record(i / 10); // 0.1 ms .. 100 ms
    expect(h.total).toBe(1000);
    const p50 = h.quantile(0.5);
    const p99 = h.quantile(0.99);
    expect(p50).toBeGreaterThanOrEqual(50);
    expect(p50).toBeLessThanOrEqual(50 * 1.02);
    expect(p99).toBeGreaterThanOrEqual(99);
    expect(p99).toBeLessThanOrEqual(99 * 1.02);
  });

  it('merges through its sparse form as if the samples were recorded in one', () => {
    const a = new Histogram();
    const b = new Histogram();
    for (let i = 0; i < 100; i++) a.record(1);
    for (let i = 0; i < 100; i++) b.record(200);
    const m = Histogram.fromSparse(a.toSparse());
    m.merge(Histogram.fromSparse(b.toSparse()).counts);
    expect(m.total).toBe(200);
    expect(m.quantile(0.25)).toBeLessThan(1.03);
    expect(m.quantile(0.75)).toBeGreaterThan(199);
  });

  it('counts negative values (clock jitter) in the lowest bucket and is NaN when empty', () => {
    const h = new Histogram();
    expect(h.quantile(0.5)).toBeNaN();
    h.record(-0.2);
    expect(h.quantile(1)).toBe(0.001);
  });
});

describe('summary rows', () => {
  it('orients the advantage so that above 1 favours the gateway', () => {
    const thr = row('s', 'deliveries', '/s', 'higher', { gateway: 300, socketio: 100, ws: 600 });
    expect(thr.advantage).toEqual({ socketio: 3, ws: 0.5 });
    const mem = row('s', 'rss', 'B', 'lower', { gateway: 5000, socketio: 20000, ws: 2500 });
    expect(mem.advantage).toEqual({ socketio: 4, ws: 0.5 });
  });

  it('leaves out missing and non-finite values', () => {
    const r = row('s', 'p99', 'ms', 'lower', { gateway: 3, socketio: Number.NaN, ws: undefined });
    expect(r.values).toEqual({ gateway: 3 });
    expect(r.advantage).toEqual({});
  });
});

describe('payloadFor', () => {
  it('builds valid JSON of exactly the requested size with the stamp first', () => {
    for (const size of [100, 1024]) {
      const p = payloadFor(size, 1_700_000_000_123.456);
      expect(Buffer.byteLength(p)).toBe(size);
      expect(JSON.parse(p)).toMatchObject({ bt: 1_700_000_000_123.456 });
    }
  });
});

describe('WireClient', () => {
  let wss: WebSocketServer | undefined;
  afterEach(() => new Promise<void>((r) => (wss ? wss.close(() => r()) : r())));

  it('opens, gets its subscription acked, answers pings and reads message timestamps', async () => {
    const pongs: number[] = [];
    const received: string[] = [];
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    wss.on('connection', (ws) => {
      ws.on('pong', () => pongs.push(1));
      ws.on('message', (raw) => {
        const m = JSON.parse(raw.toString()) as { op: string; id?: number; ch: string; data?: unknown };
        received.push(m.op);
        if (m.op === 'sub') {
          ws.send(`{"op":"ack","id":${m.id}}`);
          ws.ping();
        }
        // Echo a publish back as a message, the way a server would deliver it.
        if (m.op === 'pub') ws.send(JSON.stringify({ op: 'msg', ch: m.ch, data: m.data }));
      });
    });
    await new Promise<void>((r) => wss!.once('listening', () => r()));
    const port = (wss.address() as { port: number }).port;

    const latencies: number[] = [];
    let sentAtSeen = 0;
    const done = new Promise<void>((resolve, reject) => {
      const events: ClientEvents = {
        open: (c) => c.subscribe(),
        subscribed: (c) => c.write(pubFrame('ws', 'room', payloadFor(100, clock()))),
        message: (c, sentAt, ms) => {
          sentAtSeen = sentAt;
          latencies.push(ms);
          c.close();
          resolve();
        },
        closed: (_c, opened, reason) => {
          if (!opened) reject(new Error(reason));
        },
      };
      new WireClient({ kind: 'ws', port }, '127.0.0.2', ['room'], events);
    });
    await done;
    expect(received).toEqual(['sub', 'pub']);
    await vi.waitFor(() => expect(pongs).toHaveLength(1));
    expect(latencies).toHaveLength(1);
    expect(latencies[0]).toBeGreaterThanOrEqual(0);
    expect(latencies[0]).toBeLessThan(5_000);
    expect(Math.abs(sentAtSeen - Date.now())).toBeLessThan(5_000);
  });

  it('reports a refused upgrade as a failed connection', async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, verifyClient: () => false });
    await new Promise<void>((r) => wss!.once('listening', () => r()));
    const port = (wss.address() as { port: number }).port;
    const reason = await new Promise<string>((resolve) => {
      new WireClient({ kind: 'ws', port }, '127.0.0.1', [], {
        open: () => resolve('opened'),
        subscribed: () => {},
        message: () => {},
        closed: (_c, opened, r) => resolve(opened ? 'opened' : r),
      });
    });
    expect(reason).toMatch(/upgrade refused: HTTP\/1.1 401/);
  });
});
