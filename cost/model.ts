/**
 * The cost engine: a pure function from (deployment, load, prices, assumptions) to a monthly
 * estimate, region by region and line by line. No I/O here; `stack.ts` reads stack files and
 * `prices.ts` reads price files.
 */
import { TIMING_DEFAULTS } from '../services/shared/src/constants.js';
import { CostError } from './errors.js';
import { capacityUnits, type CapacityUnits } from './lcu.js';
import {
  geographyOf,
  price,
  priceDates,
  regionFile,
  tiered,
  tieredCost,
  type PriceBook,
} from './prices.js';
import { SDK_PING_INTERVAL_MS, keepaliveBytesPerSecond, keepaliveFrames } from './wire.js';
import type {
  Assumptions,
  Deployment,
  Estimate,
  LineItem,
  Load,
  RegionEstimate,
  RegionTraffic,
  ResolvedLoad,
  TaskCount,
} from './types.js';

/**
 * Bytes in a billed GB. AWS's pricing pages do not define the GB; its one worked byte-to-GB
 * example (the S3 FAQ) divides by 2^30. docs/cost.md lists the unit of every line.
 */
export const BYTES_PER_GB = 2 ** 30;

export const DEFAULT_ASSUMPTIONS: Assumptions = Object.freeze({
  hoursPerMonth: 730,
  deliveryOverheadBytes: 160,
  kafkaOverheadBytes: 100,
  // IPv4 20 + TCP 20 + the timestamp option 12, which Linux, macOS, iOS and Android clients negotiate.
  tcpIpHeaderBytes: 52,
  // TLS 1.3 (the load balancer's policy prefers it): 5-byte header + 1 content-type byte + 16-byte AEAD tag.
  tlsRecordOverheadBytes: 22,
  serverPingIntervalSeconds: TIMING_DEFAULTS.pingIntervalMs / 1000,
  sdkPingIntervalSeconds: SDK_PING_INTERVAL_MS / 1000,
  handshakeBytesOut: 5_000,
  handshakeBytesIn: 1_500,
  replicationFactor: 3,
  // Stacks with wsgw:msk.zoneLocalReads turn it on (cost/stack.ts).
  rackAwareConsumers: false,
  albRulesPerRequest: 1,
  logBytesPerTaskHour: 150_000,
  logBytesPerConnection: 400,
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

export const DEFAULT_LOAD: Omit<Load, 'connections'> = Object.freeze({
  msgRate: 0.1,
  msgBytes: 256,
  fanout: 100,
  crossRegionShare: 1,
  sessionMinutes: 60,
});

/** Largest message the model accepts, bytes (API Gateway's own limit is 128 KB). */
export const MAX_MSG_BYTES = 16 * 1024 * 1024;

function bad(field: string, value: unknown, rule: string): never {
  throw new CostError('WSGW_COST_BAD_LOAD', `load.${field} must be ${rule} (got ${JSON.stringify(value)})`);
}

function finite(field: string, v: unknown, min: number, max = Number.POSITIVE_INFINITY, minExclusive = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(field, v, 'a finite number');
  if (minExclusive ? v <= min : v < min) bad(field, v, minExclusive ? `greater than ${min}` : `at least ${min}`);
  if (v > max) bad(field, v, `at most ${max}`);
  return v;
}

/** Validates a load and fills in the derived publish rate and the region distribution. */
export function resolveLoad(load: Load, deployment: Deployment): ResolvedLoad {
  const connections = finite('connections', load.connections, 0);
  const msgRate = finite('msgRate', load.msgRate, 0);
  const msgBytes = finite('msgBytes', load.msgBytes, 0, MAX_MSG_BYTES);
  const fanout = finite('fanout', load.fanout, 0, Number.POSITIVE_INFINITY, true);
  const crossRegionShare = finite('crossRegionShare', load.crossRegionShare, 0, 1);
  const sessionMinutes = finite('sessionMinutes', load.sessionMinutes, 0, Number.POSITIVE_INFINITY, true);
  const publishRate =
    load.publishRate === undefined ? (connections * msgRate) / fanout : finite('publishRate', load.publishRate, 0);
  const names = deployment.regions.map((r) => r.name);
  let distribution: Record<string, number>;
  if (load.distribution === undefined) {
    distribution = Object.fromEntries(names.map((n) => [n, 1 / names.length]));
  } else {
    for (const k of Object.keys(load.distribution)) {
      if (!names.includes(k)) bad('distribution', load.distribution, `keyed by the stack's regions (${names.join(', ')}), not "${k}"`);
    }
    const weights = names.map((n) => finite(`distribution.${n}`, load.distribution?.[n] ?? 0, 0));
    const sum = weights.reduce((a, b) => a + b, 0);
    if (sum <= 0) bad('distribution', load.distribution, 'a set of weights with a positive sum');
    distribution = Object.fromEntries(names.map((n, i) => [n, (weights[i] ?? 0) / sum]));
  }
  return { connections, msgRate, msgBytes, publishRate, fanout, crossRegionShare, sessionMinutes, distribution };
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
    if (!Number.isInteger(r.minTasks) || !Number.isInteger(r.maxTasks) || r.minTasks < 0 || r.maxTasks < r.minTasks || r.maxTasks < 1) {
      badDeployment(`region ${r.name}: need integers 0 <= minTasks <= maxTasks, maxTasks >= 1 (got ${r.minTasks}..${r.maxTasks})`);
    }
  }
  if (!(d.connectionsPerTask > 0)) badDeployment(`connectionsPerTask must be positive (got ${d.connectionsPerTask})`);
  if (!(d.task.vcpu > 0) || !(d.task.memoryGiB > 0)) badDeployment('task vcpu and memory must be positive');
  if (!(d.azCount >= 1)) badDeployment(`azCount must be at least 1 (got ${d.azCount})`);
  if (!(d.retentionHours > 0)) badDeployment(`retentionHours must be positive (got ${d.retentionHours})`);
  if (d.msk.kind === 'provisioned' && (!(d.msk.brokers >= 1) || !(d.msk.storageGiB > 0))) {
    badDeployment('msk brokers must be at least 1 and storage positive');
  }
  if (d.msk.kind === 'serverless' && !(d.msk.partitions >= 1)) badDeployment('msk partitions must be at least 1');
  if (!Number.isInteger(d.kmsKeysPerRegion) || d.kmsKeysPerRegion < 0) badDeployment(`kmsKeysPerRegion must be a whole number (got ${d.kmsKeysPerRegion})`);
}

/** Tasks for a region: ceil(connections / connectionsPerTask), clamped to [min, max]. */
export function taskCount(connections: number, connectionsPerTask: number, minTasks: number, maxTasks: number): TaskCount {
  const needed = Math.ceil(connections / connectionsPerTask);
  if (needed < minTasks) return { needed, running: minTasks, clampedTo: 'min' };
  if (needed > maxTasks) return { needed, running: maxTasks, clampedTo: 'max' };
  return { needed, running: needed, clampedTo: null };
}

const round = (n: number, digits = 6): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** Traffic of one region derived from the load. */
export function regionTraffic(load: ResolvedLoad, region: string, a: Assumptions): RegionTraffic {
  const w = load.distribution[region] ?? 0;
  const connections = load.connections * w;
  const newConnectionsPerSecond = connections / (load.sessionMinutes * 60);
  const deliveriesPerSecond = connections * load.msgRate;
  const publishesPerSecond = load.publishRate * w;
  const wire = load.msgBytes + a.deliveryOverheadBytes;
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
    bytesOutPerSecond: deliveriesPerSecond * wire + keepaliveOut + newConnectionsPerSecond * a.handshakeBytesOut + publishesPerSecond * a.deliveryOverheadBytes,
    // Publishes, keep-alives, handshakes, bare ACKs.
    bytesInPerSecond: publishesPerSecond * wire + keepaliveIn + newConnectionsPerSecond * a.handshakeBytesIn + bareAcksIn,
    keepaliveBytesOutPerSecond: keepaliveOut,
    keepaliveBytesInPerSecond: keepaliveIn,
    kafkaBytesPerSecond: publishesPerSecond * (load.msgBytes + a.kafkaOverheadBytes),
  };
}

/** Where line items of one region go. */
export interface Ctx {
  readonly book: PriceBook;
  readonly region: string;
  readonly lines: LineItem[];
}

/** A line item at a flat unit price. */
export function flat(c: Ctx, service: string, item: string, key: string, quantity: number, detail: string): void {
  const p = price(c.book, c.region, key);
  c.lines.push({ service, item, quantity: round(quantity), unit: p.unit, unitUsd: p.usd, usd: quantity * p.usd, detail, price: `${c.region}:${key}` });
}

/** A line item at a tiered price; its unit price is the effective average. */
export function tieredLine(c: Ctx, service: string, item: string, key: string, quantity: number, detail: string): void {
  const p = tiered(c.book, c.region, key);
  const usd = tieredCost(p, quantity);
  const unitUsd = quantity > 0 ? usd / quantity : (p.tiers[0]?.usd ?? 0);
  c.lines.push({ service, item, quantity: round(quantity), unit: p.unit, unitUsd: round(unitUsd, 8), usd, detail, price: `${c.region}:${key}` });
}

const gbPerMonth = (bytesPerSecond: number, a: Assumptions): number => (bytesPerSecond * a.hoursPerMonth * 3600) / BYTES_PER_GB;
const fmt = (n: number): string => (Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 3 }));

/** The full monthly estimate. */
export function estimate(deployment: Deployment, loadIn: Load, book: PriceBook, assumptions: Assumptions = DEFAULT_ASSUMPTIONS): Estimate {
  validateDeployment(deployment);
  const a = assumptions;
  const d = deployment;
  const H = a.hoursPerMonth;
  const names = d.regions.map((r) => r.name);
  for (const n of names) regionFile(book, n); // unknown regions fail before any arithmetic
  const load = resolveLoad(loadIn, d);
  const warnings: string[] = [];

  const traffic = new Map(names.map((n) => [n, regionTraffic(load, n, a)]));
  const tasks = new Map(
    d.regions.map((r) => [r.name, taskCount(traffic.get(r.name)?.connections ?? 0, d.connectionsPerTask, r.minTasks, r.maxTasks)]),
  );
  const share = load.crossRegionShare;

  const regions: RegionEstimate[] = d.regions.map((r) => {
    const t = traffic.get(r.name) as RegionTraffic;
    const tc = tasks.get(r.name) as TaskCount;
    const T = tc.running;
    const c: Ctx = { book, region: r.name, lines: [] };
    const others = names.filter((n) => n !== r.name);
    const remoteKafka = others.reduce((s, o) => s + (traffic.get(o)?.kafkaBytesPerSecond ?? 0) * share, 0);

    if (tc.clampedTo === 'max') {
      const over = Math.round(t.connections - T * d.connectionsPerTask);
      warnings.push(`${r.name}: ${fmt(Math.round(t.connections))} connections need ${tc.needed} tasks but maxTasks is ${r.maxTasks}; ${fmt(over)} connections are over capacity (cost shown for ${T} tasks)`);
    }

    // Fargate
    const arch = d.task.arch;
    flat(c, 'Fargate', 'vCPU', `fargate.${arch}.vcpuHour`, T * d.task.vcpu * H, `${T} tasks × ${d.task.vcpu} vCPU × ${H} h (needed ${tc.needed}${tc.clampedTo ? `, clamped to ${tc.clampedTo}` : ''})`);
    flat(c, 'Fargate', 'memory', `fargate.${arch}.gbHour`, T * d.task.memoryGiB * H, `${T} tasks × ${d.task.memoryGiB} GB × ${H} h`);

    // Load balancer
    const lbTraffic = {
      newConnectionsPerSecond: t.newConnectionsPerSecond,
      activeConnections: t.connections,
      processedGbPerHour: ((t.bytesOutPerSecond + t.bytesInPerSecond) * 3600) / BYTES_PER_GB,
      requestsPerSecond: t.newConnectionsPerSecond + t.publishesPerSecond,
      rulesPerRequest: a.albRulesPerRequest,
    };
    const lcu: CapacityUnits = capacityUnits(d.loadBalancer, lbTraffic);
    const lbName = d.loadBalancer === 'alb' ? 'ALB' : d.loadBalancer === 'nlb-tls' ? 'NLB (TLS)' : 'NLB (TCP)';
    const lbKey = d.loadBalancer === 'alb' ? 'alb' : 'nlb';
    flat(c, lbName, 'load balancer hours', `${lbKey}.hour`, H, `1 load balancer × ${H} h`);
    const dims = lcu.byDimension;
    flat(
      c,
      lbName,
      d.loadBalancer === 'alb' ? 'LCU hours' : 'NLCU hours',
      d.loadBalancer === 'alb' ? 'alb.lcuHour' : 'nlb.nlcuHour',
      lcu.units * H,
      `max(new ${fmt(round(dims.newConnections, 3))}, active ${fmt(round(dims.activeConnections, 3))}, bytes ${fmt(round(dims.processedBytes, 3))}, rules ${fmt(round(dims.ruleEvaluations, 3))}) = ${fmt(round(lcu.units, 3))} × ${H} h`,
    );

    // MSK
    const localReads = d.crossRegion === 'replicator' ? t.kafkaBytesPerSecond + remoteKafka : t.kafkaBytesPerSecond;
    const ingress = d.crossRegion === 'replicator' ? t.kafkaBytesPerSecond + remoteKafka : t.kafkaBytesPerSecond;
    const retentionSeconds = d.retentionHours * 3600;
    if (d.msk.kind === 'provisioned') {
      const m = d.msk;
      flat(c, 'MSK', `broker hours (${m.instanceType})`, `msk.brokerHour.${m.instanceType}`, m.brokers * H, `${m.brokers} brokers × ${H} h`);
      flat(c, 'MSK', 'broker storage', 'msk.storageGbMonth', m.brokers * m.storageGiB, `${m.brokers} brokers × ${m.storageGiB} GB provisioned`);
      const neededGb = (ingress * retentionSeconds * a.replicationFactor) / BYTES_PER_GB;
      if (neededGb > m.brokers * m.storageGiB) {
        warnings.push(`${r.name}: ${d.retentionHours} h of retention × RF ${a.replicationFactor} needs ~${fmt(Math.ceil(neededGb))} GB, more than the ${fmt(m.brokers * m.storageGiB)} GB provisioned`);
      }
    } else {
      const sl = d.msk;
      flat(c, 'MSK Serverless', 'cluster hours', 'msk.serverless.clusterHour', H, `1 cluster × ${H} h`);
      flat(c, 'MSK Serverless', 'partition hours', 'msk.serverless.partitionHour', sl.partitions * H, `${sl.partitions} partitions × ${H} h`);
      flat(c, 'MSK Serverless', 'data in', 'msk.serverless.dataInGb', gbPerMonth(ingress, a), 'records written (local and replicated)');
      flat(c, 'MSK Serverless', 'data out', 'msk.serverless.dataOutGb', gbPerMonth(T * localReads, a), `${T} tasks each read every record`);
      flat(c, 'MSK Serverless', 'storage', 'msk.serverless.storageGbMonth', (ingress * retentionSeconds) / BYTES_PER_GB, `${d.retentionHours} h retained`);
    }
    // Every task reads every record (broadcast consumption), so consumer traffic is tasks × stream.
    // Clients and partition leaders sit in different AZs (azCount − 1) / azCount of the time.
    // Rack-aware consumers read from the replica in their own AZ, which exists unless the AZs
    // outnumber the replicas.
    const crossAz = (d.azCount - 1) / d.azCount;
    const noLocalReplica = Math.max(0, d.azCount - a.replicationFactor) / d.azCount;
    const producedCrossAz = t.kafkaBytesPerSecond * crossAz;
    const consumedCrossAz = T * localReads * (a.rackAwareConsumers ? noLocalReplica : crossAz);
    const interAz = price(book, r.name, 'dataTransfer.interAz');
    c.lines.push({
      service: 'Data transfer',
      item: 'Kafka clients across AZs',
      quantity: round(gbPerMonth(producedCrossAz + consumedCrossAz, a)),
      unit: 'GB (billed out and in)',
      unitUsd: interAz.usd * 2,
      usd: gbPerMonth(producedCrossAz + consumedCrossAz, a) * interAz.usd * 2,
      detail: `(produce + ${T} tasks × read) × ${fmt(round(crossAz, 3))} cross-AZ${a.rackAwareConsumers ? ', consumers rack-aware' : ''}`,
      price: `${r.name}:dataTransfer.interAz`,
    });

    // Cross-region: replicators are billed in the target region, transfer in the source region.
    if (others.length > 0) {
      if (d.crossRegion === 'replicator') {
        flat(c, 'MSK Replicator', 'replicator hours', 'mskReplicator.hour', others.length * H, `${others.length} inbound replicators × ${H} h`);
        flat(c, 'MSK Replicator', 'data replicated', 'mskReplicator.perGb', gbPerMonth(remoteKafka, a), `from ${others.join(', ')} × share ${share}`);
        flat(c, 'Data transfer', 'inter-region out', 'dataTransfer.interRegionOut', gbPerMonth(t.kafkaBytesPerSecond * share * others.length, a), `local stream × share ${share} × ${others.length} replicators`);
      } else {
        const remoteTasks = others.reduce((s, o) => s + (tasks.get(o)?.running ?? 0), 0);
        flat(c, 'Data transfer', 'inter-region out', 'dataTransfer.interRegionOut', gbPerMonth(t.kafkaBytesPerSecond * share * remoteTasks, a), `local stream × share ${share} × ${remoteTasks} remote tasks reading directly`);
      }
    }

    // Internet and Global Accelerator
    const outGb = gbPerMonth(t.bytesOutPerSecond, a);
    const inGb = gbPerMonth(t.bytesInPerSecond, a);
    const keepaliveGb = gbPerMonth(t.keepaliveBytesOutPerSecond, a);
    tieredLine(c, 'Data transfer', 'internet out', 'dataTransfer.internetOut', outGb, `deliveries, handshakes, acks; keep-alives ${fmt(round(keepaliveGb, 1))} GB`);
    const geo = geographyOf(book, r.name);
    const dtKey = `globalAccelerator.dtPremium.${geo}.${geo}`;
    const dt = price(book, 'global', dtKey);
    c.lines.push({
      service: 'Global Accelerator',
      item: 'DT-Premium',
      quantity: round(Math.max(outGb, inGb)),
      unit: dt.unit,
      unitUsd: dt.usd,
      usd: Math.max(outGb, inGb) * dt.usd,
      detail: `dominant direction (${outGb >= inGb ? 'out' : 'in'}), clients in ${geo}`,
      price: `global:${dtKey}`,
    });

    // NAT gateways, VPC endpoint, public IPv4
    const natCount = d.nat === 'per-az' ? d.azCount : d.nat === 'single' ? 1 : 0;
    const logGb = (T * a.logBytesPerTaskHour * H + t.newConnectionsPerSecond * H * 3600 * a.logBytesPerConnection) / BYTES_PER_GB;
    // ECR serves image layers from S3, which the gateway endpoint reaches without NAT; an image
    // from a registry outside AWS comes through NAT. (The few KB of ECR API calls are left out.)
    const imageViaNat = !(d.s3GatewayEndpoint && d.image.inEcr);
    if (natCount > 0) {
      const imageGb = imageViaNat ? (T * a.imagePullsPerTaskPerMonth * a.imageMegabytes * 1e6) / BYTES_PER_GB : 0;
      flat(c, 'NAT gateway', 'gateway hours', 'nat.hour', natCount * H, `${natCount} gateways × ${H} h`);
      flat(c, 'NAT gateway', 'data processed', 'nat.perGb', imageGb + logGb, imageViaNat ? 'image pulls and logs' : 'logs (image layers come through the S3 gateway endpoint)');
    }
    if (d.s3GatewayEndpoint) flat(c, 'VPC', 'S3 gateway endpoint', 'vpcEndpoint.s3Gateway', 1, 'one per region; gateway endpoints have no charge');
    flat(c, 'VPC', 'public IPv4 addresses', 'publicIpv4.hour', (d.azCount + natCount) * H, `${d.azCount} load balancer + ${natCount} NAT addresses × ${H} h`);
    // Without NAT every task runs in a public subnet with an address of its own.
    if (d.nat === 'none') flat(c, 'VPC', 'public IPv4 addresses (tasks)', 'publicIpv4.hour', T * H, `${T} tasks × ${H} h (nat: none)`);

    // Image repository
    if (d.image.repositoryPerRegion) {
      const gb = (a.imagesStored * a.imageMegabytes * 1e6) / BYTES_PER_GB;
      flat(c, 'ECR', 'image storage', 'ecr.storageGbMonth', gb, `${a.imagesStored} images × ${a.imageMegabytes} MB, counted whole (they share base layers)`);
    }

    // CloudWatch
    flat(c, 'CloudWatch', 'logs ingested', 'cloudwatch.logsIngestGb', logGb, `${T} tasks × ${fmt(a.logBytesPerTaskHour)} B/h + ${fmt(a.logBytesPerConnection)} B per connection`);
    flat(c, 'CloudWatch', 'logs stored', 'cloudwatch.logsStorageGbMonth', logGb * (a.logRetentionDays / 30) * a.logCompressionRatio, `${a.logRetentionDays} days retained, compressed × ${a.logCompressionRatio}`);
    flat(c, 'CloudWatch', 'custom metrics', 'cloudwatch.metricMonth', a.customMetricsPerRegion, 'EMF connections metric and Container Insights (cluster and service)');
    flat(c, 'CloudWatch', 'alarms', 'cloudwatch.alarmMonth', a.alarmsPerRegion, 'standard-resolution alarms');
    flat(c, 'CloudWatch', 'dashboards', 'cloudwatch.dashboardMonth', a.dashboardsPerRegion, 'one per region');
    if (d.kmsKeysPerRegion > 0) flat(c, 'KMS', 'customer-managed keys', 'kms.keyMonth', d.kmsKeysPerRegion, 'the alarm topic is encrypted with a key CloudWatch may use');

    return {
      region: r.name,
      location: regionFile(book, r.name).location,
      traffic: t,
      tasks: tc,
      loadBalancer: lcu,
      lines: c.lines,
      usd: c.lines.reduce((s, l) => s + l.usd, 0),
    };
  });

  const gCtx: Ctx = { book, region: 'global', lines: [] };
  flat(gCtx, 'Global Accelerator', 'fixed fee', 'globalAccelerator.hour', H, `1 accelerator × ${H} h`);

  const usd = regions.reduce((s, r) => s + r.usd, 0) + gCtx.lines.reduce((s, l) => s + l.usd, 0);
  return {
    stack: d.stack,
    deployment: d,
    load,
    assumptions: a,
    regions,
    global: gCtx.lines,
    usd,
    usdPerMillionConnections: load.connections > 0 ? usd / (load.connections / 1e6) : null,
    warnings,
    prices: priceDates(book, names),
  };
}
