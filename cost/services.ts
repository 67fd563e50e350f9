/**
 * One line-item builder per AWS service of a region: each reads the region's traffic and the
 * deployment, and appends its lines to the region's list. `estimate()` calls them in the order the
 * bill is printed.
 */
import { capacityUnits, type CapacityUnits } from './lcu.js';
import { BYTES_PER_GB, flat, fmt, gbPerMonth, round, tieredLine, type Ctx } from './lines.js';
import { geographyOf, price } from './prices.js';
import type { Assumptions, Deployment, RegionTraffic, ResolvedLoad, TaskCount } from './types.js';

/** What a region's builders read, and where they write lines and warnings. */
export interface RegionInput extends Ctx {
  readonly d: Deployment;
  readonly a: Assumptions;
  readonly load: ResolvedLoad;
  readonly traffic: RegionTraffic;
  readonly tasks: TaskCount;
  /** The deployment's other regions, and the tasks running there. */
  readonly others: readonly string[];
  readonly remoteTasks: number;
  /** Bytes per second of the other regions' streams that reach this region (× cross-region share). */
  readonly remoteKafkaBytesPerSecond: number;
  readonly warnings: string[];
}

/**
 * Kafka bytes per second written to the region's cluster and read by each of its tasks: with a
 * replicator both are the local stream plus the replicated ones; with direct reads the remote
 * streams are read from their own regions.
 */
function kafkaStreams(r: RegionInput): { ingress: number; localReads: number } {
  const local = r.traffic.kafkaBytesPerSecond;
  const both = r.d.crossRegion === 'replicator' ? local + r.remoteKafkaBytesPerSecond : local;
  return { ingress: both, localReads: both };
}

/** Log GB a month: a steady stream per task and an open and a close line per connection. */
function logGbPerMonth(r: RegionInput): number {
  const H = r.a.hoursPerMonth;
  return (
    (r.tasks.running * r.a.logBytesPerTaskHour * H +
      r.traffic.newConnectionsPerSecond * H * 3600 * r.a.logBytesPerConnection) /
    BYTES_PER_GB
  );
}

export function fargateLines(r: RegionInput): void {
  const { d, tasks: tc } = r;
  const H = r.a.hoursPerMonth;
  const T = tc.running;
  const arch = d.task.arch;
  const why = `by connections per task ${tc.byTarget}, by memory ${tc.byMemory}, by CPU ${tc.byCpu} (${fmt(round(tc.cpuVcpu, 3))} vCPU busy)`;
  flat(
    r,
    'Fargate',
    'vCPU',
    `fargate.${arch}.vcpuHour`,
    T * d.task.vcpu * H,
    `${T} tasks × ${d.task.vcpu} vCPU × ${H} h (needed ${tc.needed}: ${why}${tc.clampedTo ? `; clamped to ${tc.clampedTo}` : ''})`,
  );
  flat(
    r,
    'Fargate',
    'memory',
    `fargate.${arch}.gbHour`,
    T * d.task.memoryGiB * H,
    `${T} tasks × ${d.task.memoryGiB} GB × ${H} h`,
  );
}

/** Load-balancer hours and capacity units; returns the units with the dimension that decided them. */
export function loadBalancerLines(r: RegionInput): CapacityUnits {
  const { d, a, traffic: t } = r;
  const H = a.hoursPerMonth;
  const lcu = capacityUnits(d.loadBalancer, {
    newConnectionsPerSecond: t.newConnectionsPerSecond,
    activeConnections: t.connections,
    processedGbPerHour: ((t.bytesOutPerSecond + t.bytesInPerSecond) * 3600) / BYTES_PER_GB,
    requestsPerSecond: t.newConnectionsPerSecond + t.publishesPerSecond,
    rulesPerRequest: a.albRulesPerRequest,
  });
  const lbName = d.loadBalancer === 'alb' ? 'ALB' : d.loadBalancer === 'nlb-tls' ? 'NLB (TLS)' : 'NLB (TCP)';
  const lbKey = d.loadBalancer === 'alb' ? 'alb' : 'nlb';
  flat(r, lbName, 'load balancer hours', `${lbKey}.hour`, H, `1 load balancer × ${H} h`);
  const dims = lcu.byDimension;
  if (d.loadBalancer === 'nlb-tcp') {
    // Tasks terminate TLS with an ACM exportable certificate of the region, billed at each issuance.
    const perMonth = 365 / 12 / a.exportableCertificateRenewalDays;
    const p = price(r.book, 'global', 'acm.exportablePublicCertificate');
    r.lines.push({
      service: 'ACM',
      item: 'exportable certificate (TLS in the task)',
      quantity: round(perMonth),
      unit: p.unit,
      unitUsd: p.usd,
      usd: perMonth * p.usd,
      detail: `1 certificate, issued again every ${a.exportableCertificateRenewalDays} days`,
      price: 'global:acm.exportablePublicCertificate',
    });
  }
  flat(
    r,
    lbName,
    d.loadBalancer === 'alb' ? 'LCU hours' : 'NLCU hours',
    d.loadBalancer === 'alb' ? 'alb.lcuHour' : 'nlb.nlcuHour',
    lcu.units * H,
    `max(new ${fmt(round(dims.newConnections, 3))}, active ${fmt(round(dims.activeConnections, 3))}, bytes ${fmt(round(dims.processedBytes, 3))}, rules ${fmt(round(dims.ruleEvaluations, 3))}) = ${fmt(round(lcu.units, 3))} × ${H} h`,
  );
  return lcu;
}

/** Brokers and storage (warning when retention outgrows it), or MSK Serverless usage. */
export function mskLines(r: RegionInput): void {
  const { d, a } = r;
  const H = a.hoursPerMonth;
  const T = r.tasks.running;
  const { ingress, localReads } = kafkaStreams(r);
  const retentionSeconds = d.retentionHours * 3600;
  if (d.msk.kind === 'provisioned') {
    const m = d.msk;
    const brokers = d.regions.find((x) => x.name === r.region)?.mskBrokers ?? m.brokers;
    flat(
      r,
      'MSK',
      `broker hours (${m.instanceType})`,
      `msk.brokerHour.${m.instanceType}`,
      brokers * H,
      `${brokers} brokers × ${H} h`,
    );
    flat(
      r,
      'MSK',
      'broker storage',
      'msk.storageGbMonth',
      brokers * m.storageGiB,
      `${brokers} brokers × ${m.storageGiB} GB provisioned`,
    );
    const neededGb = (ingress * retentionSeconds * a.replicationFactor) / BYTES_PER_GB;
    if (neededGb > brokers * m.storageGiB) {
      r.warnings.push(
        `${r.region}: ${d.retentionHours} h of retention × RF ${a.replicationFactor} needs ~${fmt(Math.ceil(neededGb))} GB, more than the ${fmt(brokers * m.storageGiB)} GB provisioned`,
      );
    }
  } else {
    const sl = d.msk;
    flat(r, 'MSK Serverless', 'cluster hours', 'msk.serverless.clusterHour', H, `1 cluster × ${H} h`);
    flat(
      r,
      'MSK Serverless',
      'partition hours',
      'msk.serverless.partitionHour',
      sl.partitions * H,
      `${sl.partitions} partitions × ${H} h`,
    );
    flat(
      r,
      'MSK Serverless',
      'data in',
      'msk.serverless.dataInGb',
      gbPerMonth(ingress, a),
      'records written (local and replicated)',
    );
    flat(
      r,
      'MSK Serverless',
      'data out',
      'msk.serverless.dataOutGb',
      gbPerMonth(T * localReads, a),
      `${T} tasks each read every record`,
    );
    flat(
      r,
      'MSK Serverless',
      'storage',
      'msk.serverless.storageGbMonth',
      (ingress * retentionSeconds) / BYTES_PER_GB,
      `${d.retentionHours} h retained`,
    );
  }
}

/**
 * Kafka clients' traffic across AZs, billed out and in. Every task reads every record (broadcast
 * consumption), so consumer traffic is tasks × stream. Clients and partition leaders sit in
 * different AZs (azCount − 1) / azCount of the time. Rack-aware consumers read from the replica
 * in their own AZ, which exists unless the AZs outnumber the replicas.
 */
export function kafkaCrossAzLines(r: RegionInput): void {
  const { d, a } = r;
  const T = r.tasks.running;
  const { localReads } = kafkaStreams(r);
  const crossAz = (d.azCount - 1) / d.azCount;
  const noLocalReplica = Math.max(0, d.azCount - a.replicationFactor) / d.azCount;
  const producedCrossAz = r.traffic.kafkaBytesPerSecond * crossAz;
  const consumedCrossAz = T * localReads * (a.rackAwareConsumers ? noLocalReplica : crossAz);
  const interAz = price(r.book, r.region, 'dataTransfer.interAz');
  const gb = gbPerMonth(producedCrossAz + consumedCrossAz, a);
  r.lines.push({
    service: 'Data transfer',
    item: 'Kafka clients across AZs',
    quantity: round(gb),
    unit: 'GB (billed out and in)',
    unitUsd: interAz.usd * 2,
    usd: gb * interAz.usd * 2,
    detail: `(produce + ${T} tasks × read) × ${fmt(round(crossAz, 3))} cross-AZ${a.rackAwareConsumers ? ', consumers rack-aware' : ''}`,
    price: `${r.region}:dataTransfer.interAz`,
  });
}

/** Cross-region: replicators are billed in the target region, transfer in the source region. */
export function crossRegionLines(r: RegionInput): void {
  const { d, a, others } = r;
  if (others.length === 0) return;
  const H = a.hoursPerMonth;
  const share = r.load.crossRegionShare;
  const local = r.traffic.kafkaBytesPerSecond;
  if (d.crossRegion === 'replicator') {
    flat(
      r,
      'MSK Replicator',
      'replicator hours',
      'mskReplicator.hour',
      others.length * H,
      `${others.length} inbound replicators × ${H} h`,
    );
    flat(
      r,
      'MSK Replicator',
      'data replicated',
      'mskReplicator.perGb',
      gbPerMonth(r.remoteKafkaBytesPerSecond, a),
      `from ${others.join(', ')} × share ${share}`,
    );
    flat(
      r,
      'Data transfer',
      'inter-region out',
      'dataTransfer.interRegionOut',
      gbPerMonth(local * share * others.length, a),
      `local stream × share ${share} × ${others.length} replicators`,
    );
  } else {
    flat(
      r,
      'Data transfer',
      'inter-region out',
      'dataTransfer.interRegionOut',
      gbPerMonth(local * share * r.remoteTasks, a),
      `local stream × share ${share} × ${r.remoteTasks} remote tasks reading directly`,
    );
  }
}

/**
 * Bus `redis`: the region's ElastiCache for Valkey, and its clients' traffic across AZs.
 *
 * Node-based: every node billed per hour. The region's tasks write and read the primary, which sits
 * in another AZ than a task (azCount − 1) / azCount of the time; that traffic is billed out and in
 * like Kafka's. Replication between the nodes is not billed here (ElastiCache's pricing page bills
 * data transfer in and out of the cache, not within it: not verified).
 *
 * Serverless: GB-hours of data stored (the stream of the recovery history, at least the 100 MB
 * minimum) and ECPUs, one per KB transferred (at least one per write): each publish written once,
 * and the stream read by every task of this region and, directly, of the other regions. Its ECPUs
 * include the data transfer, so no cross-AZ line.
 */
export function redisLines(r: RegionInput): void {
  const { d, a } = r;
  const H = a.hoursPerMonth;
  const T = r.tasks.running;
  const sizing = d.redis;
  if (!sizing) throw new Error('bus redis without redis sizing');
  const local = r.traffic.kafkaBytesPerSecond;
  if (sizing.kind === 'nodes') {
    flat(
      r,
      'ElastiCache',
      `node hours (${sizing.nodeType})`,
      `elasticache.valkey.nodeHour.${sizing.nodeType}`,
      sizing.nodes * H,
      `${sizing.nodes} nodes (primary and ${sizing.nodes - 1} replica${sizing.nodes === 2 ? '' : 's'}) × ${H} h`,
    );
    const crossAz = (d.azCount - 1) / d.azCount;
    const interAz = price(r.book, r.region, 'dataTransfer.interAz');
    const gb = gbPerMonth((local + T * local) * crossAz, a);
    r.lines.push({
      service: 'Data transfer',
      item: 'cache clients across AZs',
      quantity: round(gb),
      unit: 'GB (billed out and in)',
      unitUsd: interAz.usd * 2,
      usd: gb * interAz.usd * 2,
      detail: `(write + ${T} tasks × read) × ${fmt(round(crossAz, 3))} cross-AZ`,
      price: `${r.region}:dataTransfer.interAz`,
    });
    return;
  }
  const MIN_GB = 0.1;
  const storedGb = (local * a.redisStreamSeconds) / BYTES_PER_GB;
  flat(
    r,
    'ElastiCache Serverless',
    'data stored',
    'elasticache.valkey.serverless.gbHour',
    Math.max(MIN_GB, storedGb) * H,
    `${fmt(round(storedGb, 4))} GB (${a.redisStreamSeconds} s of the local stream; billed at least ${MIN_GB} GB) × ${H} h`,
  );
  const seconds = H * 3600;
  const recordKb = (r.load.msgBytes + a.kafkaOverheadBytes) / 1024;
  const writes = r.traffic.publishesPerSecond * Math.max(1, recordKb);
  const readers = T + r.remoteTasks;
  const reads = (readers * local) / 1024;
  flat(
    r,
    'ElastiCache Serverless',
    'ECPUs (millions)',
    'elasticache.valkey.serverless.ecpuMillion',
    ((writes + reads) * seconds) / 1e6,
    `writes ${fmt(round(writes, 3))}/s (≥ 1 per publish) + reads by ${readers} tasks (${T} here, ${r.remoteTasks} in other regions) ${fmt(round(reads, 3))}/s, 1 per KB`,
  );
}

/** Internet data out, and Global Accelerator's premium on the dominant direction. */
export function edgeLines(r: RegionInput): void {
  const { a, traffic: t } = r;
  const outGb = gbPerMonth(t.bytesOutPerSecond, a);
  const inGb = gbPerMonth(t.bytesInPerSecond, a);
  const keepaliveGb = gbPerMonth(t.keepaliveBytesOutPerSecond, a);
  tieredLine(
    r,
    'Data transfer',
    'internet out',
    'dataTransfer.internetOut',
    outGb,
    `deliveries, handshakes, acks; keep-alives ${fmt(round(keepaliveGb, 1))} GB`,
  );
  const geo = geographyOf(r.book, r.region);
  const dtKey = `globalAccelerator.dtPremium.${geo}.${geo}`;
  const dt = price(r.book, 'global', dtKey);
  r.lines.push({
    service: 'Global Accelerator',
    item: 'DT-Premium',
    quantity: round(Math.max(outGb, inGb)),
    unit: dt.unit,
    unitUsd: dt.usd,
    usd: Math.max(outGb, inGb) * dt.usd,
    detail: `dominant direction (${outGb >= inGb ? 'out' : 'in'}), clients in ${geo}`,
    price: `global:${dtKey}`,
  });
}

/** NAT gateways, the S3 gateway endpoint and public IPv4 addresses. */
export function networkLines(r: RegionInput): void {
  const { d, a } = r;
  const H = a.hoursPerMonth;
  const T = r.tasks.running;
  const natCount = d.nat === 'per-az' ? d.azCount : d.nat === 'single' ? 1 : 0;
  // ECR serves image layers from S3, which the gateway endpoint reaches without NAT; an image
  // from a registry outside AWS comes through NAT. (The few KB of ECR API calls are left out.)
  const imageViaNat = !(d.s3GatewayEndpoint && d.image.inEcr);
  if (natCount > 0) {
    const imageGb = imageViaNat
      ? (T * a.imagePullsPerTaskPerMonth * a.imageMegabytes * 1e6) / BYTES_PER_GB
      : 0;
    flat(r, 'NAT gateway', 'gateway hours', 'nat.hour', natCount * H, `${natCount} gateways × ${H} h`);
    flat(
      r,
      'NAT gateway',
      'data processed',
      'nat.perGb',
      imageGb + logGbPerMonth(r),
      imageViaNat ? 'image pulls and logs' : 'logs (image layers come through the S3 gateway endpoint)',
    );
  }
  if (d.s3GatewayEndpoint)
    flat(
      r,
      'VPC',
      'S3 gateway endpoint',
      'vpcEndpoint.s3Gateway',
      1,
      'one per region; gateway endpoints have no charge',
    );
  flat(
    r,
    'VPC',
    'public IPv4 addresses',
    'publicIpv4.hour',
    (d.azCount + natCount) * H,
    `${d.azCount} load balancer + ${natCount} NAT addresses × ${H} h`,
  );
  // Without NAT every task runs in a public subnet with an address of its own.
  if (d.nat === 'none')
    flat(
      r,
      'VPC',
      'public IPv4 addresses (tasks)',
      'publicIpv4.hour',
      T * H,
      `${T} tasks × ${H} h (nat: none)`,
    );
}

/** The region's image repository, unless the stack uses a prebuilt image. */
export function ecrLines(r: RegionInput): void {
  const { d, a } = r;
  if (!d.image.repositoryPerRegion) return;
  const gb = (a.imagesStored * a.imageMegabytes * 1e6) / BYTES_PER_GB;
  flat(
    r,
    'ECR',
    'image storage',
    'ecr.storageGbMonth',
    gb,
    `${a.imagesStored} images × ${a.imageMegabytes} MB, counted whole (they share base layers)`,
  );
}

export function cloudWatchLines(r: RegionInput): void {
  const { a } = r;
  const logGb = logGbPerMonth(r);
  flat(
    r,
    'CloudWatch',
    'logs ingested',
    'cloudwatch.logsIngestGb',
    logGb,
    `${r.tasks.running} tasks × ${fmt(a.logBytesPerTaskHour)} B/h + ${fmt(a.logBytesPerConnection)} B per connection`,
  );
  flat(
    r,
    'CloudWatch',
    'logs stored',
    'cloudwatch.logsStorageGbMonth',
    logGb * (a.logRetentionDays / 30) * a.logCompressionRatio,
    `${a.logRetentionDays} days retained, compressed × ${a.logCompressionRatio}`,
  );
  flat(
    r,
    'CloudWatch',
    'custom metrics',
    'cloudwatch.metricMonth',
    a.customMetricsPerRegion,
    'EMF connections metric and Container Insights (cluster and service)',
  );
  flat(r, 'CloudWatch', 'alarms', 'cloudwatch.alarmMonth', a.alarmsPerRegion, 'standard-resolution alarms');
  flat(r, 'CloudWatch', 'dashboards', 'cloudwatch.dashboardMonth', a.dashboardsPerRegion, 'one per region');
}

export function kmsLines(r: RegionInput): void {
  if (r.d.kmsKeysPerRegion > 0)
    flat(
      r,
      'KMS',
      'customer-managed keys',
      'kms.keyMonth',
      r.d.kmsKeysPerRegion,
      'the alarm topic is encrypted with a key CloudWatch may use',
    );
}

/** Lines billed once per account: Global Accelerator's fixed fee. */
export function globalLines(c: Ctx, a: Assumptions): void {
  const H = a.hoursPerMonth;
  flat(c, 'Global Accelerator', 'fixed fee', 'globalAccelerator.hour', H, `1 accelerator × ${H} h`);
}
