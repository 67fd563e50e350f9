import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as ws from 'ws';
import { WsgwClient, type WebSocketLike } from '../../services/client/src/client.js';
import { textFrame } from '../../services/gateway/src/framing.js';
import { encodeClientJson, encodePongJson } from '../../services/shared/src/frames.js';
import {
  gatewayPingIntervalSeconds,
  keepaliveBytesPerSecond,
  keepaliveFrames,
  PONG_SYNC,
  SDK_PING_INTERVAL_MS,
  sdkPingId,
  wsFrameBytes,
} from '../../cost/wire.js';
import { startGateway, waitFor } from '../helpers/gateway.js';
import { ASSUMPTIONS } from './fixtures.js';

/** ws's frame encoder; exported at run time, absent from @types/ws. */
const { Sender } = ws as unknown as {
  Sender: { frame(data: Buffer, opts: Record<string, unknown>): Buffer[] };
};

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('WebSocket frame sizes', () => {
  const sizes = [0, 1, 125, 126, 65_535, 65_536];

  it("match the gateway's framing for server frames", () => {
    for (const n of sizes) expect(wsFrameBytes(n, false), `${n} B`).toBe(textFrame('x'.repeat(n)).length);
  });

  it("match ws's masked frames for client frames", () => {
    for (const n of sizes) {
      const parts = Sender.frame(Buffer.alloc(n), {
        fin: true,
        opcode: 1,
        mask: true,
        readOnly: false,
        rsv1: false,
      });
      expect(wsFrameBytes(n, true), `${n} B`).toBe(parts.reduce((s, b) => s + b.length, 0));
    }
  });
});

describe('keep-alive frames', () => {
  it('are every frame of both pings, with their sizes on the wire (hand-checked)', () => {
    // An hour-long session: the SDK's 180th ping, {"op":"ping","id":180} (22 B), and the gateway's
    // pong, {"op":"pong","id":180,"ts":<13 digits>} (41 B). TLS adds 22 B, TCP/IP 52 B.
    expect(keepaliveFrames(ASSUMPTIONS, 3_600)).toEqual([
      { frame: 'gateway ping', direction: 'out', bytes: 2 + 22 + 52, everySeconds: 25 },
      { frame: 'client pong', direction: 'in', bytes: 2 + 4 + 22 + 52, everySeconds: 25 },
      { frame: 'bare ACK of the client pong', direction: 'out', bytes: 52, everySeconds: 25 },
      { frame: 'SDK ping', direction: 'in', bytes: 6 + 22 + 22 + 52, everySeconds: 20 },
      { frame: 'gateway pong', direction: 'out', bytes: 2 + 41 + 22 + 52, everySeconds: 20 },
      { frame: 'bare ACK of the gateway pong', direction: 'in', bytes: 52, everySeconds: 20 },
    ]);
    const frames = keepaliveFrames(ASSUMPTIONS, 3_600);
    expect(keepaliveBytesPerSecond(frames, 'out')).toBeCloseTo((76 + 52) / 25 + 117 / 20, 12); // 10.97
    expect(keepaliveBytesPerSecond(frames, 'in')).toBeCloseTo(80 / 25 + (102 + 52) / 20, 12); // 10.9
  });

  it("leave out the gateway pings the SDK's pings make unnecessary when the gateway skips them (hand-checked)", () => {
    const skip = { ...ASSUMPTIONS, skipGatewayPingAfterClientFrame: true };
    // SDK pings every 20 s, gateway every 25 s: every connection sent a frame within each interval.
    expect(gatewayPingIntervalSeconds(skip)).toBe(Number.POSITIVE_INFINITY);
    expect(keepaliveFrames(skip, 3_600).map((f) => f.frame)).toEqual([
      'SDK ping',
      'gateway pong',
      'bare ACK of the gateway pong',
    ]);
    // SDK pings every 120 s, gateway every 60 s: a sweep finds a connection silent for the last
    // 60 s at (120 − 60) / 120 = half the sweeps, so one gateway ping per 120 s on average.
    const sparse = { ...skip, serverPingIntervalSeconds: 60, sdkPingIntervalSeconds: 120 };
    expect(gatewayPingIntervalSeconds(sparse)).toBe(120);
    expect(keepaliveFrames(sparse, 3_600).find((f) => f.frame === 'gateway ping')!.everySeconds).toBe(120);
    // Without the skip the gateway pings every interval whatever the client sends.
    expect(gatewayPingIntervalSeconds({ ...sparse, skipGatewayPingAfterClientFrame: false })).toBe(60);
    // Clients that do not ping get every gateway ping.
    expect(gatewayPingIntervalSeconds({ ...skip, sdkPingIntervalSeconds: 0 })).toBe(25);
  });

  it('follow the size of the encoded ping and pong', () => {
    // Ids grow with the session; a 4-digit id adds a byte each way.
    const long = keepaliveFrames(ASSUMPTIONS, 20 * 1_000);
    expect(sdkPingId(20 * 1_000, 20)).toBe(1_000);
    expect(long.find((f) => f.frame === 'SDK ping')!.bytes).toBe(
      6 + Buffer.byteLength(encodeClientJson({ op: 'ping', id: 1_000 })) + 74,
    );
    expect(long.find((f) => f.frame === 'gateway pong')!.bytes).toBe(
      2 + Buffer.byteLength(encodePongJson(1_000, PONG_SYNC)) + 74,
    );
    expect(long.find((f) => f.frame === 'SDK ping')!.bytes).toBe(103);
  });

  it('leave out a ping that is turned off', () => {
    expect(keepaliveFrames({ ...ASSUMPTIONS, sdkPingIntervalSeconds: 0 }, 3_600).map((f) => f.frame)).toEqual(
      ['gateway ping', 'client pong', 'bare ACK of the client pong'],
    );
  });

  it('are the bytes the SDK and the gateway put on a socket for one ping', async () => {
    // No gateway pings in the window (600 s); the SDK pings every 500 ms. A TCP relay counts bytes.
    const gw = await startGateway({
      WSGW_PING_INTERVAL_MS: '600000',
      WSGW_IDLE_TIMEOUT_MS: '0',
      WSGW_REBALANCE_INTERVAL_MS: '0',
    });
    cleanups.push(() => gw.stop());
    const port = Number(new URL(gw.url).port);
    let up = 0;
    let down = 0;
    const sockets = new Set<Socket>();
    const relay: Server = createServer((client) => {
      const server = createConnection(port, '127.0.0.1');
      for (const s of [client, server]) {
        sockets.add(s);
        s.on('error', () => {});
      }
      client.on('data', (d: Buffer) => ((up += d.length), server.write(d)));
      server.on('data', (d: Buffer) => ((down += d.length), client.write(d)));
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => relay.close(r)));
    cleanups.push(() => sockets.forEach((s) => s.destroy()));
    const client = new WsgwClient({
      url: `ws://127.0.0.1:${(relay.address() as { port: number }).port}/`,
      pingIntervalMs: 500,
    });
    cleanups.push(() => client.close());
    await client.connect();
    await waitFor(() => down > 0, 5_000, 'the upgrade response');
    await new Promise((r) => setTimeout(r, 50));
    const [up0, down0] = [up, down];
    await waitFor(() => down > down0, 5_000, 'the pong');
    await new Promise((r) => setTimeout(r, 50));
    // The first request of a client has id 1.
    expect(up - up0).toBe(wsFrameBytes(Buffer.byteLength(encodeClientJson({ op: 'ping', id: 1 })), true));
    expect(down - down0).toBe(wsFrameBytes(Buffer.byteLength(encodePongJson(1, PONG_SYNC)), false));
  });
});

describe('the SDK ping interval', () => {
  it('is the interval at which the SDK really pings', async () => {
    vi.useFakeTimers();
    const sent: string[] = [];
    let socket: WebSocketLike | undefined;
    class FakeSocket implements WebSocketLike {
      binaryType = 'arraybuffer';
      readyState = 1;
      protocol = 'wsgw.v1.json';
      onopen: ((ev: unknown) => void) | null = null;
      onclose: ((ev: { code: number; reason: string }) => void) | null = null;
      onerror: ((ev: unknown) => void) | null = null;
      onmessage: ((ev: { data: unknown }) => void) | null = null;
      constructor() {
        socket = this;
      }
      send(data: string | Uint8Array): void {
        sent.push(String(data));
      }
      close(): void {}
    }
    const client = new WsgwClient({ url: 'wss://example.invalid/', WebSocket: FakeSocket });
    cleanups.push(() => client.close());
    const opened = client.connect();
    await vi.waitFor(() => expect(socket).toBeDefined());
    socket!.onopen!({});
    await opened;
    await vi.advanceTimersByTimeAsync(SDK_PING_INTERVAL_MS - 1);
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent.map((s) => JSON.parse(s).op)).toEqual(['ping']);
    expect(SDK_PING_INTERVAL_MS).toBeGreaterThan(0);
  });
});
