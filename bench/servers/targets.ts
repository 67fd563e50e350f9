/**
 * Starting and stopping the servers under test: the gateway (the real entry point, embedded mode,
 * one process or a cluster of them) and its two peers, each with the settings the load needs.
 */
import { fork, spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Target, TargetKind } from '../load/wire.js';
import { childrenOf } from '../lib/proc.js';
import { quiesce, sleep } from '../lib/util.js';
import type { ServerReport } from './ipc.js';
import type { Certificate } from './tls.js';
import { ensureRedisServer } from '../../scripts/redis/server.mjs';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GATEWAY_MAIN = join(ROOT, 'dist', 'services', 'gateway', 'src', 'main.js');
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

/** A server under test, running. */
export interface Running {
  readonly kind: TargetKind;
  readonly target: Target;
  /** Processes whose CPU and memory count as the server's. */
  serverPids(): number[];
  /** Helper processes measured separately (Socket.IO's Redis). */
  helperPids(): number[];
  /** V8 heap in use, summed over the server processes, when it can be read. */
  heapUsed(): Promise<number | undefined>;
  /** Bytes the server has written to its log (stdout) since it started; undefined for the peers. */
  logBytes(): number | undefined;
  /**
   * Runs a full garbage collection in every server process and waits for it to finish; present
   * only for a gateway started with `collectable` (gc-signal.ts).
   */
  collect?(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Gateway settings for benchmarking: limits meant for untrusted clients (per-connection rate limit,
 * idle disconnect, 1 MiB outbound buffer) are raised so that they do not shape the measurement.
 */
export const GATEWAY_BENCH_ENV: Readonly<Record<string, string>> = {
  WSGW_HOST: '127.0.0.1',
  WSGW_LOG_LEVEL: 'info',
  WSGW_RATE_LIMIT_PER_SEC: '1000000',
  WSGW_RATE_LIMIT_BURST: '1000000',
  WSGW_MAX_CONNECTIONS: '1000000',
  WSGW_MAX_BUFFERED_BYTES: String(64 * 1024 * 1024),
  WSGW_IDLE_TIMEOUT_MS: '0',
};

/** Compiles the services the way `npm run build` does. */
export function buildGateway(): void {
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')],
    { cwd: ROOT, stdio: 'inherit' },
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

function waitForLine(
  child: ChildProcess,
  test: (line: string) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const errs: string[] = [];
    const timer = setTimeout(
      () => reject(new Error(`${what}: not ready within ${timeoutMs} ms\n${errs.join('')}`)),
      timeoutMs,
    );
    child.stderr?.on('data', (d: Buffer) => errs.push(d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before it was ready\n${errs.join('')}`));
    });
    child.stdout!.on('data', function onData(d: Buffer) {
      buf += d.toString();
      for (const line of buf.split('\n')) {
        if (test(line)) {
          clearTimeout(timer);
          child.stdout!.off('data', onData);
          child.stdout!.resume();
          return resolve(line);
        }
      }
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    // SIGKILL-free fast path: the gateway drains on SIGTERM, which a benchmark need not wait for.
    child.kill('SIGKILL');
  });
}

async function gatewayHeap(metricsPort: number): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const m = /^wsgw_nodejs_heap_size_used_bytes (\S+)$/m.exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export interface GatewayOptions {
  /**
   * Start through tls-preload.ts (what a TLS gateway needs), so that a plain gateway compared with
   * a TLS one is the same program started the same way.
   */
  readonly preload?: boolean;
  /** Serve the public listener over TLS with this certificate (implies the preload). */
  readonly tls?: Certificate;
  /** Start one process with gc-signal.ts, so that {@link Running.collect} can force a collection. */
  readonly collectable?: boolean;
}

/**
 * The gateway, as `npm start` runs it (`processes` > 1: a cluster behind one port); `extraEnv`
 * adds settings (a Kafka bus, a JWT secret), `query` goes on every client's upgrade URL.
 */
export async function startGateway(
  processes = 1,
  extraEnv: Readonly<Record<string, string>> = {},
  query?: string,
  opts: GatewayOptions = {},
): Promise<Running> {
  const port = await freePort();
  const metricsPort = await freePort();
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    ...GATEWAY_BENCH_ENV,
    ...extraEnv,
    ...opts.tls?.env,
    PORT: String(port),
    WSGW_METRICS_PORT: String(metricsPort),
  };
  if (opts.collectable && processes !== 1) throw new Error('collectable: one gateway process only');
  const preload = [
    ...(opts.collectable ? ['--expose-gc', '--import', 'tsx', '--import', here('./gc-signal.ts')] : []),
    ...(opts.preload || opts.tls
      ? [...(opts.collectable ? [] : ['--import', 'tsx']), '--import', here('./tls-preload.ts')]
      : []),
  ];
  const args =
    processes === 1
      ? [...preload, GATEWAY_MAIN]
      : ['--import', 'tsx', here('./gateway-cluster.ts'), String(processes), GATEWAY_MAIN, ...preload];
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  await waitForLine(
    child,
    (l) => (processes === 1 ? l.includes('gateway listening') : l.startsWith('cluster listening')),
    'gateway',
  );
  // What the gateway logs is what CloudWatch Logs would ingest from a task.
  let logBytes = 0;
  child.stdout!.on('data', (d: Buffer) => (logBytes += d.length));
  // A gateway that dies mid-measurement must say so, or its figures read as nonsense later.
  let errTail = '';
  child.stderr!.on('data', (d: Buffer) => (errTail = (errTail + d.toString()).slice(-2_000)));
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping)
      process.stderr.write(
        `bench: gateway ${child.pid} exited during the run (${signal ?? code})\n${errTail}\n`,
      );
  });
  const serverPids = () => (processes === 1 ? [child.pid!] : childrenOf(child.pid!));
  return {
    kind: 'gateway',
    target: { kind: 'gateway', port, ...(query ? { query } : {}), ...(opts.tls ? { tls: true } : {}) },
    serverPids,
    helperPids: () => [],
    // With several processes /metrics reaches one of them; heap is reported for one process only.
    heapUsed: () => (processes === 1 ? gatewayHeap(metricsPort) : Promise.resolve(undefined)),
    logBytes: () => logBytes,
    ...(opts.collectable
      ? {
          collect: async () => {
            child.kill('SIGUSR2');
            await sleep(200);
            await quiesce(serverPids());
          },
        }
      : {}),
    stop: async () => {
      stopping = true;
      if (processes > 1) child.kill('SIGTERM');
      await stopChild(child);
    },
  };
}

async function forkPeer(
  kind: 'socketio' | 'ws',
  file: string,
  env: Record<string, string>,
  helpers: () => number[],
  onStop: () => Promise<void>,
): Promise<Running> {
  const child = fork(here(file), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${kind} server exited (${code})`)));
    child.on('message', function onMsg(m: ServerReport) {
      if (m.type === 'listening') {
        child.off('message', onMsg);
        resolve(m.port);
      }
    });
  });
  return {
    kind,
    target: { kind, port },
    serverPids: () => [child.pid!],
    helperPids: helpers,
    heapUsed: () =>
      new Promise((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 5_000);
        child.on('message', function onMsg(m: ServerReport) {
          if (m.type === 'memory') {
            clearTimeout(timer);
            child.off('message', onMsg);
            resolve(m.heapUsed);
          }
        });
        child.send({ type: 'memory' });
      }),
    logBytes: () => undefined,
    stop: async () => {
      await stopChild(child);
      await onStop();
    },
  };
}

/** The plain `ws` broadcast loop. */
export function startWsPeer(deflate = false): Promise<Running> {
  return forkPeer(
    'ws',
    './ws-server.ts',
    deflate ? { BENCH_DEFLATE: '1' } : {},
    () => [],
    async () => {},
  );
}

/** Socket.IO with its Redis adapter, plus the Redis it needs. */
export async function startSocketIoPeer(deflate = false): Promise<Running> {
  ensureRedisServer();
  const port = await freePort();
  const redis = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  await waitForLine(redis, (l) => l.includes('Ready to accept connections'), 'redis-server');
  try {
    return await forkPeer(
      'socketio',
      './socketio-server.ts',
      { REDIS_URL: `redis://127.0.0.1:${port}`, ...(deflate ? { BENCH_DEFLATE: '1' } : {}) },
      () => [redis.pid!],
      () => stopChild(redis),
    );
  } catch (err) {
    await stopChild(redis);
    throw err;
  }
}

export function startTarget(kind: TargetKind): Promise<Running> {
  return kind === 'gateway' ? startGateway() : kind === 'socketio' ? startSocketIoPeer() : startWsPeer();
}
