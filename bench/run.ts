/**
 * `npm run bench [-- --smoke] [--only floor,idle,fanout,channels,storm,capacity,compression,cross-region,buses] [--targets gateway,socketio,ws]`
 *                 [--subscribers 1000,10000] [--sizes 100,1024] [--out file.json] [--no-build] [--from old.json]`
 *
 * Starts the gateway and its peers on loopback, drives the same client load at each, prints a
 * table and writes bench/results/latest.json and latest.svg. `--smoke` runs every scenario at
 * small scale in well under a minute (what CI runs) and writes bench/results/smoke.json and
 * smoke.svg instead, so a smoke run never replaces the committed figures of a full run; the JSON
 * has the same fields.
 * docs/benchmarks.md explains the scenarios and how to read the figures.
 */
import { parseArgs } from 'node:util';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';
import { ClientPool } from './load/pool.js';
import type { TargetKind } from './load/wire.js';
import {
  ROOT,
  GATEWAY_BENCH_ENV,
  buildGateway,
  startGateway,
  startSocketIoPeer,
  startTarget,
  startWsPeer,
  type Running,
} from './servers/targets.js';
import { medianIdle, runIdle, type IdleDeflateEntry, type IdleResult } from './scenarios/idle.js';
import {
  runFanout,
  runLatencyAt,
  KEEP_UP_RULE,
  type FanoutConfig,
  type FanoutResult,
  type StepResult,
} from './scenarios/fanout.js';
import { runStorm, type StormResult } from './scenarios/storm.js';
import {
  compressionMarkdown,
  runCompression,
  COMPRESSION_VARIANTS,
  type CompressionConfig,
  type CompressionResult,
  type CompressionVariant,
} from './scenarios/compression.js';
import { SHAPES } from './load/shapes.js';
import { runFloor, type FloorConfig, type FloorResult } from './scenarios/floor.js';
import { runCrossRegion, type CrossRegionConfig, type CrossRegionResult } from './scenarios/cross-region.js';
import { busesMarkdown, runBuses, type BusesConfig, type BusesResult } from './scenarios/buses.js';
import {
  capacityMarkdown,
  runCapacity,
  type CapacityConfig,
  type CapacityResult,
} from './scenarios/capacity.js';
import { machine } from './lib/machine.js';
import { KINDS, LABELS, markdownTable, row, type Row } from './lib/report.js';
import { svgChart } from './lib/chart.js';
import { sig } from './lib/util.js';

const SCENARIOS = [
  'floor',
  'idle',
  'fanout',
  'channels',
  'storm',
  'capacity',
  'compression',
  'cross-region',
  'buses',
] as const;
type Scenario = (typeof SCENARIOS)[number];

/** Results of one fan-out configuration for every server, plus latency at a load all of them carry. */
interface FlowEntry {
  readonly results: Partial<Record<TargetKind, FanoutResult>>;
  /** Half the lowest maximum rate among the servers (msg/s), and each server's latency there. */
  equalLoad?: { readonly rate: number; readonly results: Partial<Record<TargetKind, StepResult>> };
}

/** Runs one fan-out configuration against every server, then all of them again at equal load. */
async function flow(
  servers: Map<TargetKind, Running>,
  subs: ClientPool,
  pub: ClientPool,
  cfg: FanoutConfig,
  what: string,
): Promise<FlowEntry> {
  const entry: FlowEntry = { results: {} };
  for (const k of kinds) {
    log(`${what}, ${LABELS[k]}`);
    entry.results[k] = await runFanout(servers.get(k)!, subs, pub, cfg, log);
  }
  const maxRates = kinds.map((k) => entry.results[k]?.maxRate ?? 0);
  if (kinds.length > 1 && maxRates.every((r) => r > 0)) {
    const rate = Math.min(...maxRates) / 2;
    entry.equalLoad = { rate, results: {} };
    for (const k of kinds) {
      const s = await runLatencyAt(servers.get(k)!, subs, pub, cfg, rate);
      if (s !== undefined) entry.equalLoad.results[k] = s;
      log(
        `  ${k}: at equal load ${rate} msg/s: ${s ? `p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, p99.9 ${s.p999Ms} ms` : 'failed to connect'}`,
      );
    }
  }
  return entry;
}

interface Plan {
  /** Subscriber worker processes (each holds at most ~5k connections: open-file limit and CPU). */
  readonly workers: number;
  /** Hard bound on the whole run. */
  readonly deadlineMs: number;
  readonly floor: FloorConfig;
  readonly idle: {
    readonly counts: readonly number[];
    readonly cluster: { readonly processes: number; readonly connections: number };
    /**
     * Fresh-process measurements of each variant with one ping per connection (without and with
     * permessage-deflate, alternated): a single reading swings by about 10 % from process to
     * process, the size of the difference measured, so the medians are reported.
     */
    readonly deflateRepeats: number;
  };
  readonly compression: CompressionConfig;
  readonly fanout: { readonly subscribers: readonly number[]; readonly sizes: readonly number[] };
  readonly channels: {
    readonly connections: number;
    readonly channels: number;
    readonly per: number;
    readonly size: number;
  };
  readonly storm: { readonly clients: number };
  readonly capacity: CapacityConfig;
  readonly crossRegion: CrossRegionConfig;
  readonly buses: BusesConfig;
  readonly steps: Pick<
    FanoutConfig,
    'windowMs' | 'latencyWindowMs' | 'maxSteps' | 'refineSteps' | 'startDeliveriesPerSec'
  >;
}

const FULL: Plan = {
  workers: 4,
  deadlineMs: 60 * 60_000,
  floor: { connections: 1_000, rounds: 500, intervalMs: 10, frameBytes: 102 },
  // 19k: the most one server process holds under a 20k open-file limit, with room for its own files.
  idle: { counts: [10_000, 19_000], cluster: { processes: 2, connections: 30_000 }, deflateRepeats: 3 },
  // A server that deflates per socket spends ~0.1 ms per 8 KiB delivery: 10 messages to 10,000
  // subscribers are seconds of its CPU, plenty to measure, and every step waits for all of them.
  compression: {
    subscribers: [1_000, 10_000],
    sizes: [1024, 8192],
    shapes: SHAPES,
    messages: (subs) => (subs >= 10_000 ? 10 : 40),
    rate: 20,
    graceMs: 120_000,
  },
  fanout: { subscribers: [1_000, 10_000], sizes: [100, 1024] },
  channels: { connections: 10_000, channels: 1_000, per: 5, size: 100 },
  storm: { clients: 10_000 },
  // One process's worth of connections (19k would leave too few files for the storm next to it);
  // deliveries at 2 msg/s to 10,000 subscribers are 20k writes/s, far below coalescing; the gateway
  // pings every 2 s (its minimum is 1 s) so that a 10 s window holds five sweeps.
  capacity: {
    connections: 10_000,
    windowMs: 10_000,
    clientPingMs: 2_000,
    serverPingMs: 2_000,
    publishRate: 2,
    payloadBytes: 200,
    stormClients: 5_000,
    repeats: 2,
    cluster: { processes: 2, connections: 30_000 },
  },
  // Few subscribers per region, so that the latency is the hops' and not a long fan-out pass's.
  crossRegion: { subscribers: 100, rate: 100, seconds: 10, size: 100 },
  // The Redis bus against the Kafka bus, one server each (scenarios/buses.ts).
  buses: { rate: 1_000, seconds: 10, warmupMs: 3_000, skip: 200_000, kafka: true },
  steps: {
    windowMs: 3_000,
    latencyWindowMs: 5_000,
    maxSteps: 9,
    refineSteps: 2,
    startDeliveriesPerSec: 50_000,
  },
};

const SMOKE: Plan = {
  workers: 2,
  deadlineMs: 3 * 60_000,
  floor: { connections: 200, rounds: 50, intervalMs: 5, frameBytes: 102 },
  idle: { counts: [200], cluster: { processes: 2, connections: 200 }, deflateRepeats: 1 },
  compression: {
    subscribers: [100],
    sizes: [1024, 8192],
    shapes: SHAPES,
    messages: () => 5,
    rate: 50,
    graceMs: 10_000,
  },
  fanout: { subscribers: [200], sizes: [100, 1024] },
  channels: { connections: 200, channels: 40, per: 5, size: 100 },
  storm: { clients: 200 },
  capacity: {
    connections: 200,
    windowMs: 1_500,
    clientPingMs: 1_000,
    serverPingMs: 1_000,
    publishRate: 5,
    payloadBytes: 200,
    stormClients: 200,
    repeats: 1,
  },
  crossRegion: { subscribers: 50, rate: 20, seconds: 2, size: 100 },
  buses: { rate: 200, seconds: 1, warmupMs: 500, skip: 5_000, kafka: false },
  // Two doubling steps and short windows: enough to exercise every code path, not to find a maximum.
  steps: { windowMs: 250, latencyWindowMs: 300, maxSteps: 2, refineSteps: 0, startDeliveriesPerSec: 20_000 },
};

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    only: { type: 'string' },
    targets: { type: 'string' },
    /** Default: bench/results/latest.json, or bench/results/smoke.json with --smoke. */
    out: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    /** Overrides of the fan-out plan, for profiling one case: --subscribers 10000 --sizes 100 */
    subscribers: { type: 'string' },
    sizes: { type: 'string' },
    /** Re-renders the summary, table and chart of an earlier run's JSON without running anything. */
    from: { type: 'string' },
  },
});

/** Where results go unless --out says otherwise: a smoke run has a file of its own. */
const defaultOut = (smoke: boolean): string =>
  join(ROOT, 'bench', 'results', smoke ? 'smoke.json' : 'latest.json');

const numbers = (s: string | undefined) => s?.split(',').map((x) => Number(x.trim()));
const base = args.smoke ? SMOKE : FULL;
const plan: Plan = {
  ...base,
  fanout: {
    subscribers: numbers(args.subscribers) ?? base.fanout.subscribers,
    sizes: numbers(args.sizes) ?? base.fanout.sizes,
  },
};
const only = new Set((args.only ?? SCENARIOS.join(',')).split(',').map((s) => s.trim()) as Scenario[]);
for (const s of only)
  if (!SCENARIOS.includes(s))
    throw new Error(`--only: unknown scenario ${s} (known: ${SCENARIOS.join(', ')})`);
const kinds = (args.targets ?? KINDS.join(',')).split(',').map((s) => s.trim()) as TargetKind[];
for (const k of kinds)
  if (!KINDS.includes(k)) throw new Error(`--targets: unknown target ${k} (known: ${KINDS.join(', ')})`);

const log = (s: string) => process.stderr.write(`${s}\n`);
const running = new Set<Running>();
const pools: ClientPool[] = [];

// Every run is bounded: past the deadline everything started here is stopped and the run fails.
const watchdog = setTimeout(() => {
  log(`bench: run exceeded ${plan.deadlineMs / 60_000} min; stopping`);
  shutdown().then(
    () => process.exit(2),
    () => process.exit(2),
  );
}, plan.deadlineMs);
watchdog.unref();

async function shutdown(): Promise<void> {
  await Promise.allSettled([...running].map((r) => r.stop()));
  running.clear();
  await Promise.allSettled(pools.map((p) => p.stop()));
}
process.on('SIGINT', () => {
  shutdown().then(
    () => process.exit(130),
    () => process.exit(130),
  );
});

async function started(r: Promise<Running>): Promise<Running> {
  const x = await r;
  running.add(x);
  return x;
}

async function stopped(r: Running): Promise<void> {
  running.delete(r);
  await r.stop();
}

/** Whether the Kafka bus and its local-cluster scripts are committed (the cross-region scenario needs both). */
function kafkaBusCommitted(): boolean {
  try {
    const out = execFileSync(
      'git',
      ['ls-files', 'services/gateway/src/bus/bus-kafka.ts', 'scripts/kafka/index.mjs'],
      { cwd: ROOT },
    ).toString();
    return out.split('\n').filter(Boolean).length === 2;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const m = machine();
  log(
    `bench: ${args.smoke ? 'smoke' : 'full'} run on ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${m.node}, load ${m.loadAverageAtStart}`,
  );
  if (!args['no-build']) {
    log('bench: building the gateway (tsc -p tsconfig.build.json)');
    buildGateway();
  }
  const subs = await ClientPool.start(plan.workers);
  const pub = await ClientPool.start(1);
  pools.push(subs, pub);

  let floor: FloorResult | null = null;
  if (only.has('floor')) {
    log(
      `write floor: one ${plan.floor.frameBytes}-byte write to each of ${plan.floor.connections} loopback sockets, ${plan.floor.rounds} rounds`,
    );
    floor = await runFloor(plan.floor);
    log(
      `  ${floor.cpuUsPerWrite} µs CPU per write (user ${floor.userUsPerWrite}, system ${floor.systemUsPerWrite})`,
    );
  }

  const idle: Array<{
    connections: number;
    processes: number;
    results: Partial<Record<TargetKind, IdleResult>>;
  }> = [];
  const idleDeflate: IdleDeflateEntry[] = [];
  const fanout: Array<{ subscribers: number; size: number } & FlowEntry> = [];
  let channels:
    ({ connections: number; channels: number; per: number; size: number } & FlowEntry) | undefined;
  let storm: { clients: number; results: Partial<Record<TargetKind, StormResult>> } | undefined;

  if (only.has('idle')) {
    for (const n of plan.idle.counts) {
      const entry = { connections: n, processes: 1, results: {} as Partial<Record<TargetKind, IdleResult>> };
      for (const k of kinds) {
        log(`idle: ${n} connections, ${LABELS[k]}`);
        const r = await started(startTarget(k));
        entry.results[k] = await runIdle(r, subs, n, 1);
        log(`  ${k}: ${JSON.stringify(entry.results[k])}`);
        await stopped(r);
        if (k === 'gateway') {
          // What the extension costs a socket: clients like browsers, each having sent its first
          // keep-alive ping, with permessage-deflate negotiated (the ping compressed, so the
          // server inflated a frame from every socket) and without.
          const runs: Array<Record<'plain' | 'deflate', IdleResult>> = [];
          for (let i = 0; i < plan.idle.deflateRepeats; i++) {
            const pair: Partial<Record<'plain' | 'deflate', IdleResult>> = {};
            for (const deflate of [false, true]) {
              log(
                `idle: ${n} connections, ${LABELS[k]}, one ping each, ${deflate ? 'with' : 'without'} permessage-deflate (${i + 1}/${plan.idle.deflateRepeats})`,
              );
              const rd = await started(startGateway(1, {}, undefined, { collectable: true }));
              pair[deflate ? 'deflate' : 'plain'] = await runIdle(rd, subs, n, 1, {
                ...rd.target,
                deflate,
                pingOnOpen: true,
              });
              log(`  ${JSON.stringify(pair[deflate ? 'deflate' : 'plain'])}`);
              await stopped(rd);
            }
            runs.push(pair as Record<'plain' | 'deflate', IdleResult>);
          }
          idleDeflate.push({
            connections: n,
            plain: medianIdle(runs.map((r) => r.plain)),
            deflate: medianIdle(runs.map((r) => r.deflate)),
            runs,
          });
        }
      }
      idle.push(entry);
    }
    if (kinds.includes('gateway')) {
      const { processes, connections } = plan.idle.cluster;
      log(`idle: ${connections} connections over ${processes} gateway processes`);
      const r = await started(startGateway(processes));
      const res = await runIdle(r, subs, connections, processes);
      log(`  gateway: ${JSON.stringify(res)}`);
      await stopped(r);
      idle.push({ connections, processes, results: { gateway: res } });
    }
  }

  const servers = new Map<TargetKind, Running>();
  if (only.has('fanout') || only.has('channels') || only.has('storm')) {
    for (const k of kinds) servers.set(k, await started(startTarget(k)));
  }

  if (only.has('fanout')) {
    for (const s of plan.fanout.subscribers) {
      for (const size of plan.fanout.sizes) {
        const cfg: FanoutConfig = {
          ...plan.steps,
          connections: s,
          channels: { kind: 'one', ch: 'fan' },
          publishTo: ['fan'],
          size,
        };
        fanout.push({
          subscribers: s,
          size,
          ...(await flow(servers, subs, pub, cfg, `fan-out: 1 channel, ${s} subscribers, ${size} B`)),
        });
      }
    }
  }

  if (only.has('channels')) {
    const c = plan.channels;
    const names = Array.from({ length: c.channels }, (_, i) => `ch${i}`);
    const cfg: FanoutConfig = {
      ...plan.steps,
      connections: c.connections,
      channels: { kind: 'random', count: c.channels, per: c.per, prefix: 'ch' },
      publishTo: names,
      size: c.size,
    };
    channels = {
      ...c,
      ...(await flow(
        servers,
        subs,
        pub,
        cfg,
        `many channels: ${c.connections} connections × ${c.per} of ${c.channels} channels, ${c.size} B`,
      )),
    };
  }

  if (only.has('storm')) {
    storm = { clients: plan.storm.clients, results: {} };
    for (const k of kinds) {
      log(`connect storm: ${plan.storm.clients} clients at once, ${LABELS[k]}`);
      storm.results[k] = await runStorm(servers.get(k)!, subs, plan.storm.clients);
      log(`  ${k}: ${JSON.stringify(storm.results[k])}`);
    }
  }

  for (const r of servers.values()) await stopped(r);

  let compression: CompressionResult | null = null;
  if (only.has('compression')) {
    compression = { runs: [] };
    const variants = COMPRESSION_VARIANTS.filter((v) => kinds.includes(v.kind));
    for (const v of variants) {
      const r = await started(
        v.kind === 'gateway'
          ? startGateway()
          : v.kind === 'socketio'
            ? startSocketIoPeer(true)
            : startWsPeer(true),
      );
      for (const n of plan.compression.subscribers) {
        log(`compression: ${n} subscribers, ${v.label}`);
        const res = await runCompression(
          r,
          { ...r.target, deflate: v.deflate },
          subs,
          pub,
          plan.compression,
          n,
          log,
        );
        compression.runs.push({ variant: v.id, ...res });
      }
      await stopped(r);
    }
  }

  let capacity: CapacityResult | null = null;
  if (only.has('capacity') && kinds.includes('gateway')) {
    capacity = await runCapacity(plan.capacity, subs, pub, started, stopped, log);
  }

  let crossRegion: CrossRegion;
  if (!only.has('cross-region')) crossRegion = { status: 'skipped', reason: 'not selected with --only' };
  else if (args.smoke)
    crossRegion = {
      status: 'skipped',
      reason: 'two Kafka clusters and MirrorMaker 2 take longer to start than the smoke budget',
    };
  else if (!kafkaBusCommitted())
    crossRegion = {
      status: 'skipped',
      reason: 'needs the Kafka bus (services/gateway/src/bus/bus-kafka.ts) and scripts/kafka',
    };
  else {
    const subsB = await ClientPool.start(1);
    pools.push(subsB);
    try {
      crossRegion = await runCrossRegion(subs, subsB, pub, plan.crossRegion, log);
    } catch (err) {
      crossRegion = { status: 'failed', reason: err instanceof Error ? err.message : String(err) };
      log(`cross-region: failed: ${crossRegion.reason}`);
    }
    await subsB.stop();
  }

  await Promise.all([subs.stop(), pub.stop()]);

  let buses: BusesResult | { status: 'failed'; reason: string } | null = null;
  if (only.has('buses')) {
    try {
      buses = await runBuses(plan.buses, log);
    } catch (err) {
      buses = { status: 'failed', reason: err instanceof Error ? err.message : String(err) };
      log(`buses: failed: ${buses.reason}`);
    }
  }
  const scenarios = {
    floor,
    idle,
    idleDeflate,
    compression,
    fanout,
    channels: channels ?? null,
    storm: storm ?? null,
    capacity,
    crossRegion,
    buses,
  };
  const results: Results = {
    schema: 1,
    smoke: args.smoke!,
    startedAt: new Date(t0).toISOString(),
    durationSec: Math.round((Date.now() - t0) / 1000),
    machine: m,
    method: {
      keepUpRule: KEEP_UP_RULE,
      latency:
        "publish-to-receive, publisher and subscribers in separate client processes on one clock; at half the highest rate that kept up, and at equal load (half the slowest server's maximum)",
      serverCpu:
        "utime+stime of the server process(es) from /proc; Socket.IO's Redis is reported separately (helperCpuSec) and not included",
      advantage:
        'gateway ÷ peer where higher is better, peer ÷ gateway where lower is better: above 1 favours the gateway',
      plan,
      targets: kinds,
      gatewayEnv: GATEWAY_BENCH_ENV,
    },
    scenarios,
    summary: summarize(scenarios),
  };
  write(results, args.out ?? defaultOut(results.smoke));
  log(`bench: done in ${results.durationSec} s`);
}

interface Scenarios {
  /** Absent in results written before the floor was measured. */
  readonly floor?: FloorResult | null;
  readonly idle: ReadonlyArray<{
    connections: number;
    processes: number;
    results: Partial<Record<TargetKind, IdleResult>>;
  }>;
  /** The gateway's idle connections with permessage-deflate negotiated (absent in older results). */
  readonly idleDeflate?: readonly IdleDeflateEntry[];
  /** Absent in results written before the compression scenario existed. */
  readonly compression?: CompressionResult | null;
  readonly fanout: ReadonlyArray<{ subscribers: number; size: number } & FlowEntry>;
  readonly channels:
    ({ connections: number; channels: number; per: number; size: number } & FlowEntry) | null;
  readonly storm: { clients: number; results: Partial<Record<TargetKind, StormResult>> } | null;
  /** Absent in results written before the capacity scenario existed. */
  readonly capacity?: CapacityResult | null;
  readonly crossRegion: CrossRegion;
  /** Absent in results written before the bus comparison existed. */
  readonly buses?: BusesResult | { readonly status: 'failed'; readonly reason: string } | null;
}

type CrossRegion = CrossRegionResult | { readonly status: 'skipped' | 'failed'; readonly reason: string };

interface Results {
  readonly schema: 1;
  readonly smoke: boolean;
  readonly startedAt: string;
  readonly durationSec: number;
  readonly machine: ReturnType<typeof machine>;
  readonly method: Record<string, unknown>;
  readonly scenarios: Scenarios;
  summary: Row[];
}

/** Writes the JSON and the SVG chart next to it, and prints the table. */
function write(results: Results, out: string): void {
  const m = results.machine;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  const svg = out.replace(/\.json$/, '') + '.svg';
  // A run of the capacity scenario alone has no peer comparison to chart.
  if (results.summary.length > 0) {
    writeFileSync(
      svg,
      svgChart(
        `wsgw benchmark${results.smoke ? ' (smoke scale)' : ''}: ${LABELS.gateway} vs ${LABELS.socketio} vs ${LABELS.ws}`,
        `${m.cores} cores (${m.cpuModel}), ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB, Node ${m.node}, ${results.startedAt.slice(0, 10)}; loopback, same client load for each`,
        results.summary,
      ),
    );
  }
  const cr = results.scenarios.crossRegion;
  const crNote = cr.status === 'done' ? '' : ` Cross-region: ${cr.status} (${cr.reason}).`;
  if (results.summary.length > 0)
    process.stdout.write(
      `\n${markdownTable(results.summary)}\n\nAdvantage: above 1× favours wsgw.${crNote}\n`,
    );
  process.stdout.write(floorNote(results.scenarios));
  const z = results.scenarios.compression;
  if (z && z.runs.length > 0)
    process.stdout.write(
      `\nCompression: bytes on the wire and server CPU per delivery\n\n${compressionMarkdown(z)}`,
    );
  const buses = results.scenarios.buses;
  if (buses && 'redis' in buses)
    process.stdout.write(
      `\nThe buses: one redis-server against one Kafka broker\n\n${busesMarkdown(buses)}\n`,
    );
  const cap = results.scenarios.capacity;
  if (cap)
    process.stdout.write(`\nCapacity: plain TCP against TLS in the gateway\n\n${capacityMarkdown(cap)}`);
  log(
    `bench: wrote ${relative(process.cwd(), out)}${results.summary.length > 0 ? ` and ${relative(process.cwd(), svg)}` : ''}`,
  );
}

/**
 * The write floor against each server's CPU per delivery at equal load: at low load every
 * delivery is its own write, so a peer's cost over the floor is the most any server could win.
 */
function floorNote({ floor, fanout, channels }: Scenarios): string {
  if (!floor) return '';
  const lines = [
    `Write floor: ${floor.cpuUsPerWrite} µs CPU per ${floor.frameBytes}-byte loopback write (system ${floor.systemUsPerWrite} µs) in a bare process.`,
  ];
  const entries = [
    ...fanout.map((e) => [`fan-out ${e.subscribers} subs, ${e.size} B`, e] as const),
    ...(channels ? [['many channels', channels] as const] : []),
  ];
  for (const [name, e] of entries) {
    // Only where the messages are the floor's size: a bigger write costs more.
    if (!e.equalLoad || e.size !== floor.frameBytes - 2) continue;
    const per = KINDS.filter((k) => e.equalLoad!.results[k]?.deliveriesPerCpuSec).map((k) => {
      const us = 1e6 / e.equalLoad!.results[k]!.deliveriesPerCpuSec;
      return `${LABELS[k]} ${sig(us)} µs (${sig(us / floor.cpuUsPerWrite)}× floor)`;
    });
    if (per.length > 0) lines.push(`  CPU per delivery at equal load, ${name}: ${per.join(', ')}`);
  }
  return lines.join('\n') + '\n';
}

function summarize({ idle, idleDeflate, fanout, channels, storm, crossRegion }: Scenarios): Row[] {
  const rows: Row[] = [];
  const pick = <T>(res: Partial<Record<TargetKind, T>>, f: (r: T) => number | undefined) =>
    Object.fromEntries(KINDS.map((k) => [k, res[k] === undefined ? undefined : f(res[k]!)])) as Partial<
      Record<TargetKind, number | undefined>
    >;
  for (const e of idle) {
    const name = `Idle, ${e.connections.toLocaleString('en-US')} conns${e.processes > 1 ? ` on ${e.processes} gateway processes` : ''}`;
    rows.push(
      row(
        name,
        'RSS per connection',
        'B',
        'lower',
        pick(e.results, (r) => r.rssPerConnBytes),
      ),
    );
    if (e.processes === 1)
      rows.push(
        row(
          name,
          'heap per connection',
          'B',
          'lower',
          pick(e.results, (r) => r.heapPerConnBytes),
        ),
      );
    rows.push(
      row(
        name,
        'time to connect all',
        'ms',
        'lower',
        pick(e.results, (r) => r.connectAllMs),
      ),
    );
  }
  for (const e of idleDeflate ?? [])
    for (const [v, r] of [
      ['without', e.plain],
      ['with', e.deflate],
    ] as const) {
      const name = `Idle, ${e.connections.toLocaleString('en-US')} conns, one ping each, ${v} permessage-deflate${e.runs && e.runs.length > 1 ? ` (median of ${e.runs.length})` : ''}`;
      rows.push(row(name, 'RSS per connection', 'B', 'lower', { gateway: r.rssPerConnBytes }));
      if (r.rssPerConnAfterGcBytes !== undefined)
        rows.push(
          row(name, 'RSS per connection after a full collection', 'B', 'lower', {
            gateway: r.rssPerConnAfterGcBytes,
          }),
        );
    }
  const flowRows = (name: string, e: FlowEntry) => {
    const res = e.results;
    rows.push(
      row(
        name,
        'max deliveries/s',
        '/s',
        'higher',
        pick(res, (r) => r.maxDeliveriesPerSec || undefined),
      ),
    );
    rows.push(
      row(
        name,
        'deliveries per server CPU-second',
        '/cpu-s',
        'higher',
        pick(res, (r) => r.deliveriesPerCpuSec || undefined),
      ),
    );
    rows.push(
      row(
        name,
        'p50 latency at 50% of max',
        'ms',
        'lower',
        pick(res, (r) => r.latency?.p50Ms),
      ),
    );
    rows.push(
      row(
        name,
        'p99 latency at 50% of max',
        'ms',
        'lower',
        pick(res, (r) => r.latency?.p99Ms),
      ),
    );
    rows.push(
      row(
        name,
        'p99.9 latency at 50% of max',
        'ms',
        'lower',
        pick(res, (r) => r.latency?.p999Ms),
      ),
    );
    if (e.equalLoad) {
      const at = `at equal load (${sig(e.equalLoad.rate)} msg/s)`;
      rows.push(
        row(
          name,
          `p50 latency ${at}`,
          'ms',
          'lower',
          pick(e.equalLoad.results, (r) => r.p50Ms),
        ),
      );
      rows.push(
        row(
          name,
          `p99 latency ${at}`,
          'ms',
          'lower',
          pick(e.equalLoad.results, (r) => r.p99Ms),
        ),
      );
      rows.push(
        row(
          name,
          `deliveries per server CPU-second ${at}`,
          '/cpu-s',
          'higher',
          pick(e.equalLoad.results, (r) => r.deliveriesPerCpuSec || undefined),
        ),
      );
    }
  };
  for (const e of fanout)
    flowRows(`Fan-out, 1 channel, ${e.subscribers.toLocaleString('en-US')} subs, ${e.size} B`, e);
  if (channels)
    flowRows(
      `Many channels, ${channels.connections.toLocaleString('en-US')} conns × ${channels.per} of ${channels.channels}, ${channels.size} B`,
      channels,
    );
  if (storm) {
    const name = `Connect storm, ${storm.clients.toLocaleString('en-US')} clients`;
    rows.push(
      row(
        name,
        'handshakes/s',
        '/s',
        'higher',
        pick(storm.results, (r) => (r.opened === storm.clients ? r.handshakesPerSec : undefined)),
      ),
    );
    rows.push(
      row(
        name,
        'time until all subscribed',
        'ms',
        'lower',
        pick(storm.results, (r) => (r.subscribed === storm.clients ? r.allSubscribedMs : undefined)),
      ),
    );
  }
  if (crossRegion.status === 'done') {
    const c = crossRegion.config;
    for (const [hop, h] of [
      ['publish on a, receive on a (one Kafka hop)', crossRegion.local],
      ['publish on a, receive on b (+ MirrorMaker 2 + Kafka b)', crossRegion.remote],
    ] as const) {
      const name = `Cross-region, ${c.subscribers.toLocaleString('en-US')} subs per region, ${c.rate} msg/s`;
      rows.push(row(name, `p50 latency, ${hop}`, 'ms', 'lower', { gateway: h.p50Ms }));
      rows.push(row(name, `p99 latency, ${hop}`, 'ms', 'lower', { gateway: h.p99Ms }));
    }
  }
  return rows;
}

if (args.from !== undefined) {
  const results = JSON.parse(readFileSync(args.from, 'utf8')) as Results;
  results.summary = summarize(results.scenarios);
  // Re-rendering a smoke run's JSON must not land on the full run's files either.
  write(results, args.out ?? defaultOut(results.smoke));
  process.exit(0);
}

main().then(
  () => {
    clearTimeout(watchdog);
    process.exit(0);
  },
  async (err: unknown) => {
    log(`bench: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await shutdown();
    process.exit(1);
  },
);
