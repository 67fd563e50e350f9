/**
 * Inputs and outputs of the cost model. The engine (`model.ts`) is pure: it turns a
 * `Deployment` (what the stack config deploys), a `Load` (what users do) and a price book into
 * an `Estimate`, line by line.
 */
import type { CapacityUnits, LoadBalancerKind } from './lcu.js';

export type CrossRegionMode = 'replicator' | 'direct';
/** `per-az`: one NAT gateway per AZ; `single`: one per region; `none`: tasks get public IPv4 addresses. */
export type NatChoice = 'per-az' | 'single' | 'none';
export type Arch = 'arm64' | 'x86_64';

export interface RegionDeployment {
  readonly name: string;
  readonly minTasks: number;
  readonly maxTasks: number;
  /** This region's broker count when it differs from `msk.brokers` (a region in an existing VPC spans its own subnets' AZs). */
  readonly mskBrokers?: number;
}

export type MskSizing =
  | {
      readonly kind: 'provisioned';
      /** Broker count per region (the whole cluster, all AZs). */
      readonly brokers: number;
      /** e.g. `kafka.m7g.large`. */
      readonly instanceType: string;
      /** EBS volume per broker, GiB (billed as provisioned, used or not). */
      readonly storageGiB: number;
    }
  | {
      readonly kind: 'serverless';
      /** Partitions per region (all `wsgw.fanout.*` topics, local and replicated). */
      readonly partitions: number;
    };

/** What carries messages between gateways: MSK, or ElastiCache for Valkey (read directly across regions). */
export type BusKind = 'kafka' | 'redis';

export type RedisSizing =
  | {
      readonly kind: 'nodes';
      /** e.g. `cache.t4g.small`. */
      readonly nodeType: string;
      /** Nodes per region: the primary and its replicas. */
      readonly nodes: number;
    }
  | { readonly kind: 'serverless' };

/** What a stack deploys, as far as the bill is concerned. */
export interface Deployment {
  readonly stack: string;
  readonly regions: readonly RegionDeployment[];
  readonly task: { readonly vcpu: number; readonly memoryGiB: number; readonly arch: Arch };
  /** The autoscaling target: tasks needed = ceil(connections / connectionsPerTask), within min/max. */
  readonly connectionsPerTask: number;
  /** The bus: `kafka` (default) prices `msk`; `redis` prices `redis` and ignores `msk`. */
  readonly bus?: BusKind;
  readonly msk: MskSizing;
  /** Bus `redis`: each region's cache. */
  readonly redis?: RedisSizing;
  /** With bus `redis` always `direct`: gateways read the other regions' caches themselves. */
  readonly crossRegion: CrossRegionMode;
  readonly nat: NatChoice;
  /** Availability zones per region (ALB nodes, NAT gateways, MSK brokers spread over them). */
  readonly azCount: number;
  /** Kafka topic retention, hours (storage check; serverless storage). */
  readonly retentionHours: number;
  /** The load balancer in front of the tasks. */
  readonly loadBalancer: LoadBalancerKind;
  /** Customer-managed KMS keys per region (the key of the encrypted alarm topic). */
  readonly kmsKeysPerRegion: number;
  /** Every region's VPC has an S3 gateway endpoint, through which ECR image layers bypass NAT. */
  readonly s3GatewayEndpoint: boolean;
  readonly image: {
    /** The stack builds the image into an ECR repository in every region (no prebuilt `wsgw:image`). */
    readonly repositoryPerRegion: boolean;
    /** Tasks pull from ECR, whose layers come from S3 (false: a registry outside AWS, through NAT). */
    readonly inEcr: boolean;
  };
}

/** What users do. Rates are averages over the month. */
export interface Load {
  /** Concurrent connections, whole deployment. */
  readonly connections: number;
  /** Messages delivered to each connection per second. */
  readonly msgRate: number;
  /** Average payload bytes per message. */
  readonly msgBytes: number;
  /**
   * Compressed bytes ÷ payload bytes for clients that negotiated permessage-deflate (every browser
   * does), applied to payloads of at least `compressionMinBytes` in both directions. 1: no
   * compression. Default: the measured figure (DEFAULT_LOAD).
   */
  readonly compressionRatio?: number;
  /** Messages published per second, whole deployment. Default: connections × msgRate ÷ fanout. */
  readonly publishRate?: number;
  /** Average subscribers reached per published message (used only to derive `publishRate`). */
  readonly fanout: number;
  /** Share of each region's published bytes that other regions receive (1 = every message goes everywhere). */
  readonly crossRegionShare: number;
  /** Average connection lifetime, minutes (drives new connections per second). */
  readonly sessionMinutes: number;
  /** Relative weight of each region in connections and publishes. Default: equal. */
  readonly distribution?: Readonly<Record<string, number>>;
}

export type ResolvedLoad = Required<Omit<Load, 'distribution'>> & {
  readonly distribution: Readonly<Record<string, number>>;
};

/** Constants of the model that are not prices. All are documented in docs/cost.md. */
export interface Assumptions {
  readonly hoursPerMonth: number;
  /** Bytes added to each delivered message on the wire: JSON envelope, WebSocket frame, TLS record, TCP/IP headers. */
  readonly deliveryOverheadBytes: number;
  /** Bytes added to each Kafka record: protobuf envelope and record-batch framing. */
  readonly kafkaOverheadBytes: number;
  /** The gateway's WSGW_COMPRESSION_MIN_BYTES: smaller payloads are sent uncompressed. */
  readonly compressionMinBytes: number;
  /** IPv4 and TCP headers of one segment, options included; also the size of a bare ACK. */
  readonly tcpIpHeaderBytes: number;
  /** What a TLS record adds to the data it carries (header, content type, authentication tag). */
  readonly tlsRecordOverheadBytes: number;
  /** Seconds between the gateway's WebSocket pings to each connection. */
  readonly serverPingIntervalSeconds: number;
  /** Seconds between the SDK's `ping` requests on each connection (0: the SDK does not ping). */
  readonly sdkPingIntervalSeconds: number;
  /**
   * The gateway skips its ping to a connection that sent a frame within the ping interval
   * (`wsgw:keepalive.skipPingAfterClientFrame`): SDK pings at least as frequent spare every gateway ping.
   */
  readonly skipGatewayPingAfterClientFrame: boolean;
  /**
   * Days between two issuances of an ACM exportable certificate, each billed: its 395-day validity
   * less the 60 days before expiry in which ACM renews it.
   */
  readonly exportableCertificateRenewalDays: number;
  /** TLS handshake plus HTTP upgrade, bytes each way per new connection. */
  readonly handshakeBytesOut: number;
  readonly handshakeBytesIn: number;
  /**
   * Bus `redis`, serverless: seconds of each region's stream the cache holds (the gateways trim
   * their stream to the recovery history, WSGW's 300 s), for the GB-hours stored.
   */
  readonly redisStreamSeconds: number;
  /** Kafka replication factor (storage check). */
  readonly replicationFactor: number;
  /**
   * Consumers fetch from a replica in their own AZ (Kafka `client.rack`, `wsgw:msk.zoneLocalReads`);
   * removes the consumer cross-AZ traffic wherever the AZ holds a replica.
   */
  readonly rackAwareConsumers: boolean;
  /** ALB listener rules evaluated per request. */
  readonly albRulesPerRequest: number;
  /** Log bytes per task-hour (EMF line and Container Insights event each minute, routine logs), and per connection (open and close lines). */
  readonly logBytesPerTaskHour: number;
  readonly logBytesPerConnection: number;
  readonly logRetentionDays: number;
  /** Stored size of logs relative to ingested size (CloudWatch bills storage compressed). */
  readonly logCompressionRatio: number;
  /** Custom metrics, alarms and dashboards per region. */
  readonly customMetricsPerRegion: number;
  readonly alarmsPerRegion: number;
  readonly dashboardsPerRegion: number;
  /** Container image: compressed size in MB (10^6 bytes), as stored in ECR and pulled by a task. */
  readonly imageMegabytes: number;
  /** Pulls per task per month (deploys, replacements); billed only where they cross a NAT gateway. */
  readonly imagePullsPerTaskPerMonth: number;
  /** Images each region's repository keeps (its lifecycle policy), each counted whole. */
  readonly imagesStored: number;
  /**
   * API Gateway comparison: seconds between the keep-alive messages a client sends while nothing
   * else flows, to stay under API Gateway's 10-minute idle timeout.
   */
  readonly apiGatewayKeepaliveSeconds: number;
}

export interface LineItem {
  readonly service: string;
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  /** USD per unit; for tiered prices the average rate actually paid. */
  readonly unitUsd: number;
  readonly usd: number;
  /** How the quantity was derived. */
  readonly detail: string;
  /** The price entry used (`region:key`). */
  readonly price: string;
}

export interface RegionTraffic {
  readonly connections: number;
  readonly newConnectionsPerSecond: number;
  readonly deliveriesPerSecond: number;
  readonly publishesPerSecond: number;
  /** Bytes per second through the load balancer, to clients and from clients. */
  readonly bytesOutPerSecond: number;
  readonly bytesInPerSecond: number;
  /** The part of those bytes that keeps connections alive (pings, pongs and their bare ACKs). */
  readonly keepaliveBytesOutPerSecond: number;
  readonly keepaliveBytesInPerSecond: number;
  /** Kafka bytes per second produced in this region (origin traffic). */
  readonly kafkaBytesPerSecond: number;
}

export interface TaskCount {
  /** The largest of `byTarget`, `byMemory` and `byCpu`. */
  readonly needed: number;
  /** ceil(connections / connectionsPerTask): what target tracking on connections aims for. */
  readonly byTarget: number;
  /** Tasks whose memory holds the connections (measured bytes per connection, infra/capacity.ts). */
  readonly byMemory: number;
  /** Tasks whose CPU carries pings, deliveries and handshakes below the CPU guard's target. */
  readonly byCpu: number;
  /** Which of the three decided `needed`. */
  readonly decidedBy: 'target' | 'memory' | 'cpu';
  /** CPU the region's connections need, vCPU (measured CPU per event, infra/capacity.ts). */
  readonly cpuVcpu: number;
  /** `needed` clamped to [minTasks, maxTasks]: what runs and is billed. */
  readonly running: number;
  readonly clampedTo: 'min' | 'max' | null;
}

export interface RegionEstimate {
  readonly region: string;
  readonly location: string;
  readonly traffic: RegionTraffic;
  readonly tasks: TaskCount;
  readonly loadBalancer: CapacityUnits;
  readonly lines: readonly LineItem[];
  readonly usd: number;
}

export interface Estimate {
  readonly stack: string;
  readonly deployment: Deployment;
  readonly load: ResolvedLoad;
  readonly assumptions: Assumptions;
  readonly regions: readonly RegionEstimate[];
  /** Lines billed once per account (Global Accelerator's fixed fee). */
  readonly global: readonly LineItem[];
  readonly usd: number;
  /** Monthly cost divided by millions of concurrent connections (null at zero connections). */
  readonly usdPerMillionConnections: number | null;
  readonly warnings: readonly string[];
  readonly prices: readonly { region: string; asOf: string; version: string; file: string }[];
}
