/**
 * The load generator's WebSocket client: RFC 6455 over a raw `net.Socket`, just enough of it to
 * open connections, send small frames and count what arrives.
 *
 * Why not the `ws` client: a benchmark client must cost far less per message and per connection
 * than the servers it measures, or the figures describe the client. This one keeps no per-frame
 * objects (frames are walked in place in the received chunk), shares its listener functions
 * between sockets, and only looks inside a frame for the publish timestamp. All three servers are
 * driven by this same client, so the load is identical.
 */
import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { constants, deflateRawSync } from 'node:zlib';

/** Which server family a client talks to; decides the handshake and the message shapes. */
export type TargetKind = 'gateway' | 'socketio' | 'ws';

export interface Target {
  readonly kind: TargetKind;
  readonly port: number;
  /** Query string for the upgrade request (e.g. `token=…` for a gateway that requires a JWT). */
  readonly query?: string;
  /**
   * Connect over TLS (the server's certificate is a self-signed one made for the run, so it is not
   * verified). Every connection makes a full handshake: no session is resumed.
   */
  readonly tls?: boolean;
  /**
   * Offer permessage-deflate ({@link DEFLATE_OFFER}). The client never inflates: a compressed data
   * frame counts as a delivery without latency (it cannot see the publish time), and what it
   * measures is the bytes.
   */
  readonly deflate?: boolean;
  /**
   * Against the gateway: send one app-level ping once open, as a browser's SDK does every 20 s
   * (compressed when {@link deflate}, so that the server has inflated a frame from every socket).
   */
  readonly pingOnOpen?: boolean;
}

const OP_TEXT = 0x1;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

/** Marker of a benchmark message inside any server's frame: the publish time key. */
const STAMP = Buffer.from('"bt":');
/** The stamp sits in the first bytes of every message shape (see {@link payloadFor}). */
const STAMP_WINDOW = 96;

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export const clock = (): number => performance.timeOrigin + performance.now();

/**
 * A client frame. Clients must mask; the mask key is all zeros, which leaves the payload as it is
 * and lets frames be built with one copy. Servers accept any key (RFC 6455 §5.3 asks clients for
 * an unpredictable key to protect proxies; there are none on loopback).
 */
export function clientFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const headerLen = (len < 126 ? 2 : len < 65_536 ? 4 : 10) + 4;
  const out = Buffer.allocUnsafe(headerLen + len);
  out[0] = 0x80 | opcode;
  if (len < 126) {
    out[1] = 0x80 | len;
  } else if (len < 65_536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(0, 2);
    out.writeUInt32BE(len, 6);
  }
  out.writeUInt32BE(0, headerLen - 4);
  payload.copy(out, headerLen);
  return out;
}

const textFrame = (s: string): Buffer => clientFrame(OP_TEXT, Buffer.from(s, 'utf8'));

/** `{"op":"ping","id":1}` compressed as one permessage-deflate message (RSV1 set). */
const DEFLATED_PING = ((): Buffer => {
  const z = deflateRawSync(Buffer.from('{"op":"ping","id":1}'), { finishFlush: constants.Z_SYNC_FLUSH });
  const f = clientFrame(OP_TEXT, z.subarray(0, z.length - 4));
  f[0]! |= 0x40;
  return f;
})();
const PONG = clientFrame(OP_PONG, Buffer.alloc(0));
const EIO_PONG = textFrame('3');
const SIO_CONNECT = textFrame('40');

/** What the connection owner hears about. All callbacks are shared, never per connection. */
export interface ClientEvents {
  /** Handshake finished (for Socket.IO: namespace joined); the client may now subscribe. */
  open(c: WireClient): void;
  /** A subscription was acknowledged. */
  subscribed(c: WireClient): void;
  /**
   * A benchmark message arrived, in a frame of `frameBytes` (header included); `sentAt` is its
   * publish time and `latencyMs` receive time minus that, both NaN for a compressed frame.
   */
  message(c: WireClient, sentAt: number, latencyMs: number, frameBytes: number): void;
  /** The connection failed or closed; `opened` tells whether the handshake had finished. */
  closed(c: WireClient, opened: boolean, reason: string): void;
  /** The gateway answered an app-level `ping` (optional: only the keep-alive measurements listen). */
  pong?(c: WireClient): void;
  /** The server sent a WebSocket ping, which the client has answered (optional, as `pong`). */
  ping?(c: WireClient): void;
}

const KEY = 'd3NndyBiZW5jaCBrZXkhIQ==';

/**
 * What the client offers: a browser's offer plus `server_no_context_takeover`. Without it ws (under
 * both peers) compresses every message of a socket against that socket's earlier ones, acks and
 * Engine.IO packets included, and a client would have to inflate everything it receives, in
 * order, to read any of it: more CPU than the servers it measures. With it, every server
 * compresses each message on its own, as the gateway always does, and below its threshold not at
 * all. docs/benchmarks.md says what context takeover would change.
 */
const DEFLATE_OFFER = 'permessage-deflate; server_no_context_takeover; client_max_window_bits';

function upgradeRequest(t: Target): string {
  const path =
    t.kind === 'socketio' ? '/socket.io/?EIO=4&transport=websocket' : t.query ? `/?${t.query}` : '/';
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${t.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n` +
    (t.kind === 'gateway' ? 'Sec-WebSocket-Protocol: wsgw.v1.json\r\n' : '') +
    (t.deflate ? `Sec-WebSocket-Extensions: ${DEFLATE_OFFER}\r\n` : '') +
    '\r\n'
  );
}

/** A subscribe request with an id, so every server answers with an acknowledgement. */
function subFrame(kind: TargetKind, ch: string, id: number): Buffer {
  const c = JSON.stringify(ch);
  return textFrame(kind === 'socketio' ? `42${id}["sub",${c}]` : `{"op":"sub","ch":${c},"id":${id}}`);
}

/**
 * The SDK's app-level keep-alive, `{"op":"ping","id":n}`, as the gateway's JSON protocol defines it
 * (what `WsgwClient` sends every `pingIntervalMs`).
 */
export const pingFrame = (id: number): Buffer => textFrame(`{"op":"ping","id":${id}}`);

/** A publish without an id: fire and forget, as a backend streaming updates would. */
export function pubFrame(kind: TargetKind, ch: string, data: string): Buffer {
  const c = JSON.stringify(ch);
  return textFrame(
    kind === 'socketio' ? `42["pub",{"ch":${c},"data":${data}}]` : `{"op":"pub","ch":${c},"data":${data}}`,
  );
}

/**
 * A JSON payload of exactly `size` bytes whose first key is the publish time, so receivers find it
 * within {@link STAMP_WINDOW} bytes whatever the server wraps around it.
 */
export function payloadFor(size: number, now: number): string {
  const head = `{"bt":${now.toFixed(3)},"p":"`;
  const pad = Math.max(0, size - head.length - 2);
  return head + 'x'.repeat(pad) + '"}';
}

type Phase = 'http' | 'ws';

export class WireClient {
  /** Channels to subscribe to once open. */
  readonly channels: readonly string[];
  /** Owner's slot for bookkeeping (e.g. the time the connect started). */
  startedAt = 0;
  opened = false;
  subscribedCount = 0;
  private phase: Phase = 'http';
  private pending: Buffer | undefined;
  private done = false;
  private readonly socket: Socket;

  constructor(
    readonly target: Target,
    localAddress: string,
    channels: readonly string[],
    private readonly events: ClientEvents,
  ) {
    this.channels = channels;
    const tcp = connect({ host: '127.0.0.1', port: target.port, localAddress, noDelay: true });
    this.socket = target.tls
      ? connectTls({ socket: tcp, servername: 'localhost', rejectUnauthorized: false })
      : tcp;
    (this.socket as Socket & { [kClient]?: WireClient })[kClient] = this;
    // Over TLS the upgrade request waits for the handshake, so `open` marks both.
    this.socket.on(target.tls ? 'secureConnect' : 'connect', onConnect);
    this.socket.on('data', onData);
    this.socket.on('error', onError);
    this.socket.on('close', onClose);
  }

  /** Sends the subscribe requests for {@link channels}. */
  subscribe(): void {
    let id = 1;
    for (const ch of this.channels) this.socket.write(subFrame(this.target.kind, ch, id++));
  }

  write(frame: Buffer): void {
    if (!this.done) this.socket.write(frame);
  }

  /** Bytes this client's socket has not handed to the kernel yet (publisher pacing). */
  get backlog(): number {
    return this.socket.writableLength;
  }

  close(): void {
    this.socket.destroy();
  }

  /** @internal */
  connected(): void {
    this.socket.write(upgradeRequest(this.target));
  }

  /** @internal */
  finish(reason: string): void {
    if (this.done) return;
    this.done = true;
    this.events.closed(this, this.opened, reason);
  }

  /** @internal */
  data(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending !== undefined) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let at = 0;
    if (this.phase === 'http') {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        this.pending = buf;
        return;
      }
      if (buf.toString('latin1', 0, 12) !== 'HTTP/1.1 101') {
        this.finish(`upgrade refused: ${buf.toString('latin1', 0, Math.min(end, 120)).split('\r\n')[0]}`);
        this.socket.destroy();
        return;
      }
      this.phase = 'ws';
      at = end + 4;
      // Socket.IO opens its namespace with an extra round trip; the others are open now.
      if (this.target.kind === 'socketio') this.socket.write(SIO_CONNECT);
      else this.markOpen();
    }
    const n = buf.length;
    while (at + 2 <= n) {
      const b1 = buf[at + 1]!;
      let len = b1 & 0x7f;
      let hdr = 2;
      if (len === 126) {
        if (at + 4 > n) break;
        len = buf.readUInt16BE(at + 2);
        hdr = 4;
      } else if (len === 127) {
        if (at + 10 > n) break;
        len = buf.readUInt32BE(at + 6);
        hdr = 10;
      }
      if (at + hdr + len > n) break;
      this.frame(buf[at]!, buf, at + hdr, at + hdr + len);
      at += hdr + len;
    }
    if (at < n) this.pending = buf.subarray(at);
  }

  private markOpen(): void {
    this.opened = true;
    if (this.target.pingOnOpen && this.target.kind === 'gateway')
      this.socket.write(this.target.deflate ? DEFLATED_PING : pingFrame(1));
    this.events.open(this);
  }

  private frame(b0: number, buf: Buffer, start: number, end: number): void {
    const opcode = b0 & 0x0f;
    const frameBytes = end - start + (end - start < 126 ? 2 : end - start < 65_536 ? 4 : 10);
    // Only benchmark messages are large enough to be compressed (acks, pongs and Engine.IO
    // packets stay below every server's threshold).
    if ((b0 & 0x40) !== 0) {
      this.events.message(this, NaN, NaN, frameBytes);
      return;
    }
    if (opcode === OP_PING) {
      this.socket.write(PONG);
      this.events.ping?.(this);
      return;
    }
    if (opcode === OP_CLOSE) {
      this.finish(`closed by server (${end - start >= 2 ? buf.readUInt16BE(start) : 'no code'})`);
      this.socket.destroy();
      return;
    }
    if (opcode !== OP_TEXT) return;
    const s = buf.subarray(start, Math.min(end, start + STAMP_WINDOW)).indexOf(STAMP);
    if (s >= 0) {
      const sentAt = readNumber(buf, start + s + STAMP.length, end);
      this.events.message(this, sentAt, clock() - sentAt, frameBytes);
      return;
    }
    if (this.target.kind === 'socketio') {
      const first = buf[start];
      const second = buf[start + 1];
      if (first === 0x32 && end - start === 1)
        this.socket.write(EIO_PONG); // "2": Engine.IO ping
      else if (first === 0x34 && second === 0x30)
        this.markOpen(); // "40{...}": namespace joined
      else if (first === 0x34 && second === 0x33) this.ack(); // "43<id>[...]": event ack
      return;
    }
    // {"op":"ack",...}: the gateway's and the plain ws server's acknowledgement.
    if (buf[start + 7] === 0x61 && buf.toString('latin1', start, start + 12) === '{"op":"ack",') this.ack();
    else if (buf[start + 7] === 0x70 && buf.toString('latin1', start, start + 12) === '{"op":"pong"')
      this.events.pong?.(this);
  }

  private ack(): void {
    if (++this.subscribedCount === this.channels.length) this.events.subscribed(this);
  }
}

const kClient = Symbol('wire.client');
type ClientSocket = Socket & { [kClient]?: WireClient };

function onConnect(this: ClientSocket): void {
  this[kClient]!.connected();
}
function onData(this: ClientSocket, chunk: Buffer): void {
  this[kClient]!.data(chunk);
}
function onError(this: ClientSocket, err: Error): void {
  this[kClient]!.finish(err.message);
}
function onClose(this: ClientSocket): void {
  this[kClient]!.finish('socket closed');
}

/** Parses the decimal number at `at` (digits and one dot) without allocating. */
function readNumber(buf: Buffer, at: number, end: number): number {
  let v = 0;
  let scale = 0;
  for (let i = at; i < end; i++) {
    const c = buf[i]!;
    if (c === 0x2e) {
      scale = 1;
    } else if (c >= 0x30 && c <= 0x39) {
      v = v * 10 + (c - 0x30);
      if (scale > 0) scale *= 10;
    } else {
      break;
    }
  }
  return scale > 0 ? v / scale : v;
}
