/**
 * permessage-deflate over real sockets: negotiation (and malformed offers), broadcasts compressed
 * once and shared, small messages plain, compressed client frames inflated in the shared pool
 * (no zlib state left on the socket), and hostile compressed frames closed with 1009 / 1007,
 * counted, while the gateway goes on serving.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { TestClient } from '../helpers/client.js';
import {
  clientFrame,
  collectFrames,
  rawRequest,
  rawWebSocket,
  upgradeRequest,
  type WireFrame,
} from '../helpers/raw.js';
import { INLINE_INFLATE_MAX_BYTES } from '../../services/gateway/src/inflate-inline.js';
import type { Sessions } from '../../services/gateway/src/session.js';
import { decodeServerJson } from '../../services/shared/src/frames.js';

const OFFER = 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits';
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

let gw: TestGateway | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await gw?.stop();
  gw = undefined;
});

async function metrics(g: TestGateway): Promise<string> {
  return (await fetch(`${g.metrics}/metrics`)).text();
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** A raw client that offered (or not) the extension, subscribed to `ch`, with its frames recorded. */
async function rawSubscriber(
  g: TestGateway,
  ch: string,
  headers: string[] = [OFFER],
): Promise<{ socket: Socket; frames: WireFrame[] }> {
  const socket = await rawWebSocket(g.gateway.port, '/', headers);
  sockets.push(socket);
  const frames: WireFrame[] = [];
  collectFrames(socket, frames);
  socket.write(clientFrame(0x1, Buffer.from(JSON.stringify({ op: 'sub', ch, id: 1 }))));
  await waitFor(() => frames.some((f) => !f.rsv1 && f.payload.toString().includes('"ack"')));
  return { socket, frames };
}

/** The text of a server message frame, inflated when it came compressed. */
function textOf(f: WireFrame): string {
  return (
    f.rsv1
      ? inflateRawSync(Buffer.concat([f.payload, TRAILER]), { finishFlush: constants.Z_SYNC_FLUSH })
      : f.payload
  ).toString();
}

/** A chat-like JSON value whose message payload is about `bytes` long and compresses well. */
function chat(bytes: number): { messages: Array<{ user: string; text: string; ts: number }> } {
  const messages = [];
  for (let i = 0; JSON.stringify(messages).length < bytes; i++)
    messages.push({ user: `user-${i % 7}`, text: `hello from the room, message number ${i}`, ts: 1e12 + i });
  return { messages };
}

function sessionsOf(g: TestGateway): Sessions {
  return (g.gateway as unknown as { sessions: Sessions }).sessions;
}

/** The object ws calls for the socket's permessage-deflate (ws 8: `_extensions`). */
function extensionOfConn(ws: WebSocket): ({ params: object } & Record<string, unknown>) | undefined {
  return (ws as unknown as { _extensions: Record<string, { params: object } & Record<string, unknown>> })
    ._extensions['permessage-deflate'];
}

describe('negotiation', () => {
  it('accepts an offer with both no_context_takeover parameters in the response', async () => {
    gw = await startGateway();
    const reply = await rawRequest(gw.gateway.port, upgradeRequest('/', [OFFER]));
    expect(reply.status).toBe(101);
    const ext = /^sec-websocket-extensions: (.*)$/im.exec(reply.text)?.[1] ?? '';
    expect(ext).toMatch(/^permessage-deflate/);
    expect(ext).toContain('server_no_context_takeover');
    expect(ext).toContain('client_no_context_takeover');
    const c = await TestClient.connect(gw.url);
    expect(c.ws.extensions).toMatch(/permessage-deflate/);
    c.close();
  });

  it('never negotiates with WSGW_COMPRESSION=off, and refuses a compressed frame with 1002', async () => {
    gw = await startGateway({ WSGW_COMPRESSION: 'off' });
    const reply = await rawRequest(gw.gateway.port, upgradeRequest('/', [OFFER]));
    expect(reply.status).toBe(101);
    expect(reply.text.toLowerCase()).not.toContain('sec-websocket-extensions');
    const c = await TestClient.connect(gw.url);
    expect(c.ws.extensions).toBe('');
    const socket = await rawWebSocket(gw.gateway.port, '/', [OFFER]);
    sockets.push(socket);
    const frames: WireFrame[] = [];
    collectFrames(socket, frames);
    const body = deflateRawSync(Buffer.from('{"op":"ping","id":1}'), { finishFlush: constants.Z_SYNC_FLUSH });
    socket.write(clientFrame(0x1, body.subarray(0, body.length - 4), { rsv: 4 }));
    await waitFor(() => frames.some((f) => f.opcode === 0x8));
    expect(frames.find((f) => f.opcode === 0x8)!.payload.readUInt16BE(0)).toBe(1002);
    expect(await c.request({ op: 'ping' })).toMatchObject({ op: 'pong' });
    c.close();
  });

  it('declines malformed offers: the handshake goes on without the extension, and the gateway keeps serving', async () => {
    gw = await startGateway();
    const offers = [
      'permessage-deflate; foo=1',
      'permessage-deflate; server_max_window_bits=99',
      'permessage-deflate; server_max_window_bits',
      'permessage-deflate; client_max_window_bits=abc',
      'permessage-deflate; server_no_context_takeover=yes',
      'permessage-deflate; client_max_window_bits=9; client_max_window_bits=10',
      'permessage-deflate;;;,,',
      '"permessage-deflate"',
      'permessage-deflate; x="unterminated',
      'x-webkit-deflate-frame',
      ',',
      'p'.repeat(8_000),
    ];
    for (const offer of offers) {
      const reply = await rawRequest(
        gw.gateway.port,
        upgradeRequest('/', [`Sec-WebSocket-Extensions: ${offer}`]),
      );
      expect(reply.status, offer).toBe(101);
      expect(reply.text.toLowerCase(), offer).not.toContain('sec-websocket-extensions');
    }
    const c = await TestClient.connect(gw.url);
    expect(await c.request({ op: 'ping' })).toMatchObject({ op: 'pong' });
    c.close();
  });

  it('sends plain frames to a client that limited server_max_window_bits below 15', async () => {
    gw = await startGateway();
    const narrow = await rawSubscriber(gw, 'room', [
      'Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10',
    ]);
    const wide = await rawSubscriber(gw, 'room');
    const pub = await TestClient.connect(gw.url);
    const value = chat(4_000);
    expect(await pub.pub('room', value)).toMatchObject({ op: 'ack' });
    for (const s of [narrow, wide]) await waitFor(() => s.frames.some((f) => textOf(f).includes('"msg"')));
    const msgOf = (s: { frames: WireFrame[] }) => s.frames.find((f) => textOf(f).includes('"msg"'))!;
    expect(msgOf(narrow).rsv1).toBe(false);
    expect(msgOf(wide).rsv1).toBe(true);
    expect(decodeServerJson(textOf(msgOf(narrow)))).toEqual(decodeServerJson(textOf(msgOf(wide))));
    pub.close();
  });
});

describe('outbound: compressed once per broadcast', () => {
  it('deflates a large message once per wire shape, shares it, and keeps small ones plain', async () => {
    gw = await startGateway({ WSGW_COMPRESSION_MIN_BYTES: '512' });
    const deflating = await Promise.all(Array.from({ length: 20 }, () => TestClient.connect(gw!.url)));
    const protoDeflating = await Promise.all(
      Array.from({ length: 5 }, () => TestClient.connect(gw!.url, { proto: true })),
    );
    const plain = await Promise.all(
      Array.from(
        { length: 5 },
        () => new TestClient(new WebSocket(gw!.url, { perMessageDeflate: false }), false),
      ),
    );
    await Promise.all(plain.map((c) => c.opened));
    const raw = await rawSubscriber(gw, 'room');
    const rawPlain = await rawSubscriber(gw, 'room', []);
    const all = [...deflating, ...protoDeflating, ...plain];
    for (const c of all) await c.sub('room');
    const before = await metrics(gw);

    const big = chat(8_000);
    const small = { text: 'hi' };
    const pub = await TestClient.connect(gw.url, { headers: {} });
    expect(await pub.pub('room', big)).toMatchObject({ op: 'ack' });
    expect(await pub.pub('room', small)).toMatchObject({ op: 'ack' });
    for (const c of all) await waitFor(() => c.messages('room').length === 2);
    for (const c of all) expect(c.data('room')).toEqual([big, small]);
    const msgFrames = (s: { frames: WireFrame[] }) => s.frames.filter((f) => textOf(f).includes('"msg"'));
    await waitFor(() => msgFrames(raw).length === 2 && msgFrames(rawPlain).length === 2);

    // On the wire: the large message compressed (RSV1) to the client that negotiated, the small
    // one plain; everything plain to the client that did not.
    const [bigFrame, smallFrame] = msgFrames(raw);
    expect(bigFrame!.rsv1).toBe(true);
    expect(bigFrame!.payload.length).toBeLessThan(msgFrames(rawPlain)[0]!.payload.length / 3);
    expect(smallFrame!.rsv1).toBe(false);
    expect(msgFrames(rawPlain).map((f) => f.rsv1)).toEqual([false, false]);
    expect(textOf(bigFrame!)).toBe(msgFrames(rawPlain)[0]!.payload.toString());

    // One compression per wire shape (JSON, protobuf) for 32 deliveries of the large message.
    const after = await metrics(gw);
    expect(
      metric(after, 'wsgw_compressed_frames_total') - metric(before, 'wsgw_compressed_frames_total'),
    ).toBe(2);
    expect(
      metric(after, 'wsgw_messages_out_total') - metric(before, 'wsgw_messages_out_total'),
    ).toBeGreaterThan(60);
    for (const c of [...all, pub]) c.close();
  });

  it('sends an incompressible payload plain, even above the threshold', async () => {
    gw = await startGateway();
    const raw = await rawSubscriber(gw, 'noise');
    const pub = await TestClient.connect(gw.url, { proto: true });
    const noise = Buffer.from(Array.from({ length: 4_000 }, () => Math.floor(Math.random() * 256)));
    expect(
      await pub.request({ op: 'pub', ch: 'noise', contentType: 'application/octet-stream', payload: noise }),
    ).toMatchObject({ op: 'ack' });
    await waitFor(() => raw.frames.some((f) => textOf(f).includes('"msg"')));
    // base64 in JSON: compressible a little (6 bits per character), so it may go either way;
    // the protobuf client gets the raw bytes, which deflate cannot shrink.
    const protoRaw = await rawWebSocket(gw.gateway.port, '/', [
      OFFER,
      'Sec-WebSocket-Protocol: wsgw.v1.proto',
    ]);
    sockets.push(protoRaw);
    const frames: WireFrame[] = [];
    collectFrames(protoRaw, frames);
    const { encodeClientProto } = await import('../../services/shared/src/frames.js');
    protoRaw.write(clientFrame(0x2, Buffer.from(encodeClientProto({ op: 'sub', ch: 'noise', id: 1 }))));
    await waitFor(() => frames.length >= 1);
    expect(
      await pub.request({ op: 'pub', ch: 'noise', contentType: 'application/octet-stream', payload: noise }),
    ).toMatchObject({ op: 'ack' });
    await waitFor(() => frames.some((f) => f.payload.length > 4_000));
    expect(frames.find((f) => f.payload.length > 4_000)!.rsv1).toBe(false);
    pub.close();
  });
});

describe('inbound: compressed client frames', () => {
  it('inflates in the shared pool and leaves no zlib context on the socket', async () => {
    gw = await startGateway();
    const sub = await TestClient.connect(gw.url);
    await sub.sub('in');
    // ws compresses client messages of 1 KiB and more (its threshold with no context takeover).
    const pub = await TestClient.connect(gw.url);
    const value = chat(6_000);
    for (let i = 0; i < 3; i++) expect(await pub.pub('in', { i, value })).toMatchObject({ op: 'ack' });
    await waitFor(() => sub.messages('in').length === 3);
    expect(sub.data('in')).toEqual([0, 1, 2].map((i) => ({ i, value })));
    const text = await metrics(gw);
    expect(metric(text, 'wsgw_inflated_frames_total')).toBeGreaterThanOrEqual(3);
    const exts = sessionsOf(gw)
      .list()
      .map((conn) => extensionOfConn(conn.ws));
    expect(exts).toHaveLength(2);
    for (const ext of exts) {
      // Not ws's PerMessageDeflate (which would create a zlib stream of its own on the first
      // compressed frame): the gateway's small object, with no zlib stream and nothing retained.
      expect(ext).toBeDefined();
      expect(ext!.constructor.name).toBe('SocketInflate');
      expect(Object.values(ext!).filter((v) => v instanceof Object && 'flush' in v)).toEqual([]);
      expect(Object.values(ext!).filter((v) => Buffer.isBuffer(v) || Array.isArray(v))).toEqual([]);
    }
    // Sockets that negotiated the same parameters share one params object.
    expect(exts[0]!.params).toBe(exts[1]!.params);
    sub.close();
    pub.close();
  });

  it('inflates a compressed message sent in fragments', async () => {
    gw = await startGateway();
    const sub = await TestClient.connect(gw.url);
    await sub.sub('frag');
    const socket = await rawWebSocket(gw.gateway.port, '/', [OFFER]);
    sockets.push(socket);
    const frames: WireFrame[] = [];
    collectFrames(socket, frames);
    const value = chat(3_000);
    const z = deflateRawSync(Buffer.from(JSON.stringify({ op: 'pub', ch: 'frag', id: 7, data: value })), {
      finishFlush: constants.Z_SYNC_FLUSH,
    });
    const body = z.subarray(0, z.length - 4);
    const cut = [0, Math.floor(body.length / 3), Math.floor((2 * body.length) / 3), body.length];
    socket.write(clientFrame(0x1, body.subarray(cut[0], cut[1]), { fin: false, rsv: 4 }));
    socket.write(clientFrame(0x0, body.subarray(cut[1], cut[2]), { fin: false }));
    socket.write(clientFrame(0x0, body.subarray(cut[2], cut[3])));
    await waitFor(() => sub.messages('frag').length === 1);
    expect(sub.data('frag')).toEqual([value]);
    await waitFor(() => frames.some((f) => f.payload.toString().includes('"ack"')));
    // The fragments were kept only while the message was arriving.
    const conn = sessionsOf(gw)
      .list()
      .find((c) => extensionOfConn(c.ws) !== undefined)!;
    expect(Object.values(extensionOfConn(conn.ws)!).filter((v) => Array.isArray(v))).toEqual([]);
    sub.close();
  });

  it('closes a decompression bomb with 1009 and garbage with 1007, counts both, loses nothing acknowledged', async () => {
    gw = await startGateway({ WSGW_MAX_PAYLOAD_BYTES: '65536' });
    const sub = await TestClient.connect(gw.url);
    await sub.sub('safe');
    const bystander = await TestClient.connect(gw.url);

    const attack = async (payload: Buffer): Promise<number> => {
      const socket = await rawWebSocket(gw!.gateway.port, '/', [OFFER]);
      sockets.push(socket);
      const frames: WireFrame[] = [];
      collectFrames(socket, frames);
      // An acknowledged publish first: it must reach the subscriber whatever follows.
      const z = deflateRawSync(
        Buffer.from(JSON.stringify({ op: 'pub', ch: 'safe', id: 1, data: 'before' })),
        {
          finishFlush: constants.Z_SYNC_FLUSH,
        },
      );
      socket.write(clientFrame(0x1, z.subarray(0, z.length - 4), { rsv: 4 }));
      await waitFor(() => frames.some((f) => f.payload.toString().includes('"ack"')));
      socket.write(clientFrame(0x1, payload, { rsv: 4 }));
      await waitFor(() => frames.some((f) => f.opcode === 0x8), 5_000, 'close frame');
      return frames.find((f) => f.opcode === 0x8)!.payload.readUInt16BE(0);
    };

    // 64 MiB of zeros deflate to about 64 KB... one 16 MiB run, about 16 KB on the wire.
    const bomb = deflateRawSync(Buffer.alloc(16 * 1024 * 1024), { finishFlush: constants.Z_SYNC_FLUSH });
    expect(bomb.length).toBeLessThan(65_536);
    const rssBefore = process.memoryUsage().rss;
    expect(await attack(bomb.subarray(0, bomb.length - 4))).toBe(1009);
    // Refused at the limit: the 16 MiB were never held.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(12 * 1024 * 1024);
    expect(await attack(Buffer.from([0xff, 0xfe, 0x13, 0x37, 0x00, 0x42, 0x99]))).toBe(1007);
    // A bomb small enough to be inflated inline (inflate-inline.ts): 200,000 zeros in ~210 bytes.
    const small = deflateRawSync(Buffer.alloc(200_000), { level: 9, finishFlush: constants.Z_SYNC_FLUSH });
    expect(small.length - 4).toBeLessThanOrEqual(INLINE_INFLATE_MAX_BYTES);
    expect(await attack(small.subarray(0, small.length - 4))).toBe(1009);

    const text = await metrics(gw);
    expect(metric(text, 'wsgw_inflate_failures_total{reason="too_large"}')).toBe(2);
    expect(metric(text, 'wsgw_inflate_failures_total{reason="bad_data"}')).toBe(1);
    await waitFor(() => sub.messages('safe').length === 3);
    expect(sub.data('safe')).toEqual(['before', 'before', 'before']);
    expect(await bystander.request({ op: 'ping' })).toMatchObject({ op: 'pong' });
    expect(bystander.closed).toBeUndefined();
    sub.close();
    bystander.close();
  });

  it('serves many compressing clients at once through the bounded pool', async () => {
    gw = await startGateway();
    const sub = await TestClient.connect(gw.url);
    await sub.sub('many');
    const clients = await Promise.all(Array.from({ length: 30 }, () => TestClient.connect(gw!.url)));
    const value = chat(2_000);
    const replies = await Promise.all(clients.map((c, i) => c.pub('many', { i, value })));
    expect(replies.every((r) => r.op === 'ack')).toBe(true);
    await waitFor(() => sub.messages('many').length === 30);
    expect(new Set(sub.data('many').map((d) => (d as { i: number }).i)).size).toBe(30);
    for (const c of [...clients, sub]) c.close();
  });
});
