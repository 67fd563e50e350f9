/**
 * The headline scenario, worked out by hand line by line: the prod stack in two regions
 * (us-east-1 and eu-west-1) with the gateway's and the SDK's own keep-alive intervals (25 s and
 * 20 s), 1,000,000 connections, each receiving one 200-byte message a minute, with the shipped
 * 2025-06-01 prices. Every expected figure below is arithmetic on the prices and
 * on the documented model (docs/cost.md), written out, not taken from the engine.
 */
import { describe, expect, it } from 'vitest';
import { compareApiGateway, compareLoadBalancers } from '../../cost/compare.js';
import { DEFAULT_ASSUMPTIONS, estimate } from '../../cost/model.js';
import { loadPriceBook } from '../../cost/prices.js';
import { MEASURED } from '../../infra/capacity.js';
import type { Deployment, LineItem, Load } from '../../cost/types.js';

/**
 * The prod stack with its two largest regions (1 vCPU / 2 GB tasks, 3 AZs, 3 × m7g.large per region,
 * a NAT gateway per AZ, an S3 gateway endpoint, an ECR repository and a KMS key per region).
 */
const PROD_TWO_REGIONS: Deployment = {
  stack: 'prod-two-regions',
  regions: [
    { name: 'us-east-1', minTasks: 3, maxTasks: 60 },
    { name: 'eu-west-1', minTasks: 3, maxTasks: 60 },
  ],
  task: { vcpu: 1, memoryGiB: 2, arch: 'arm64' },
  connectionsPerTask: 20_000,
  msk: { kind: 'provisioned', brokers: 3, instanceType: 'kafka.m7g.large', storageGiB: 200 },
  crossRegion: 'replicator',
  nat: 'per-az',
  azCount: 3,
  retentionHours: 24,
  loadBalancer: 'alb',
  kmsKeysPerRegion: 1,
  s3GatewayEndpoint: true,
  image: { repositoryPerRegion: true, inEcr: true },
};

/** One 200-byte message per connection per minute; fan-out 100 gives 166.67 publishes/s; one-hour sessions. */
const LOAD: Load = {
  connections: 1_000_000,
  msgRate: 1 / 60,
  msgBytes: 200,
  fanout: 100,
  crossRegionShare: 1,
  sessionMinutes: 60,
};

/** What the prod stack file sets (replication factor min(3, brokers), 30 days of logs, leader reads). */
const A = { ...DEFAULT_ASSUMPTIONS, replicationFactor: 3, logRetentionDays: 30, rackAwareConsumers: false };

const MONTH_S = 730 * 3600; // 2,628,000 s in the model's 730-hour month
const GB = 2 ** 30; // 1,073,741,824 bytes
const gb = (bytesPerSecond: number) => (bytesPerSecond * MONTH_S) / GB;

// ---------------------------------------------------------------- traffic of one region (both are equal)
// 500,000 connections; 500,000 / 60 = 8,333.33 deliveries/s; 166.67 / 2 = 83.33 publishes/s;
// 500,000 / 3,600 s = 138.89 new connections/s.
const DELIVERIES = 500_000 / 60;
const PUBLISHES = 1_000_000 / 60 / 100 / 2;
const NEW_CONNECTIONS = 500_000 / 3_600;

// Sizes on the wire. TCP/IPv4 headers with the timestamp option: 20 + 20 + 12 = 52 bytes.
// A TLS 1.3 record adds 5 (header) + 1 (inner content type) + 16 (AEAD tag) = 22 bytes.
const TCP_IP = 20 + 20 + 12;
const TLS = 5 + 1 + 16;
// Server frames carry a 2-byte WebSocket header; client frames 2 + a 4-byte mask key.
const SERVER_PING = 2 + 0 + TLS + TCP_IP; // 76: an empty ping control frame
const CLIENT_PONG = 2 + 4 + 0 + TLS + TCP_IP; // 80: the browser's empty pong, carrying the ACK of the ping
const SDK_PING_JSON = '{"op":"ping","id":180}'; // the 180th ping: 3,600 s / 20 s per ping in an hour-long session
const SERVER_PONG_JSON = '{"op":"pong","id":180,"ts":1735689600000}'; // a 13-digit millisecond timestamp
const SDK_PING = 2 + 4 + 22 + TLS + TCP_IP; // 102
const SERVER_PONG = 2 + 41 + TLS + TCP_IP; // 117: carries the ACK of the ping
const BARE_ACK = TCP_IP; // 52: a segment with no data, acknowledging one the receiver does not answer

// Per connection and second. Gateway ping every 25 s: ping out, pong in, the load balancer's ACK
// of that pong out. SDK ping every 20 s: ping in, pong out, the client's ACK of that pong in.
const KEEPALIVE_OUT = (SERVER_PING + BARE_ACK) / 25 + SERVER_PONG / 20; // 5.12 + 5.85 = 10.97 B/s
const KEEPALIVE_IN = CLIENT_PONG / 25 + (SDK_PING + BARE_ACK) / 20; // 3.2 + 7.7 = 10.9 B/s

// Bytes per second to clients: deliveries (200 + 160 B), handshakes (5,000 B), an ack per publish
// (160 B), keep-alives. From clients: publishes (360 B), handshakes (1,500 B), keep-alives, and the
// client's bare ACK of every delivery and every publish ack.
const OUT_DELIVERIES = DELIVERIES * 360; // 3,000,000
const OUT_HANDSHAKES = NEW_CONNECTIONS * 5_000; // 694,444.44
const OUT_ACKS = PUBLISHES * 160; // 13,333.33
const OUT_KEEPALIVES = 500_000 * KEEPALIVE_OUT; // 5,485,000
const OUT = OUT_DELIVERIES + OUT_HANDSHAKES + OUT_ACKS + OUT_KEEPALIVES; // 9,192,777.78 B/s
const IN =
  PUBLISHES * 360 + // 30,000
  NEW_CONNECTIONS * 1_500 + // 208,333.33
  500_000 * KEEPALIVE_IN + // 5,450,000
  (DELIVERIES + PUBLISHES) * BARE_ACK; // 437,666.67
// = 6,126,000 B/s
const OUT_GB = gb(OUT); // 22,499.47 GB a month

// Internet data out, tiered: the first 10,240 GB at $0.09, the rest (below 51,200) at $0.085.
const INTERNET_OUT_USD = 10_240 * 0.09 + (OUT_GB - 10_240) * 0.085; // 921.60 + 1,042.05 = 1,963.65

// Kafka: 83.33 publishes/s × (200 + 100) = 25,000 B/s produced per region; every task (25) reads the
// local and the replicated stream (50,000 B/s); 2 of 3 reads and writes cross an AZ.
const KAFKA = PUBLISHES * 300;
const CROSS_AZ_GB = gb(KAFKA * (2 / 3) + 25 * 2 * KAFKA * (2 / 3)); // gb(850,000) = 2,080.37 GB
// Logs: 25 tasks × 150,000 B/h × 730 h; the gateway logs nothing per connection (measured).
const LOG_GB = (25 * 150_000 * 730) / GB; // 2.55 GB
const ECR_GB = (30 * 150e6) / GB; // 4.19 GB: the 30 images of 150 MB the repository keeps

type Expected = Record<string, [quantity: number, usd: number]>;

function region(p: {
  albHour: number;
  brokerHour: number;
  storageGbMonth: number;
  natHour: number;
  natGb: number;
  logsIngestGb: number;
}): Expected {
  return {
    'Fargate / vCPU': [25 * 1 * 730, 18_250 * 0.03238],
    'Fargate / memory': [25 * 2 * 730, 36_500 * 0.00356],
    'ALB / load balancer hours': [730, 730 * p.albHour],
    // max(new 138.89 / 25 = 5.56, active 500,000 / 3,000 = 166.67, bytes 51.36 GB/h, rules 0) = 166.67
    'ALB / LCU hours': [(500_000 / 3_000) * 730, (500_000 / 3_000) * 730 * 0.008],
    'MSK / broker hours (kafka.m7g.large)': [3 * 730, 2_190 * p.brokerHour],
    'MSK / broker storage': [3 * 200, 600 * p.storageGbMonth],
    'Data transfer / Kafka clients across AZs': [CROSS_AZ_GB, CROSS_AZ_GB * 0.02],
    'MSK Replicator / replicator hours': [730, 730 * 0.3],
    'MSK Replicator / data replicated': [gb(KAFKA), gb(KAFKA) * 0.08],
    'Data transfer / inter-region out': [gb(KAFKA), gb(KAFKA) * 0.02],
    'Data transfer / internet out': [OUT_GB, INTERNET_OUT_USD],
    'Global Accelerator / DT-Premium': [OUT_GB, OUT_GB * 0.015],
    'NAT gateway / gateway hours': [3 * 730, 2_190 * p.natHour],
    // Logs only: image layers come from ECR through the free S3 gateway endpoint.
    'NAT gateway / data processed': [LOG_GB, LOG_GB * p.natGb],
    'VPC / S3 gateway endpoint': [1, 0],
    // 3 load balancer + 3 NAT addresses
    'VPC / public IPv4 addresses': [6 * 730, 4_380 * 0.005],
    'ECR / image storage': [ECR_GB, ECR_GB * 0.1],
    'KMS / customer-managed keys': [1, 1 * 1],
    'CloudWatch / logs ingested': [LOG_GB, LOG_GB * p.logsIngestGb],
    'CloudWatch / logs stored': [LOG_GB * 0.15, LOG_GB * 0.15 * 0.03],
    'CloudWatch / custom metrics': [20, 20 * 0.3],
    'CloudWatch / alarms': [4, 4 * 0.1],
    'CloudWatch / dashboards': [1, 3],
  };
}

const EXPECTED: Record<string, Expected> = {
  'us-east-1': region({
    albHour: 0.0225,
    brokerHour: 0.204,
    storageGbMonth: 0.1,
    natHour: 0.045,
    natGb: 0.045,
    logsIngestGb: 0.5,
  }),
  'eu-west-1': region({
    albHour: 0.0252,
    brokerHour: 0.229,
    storageGbMonth: 0.11,
    natHour: 0.048,
    natGb: 0.048,
    logsIngestGb: 0.57,
  }),
};
const FLEET_USD =
  Object.values(EXPECTED).reduce(
    (s, lines) => s + Object.values(lines).reduce((x, [, usd]) => x + usd, 0),
    0,
  ) +
  730 * 0.025;

// ---------------------------------------------------------------- API Gateway, per region
// Connection minutes: 500,000 × 43,800 min = 21,900 million.
// Messages: (8,333.33 deliveries + 83.33 publishes) × 2,628,000 s = 22,119 million, plus keep-alives
// from the connections that receive nothing for 10 minutes (API Gateway's idle timeout): with
// deliveries arriving at random at 1/60 per second, e^(−600/60) = e^(−10) = 0.00454 % of them, each
// sending one every 300 s: 500,000 × e^(−10) / 300 × 2,628,000 = 0.1989 million.
const IDLE_SHARE = Math.exp(-10);
const KEEPALIVES_PER_S = (500_000 * IDLE_SHARE) / 300; // 0.0757/s
const MESSAGES_M = ((DELIVERIES + PUBLISHES) * MONTH_S) / 1e6 + (KEEPALIVES_PER_S * MONTH_S) / 1e6; // 22,119.1989
// Data out: what API Gateway sends, which is deliveries, handshakes and acks, and the bare ACK of
// each keep-alive; none of the gateway's keep-alive traffic.
const APIGW_OUT_GB = gb(OUT_DELIVERIES + OUT_HANDSHAKES + OUT_ACKS + KEEPALIVES_PER_S * BARE_ACK); // 9,074.85 GB
// Requests against the account's 10,000/s throttle: @connections callbacks (one per delivery),
// client messages (publishes, keep-alives) and new connections: 8,333.33 + 83.33 + 0.08 + 138.89.
const REQUESTS_PER_S = DELIVERIES + PUBLISHES + KEEPALIVES_PER_S + NEW_CONNECTIONS; // 8,555.63

const APIGW: Record<string, Expected> = {
  'us-east-1': {
    'API Gateway / connection minutes': [21_900, 21_900 * 0.25],
    'API Gateway / messages': [MESSAGES_M, 1_000 * 1 + (MESSAGES_M - 1_000) * 0.8],
    'Data transfer / internet out': [APIGW_OUT_GB, APIGW_OUT_GB * 0.09],
  },
  'eu-west-1': {
    'API Gateway / connection minutes': [21_900, 21_900 * 0.285],
    'API Gateway / messages': [MESSAGES_M, 1_000 * 1.14 + (MESSAGES_M - 1_000) * 0.91],
    'Data transfer / internet out': [APIGW_OUT_GB, APIGW_OUT_GB * 0.09],
  },
};
const APIGW_USD = Object.values(APIGW).reduce(
  (s, lines) => s + Object.values(lines).reduce((x, [, usd]) => x + usd, 0),
  0,
);
// The sums come to $9,923.60 for the fleet and $51,603.80 on API Gateway, 5.2 times as much.

/** Exactly the expected lines, each at its quantity and price. */
function expectLines(actual: readonly LineItem[], expected: Expected): void {
  const lines = new Map(actual.map((l) => [`${l.service} / ${l.item}`, l]));
  expect([...lines.keys()].sort()).toEqual(Object.keys(expected).sort());
  for (const [key, [quantity, usd]] of Object.entries(expected)) {
    // Soft, so that every line that disagrees is reported, not only the first.
    expect.soft(lines.get(key)?.quantity, `${key}: quantity`).toBeCloseTo(quantity, 3);
    expect.soft(lines.get(key)?.usd, `${key}: USD`).toBeCloseTo(usd, 4);
  }
}

describe('1M connections × 1 message a minute × 200 B, prod in two regions (hand-checked)', () => {
  const book = loadPriceBook();
  const e = estimate(PROD_TWO_REGIONS, LOAD, book, A);
  const g = compareApiGateway(e, book);

  it('uses the prices the figures were worked out with', () => {
    // global.json (Global Accelerator, ACM) is dated by the launch of exportable certificates.
    expect(e.prices.map((p) => [p.region, p.asOf])).toEqual([
      ['global', '2025-06-17'],
      ['us-east-1', '2025-06-01'],
      ['eu-west-1', '2025-06-01'],
    ]);
  });

  it('counts the keep-alive payloads as the protocol encodes them', () => {
    expect(SDK_PING_JSON.length).toBe(22);
    expect(SERVER_PONG_JSON.length).toBe(41);
  });

  it('derives the tasks of each region: the connection target decides, memory and CPU would allow fewer', () => {
    // Memory of a 2 GiB task, ALB (no TLS in the task): 70 % of 2,147,483,648 B less the process
    // and a 128 MiB history, over the measured bytes per connection, in whole thousands.
    const alb = MEASURED.edges.alb;
    const perTask =
      Math.floor(
        (2 * 2 ** 30 * 0.7 - MEASURED.processBaselineBytes - 2 ** 27) /
          (alb.rssPerConnectionBytes + alb.kernelPerConnectionBytes) /
          1000,
      ) * 1000;
    // CPU: per connection a gateway ping every 25 s, an SDK ping every 20 s, a delivery a minute;
    // 138.89 handshakes/s; within 60 % of one vCPU per task.
    const vcpu =
      (500_000 * (alb.cpu.gatewayPingUs / 25 + alb.cpu.sdkPingUs / 20 + alb.cpu.deliveryUs / 60)) / 1e6 +
      (NEW_CONNECTIONS * alb.cpu.handshakeMs) / 1e3;
    for (const r of e.regions) {
      expect(r.tasks).toMatchObject({
        needed: 25,
        running: 25,
        clampedTo: null,
        byTarget: 25,
        decidedBy: 'target',
      });
      expect(r.tasks.byMemory).toBe(Math.ceil(500_000 / perTask));
      expect(r.tasks.cpuVcpu).toBeCloseTo(vcpu, 9);
      expect(r.tasks.byCpu).toBe(Math.ceil(vcpu / 0.6));
      expect(r.tasks.byMemory).toBeLessThan(25);
      expect(r.tasks.byCpu).toBeLessThan(25);
    }
  });

  it('derives the traffic of each region', () => {
    for (const r of e.regions) {
      expect(r.traffic.bytesOutPerSecond).toBeCloseTo(OUT, 3);
      expect(r.traffic.bytesInPerSecond).toBeCloseTo(IN, 3);
      expect(r.loadBalancer.byDimension.processedBytes).toBeCloseTo(((OUT + IN) * 3600) / GB, 9);
    }
  });

  for (const name of Object.keys(EXPECTED)) {
    it(`prices every line of ${name}`, () => {
      expectLines(e.regions.find((x) => x.region === name)!.lines, EXPECTED[name]!);
    });
  }

  it('totals the fleet', () => {
    expect(e.global.map((l) => [l.item, l.usd])).toEqual([['fixed fee', 730 * 0.025]]);
    expect(e.usd).toBeCloseTo(FLEET_USD, 4);
    expect(e.warnings).toEqual([]);
  });

  for (const name of Object.keys(APIGW)) {
    it(`prices every API Gateway line of ${name}`, () => {
      expectLines(g.regions.find((x) => x.region === name)!.lines, APIGW[name]!);
    });
  }

  it('totals API Gateway and the ratio', () => {
    expect(g.usd).toBeCloseTo(APIGW_USD, 4);
    expect(g.ratioToFleet).toBeCloseTo(APIGW_USD / FLEET_USD, 9);
  });

  it("shows API Gateway's request rate against the account quota, and the idle share it assumed", () => {
    for (const r of g.regions) {
      expect(r.requestsPerSecond).toBeCloseTo(REQUESTS_PER_S, 6);
      expect(r.idleShare).toBeCloseTo(IDLE_SHARE, 12);
    }
    // 8,556 requests/s is below the 10,000/s quota: no warning at this load.
    expect(g.warnings).toEqual([]);
  });

  it('gives the NLB passing TCP the bytes it processes', () => {
    const tcp = compareLoadBalancers(PROD_TWO_REGIONS, LOAD, book, A).find((o) => o.kind === 'nlb-tcp')!;
    // max(new 138.89 / 800, active 500,000 / 100,000 = 5, bytes 51.36 GB/h): bytes decide. Each
    // region's tasks serve an ACM exportable certificate: $15 per issuance, one every 335 days.
    const units = ((OUT + IN) * 3600) / GB;
    const certificate = (15 * (365 / 12)) / 335;
    expect(tcp.regions.map((r) => r.dominant)).toEqual(['processedBytes', 'processedBytes']);
    expect(tcp.usd).toBeCloseTo(
      730 * 0.0225 + units * 730 * 0.006 + 730 * 0.0252 + units * 730 * 0.006 + 2 * certificate,
      4,
    );
  });
});
