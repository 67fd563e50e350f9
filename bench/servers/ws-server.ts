/**
 * The plain `ws` peer: the broadcast loop most hand-written WebSocket servers start with. A
 * channel is a Set of sockets; a publish is turned into one string and handed to `send` on every
 * subscriber, which frames and writes it once per socket.
 *
 * Speaks the same JSON operations as the gateway (`sub` with an ack, `pub`), so the benchmark
 * client drives it unchanged. Forked by the bench driver: reports its port and answers memory
 * queries over IPC.
 */
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { serveIpc } from './ipc.js';

const channels = new Map<string, Set<WebSocket>>();
const server = createServer();
// BENCH_DEFLATE=1: permessage-deflate as `perMessageDeflate: true` gives it (a zlib context per
// socket, context takeover unless the client declines it) with the threshold set to the gateway's
// default, 512 bytes instead of ws's 1 KiB, so that both compress the same messages.
const wss = new WebSocketServer({
  server,
  perMessageDeflate: process.env.BENCH_DEFLATE === '1' ? { threshold: 512 } : false,
  clientTracking: false,
});

wss.on('connection', (ws) => {
  const mine = new Set<string>();
  ws.on('message', (raw) => {
    let m: { op?: unknown; ch?: unknown; id?: unknown; data?: unknown };
    try {
      m = JSON.parse(raw.toString()) as typeof m;
    } catch {
      return;
    }
    if (typeof m.ch !== 'string') return;
    if (m.op === 'sub') {
      let set = channels.get(m.ch);
      if (set === undefined) channels.set(m.ch, (set = new Set()));
      set.add(ws);
      mine.add(m.ch);
      if (typeof m.id === 'number') ws.send(`{"op":"ack","id":${m.id}}`);
    } else if (m.op === 'pub') {
      const set = channels.get(m.ch);
      if (set === undefined) return;
      const out = JSON.stringify({ op: 'msg', ch: m.ch, data: m.data });
      for (const c of set) c.send(out);
    }
  });
  ws.on('close', () => {
    for (const ch of mine) {
      const set = channels.get(ch);
      set?.delete(ws);
      if (set?.size === 0) channels.delete(ch);
    }
  });
  ws.on('error', () => {});
});

server.listen(0, '127.0.0.1', () => serveIpc(server));
