/**
 * Raw TCP helpers for hostile-input tests: requests and WebSocket frames that no well-behaved
 * client library would send.
 */
import { createConnection, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

/** What came back for one raw request: the status line's code (0 when the socket closed without one). */
export interface RawReply {
  readonly status: number;
  readonly text: string;
}

/**
 * Sends `request` as it is and reads until the server closes, `timeoutMs` passes or the response
 * head has arrived (an accepted upgrade stays open, so the head is enough).
 */
export function rawRequest(port: number, request: string | Buffer, timeoutMs = 2_000): Promise<RawReply> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let text = '';
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, text });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('\r\n\r\n') && text.startsWith('HTTP/1.1 101')) finish();
    });
    socket.on('error', finish);
    socket.on('close', finish);
  });
}

/** A WebSocket upgrade request for `target` with the given extra header lines. */
export function upgradeRequest(target: string, headers: readonly string[] = []): string {
  const key = randomBytes(16).toString('base64');
  return [
    `GET ${target} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
    ...headers,
    '',
    '',
  ].join('\r\n');
}

/** Opens a WebSocket by hand and resolves with the socket once the 101 has arrived. */
export function rawWebSocket(port: number, target = '/', headers: readonly string[] = []): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let head = '';
    const onData = (d: Buffer): void => {
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      if (!head.startsWith('HTTP/1.1 101')) {
        socket.destroy();
        reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
        return;
      }
      resolve(socket);
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.on('connect', () => socket.write(upgradeRequest(target, headers)));
  });
}

/** One client frame, masked as RFC 6455 requires of clients (unless `mask` is false). */
export function clientFrame(
  opcode: number,
  payload: Buffer,
  opts: { fin?: boolean; rsv?: number; mask?: boolean } = {},
): Buffer {
  const fin = opts.fin ?? true;
  const mask = opts.mask ?? true;
  const len = payload.length;
  const head: number[] = [(fin ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | (opcode & 0x0f)];
  const m = mask ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65_536) head.push(m | 126, len >> 8, len & 0xff);
  else
    head.push(m | 127, 0, 0, 0, 0, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
  return Buffer.concat([Buffer.from(head), key, body]);
}

/** One server frame as it came off the wire. */
export interface WireFrame {
  readonly fin: boolean;
  readonly rsv1: boolean;
  readonly opcode: number;
  readonly payload: Buffer;
}

/**
 * Parses the server frames arriving on a raw socket (unmasked, as servers send them) into `into`,
 * as they come.
 */
export function collectFrames(socket: Socket, into: WireFrame[]): void {
  let buf = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (buf.length < 2) return;
      let len = buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      if (buf.length < off + len) return;
      into.push({
        fin: (buf[0]! & 0x80) !== 0,
        rsv1: (buf[0]! & 0x40) !== 0,
        opcode: buf[0]! & 0x0f,
        payload: buf.subarray(off, off + len),
      });
      buf = buf.subarray(off + len);
    }
  });
}
