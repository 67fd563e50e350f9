/**
 * The Socket.IO peer: Socket.IO 4, WebSocket transport only, with `@socket.io/redis-adapter` on a
 * local Redis, set up the way its documentation recommends for several nodes. A channel is a room;
 * a publish is `io.to(ch).emit('msg', …)`, which the adapter encodes and frames once for all local
 * members and also publishes to Redis for the other nodes.
 *
 * Forked by the bench driver with REDIS_URL set; reports its port and memory over IPC.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import { serveIpc } from './ipc.js';

const url = process.env.REDIS_URL;
if (url === undefined) throw new Error('REDIS_URL is required');
const pub = createClient({ url });
const sub = pub.duplicate();
await Promise.all([pub.connect(), sub.connect()]);

const server = createServer();
const io = new Server(server, {
  transports: ['websocket'],
  // BENCH_DEFLATE=1: Socket.IO's per-socket compression (ws's, through Engine.IO) with the
  // threshold set to the gateway's default, 512 bytes (`true` would give Engine.IO's 1 KiB, which
  // leaves a 1 KiB message under it uncompressed and the comparison about different bytes).
  perMessageDeflate: process.env.BENCH_DEFLATE === '1' ? { threshold: 512 } : false,
  serveClient: false,
  adapter: createAdapter(pub, sub),
});

io.on('connection', (socket) => {
  socket.on('sub', (ch: unknown, ack?: () => void) => {
    if (typeof ch !== 'string') return;
    // The in-memory adapter joins synchronously; the Redis adapter's promise settles on its own.
    Promise.resolve(socket.join(ch)).catch(() => undefined);
    if (typeof ack === 'function') ack();
  });
  socket.on('pub', (m: { ch?: unknown; data?: unknown }) => {
    if (typeof m?.ch !== 'string') return;
    io.to(m.ch).emit('msg', { ch: m.ch, data: m.data });
  });
});

server.listen(0, '127.0.0.1', () => serveIpc(server));
