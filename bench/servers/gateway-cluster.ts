/**
 * Several gateway processes behind one port, for loads past one process's open-file limit: the
 * Node cluster primary accepts connections and hands each to a worker in turn (round-robin), so
 * every socket lives in exactly one worker and the primary keeps none. Each worker is the unchanged
 * gateway entry point in embedded mode.
 *
 * Usage: node --import tsx bench/servers/gateway-cluster.ts <workers> <gateway main.js> [node options for the workers…]
 * (PORT and the WSGW_* settings come from the environment.)
 */
import cluster from 'node:cluster';

const workers = Number(process.argv[2]);
const main = process.argv[3];
if (!(workers >= 1) || main === undefined)
  throw new Error('usage: gateway-cluster.ts <workers> <main.js> [node options…]');

cluster.schedulingPolicy = cluster.SCHED_RR;
cluster.setupPrimary({ exec: main, execArgv: process.argv.slice(4) });
let listening = 0;
for (let i = 0; i < workers; i++) {
  cluster.fork({ WSGW_NODE_ID: `bench-${i}` }).on('listening', () => {
    if (++listening === workers) process.stdout.write(`cluster listening ${workers}\n`);
  });
}
cluster.on('exit', (w, code) => {
  process.stderr.write(`gateway worker ${w.process.pid} exited (${code})\n`);
});
process.on('SIGTERM', () => {
  for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
  process.exit(0);
});
