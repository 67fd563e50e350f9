/**
 * Round-number prices and small deployments for hand-checked cost tests. The prices are not AWS
 * prices; they make every expected figure easy to work out on paper.
 */
import { parsePriceFile, priceBookOf, type PriceBook } from '../../cost/prices.js';
import type { Assumptions, Deployment } from '../../cost/types.js';

const SRC = 'https://example.com/prices';
const p = (usd: number, unit: string) => ({ usd, unit, source: SRC });

export function syntheticRegion(
  region: string,
  overrides: Record<string, unknown> = {},
  drop: readonly string[] = [],
) {
  const prices: Record<string, unknown> = {
    'fargate.arm64.vcpuHour': p(0.04, 'vCPU-hour'),
    'fargate.arm64.gbHour': p(0.004, 'GB-hour'),
    'fargate.x86_64.vcpuHour': p(0.05, 'vCPU-hour'),
    'fargate.x86_64.gbHour': p(0.005, 'GB-hour'),
    'alb.hour': p(0.02, 'ALB-hour'),
    'alb.lcuHour': p(0.01, 'LCU-hour'),
    'nlb.hour': p(0.02, 'NLB-hour'),
    'nlb.nlcuHour': p(0.005, 'NLCU-hour'),
    'msk.brokerHour.kafka.m5.large': p(0.2, 'broker-hour'),
    'msk.storageGbMonth': p(0.1, 'GB-month'),
    'mskReplicator.hour': p(0.3, 'replicator-hour'),
    'mskReplicator.perGb': p(0.1, 'GB replicated'),
    'dataTransfer.internetOut': {
      unit: 'GB',
      source: SRC,
      tiers: [
        { upTo: 10_000, usd: 0.1 },
        { upTo: null, usd: 0.05 },
      ],
    },
    'dataTransfer.interRegionOut': p(0.02, 'GB'),
    'dataTransfer.interAz': p(0.01, 'GB each direction'),
    'nat.hour': p(0.05, 'NAT gateway-hour'),
    'nat.perGb': p(0.05, 'GB processed'),
    'publicIpv4.hour': p(0.005, 'address-hour'),
    'vpcEndpoint.s3Gateway': p(0, 'endpoint-month'),
    'ecr.storageGbMonth': p(0.1, 'GB-month'),
    'kms.keyMonth': p(1, 'key-month'),
    'cloudwatch.logsIngestGb': p(0.5, 'GB ingested'),
    'cloudwatch.logsStorageGbMonth': p(0.03, 'GB-month'),
    'cloudwatch.metricMonth': p(0.3, 'metric-month'),
    'cloudwatch.alarmMonth': p(0.1, 'alarm-month'),
    'cloudwatch.dashboardMonth': p(3, 'dashboard-month'),
    'apiGatewayWebSocket.messages': {
      unit: 'million messages',
      source: SRC,
      tiers: [
        { upTo: 1000, usd: 1 },
        { upTo: null, usd: 0.8 },
      ],
    },
    'apiGatewayWebSocket.connectionMinutes': p(0.25, 'million connection-minutes'),
    ...overrides,
  };
  for (const k of drop) delete prices[k];
  return parsePriceFile(
    {
      schemaVersion: 1,
      version: 'test.1',
      asOf: '2000-01-01',
      region,
      location: `Test ${region}`,
      geography: 'NA',
      currency: 'USD',
      notice: 'test prices',
      prices,
    },
    `${region}.json`,
  );
}

export function syntheticGlobal() {
  const prices: Record<string, unknown> = {
    'globalAccelerator.hour': p(0.025, 'accelerator-hour'),
    'acm.exportablePublicCertificate': p(15, 'certificate issued or renewed'),
  };
  for (const a of ['NA', 'EU', 'APAC'])
    for (const b of ['NA', 'EU', 'APAC']) prices[`globalAccelerator.dtPremium.${a}.${b}`] = p(0.015, 'GB');
  return parsePriceFile(
    {
      schemaVersion: 1,
      version: 'test.1',
      asOf: '2000-01-01',
      region: 'global',
      location: 'Global',
      currency: 'USD',
      notice: 'test prices',
      prices,
    },
    'global.json',
  );
}

export function syntheticBook(regions: readonly string[] = ['us-east-1', 'eu-west-1']): PriceBook {
  return priceBookOf([syntheticGlobal(), ...regions.map((r) => syntheticRegion(r))]);
}

/** One region, 1..10 tasks of 0.5 vCPU / 1 GB, 10k connections each, 2 × m5.large, single NAT, 2 AZs, an S3 endpoint, the image in a repository per region. */
export const ONE_REGION: Deployment = {
  stack: 'fixture',
  regions: [{ name: 'us-east-1', minTasks: 1, maxTasks: 10 }],
  task: { vcpu: 0.5, memoryGiB: 1, arch: 'arm64' },
  connectionsPerTask: 10_000,
  msk: { kind: 'provisioned', brokers: 2, instanceType: 'kafka.m5.large', storageGiB: 100 },
  crossRegion: 'replicator',
  nat: 'single',
  azCount: 2,
  retentionHours: 24,
  loadBalancer: 'alb',
  kmsKeysPerRegion: 1,
  s3GatewayEndpoint: true,
  image: { repositoryPerRegion: true, inEcr: true },
};

export const TWO_REGIONS: Deployment = {
  ...ONE_REGION,
  regions: [
    { name: 'us-east-1', minTasks: 1, maxTasks: 20 },
    { name: 'eu-west-1', minTasks: 1, maxTasks: 20 },
  ],
};

/** The model constants the hand-checked figures were worked out with (spelled out, not the defaults). */
export const ASSUMPTIONS: Assumptions = {
  hoursPerMonth: 730,
  deliveryOverheadBytes: 160,
  kafkaOverheadBytes: 100,
  compressionMinBytes: 512,
  tcpIpHeaderBytes: 52,
  tlsRecordOverheadBytes: 22,
  serverPingIntervalSeconds: 25,
  sdkPingIntervalSeconds: 20,
  skipGatewayPingAfterClientFrame: false,
  exportableCertificateRenewalDays: 335,
  handshakeBytesOut: 5_000,
  handshakeBytesIn: 1_500,
  replicationFactor: 3,
  redisStreamSeconds: 300,
  rackAwareConsumers: false,
  albRulesPerRequest: 1,
  logBytesPerTaskHour: 50_000,
  logBytesPerConnection: 400,
  logRetentionDays: 30,
  logCompressionRatio: 0.15,
  customMetricsPerRegion: 12,
  alarmsPerRegion: 8,
  dashboardsPerRegion: 1,
  imageMegabytes: 150,
  imagePullsPerTaskPerMonth: 4,
  imagesStored: 30,
  apiGatewayKeepaliveSeconds: 300,
};

/** Seconds in the model's month (730 h) and bytes in a billed GB. */
export const MONTH_S = 730 * 3600;
export const GB = 2 ** 30;
