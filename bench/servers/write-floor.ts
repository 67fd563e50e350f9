/**
 * The write floor: what one small write to a loopback TCP socket costs in CPU, with nothing else
 * in the process. Every server in the suite pays at least this per delivery when it sends one frame
 * per socket per event-loop turn (the case at low, equal load), so it bounds the ratios any server
 * can reach there.
 *
 *   write-floor.ts <connections> <rounds> <intervalMs> <frameBytes>   prints one JSON line
 *   write-floor.ts --sink <port> <connections>                        (its own reading peer)
 *
 * The writer accepts `connections` sockets from a sink process it starts, then every `intervalMs`
 * writes one pre-built frame to each socket, `rounds` times, and reports its own CPU time over
 * the writes only.
 */
import { createServer, connect, type Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

if (process.argv[2] === '--sink') {
  const port = Number(process.argv[3]);
  const n = Number(process.argv[4]);
  for (let i = 0; i < n; i++)
    connect(port, '127.0.0.1')
      .on('data', () => {})
      .on('error', () => process.exit(1));
  // Ends with its parent (the IPC channel closes).
  process.on('disconnect', () => process.exit(0));
} else {
  const [n, rounds, intervalMs, frameBytes] = process.argv.slice(2).map(Number) as [
    number,
    number,
    number,
    number,
  ];
  // An unmasked WebSocket text frame, as a server sends it: 2-byte header, then the payload.
  const frame = Buffer.alloc(frameBytes, 0x61);
  frame[0] = 0x81;
  frame[1] = frameBytes - 2;
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    s.setNoDelay(true);
    sockets.push(s);
    if (sockets.length === n)
      run().catch((err: unknown) => {
        process.stderr.write(`write-floor: ${String(err)}\n`);
        process.exit(1);
      });
  });
  server.listen(0, '127.0.0.1', () => {
    const port = (server.address() as { port: number }).port;
    const sink = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--sink', String(port), String(n)],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    sink.on('exit', (code) => {
      if (sockets.length < n) {
        process.stderr.write(`write-floor: sink exited (${code}) before connecting\n`);
        process.exit(1);
      }
    });
  });
  const run = async () => {
    await new Promise((r) => setTimeout(r, 200));
    const cpu0 = process.cpuUsage();
    let writes = 0;
    for (let r = 0; r < rounds; r++) {
      for (const s of sockets) {
        s.write(frame);
        writes++;
      }
      await new Promise((res) => setTimeout(res, intervalMs));
    }
    const cpu = process.cpuUsage(cpu0);
    process.stdout.write(
      JSON.stringify({ connections: n, writes, frameBytes, userUs: cpu.user, systemUs: cpu.system }) + '\n',
    );
    process.exit(0);
  };
}
