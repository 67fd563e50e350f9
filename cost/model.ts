/**
 * The cost engine: a pure function from (deployment, load, prices, assumptions) to a monthly
 * estimate, region by region and line by line. This module resolves the load, derives each
 * region's traffic and task count, and has `services.ts` build the lines, one service at a time.
 * No I/O here; `stack.ts` reads stack files and `prices.ts` reads price files.
 */
import { TIMING_DEFAULTS } from '../services/shared/src/constants.js';
import { maxConnectionsPerTask, taskCpu } from '../infra/capacity.js';
import { SCALING } from '../infra/plan.js';
import type { Edge } from '../infra/stack-config.js';
import type { LoadBalancerKind } from './lcu.js';
import { CostError } from './errors.js';
import { fmt, type Ctx } from './lines.js';
import { priceDates, regionFile, type PriceBook } from './prices.js';
import {
  cloudWatchLines,
  crossRegionLines,
  ecrLines,
  edgeLines,
  fargateLines,
  globalLines,
  kafkaCrossAzLines,
  kmsLines,
  loadBalancerLines,
  mskLines,
  networkLines,
  redisLines,
  type RegionInput,
} from './services.js';
import {
  SDK_PING_INTERVAL_MS,
  gatewayPingIntervalSeconds,
  keepaliveBytesPerSecond,
  keepaliveFrames,
} from './wire.js';
import type {
  Assumptions,
  Deployment,
  Estimate,
  Load,
  RegionEstimate,
  RegionTraffic,
  ResolvedLoad,
  TaskCount,
} from './types.js';

export const DEFAULT_ASSUMPTIONS: Assumptions = Object.freeze({
  hoursPerMonth: 730,
  deliveryOverheadBytes: 160,
  kafkaOverheadBytes: 100,
  compressionMinBytes: 512,
  // IPv4 20 + TCP 20 + the timestamp option 12, which Linux, macOS, iOS and Android clients negotiate.
  tcpIpHeaderBytes: 52,
  // TLS 1.3 (the load balancer's policy prefers it): 5-byte header + 1 content-type byte + 16-byte AEAD tag.
  tlsRecordOverheadBytes: 22,
  serverPingIntervalSeconds: TIMING_DEFAULTS.pingIntervalMs / 1000,
  sdkPingIntervalSeconds: SDK_PING_INTERVAL_MS / 1000,
  // What the gateway does unless a stack turns it on (wsgw:keepalive.skipPingAfterClientFrame).
  skipGatewayPingAfterClientFrame: false,
  // 395-day validity (AWS News Blog, ACM exportable public certificates, 2025-06-17), renewed
  // from 60 days before expiry (ACM User Guide, Managed certificate renewal).
  exportableCertificateRenewalDays: 395 - 60,
  handshakeBytesOut: 5_000,
  handshakeBytesIn: 1_500,
  replicationFactor: 3,
  redisStreamSeconds: 300,
  // Stacks with wsgw:msk.zoneLocalReads turn it on (cost/stack.ts).
  rackAwareConsumers: false,
  albRulesPerRequest: 1,
  logBytesPerTaskHour: 150_000,
  // The gateway logs nothing per connection: 0 bytes per connection opened, subscribed and closed
  // (bench/results/capacity.json, logBytesPerConnection).
  logBytesPerConnection: 0,
  logRetentionDays: 30,
  logCompressionRatio: 0.15,
  customMetricsPerRegion: 20,
  alarmsPerRegion: 4,
  dashboardsPerRegion: 1,
  imageMegabytes: 150,
  imagePullsPerTaskPerMonth: 4,
  // The repository's lifecycle policy keeps the last 30 images (infra/components/registry.ts).
  imagesStored: 30,
  apiGatewayKeepaliveSeconds: 300,
});

/**
 * Bytes on the wire ÷ uncompressed bytes per delivery of a 1 KiB JSON message with
 * permessage-deflate, the mean over the benchmark's three payload shapes (chat, price ticks,
 * state snapshot; `npm run bench -- --only compression`, bench/results/compression.json). 8 KiB
 * payloads compress better (about 0.26); see docs/benchmarks.md.
 */
export const MEASURED_COMPRESSION_RATIO = 0.44;

export const DEFAULT_LOAD: Omit<Load, 'connections'> & { readonly compressionRatio: number } = Object.freeze({
  msgRate: 0.1,
  msgBytes: 256,
  compressionRatio: MEASURED_COMPRESSION_RATIO,
  fanout: 100,
  crossRegionShare: 1,
  sessionMinutes: 60,
});

/** Largest message the model accepts, bytes (API Gateway's own limit is 128 KB). */
export const MAX_MSG_BYTES = 16 * 1024 * 1024;

function bad(field: string, value: unknown, rule: string): never {
  throw new CostError('WSGW_COST_BAD_LOAD', `load.${field} must be ${rule} (got ${JSON.stringify(value)})`);
}

function finite(
  field: string,
  v: unknown,
  min: number,
  max = Number.POSITIVE_INFINITY,
  minExclusive = false,
): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(field, v, 'a finite number');
  if (minExclusive ? v <= min : v < min)
    bad(field, v, minExclusive ? `greater than ${min}` : `at least ${min}`);
  if (v > max) bad(field, v, `at most ${max}`);
  return v;
}

/** Validates a load and fills in the derived publish rate and the region distribution. */
export function resolveLoad(load: Load, deployment: Deployment): ResolvedLoad {
  const connections = finite('connections', load.connections, 0);
  const msgRate = finite('msgRate', load.msgRate, 0);
  const msgBytes = finite('msgBytes', load.msgBytes, 0, MAX_MSG_BYTES);
  const compressionRatio = finite(
    'compressionRatio',
    load.compressionRatio ?? DEFAULT_LOAD.compressionRatio,
    0,
    1,
    true,
  );
  const fanout = finite('fanout', load.fanout, 0, Number.POSITIVE_INFINITY, true);
  const crossRegionShare = finite('crossRegionShare', load.crossRegionShare, 0, 1);
  const sessionMinutes = finite('sessionMinutes', load.sessionMinutes, 0, Number.POSITIVE_INFINITY, true);
  const publishRate =
    load.publishRate === undefined
      ? (connections * msgRate) / fanout
      : finite('publishRate', load.publishRate, 0);
  const names = deployment.regions.map((r) => r.name);
  let distribution: Record<string, number>;
  if (load.distribution === undefined) {
    distribution = Object.fromEntries(names.map((n) => [n, 1 / names.length]));
  } else {
    for (const k of Object.keys(load.distribution)) {
      if (!names.includes(k))
        bad(
          'distribution',
          load.distribution,
          `keyed by the stack's regions (${names.join(', ')}), not "${k}"`,
        );
    }
    const weights = names.map((n) => finite(`distribution.${n}`, load.distribution?.[n] ?? 0, 0));
    const sum = weights.reduce((a, b) => a + b, 0);
    if (sum <= 0) bad('distribution', load.distribution, 'a set of weights with a positive sum');
    distribution = Object.fromEntries(names.map((n, i) => [n, (weights[i] ?? 0) / sum]));
  }
  return {
    connections,
    msgRate,
    msgBytes,
    compressionRatio,
    publishRate,
    fanout,
    crossRegionShare,
    sessionMinutes,
    distribution,
  };
}

function badDeployment(message: string): never {
  throw new CostError('WSGW_COST_BAD_DEPLOYMENT', message);
}

/** Checks the invariants the engine relies on (the stack parser normally guarantees them). */
export function validateDeployment(d: Deployment): void {
  if (d.regions.length === 0) badDeployment('deployment has no regions');
  const seen = new Set<string>();
  for (const r of d.regions) {
    if (seen.has(r.name)) badDeployment(`region ${r.name} is listed twice`);
    seen.add(r.name);
    if (
      !Number.isInteger(r.minTasks) ||
      !Number.isInteger(r.maxTasks) ||
      r.minTasks < 0 ||
      r.maxTasks < r.minTasks ||
      r.maxTasks < 1
    ) {
      badDeployment(
        `region ${r.name}: need integers 0 <= minTasks <= maxTasks, maxTasks >= 1 (got ${r.minTasks}..${r.maxTasks})`,
      );
    }
  }
  if (!(d.connectionsPerTask > 0))
    badDeployment(`connectionsPerTask must be positive (got ${d.connectionsPerTask})`);
  if (!(d.task.vcpu > 0) || !(d.task.memoryGiB > 0)) badDeployment('task vcpu and memory must be positive');
  if (!(d.azCount >= 1)) badDeployment(`azCount must be at least 1 (got ${d.azCount})`);
  if (!(d.retentionHours > 0)) badDeployment(`retentionHours must be positive (got ${d.retentionHours})`);
  if (d.msk.kind === 'provisioned' && (!(d.msk.brokers >= 1) || !(d.msk.storageGiB > 0))) {
    badDeployment('msk brokers must be at least 1 and storage positive');
  }
  if (d.msk.kind === 'serverless' && !(d.msk.partitions >= 1))
    badDeployment('msk partitions must be at least 1');
  if (d.bus === 'redis') {
    if (!d.redis) badDeployment('bus redis needs the redis sizing');
    if (d.redis.kind === 'nodes' && !(Number.isInteger(d.redis.nodes) && d.redis.nodes >= 1))
      badDeployment(`redis nodes must be a whole number of at least 1 (got ${d.redis.nodes})`);
    if (d.crossRegion !== 'direct')
      badDeployment('bus redis reads other regions directly: crossRegion must be direct');
  }
  if (!Number.isInteger(d.kmsKeysPerRegion) || d.kmsKeysPerRegion < 0)
    badDeployment(`kmsKeysPerRegion must be a whole number (got ${d.kmsKeysPerRegion})`);
}

/** Where TLS ends decides the task's measured figures: in the task only behind an NLB passing TCP. */
export const taskEdge = (lb: LoadBalancerKind): Edge => (lb === 'nlb-tcp' ? 'nlb' : 'alb');

/**
 * Tasks a region needs: what target tracking on connections asks for (connections ÷
 * connectionsPerTask), and at least what holds the connections in memory and carries their pings,
 * deliveries and handshakes below the CPU guard's target (the second scaling policy), both from the
 * measured figures of infra/capacity.ts. Clamped to [min, max].
 */
export function taskCount(
  d: Deployment,
  t: Pick<RegionTraffic, 'connections' | 'deliveriesPerSecond' | 'newConnectionsPerSecond'>,
  a: Assumptions,
  minTasks: number,
  maxTasks: number,
): TaskCount {
  const edge = taskEdge(d.loadBalancer);
  const n = t.connections;
  const byTarget = Math.ceil(n / d.connectionsPerTask);
  const fits = maxConnectionsPerTask(d.task.memoryGiB * 1024, edge);
  const byMemory = n === 0 ? 0 : fits > 0 ? Math.ceil(n / fits) : byTarget;
  const gw = gatewayPingIntervalSeconds(a);
  const cpuVcpu = taskCpu(edge, {
    connections: n,
    gatewayPingsPerSecond: gw > 0 && Number.isFinite(gw) ? 1 / gw : 0,
    sdkPingsPerSecond: a.sdkPingIntervalSeconds > 0 ? 1 / a.sdkPingIntervalSeconds : 0,
    deliveriesPerSecond: n > 0 ? t.deliveriesPerSecond / n : 0,
    handshakesPerSecond: t.newConnectionsPerSecond,
  });
  const byCpu = Math.ceil(cpuVcpu / ((d.task.vcpu * SCALING.cpuTargetPercent) / 100));
  const needed = Math.max(byTarget, byMemory, byCpu);
  const decidedBy = needed === byTarget ? 'target' : needed === byMemory ? 'memory' : 'cpu';
  const base = { needed, byTarget, byMemory, byCpu, decidedBy, cpuVcpu } as const;
  if (needed < minTasks) return { ...base, running: minTasks, clampedTo: 'min' };
  if (needed > maxTasks) return { ...base, running: maxTasks, clampedTo: 'max' };
  return { ...base, running: needed, clampedTo: null };
}

/**
 * A message's payload bytes on the client link: compressed by the measured ratio when it reaches
 * the gateway's threshold (permessage-deflate, docs/protocol.md), as they are; the envelope and
 * framing around it are counted uncompressed (deliveryOverheadBytes), which overstates them a little.
 */
export function wirePayloadBytes(load: ResolvedLoad, a: Assumptions): number {
  return load.msgBytes >= a.compressionMinBytes ? load.msgBytes * load.compressionRatio : load.msgBytes;
}

/** Traffic of one region derived from the load. */
export function regionTraffic(load: ResolvedLoad, region: string, a: Assumptions): RegionTraffic {
  const w = load.distribution[region] ?? 0;
  const connections = load.connections * w;
  const newConnectionsPerSecond = connections / (load.sessionMinutes * 60);
  const deliveriesPerSecond = connections * load.msgRate;
  const publishesPerSecond = load.publishRate * w;
  const wire = wirePayloadBytes(load, a) + a.deliveryOverheadBytes;
  const keepalives = keepaliveFrames(a, load.sessionMinutes * 60);
  const keepaliveOut = connections * keepaliveBytesPerSecond(keepalives, 'out');
  const keepaliveIn = connections * keepaliveBytesPerSecond(keepalives, 'in');
  // The client acknowledges each delivery and each publish ack with a bare ACK: it sends nothing back.
  const bareAcksIn = (deliveriesPerSecond + publishesPerSecond) * a.tcpIpHeaderBytes;
  return {
    connections,
    newConnectionsPerSecond,
    deliveriesPerSecond,
    publishesPerSecond,
    // Deliveries, keep-alives, handshakes, and one ack per publish (which also acknowledges the publish).
    bytesOutPerSecond:
      deliveriesPerSecond * wire +
      keepaliveOut +
      newConnectionsPerSecond * a.handshakeBytesOut +
      publishesPerSecond * a.deliveryOverheadBytes,
    // Publishes, keep-alives, handshakes, bare ACKs.
    bytesInPerSecond:
      publishesPerSecond * wire + keepaliveIn + newConnectionsPerSecond * a.handshakeBytesIn + bareAcksIn,
    keepaliveBytesOutPerSecond: keepaliveOut,
    keepaliveBytesInPerSecond: keepaliveIn,
    kafkaBytesPerSecond: publishesPerSecond * (load.msgBytes + a.kafkaOverheadBytes),
  };
}

/** The full monthly estimate: each region's lines, service by service, then the account-wide ones. */
export function estimate(
  deployment: Deployment,
  loadIn: Load,
  book: PriceBook,
  assumptions: Assumptions = DEFAULT_ASSUMPTIONS,
): Estimate {
  validateDeployment(deployment);
  const a = assumptions;
  const d = deployment;
  const names = d.regions.map((r) => r.name);
  for (const n of names) regionFile(book, n); // unknown regions fail before any arithmetic
  const load = resolveLoad(loadIn, d);
  const warnings: string[] = [];

  const traffic = new Map(names.map((n) => [n, regionTraffic(load, n, a)]));
  const tasks = new Map(
    d.regions.map((r) => [
      r.name,
      taskCount(d, traffic.get(r.name) as RegionTraffic, a, r.minTasks, r.maxTasks),
    ]),
  );

  const regions: RegionEstimate[] = d.regions.map((r) => {
    const t = traffic.get(r.name) as RegionTraffic;
    const tc = tasks.get(r.name) as TaskCount;
    const others = names.filter((n) => n !== r.name);
    const input: RegionInput = {
      book,
      region: r.name,
      lines: [],
      d,
      a,
      load,
      traffic: t,
      tasks: tc,
      others,
      remoteTasks: others.reduce((s, o) => s + (tasks.get(o)?.running ?? 0), 0),
      remoteKafkaBytesPerSecond: others.reduce(
        (s, o) => s + (traffic.get(o)?.kafkaBytesPerSecond ?? 0) * load.crossRegionShare,
        0,
      ),
      warnings,
    };

    if (tc.clampedTo === 'max') {
      const perTask = tc.decidedBy === 'target' ? d.connectionsPerTask : t.connections / tc.needed;
      const over = Math.round(t.connections - tc.running * perTask);
      warnings.push(
        `${r.name}: ${fmt(Math.round(t.connections))} connections need ${tc.needed} tasks but maxTasks is ${r.maxTasks}; ${fmt(over)} connections are over capacity (cost shown for ${tc.running} tasks)`,
      );
    }

    fargateLines(input);
    const loadBalancer = loadBalancerLines(input);
    if ((d.bus ?? 'kafka') === 'redis') redisLines(input);
    else {
      mskLines(input);
      kafkaCrossAzLines(input);
    }
    crossRegionLines(input);
    edgeLines(input);
    networkLines(input);
    ecrLines(input);
    cloudWatchLines(input);
    kmsLines(input);

    return {
      region: r.name,
      location: regionFile(book, r.name).location,
      traffic: t,
      tasks: tc,
      loadBalancer,
      lines: input.lines,
      usd: input.lines.reduce((s, l) => s + l.usd, 0),
    };
  });

  const global: Ctx = { book, region: 'global', lines: [] };
  globalLines(global, a);

  const usd = regions.reduce((s, r) => s + r.usd, 0) + global.lines.reduce((s, l) => s + l.usd, 0);
  return {
    stack: d.stack,
    deployment: d,
    load,
    assumptions: a,
    regions,
    global: global.lines,
    usd,
    usdPerMillionConnections: load.connections > 0 ? usd / (load.connections / 1e6) : null,
    warnings,
    prices: priceDates(book, names),
  };
}
