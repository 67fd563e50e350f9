/**
 * What one gateway task can hold, and what moving TLS into it costs: the same gateway measured in
 * one run as a plain listener (TLS ends at an ALB in front) and as a TLS listener (an NLB passes
 * TCP), with the same client load. For each:
 *
 * - memory per idle connection: process RSS and V8 heap, the socket buffers the kernel charges
 *   (`ss -m`), and the kernel objects every socket needs (slab caches);
 * - CPU and bytes on the wire per keep-alive: a gateway ping and the client's pong, and an SDK
 *   `ping` with the gateway's `pong` (the bytes count TCP/IP headers and bare ACKs);
 * - CPU and bytes per delivery when every delivery is a write of its own (one message to every
 *   connection, at a rate far below what coalescing would need);
 * - CPU per handshake (TCP, TLS, WebSocket upgrade, one subscribe) in a storm of clients starting at
 *   once, and the handshakes per second the storm reached.
 *
 * CPU windows have the server's idle CPU over the same time subtracted. Every phase of a variant
 * runs before the next variant starts, and the variants alternate in each repeat, so that a busy
 * machine weighs on both alike; ratios within a repeat are the robust figures.
 */
import { connect as connectTls } from 'node:tls';
import type { ClientPool } from '../load/pool.js';
import { startGateway, type Running } from '../servers/targets.js';
import { makeCertificate, type Certificate, type KeyType } from '../servers/tls.js';
import {
  serverSockets,
  slabs,
  sockstatTcpBytes,
  tcpTimestampsOn,
  wireBytes,
  type SocketTotals,
} from '../lib/kernel.js';
import { sumCpu, sumRss } from '../lib/proc.js';
import { quiesce, sig, sleep } from '../lib/util.js';

export interface CapacityConfig {
  /** Connections held in the memory, keep-alive and delivery phases (one process). */
  readonly connections: number;
  /** Length of each CPU and byte measurement window. */
  readonly windowMs: number;
  /** Interval of the SDK-style pings in their window (each connection pings once per interval). */
  readonly clientPingMs: number;
  /** The gateway's ping interval (WSGW_PING_INTERVAL_MS) in the server-ping window. */
  readonly serverPingMs: number;
  /** Messages per second to the channel every connection holds: deliveries/s = connections × rate. */
  readonly publishRate: number;
  readonly payloadBytes: number;
  readonly stormClients: number;
  readonly repeats: number;
  /** Memory past one process's open-file limit: this many connections over several processes, plain and TLS. */
  readonly cluster?: { readonly processes: number; readonly connections: number };
}

export type Variant = 'plain' | 'tls-ecdsa-p256' | 'tls-rsa-2048';
export const VARIANT_LABELS: Readonly<Record<Variant, string>> = {
  plain: 'plain TCP',
  'tls-ecdsa-p256': 'TLS, ECDSA P-256',
  'tls-rsa-2048': 'TLS, RSA 2048',
};

/** Per-event figures of a window: CPU per event and bytes on the wire per event, each way. */
export interface PerEvent {
  readonly events: number;
  readonly cpuUs: number;
  readonly wireBytesOut: number;
  readonly wireBytesIn: number;
  readonly segmentsOut: number;
  readonly segmentsIn: number;
}

export interface VariantResult {
  readonly variant: Variant;
  readonly connections: number;
  readonly failed: number;
  readonly firstError?: string;
  readonly memory: {
    /** RSS of the gateway before the first connection: what the process holds with none. */
    readonly rssBeforeBytes: number;
    readonly rssPerConnBytes: number;
    readonly heapPerConnBytes: number | undefined;
    /** Socket buffers the kernel charges to the server's sockets (ss skmem), per connection. */
    readonly kernelBuffersPerConnBytes: number;
    /** Slab objects per socket (both ends of a loopback connection are alike, so half of the change). */
    readonly kernelObjectsPerSocketBytes: number | undefined;
    readonly slabObjectsPerSocket: Readonly<Record<string, number>> | undefined;
    /** /proc/net/sockstat TCP buffer memory after connecting, per connection (both ends). */
    readonly sockstatPerConnBytes: number;
  };
  /** Bytes the gateway logged per connection opened, subscribed and closed. */
  readonly logBytesPerConnection: number;
  readonly idleCpuPerSec: number;
  readonly clientPing: PerEvent & { readonly pongs: number };
  readonly serverPing: PerEvent;
  readonly delivery: PerEvent & { readonly published: number };
  readonly storm: {
    readonly clients: number;
    readonly opened: number;
    readonly handshakesPerSec: number;
    readonly cpuMsPerHandshake: number;
    /** Bytes on the wire per connection from the first SYN to the subscription acknowledged. */
    readonly wireBytesOut: number;
    readonly wireBytesIn: number;
  };
}

export interface CapacityResult {
  readonly config: CapacityConfig;
  readonly tls: {
    readonly protocol: string | null;
    readonly cipher: string;
    readonly certDerBytes: Readonly<Record<string, number>>;
  };
  readonly tcpTimestamps: boolean;
  readonly repeats: ReadonlyArray<ReadonlyArray<VariantResult>>;
  /** RSA only in the storm: its handshake is what differs. */
  readonly rsaStorm: ReadonlyArray<VariantResult['storm']>;
  readonly cluster?: ReadonlyArray<{
    readonly variant: Variant;
    readonly processes: number;
    readonly connections: number;
    readonly failed: number;
    readonly rssPerConnBytes: number;
  }>;
}

type Log = (s: string) => void;

const NO_PINGS_MS = '600000';

function delta(
  a: SocketTotals,
  b: SocketTotals,
): { out: number; in: number; segsOut: number; segsIn: number } {
  const segsOut = b.segsOut - a.segsOut;
  const segsIn = b.segsIn - a.segsIn;
  return {
    out: wireBytes(b.bytesSent - a.bytesSent, segsOut),
    in: wireBytes(b.bytesReceived - a.bytesReceived, segsIn),
    segsOut,
    segsIn,
  };
}

function perEvent(events: number, cpuSec: number, d: ReturnType<typeof delta>): PerEvent {
  const k = Math.max(1, events);
  return {
    events,
    cpuUs: sig((cpuSec * 1e6) / k),
    wireBytesOut: sig(d.out / k),
    wireBytesIn: sig(d.in / k),
    segmentsOut: sig(d.segsOut / k),
    segmentsIn: sig(d.segsIn / k),
  };
}

/** Server CPU and socket counters over a window in which `during` runs, less the idle CPU. */
async function window(
  run: Running,
  idleCpuPerSec: number,
  during: () => Promise<void>,
): Promise<{ cpu: number; d: ReturnType<typeof delta> }> {
  const port = run.target.port;
  const s0 = serverSockets(port);
  const c0 = sumCpu(run.serverPids());
  const t0 = performance.now();
  await during();
  const c1 = sumCpu(run.serverPids());
  const seconds = (performance.now() - t0) / 1000;
  const s1 = serverSockets(port);
  return { cpu: Math.max(0, c1 - c0 - idleCpuPerSec * seconds), d: delta(s0, s1) };
}

function options(
  variant: Variant,
  certs: ReadonlyMap<KeyType, Certificate>,
): { tls?: Certificate; preload: boolean } {
  if (variant === 'plain') return { preload: true };
  const cert = certs.get(variant === 'tls-ecdsa-p256' ? 'ecdsa-p256' : 'rsa-2048')!;
  return { tls: cert, preload: true };
}

async function storm(run: Running, pool: ClientPool, k: number): Promise<VariantResult['storm']> {
  await quiesce(run.serverPids());
  const c0 = sumCpu(run.serverPids());
  const c = await pool.connect(
    run.target,
    k,
    { kind: 'one', ch: 'storm' },
    { concurrency: 0, timeoutMs: 120_000 },
  );
  await quiesce(run.serverPids());
  const cpu = sumCpu(run.serverPids()) - c0;
  const s = serverSockets(run.target.port);
  await pool.closeAll();
  const n = Math.max(1, s.sockets);
  return {
    clients: k,
    opened: c.opened,
    handshakesPerSec: sig(c.opened / (c.openMs / 1000)),
    cpuMsPerHandshake: sig((cpu * 1000) / Math.max(1, c.opened)),
    wireBytesOut: sig(wireBytes(s.bytesSent, s.segsOut) / n),
    wireBytesIn: sig(wireBytes(s.bytesReceived, s.segsIn) / n),
  };
}

/** The memory a server holds once it is quiet: process, V8 heap, kernel socket objects, TCP buffers. */
async function memory(
  run: Running,
): Promise<{ rss: number; heap: number | undefined; slab: ReturnType<typeof slabs>; sock: number }> {
  await quiesce(run.serverPids());
  return {
    rss: sumRss(run.serverPids()),
    heap: await run.heapUsed(),
    slab: slabs(),
    sock: sockstatTcpBytes(),
  };
}

async function measure(
  variant: Variant,
  cfg: CapacityConfig,
  certs: ReadonlyMap<KeyType, Certificate>,
  subs: ClientPool,
  pub: ClientPool,
  started: (r: Promise<Running>) => Promise<Running>,
  stopped: (r: Running) => Promise<void>,
  log: Log,
): Promise<VariantResult> {
  const opts = options(variant, certs);
  const n = cfg.connections;

  // Memory, idle CPU, SDK pings and deliveries on a gateway that sends no pings of its own.
  const g = await started(startGateway(1, { WSGW_PING_INTERVAL_MS: NO_PINGS_MS }, undefined, opts));
  await sleep(500);
  const { rss: rss0, heap: heap0, slab: slab0, sock: sock0 } = await memory(g);
  const log0 = g.logBytes() ?? 0;
  const c = await subs.connect(
    g.target,
    n,
    { kind: 'one', ch: 'cap' },
    { concurrency: 100, timeoutMs: 180_000 },
  );
  await sleep(1_000);
  const { rss: rss1, heap: heap1, slab: slab1, sock: sock1 } = await memory(g);
  const held = serverSockets(g.target.port);
  const k = Math.max(1, c.subscribed);
  let slabPerSocket: Record<string, number> | undefined;
  let kernelObjects: number | undefined;
  if (slab0 && slab1) {
    slabPerSocket = {};
    kernelObjects = 0;
    for (const [name, after] of Object.entries(slab1)) {
      const per = (after.objects - (slab0[name]?.objects ?? 0)) / (2 * k);
      slabPerSocket[name] = sig(per);
      kernelObjects += Math.max(0, per) * after.objectBytes;
    }
    kernelObjects = sig(kernelObjects);
  }
  log(
    `  ${variant}: ${c.subscribed} of ${n} connected and subscribed; RSS ${sig((rss1 - rss0) / k)} B per connection`,
  );

  const idle = await window(g, 0, () => sleep(cfg.windowMs));
  const idleCpuPerSec = idle.cpu / (cfg.windowMs / 1000);

  let pings = { sent: 0, pongs: 0 };
  const cp = await window(g, idleCpuPerSec, async () => {
    pings = await subs.ping(cfg.clientPingMs, cfg.windowMs);
    await sleep(200);
  });

  await pub.connect(g.target, 1, { kind: 'none' }, { concurrency: 1, timeoutMs: 30_000 });
  await subs.reset();
  let published = 0;
  const dl = await window(g, idleCpuPerSec, async () => {
    published = (await pub.publish(cfg.publishRate, cfg.windowMs, cfg.payloadBytes, ['cap'])).sent;
    await sleep(1_000);
  });
  const delivered = (await subs.stats()).delivered;
  await pub.closeAll();
  await subs.closeAll();
  await quiesce(g.serverPids());
  const logged = (g.logBytes() ?? 0) - log0;
  const st = await storm(g, subs, cfg.stormClients);
  await stopped(g);

  // Server pings: a gateway pinging every serverPingMs, measured once its sweeps are under way.
  const g2 = await started(
    startGateway(1, { WSGW_PING_INTERVAL_MS: String(cfg.serverPingMs) }, undefined, opts),
  );
  await subs.connect(g2.target, n, { kind: 'none' }, { concurrency: 100, timeoutMs: 180_000 });
  await sleep(cfg.serverPingMs + 500);
  await quiesce(g2.serverPids());
  await subs.reset();
  const sp = await window(g2, idleCpuPerSec, () => sleep(cfg.windowMs));
  const serverPings = (await subs.stats()).serverPings;
  await subs.closeAll();
  await stopped(g2);

  return {
    variant,
    connections: c.subscribed,
    failed: c.failed,
    ...(c.firstError ? { firstError: c.firstError } : {}),
    memory: {
      rssBeforeBytes: rss0,
      rssPerConnBytes: sig((rss1 - rss0) / k),
      heapPerConnBytes: heap0 !== undefined && heap1 !== undefined ? sig((heap1 - heap0) / k) : undefined,
      kernelBuffersPerConnBytes: sig(held.bufferBytes / Math.max(1, held.sockets)),
      kernelObjectsPerSocketBytes: kernelObjects,
      slabObjectsPerSocket: slabPerSocket,
      sockstatPerConnBytes: sig((sock1 - sock0) / k),
    },
    logBytesPerConnection: sig(logged / k),
    idleCpuPerSec: sig(idleCpuPerSec),
    clientPing: { ...perEvent(pings.sent, cp.cpu, cp.d), pongs: pings.pongs },
    serverPing: perEvent(serverPings, sp.cpu, sp.d),
    delivery: { ...perEvent(delivered, dl.cpu, dl.d), published },
    storm: st,
  };
}

/** The TLS version and cipher a client negotiates with a TLS gateway (what the figures were measured with). */
function negotiated(port: number): Promise<{ protocol: string | null; cipher: string }> {
  return new Promise((resolve, reject) => {
    const s = connectTls(
      { host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false },
      () => {
        const r = { protocol: s.getProtocol(), cipher: s.getCipher().name };
        s.destroy();
        resolve(r);
      },
    );
    s.once('error', reject);
  });
}

export async function runCapacity(
  cfg: CapacityConfig,
  subs: ClientPool,
  pub: ClientPool,
  started: (r: Promise<Running>) => Promise<Running>,
  stopped: (r: Running) => Promise<void>,
  log: Log,
): Promise<CapacityResult> {
  const certs = new Map<KeyType, Certificate>([
    ['ecdsa-p256', makeCertificate('ecdsa-p256')],
    ['rsa-2048', makeCertificate('rsa-2048')],
  ]);
  try {
    const probe = await started(startGateway(1, {}, undefined, { tls: certs.get('ecdsa-p256')! }));
    const tls = {
      ...(await negotiated(probe.target.port)),
      certDerBytes: Object.fromEntries([...certs].map(([t, c]) => [t, c.certDerBytes])),
    };
    await stopped(probe);

    const repeats: VariantResult[][] = [];
    const rsaStorm: VariantResult['storm'][] = [];
    for (let i = 0; i < cfg.repeats; i++) {
      const order: Variant[] = i % 2 === 0 ? ['plain', 'tls-ecdsa-p256'] : ['tls-ecdsa-p256', 'plain'];
      const results: VariantResult[] = [];
      for (const v of order) {
        log(
          `capacity, repeat ${i + 1} of ${cfg.repeats}: ${VARIANT_LABELS[v]}, ${cfg.connections} connections`,
        );
        results.push(await measure(v, cfg, certs, subs, pub, started, stopped, log));
      }
      repeats.push(results.sort((a, b) => a.variant.localeCompare(b.variant)));
      log(`capacity, repeat ${i + 1}: storm of ${cfg.stormClients} with ${VARIANT_LABELS['tls-rsa-2048']}`);
      const g = await started(
        startGateway(1, { WSGW_PING_INTERVAL_MS: NO_PINGS_MS }, undefined, options('tls-rsa-2048', certs)),
      );
      rsaStorm.push(await storm(g, subs, cfg.stormClients));
      await stopped(g);
    }

    let cluster: NonNullable<CapacityResult['cluster']>[number][] | undefined;
    if (cfg.cluster) {
      const { processes, connections } = cfg.cluster;
      cluster = [];
      for (const v of ['plain', 'tls-ecdsa-p256'] as const) {
        log(
          `capacity: ${connections} idle connections over ${processes} gateway processes, ${VARIANT_LABELS[v]}`,
        );
        const g = await started(
          startGateway(processes, { WSGW_PING_INTERVAL_MS: NO_PINGS_MS }, undefined, options(v, certs)),
        );
        await sleep(500);
        await quiesce(g.serverPids());
        const rss0 = sumRss(g.serverPids());
        const c = await subs.connect(
          g.target,
          connections,
          { kind: 'none' },
          { concurrency: 100, timeoutMs: 240_000 },
        );
        await sleep(1_000);
        await quiesce(g.serverPids());
        const rss1 = sumRss(g.serverPids());
        await subs.closeAll();
        await stopped(g);
        cluster.push({
          variant: v,
          processes,
          connections: c.opened,
          failed: c.failed,
          rssPerConnBytes: sig((rss1 - rss0) / Math.max(1, c.opened)),
        });
      }
    }
    return {
      config: cfg,
      tls,
      tcpTimestamps: tcpTimestampsOn(),
      repeats,
      rsaStorm,
      ...(cluster ? { cluster } : {}),
    };
  } finally {
    for (const c of certs.values()) c.remove();
  }
}

/** One row of the capacity table: a figure per repeat for plain and TLS, and their ratio per repeat. */
export interface CapacityRow {
  readonly figure: string;
  readonly unit: string;
  readonly plain: readonly number[];
  readonly tls: readonly number[];
  /** TLS ÷ plain within each repeat. */
  readonly ratio: readonly number[];
}

const FIGURES: ReadonlyArray<[string, string, (r: VariantResult) => number | undefined]> = [
  ['RSS per idle connection', 'B', (r) => r.memory.rssPerConnBytes],
  ['V8 heap per idle connection', 'B', (r) => r.memory.heapPerConnBytes],
  ['kernel socket buffers per connection (ss -m)', 'B', (r) => r.memory.kernelBuffersPerConnBytes],
  ['kernel objects per socket (slab)', 'B', (r) => r.memory.kernelObjectsPerSocketBytes],
  ['server CPU per gateway ping and its pong', 'µs', (r) => r.serverPing.cpuUs],
  ['wire bytes per gateway ping, out', 'B', (r) => r.serverPing.wireBytesOut],
  ['wire bytes per gateway ping, in', 'B', (r) => r.serverPing.wireBytesIn],
  ['server CPU per SDK ping and its pong', 'µs', (r) => r.clientPing.cpuUs],
  ['wire bytes per SDK ping, out', 'B', (r) => r.clientPing.wireBytesOut],
  ['wire bytes per SDK ping, in', 'B', (r) => r.clientPing.wireBytesIn],
  ['server CPU per delivery (one write each)', 'µs', (r) => r.delivery.cpuUs],
  ['wire bytes per delivery, out', 'B', (r) => r.delivery.wireBytesOut],
  ['server CPU per handshake (connect, upgrade, subscribe)', 'ms', (r) => r.storm.cpuMsPerHandshake],
  ['handshakes/s in the storm', '/s', (r) => r.storm.handshakesPerSec],
  ['wire bytes per connection set-up, out', 'B', (r) => r.storm.wireBytesOut],
  ['wire bytes per connection set-up, in', 'B', (r) => r.storm.wireBytesIn],
  ['log bytes per connection (opened, subscribed, closed)', 'B', (r) => r.logBytesPerConnection],
  ['gateway RSS before the first connection', 'B', (r) => r.memory.rssBeforeBytes],
];

export function capacityRows(c: CapacityResult): CapacityRow[] {
  return FIGURES.map(([figure, unit, f]) => {
    const plain: number[] = [];
    const tls: number[] = [];
    const ratio: number[] = [];
    for (const rep of c.repeats) {
      const p = rep.find((r) => r.variant === 'plain');
      const t = rep.find((r) => r.variant === 'tls-ecdsa-p256');
      const pv = p ? f(p) : undefined;
      const tv = t ? f(t) : undefined;
      if (pv !== undefined) plain.push(pv);
      if (tv !== undefined) tls.push(tv);
      if (pv !== undefined && tv !== undefined && pv > 0) ratio.push(sig(tv / pv));
    }
    return { figure, unit, plain, tls, ratio };
  });
}

const list = (v: readonly number[], unit: string): string =>
  v.length === 0 ? 'n/a' : v.map((x) => `${sig(x)}`).join(' / ') + (unit === '/s' ? '/s' : ` ${unit}`);

/** The capacity figures as Markdown: one column per variant, a value per repeat. */
export function capacityMarkdown(c: CapacityResult): string {
  const lines = [
    `| Figure (${c.config.connections.toLocaleString('en-US')} connections; storm of ${c.config.stormClients.toLocaleString('en-US')}) | ${VARIANT_LABELS.plain} | ${VARIANT_LABELS['tls-ecdsa-p256']} | TLS ÷ plain |`,
    '|---|---:|---:|---:|',
  ];
  for (const r of capacityRows(c))
    lines.push(
      `| ${r.figure} | ${list(r.plain, r.unit)} | ${list(r.tls, r.unit)} | ${r.ratio.length ? r.ratio.map((x) => `${x}×`).join(' / ') : 'n/a'} |`,
    );
  const ecdsa = c.repeats.map(
    (rep) => rep.find((r) => r.variant === 'tls-ecdsa-p256')?.storm.cpuMsPerHandshake ?? 0,
  );
  const rsa = c.rsaStorm.map((s) => s.cpuMsPerHandshake);
  lines.push(
    `| server CPU per handshake, ${VARIANT_LABELS['tls-rsa-2048']} | | ${list(rsa, 'ms')} | ${rsa.map((x, i) => (ecdsa[i] ? `${sig(x / ecdsa[i]!)}× ECDSA` : 'n/a')).join(' / ')} |`,
  );
  lines.push(
    `| handshakes/s in the storm, ${VARIANT_LABELS['tls-rsa-2048']} | | ${list(
      c.rsaStorm.map((s) => s.handshakesPerSec),
      '/s',
    )} | |`,
  );
  for (const x of c.cluster ?? []) {
    lines.push(
      `| RSS per idle connection, ${x.connections.toLocaleString('en-US')} over ${x.processes} processes, ${VARIANT_LABELS[x.variant]} | ${x.variant === 'plain' ? `${x.rssPerConnBytes} B` : ''} | ${x.variant === 'plain' ? '' : `${x.rssPerConnBytes} B`} | |`,
    );
  }
  const note = `Values per repeat (a / b). TLS: ${c.tls.protocol ?? 'unknown'}, ${c.tls.cipher}; certificates ${Object.entries(
    c.tls.certDerBytes,
  )
    .map(([k, b]) => `${k} ${b} B`)
    .join(
      ', ',
    )} (self-signed, no chain). TCP timestamps ${c.tcpTimestamps ? 'on' : 'off'}: wire bytes count 52 bytes of IPv4 and TCP headers per segment.`;
  return `${lines.join('\n')}\n\n${note}\n`;
}
