/** The bench driver's side channel to the peer servers it forks: port at start, memory on request. */
import type { Server } from 'node:http';

/** Messages a forked peer server sends to the driver. */
export type ServerReport =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'memory'; readonly heapUsed: number; readonly rss: number };

export function serveIpc(server: Server): void {
  const a = server.address();
  const port = typeof a === 'object' && a !== null ? a.port : 0;
  process.send!({ type: 'listening', port } satisfies ServerReport);
  process.on('message', (m: { type?: string }) => {
    if (m.type === 'memory') {
      const u = process.memoryUsage();
      process.send!({ type: 'memory', heapUsed: u.heapUsed, rss: u.rss } satisfies ServerReport);
    }
  });
  process.on('disconnect', () => process.exit(0));
}
