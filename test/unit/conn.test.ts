/**
 * Conn on its own: the per-socket queue, its flush, the slow-consumer policy and the close. The
 * socket is a real Duplex whose writes stay pending until the test lets them through, standing in
 * for a kernel that stops taking bytes from a client that stops reading.
 */
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import { Conn } from '../../services/gateway/src/conn.js';
import { TokenBucket } from '../../services/gateway/src/rate-limit.js';
import type { Grant } from '../../services/gateway/src/auth.js';

const grant: Grant = {
  subject: undefined,
  expiresAt: undefined,
  canSubscribe: () => true,
  canPublish: () => true,
};

/** A socket whose writes complete only when released: what it holds is its writableLength. */
function socket(highWaterMark = 1 << 30) {
  const written: Buffer[] = [];
  const pending: Array<() => void> = [];
  const s = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, done) {
      written.push(chunk);
      pending.push(done);
    },
    writev(chunks, done) {
      for (const c of chunks) written.push(c.chunk as Buffer);
      pending.push(done);
    },
  });
  return { s, written, release: () => pending.splice(0).forEach((d) => d()), writes: () => written.length };
}

function conn(maxBuffered = 1_000) {
  const sock = socket();
  const calls: string[] = [];
  const ws = {
    _socket: sock.s,
    close: (code: number) => calls.push(`close ${code}`),
    terminate: () => calls.push('terminate'),
  } as unknown as WebSocket;
  return { c: new Conn(ws, false, grant, new TokenBucket(10, 10, 0), maxBuffered, 0), sock, calls };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('Conn#send', () => {
  it('queues frames of one turn and writes them together on the next', async () => {
    const { c, sock } = conn();
    expect(c.send(Buffer.from('a'))).toBe('queued');
    expect(c.send(Buffer.from('b'))).toBe('queued');
    expect(sock.written).toEqual([]);
    await turn();
    expect(Buffer.concat(sock.written).toString()).toBe('ab');
  });

  it('lets one frame through an empty buffer however large, and refuses what the socket cannot take', async () => {
    const { c, sock } = conn(1_000);
    expect(c.send(Buffer.alloc(5_000))).toBe('queued'); // larger than the limit: through an empty buffer
    await turn();
    expect(c.bufferedBytes).toBe(5_000); // the socket holds it (the client reads nothing)
    expect(c.send(Buffer.alloc(10))).toBe('overflow');
    sock.release();
    expect(c.bufferedBytes).toBe(0);
    expect(c.send(Buffer.alloc(10))).toBe('queued');
  });

  it('hands the queue to the socket before refusing: a client that keeps up is never closed for a burst', async () => {
    const sock = socket();
    const ws = { _socket: sock.s, close() {}, terminate() {} } as unknown as WebSocket;
    const c = new Conn(ws, false, grant, new TokenBucket(10, 10, 0), 1_000, 0);
    // The socket takes everything at once (a fast client): flushing makes room.
    sock.s._write = (chunk: Buffer, _e, done) => (sock.written.push(chunk), done());
    sock.s._writev = (chunks, done) => (chunks.forEach((x) => sock.written.push(x.chunk as Buffer)), done());
    for (let i = 0; i < 30; i++) expect(c.send(Buffer.alloc(100))).toBe('queued');
    await turn();
    expect(Buffer.concat(sock.written).length).toBe(3_000);
  });
});

describe('Conn#close', () => {
  it('writes what is queued before the close frame, then takes nothing more', () => {
    const { c, sock, calls } = conn();
    c.send(Buffer.from('last ack'));
    expect(c.close(4029, 'rate limited')).toBe(true);
    expect(Buffer.concat(sock.written).toString()).toBe('last ack');
    expect(calls).toEqual(['close 4029']);
    expect(c.send(Buffer.from('late'))).toBe('dropped');
    expect(c.close(1000, 'again')).toBe(false);
  });

  it('discards the queue of a slow consumer, and terminates if the peer never answers', async () => {
    const { c, sock, calls } = conn();
    c.send(Buffer.from('never sent'));
    c.close(4008, 'slow consumer', { discard: true, graceMs: 10 });
    await turn();
    expect(sock.written).toEqual([]);
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toEqual(['close 4008', 'terminate']);
  });
});
