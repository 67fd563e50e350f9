/**
 * Stack configuration (`wsgw:` namespace, docs/infrastructure.md): one schema, one pure parser.
 *
 * `parseStackConfig` takes the raw values of a stack (as Pulumi hands them over — objects and
 * numbers may still be JSON strings — or as read from a `Pulumi.<stack>.yaml` file) and returns a
 * typed, deeply frozen object. This module imports nothing from Pulumi, so the cost model and
 * `npm run synth` read the very same stack files the program deploys without the Pulumi runtime;
 * the program reads its config through `config.ts`. Every error message names the key
 * (`wsgw:regions[1].maxTasks: ...`), so a typo never surfaces as an AWS API error twenty minutes in.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CLIENT_DEFAULTS } from '../services/client/src/client.js';
import { TIMING_DEFAULTS } from '../services/shared/src/constants.js';
import { connectionMemory, maxConnectionsPerTask } from './capacity.js';

/** Config namespace, equal to the Pulumi project name. */
export const CONFIG_NAMESPACE = 'wsgw';

/**
 * AWS commercial regions a stack may name. A typo such as `us-east-3` must fail at parse time;
 * extend the list when AWS opens a region (every one of them has ECS, MSK and ALB).
 */
export const AWS_REGIONS = Object.freeze([
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'ca-west-1',
  'mx-central-1',
  'sa-east-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-central-1',
  'eu-central-2',
  'eu-north-1',
  'eu-south-1',
  'eu-south-2',
  'af-south-1',
  'il-central-1',
  'me-south-1',
  'me-central-1',
  'ap-east-1',
  'ap-east-2',
  'ap-south-1',
  'ap-south-2',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-7',
] as const);

/**
 * How private subnets reach the internet (ECR, Secrets Manager, CloudWatch Logs).
 * - `perAz`: one NAT gateway per AZ. Survives an AZ outage; costs one NAT gateway-hour per AZ
 *   (about $0.045/h, ~$33/month each in us-east-1) plus ~$0.045 per GB processed.
 * - `single`: one NAT gateway for the region. A third of `perAz` for three AZs, but an outage of
 *   its AZ cuts egress (image pulls, secrets, logs) for tasks in every AZ.
 * - `none`: no NAT gateway; tasks run in the public subnets with a public IP (no NAT cost, and
 *   still reachable only from the load balancer through their security group). MSK stays private.
 */
export const NAT_MODES = ['perAz', 'single', 'none'] as const;
export type NatMode = (typeof NAT_MODES)[number];

/**
 * Cross-region fan-out (docs/architecture.md, docs/infrastructure.md).
 * - `replicator`: one MSK Replicator per ordered region pair copies `wsgw.fanout.<source>` into
 *   the target region; gateways read only their local cluster.
 * - `direct`: no replication; every gateway also consumes the other regions' clusters over
 *   inter-region VPC peering.
 */
export const CROSS_REGION_MODES = ['replicator', 'direct'] as const;
export type CrossRegionMode = (typeof CROSS_REGION_MODES)[number];

/**
 * Where client connections end in each region.
 * - `alb`: an Application Load Balancer terminates TLS (an ACM certificate it holds) and proxies
 *   WebSockets to the tasks. Billed per LCU, of which active connections decide the count: one LCU
 *   per 3,000 connections.
 * - `nlb`: a Network Load Balancer passes TCP through and the gateway terminates TLS itself with an
 *   ACM exportable certificate it fetches from ACM (docs/infrastructure.md, Edge). One NLCU per
 *   100,000 connections, so processed bytes decide; TLS costs the tasks memory and CPU
 *   (docs/cost.md, TLS in the task).
 */
export const EDGES = ['alb', 'nlb'] as const;
export type Edge = (typeof EDGES)[number];

/**
 * What carries messages between gateways (docs/infrastructure.md, Bus).
 * - `kafka`: an MSK cluster per region (`wsgw:msk`); across regions the replicator or direct reads.
 * - `redis`: an ElastiCache for Valkey deployment per region (`wsgw:redis`), one stream per origin
 *   region; gateways read the other regions' streams directly over VPC peering.
 */
export const BUSES = ['kafka', 'redis'] as const;
export type Bus = (typeof BUSES)[number];

/**
 * How a region's ElastiCache is sized.
 * - `nodes`: a replication group of `nodeType` nodes, a primary and `replicas` replicas in other
 *   AZs, with automatic failover and Multi-AZ when there is a replica. A publish can wait (WAIT)
 *   until a replica holds it.
 * - `serverless`: ElastiCache Serverless for Valkey within `maxDataGB` and `maxEcpuPerSecond`,
 *   billed per GB-hour stored and per ECPU; AWS replicates it across AZs.
 */
export const REDIS_MODES = ['nodes', 'serverless'] as const;
export type RedisMode = (typeof REDIS_MODES)[number];

/**
 * Valkey versions ElastiCache runs, node-based (`engineVersion`) and serverless (its major
 * version). Extend when AWS adds one.
 */
export const VALKEY_NODE_VERSIONS = Object.freeze(['7.2', '8.0', '8.1'] as const);
export const VALKEY_SERVERLESS_MAJOR_VERSIONS = Object.freeze(['7', '8'] as const);

/**
 * The gateway closes a connection that sent no frame for this long (WSGW_IDLE_TIMEOUT_MS, passed
 * to every task): the ceiling of both keep-alive intervals below.
 */
export const IDLE_TIMEOUT_S = TIMING_DEFAULTS.idleTimeoutMs / 1000;

/** Fargate CPU units and the memory sizes (MiB) each one allows. */
export const FARGATE_SIZES: Readonly<Record<number, readonly number[]>> = Object.freeze({
  256: [512, 1024, 2048],
  512: range(1024, 4096, 1024),
  1024: range(2048, 8192, 1024),
  2048: range(4096, 16384, 1024),
  4096: range(8192, 30720, 1024),
  8192: range(16384, 61440, 4096),
  16384: range(32768, 122880, 8192),
});

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

/** Retention periods CloudWatch Logs accepts. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];
const BURSTABLE_MSK = /^kafka\.t3\./;
/** MSK Replicator with identical topic names (how origin topics are copied) needs this Kafka version or later. */
export const REPLICATOR_MIN_KAFKA = '2.8.1';
/** Regions where MSK takes exactly two client subnets (two AZs); elsewhere two or three. */
const MSK_TWO_AZ_REGIONS = new Set(['us-west-1']);
const HOSTNAME = /^(?=.{1,253}$)(?!-)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$/;
const CIDR16 = /^10\.(\d{1,3})\.0\.0\/16$|^172\.(1[6-9]|2\d|3[01])\.0\.0\/16$|^192\.168\.0\.0\/16$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

const existingVpc = z
  .object({
    /** An existing VPC to deploy into instead of creating one. */
    id: z.string().regex(/^vpc-[0-9a-f]+$/, 'must look like vpc-0123abcd'),
    /** Subnets for the ALB (one per AZ, routed to an internet gateway). */
    publicSubnetIds: z
      .array(z.string().regex(/^subnet-[0-9a-f]+$/))
      .min(2, 'needs at least two subnets (two AZs)'),
    /** Subnets for tasks and brokers (one per AZ, with egress to AWS APIs). */
    privateSubnetIds: z
      .array(z.string().regex(/^subnet-[0-9a-f]+$/))
      .min(2, 'needs at least two subnets (two AZs)'),
    /** The VPC's CIDR; needed by `direct` mode for peering routes and broker ingress, and checked against the other regions'. */
    cidr: z.string().regex(CIDR, 'must be an IPv4 CIDR such as 10.40.0.0/16').optional(),
    /** Route tables of the private subnets; needed by `direct` mode for peering routes. */
    privateRouteTableIds: z.array(z.string().regex(/^rtb-[0-9a-f]+$/)).optional(),
  })
  .strict();

const region = z
  .object({
    name: z.string(),
    /** Autoscaling floor; also the desired count the service is created with. */
    minTasks: z.number().int().min(1, 'must be at least 1'),
    /** Autoscaling ceiling. */
    maxTasks: z.number().int().min(1, 'must be at least 1').max(1000, 'must be at most 1000'),
    /**
     * The created VPC's range, a private /16: required without `vpc`. Explicit so that no other
     * region's list position decides it (a changed CIDR replaces the VPC, its subnets and the MSK
     * cluster in them).
     */
    cidr: z.string().regex(CIDR16, 'must be a private /16 such as 10.16.0.0/16').optional(),
    /** Deploy into this existing VPC instead of creating one. */
    vpc: existingVpc.optional(),
  })
  .strict();

const msk = z
  .object(
    {
      /** Broker instance type; the Replicator and multi-VPC connectivity need m5.large or bigger. */
      instanceType: z
        .string()
        .regex(/^kafka\.[a-z0-9]+\.[a-z0-9]+$/, 'must be an MSK broker type such as kafka.m7g.large'),
      /** Brokers per AZ; the cluster has brokersPerAz × azCount brokers. */
      brokersPerAz: z.number().int().min(1).max(10).default(1),
      /** EBS volume per broker, GiB. */
      volumeGiB: z.number().int().min(1).max(16384).default(100),
      kafkaVersion: z
        .string()
        .regex(/^\d+\.\d+\.\d+$/, 'must be a version such as 3.6.0')
        .default('3.6.0'),
      /** Partitions of each origin topic `wsgw.fanout.<region>`. */
      partitions: z.number().int().min(1).max(1000).default(12),
      /** How long an origin topic keeps messages (the history window gateways may read back). */
      retentionHours: z.number().int().min(1).max(8760).default(24),
      crossRegion: z
        .enum(CROSS_REGION_MODES, { error: `must be one of ${CROSS_REGION_MODES.join(', ')}` })
        .default('replicator'),
      /**
       * Gateways read from the replica in their own AZ (Kafka rack awareness) instead of the
       * partition leaders: no cross-AZ charge for the stream every task reads. Sets two broker
       * properties MSK's acceptance of which is not verified here (docs/infrastructure.md).
       */
      zoneLocalReads: z.boolean({ error: 'must be true or false' }).default(false),
    },
    { error: 'is required (broker sizing and crossRegion)' },
  )
  .strict();

const redis = z
  .object({
    mode: z.enum(REDIS_MODES, { error: `must be one of ${REDIS_MODES.join(', ')}` }).default('nodes'),
    /** Node type of every node of the replication group (`nodes`). */
    nodeType: z
      .string()
      .regex(/^cache\.[a-z0-9]+\.[a-z0-9]+$/, 'must be an ElastiCache node type such as cache.t4g.small')
      .default('cache.t4g.small'),
    /** Replicas beside the primary (`nodes`); with none there is no failover and no Multi-AZ. */
    replicas: z.number().int().min(0).max(5, 'must be at most 5 (replicas per shard)').default(1),
    /** Valkey version: `engineVersion` of the replication group; its major version for serverless. */
    engineVersion: z
      .string()
      .regex(/^\d+\.\d+$/, 'must be a version such as 8.0')
      .default('8.0'),
    /** Serverless: the most data the cache may hold, GB. */
    maxDataGB: z.number().int().min(1).max(5000).default(1),
    /** Serverless: the most ECPUs per second it may use. */
    maxEcpuPerSecond: z.number().int().min(1000).max(15_000_000).default(5000),
  })
  .strict();

const task = z
  .object({
    /** Fargate CPU units per task. */
    cpu: z.number().int(),
    /** Fargate memory per task, MiB. */
    memory: z.number().int(),
  })
  .strict();

const network = z
  .object({
    nat: z.enum(NAT_MODES, { error: `must be one of ${NAT_MODES.join(', ')}` }).default('perAz'),
    /** Availability zones per created VPC (and thus subnets per tier and the MSK broker spread). */
    azCount: z
      .number()
      .int()
      .min(2, 'must be at least 2')
      .max(3, 'must be at most 3 (MSK spreads brokers over two or three AZs)')
      .default(2),
  })
  .strict();

const keepalive = z
  .object({
    /**
     * The gateway's WebSocket ping interval (WSGW_PING_INTERVAL_MS). A ping finds a dead peer within
     * two intervals; past half the idle timeout the idle timeout finds it as soon.
     */
    pingSeconds: z
      .number()
      .int()
      .min(1)
      .max(
        IDLE_TIMEOUT_S,
        `must be at most ${IDLE_TIMEOUT_S} (the gateway's idle timeout closes a silent connection by then)`,
      )
      .default(120),
    /**
     * The app-level ping interval the stack's clients use (WsgwClient `pingIntervalMs`). The gateway
     * does not set it; the stack states it so that the cost model counts those pings and the checks
     * below hold for them.
     */
    clientPingSeconds: z
      .number()
      .int()
      .min(1)
      .max(
        IDLE_TIMEOUT_S / 2,
        `must be at most ${IDLE_TIMEOUT_S / 2}: the gateway closes a client silent for ${IDLE_TIMEOUT_S} s, and one late ping must not do it`,
      )
      .default(CLIENT_DEFAULTS.pingIntervalMs / 1000),
    /**
     * The gateway skips its ping to a connection that sent a frame within the interval
     * (WSGW_PING_SKIP_ACTIVE): that frame already proves the client alive.
     */
    skipPingAfterClientFrame: z.boolean({ error: 'must be true or false' }).default(false),
  })
  .strict();

const schema = z
  .object({
    regions: z
      .array(region)
      .min(1, 'needs at least one region')
      .max(10, 'at most 10 regions (Global Accelerator endpoint groups per listener)'),
    /** The region whose provider manages the global resources; required with more than one region. */
    homeRegion: z.string().optional(),
    domain: z
      .string({ error: 'is required (the public hostname, e.g. ws.example.com)' })
      .regex(HOSTNAME, 'must be a lower-case hostname such as ws.example.com'),
    cloudflareZoneId: z
      .string({ error: 'is required (the Cloudflare zone holding the domain)' })
      .regex(/^[0-9a-f]{32}$/, 'must be a 32-character hex Cloudflare zone id'),
    edge: z.enum(EDGES, { error: `must be one of ${EDGES.join(', ')}` }).default('alb'),
    keepalive: keepalive.default({
      pingSeconds: 120,
      clientPingSeconds: CLIENT_DEFAULTS.pingIntervalMs / 1000,
      skipPingAfterClientFrame: false,
    }),
    /** Target tracking value: average open WebSocket connections per task. */
    connectionsPerTask: z
      .number()
      .int()
      .min(100, 'must be at least 100')
      .max(1_000_000, 'must be at most 1000000')
      .default(10_000),
    /** A prebuilt image reference; when absent the program builds the repository's Dockerfile. */
    image: z.string().min(1).optional(),
    task: task.default({ cpu: 1024, memory: 2048 }),
    network: network.default({ nat: 'perAz', azCount: 2 }),
    /** What carries messages between gateways. */
    bus: z.enum(BUSES, { error: `must be one of ${BUSES.join(', ')}` }).default('kafka'),
    /**
     * Kafka sizing: required with bus `kafka`; with `redis` it only sizes the Kafka side of
     * `npm run cost`'s bus comparison (COMPARISON_MSK when absent).
     */
    msk: msk.optional(),
    /** ElastiCache sizing with bus `redis`; with `kafka`, the Redis side of the cost comparison. */
    redis: redis.default({
      mode: 'nodes',
      nodeType: 'cache.t4g.small',
      replicas: 1,
      engineVersion: '8.0',
      maxDataGB: 1,
      maxEcpuPerSecond: 5000,
    }),
    /** CloudWatch Logs retention for task and broker logs. */
    logRetentionDays: z
      .number()
      .int()
      .refine((d) => LOG_RETENTION_DAYS.includes(d), `must be one of ${LOG_RETENTION_DAYS.join(', ')}`)
      .default(14),
    /** Alarm notifications go to this address (an SNS e-mail subscription) when set. */
    alarmEmail: z.email('must be an e-mail address').optional(),
    /** Verify client JWTs against this JWKS instead of the HS256 secret `wsgw:jwtSecret`. */
    jwksUrl: z.url({ protocol: /^https$/, error: 'must be an https URL' }).optional(),
    /** Browser origins allowed to connect (`WSGW_ALLOWED_ORIGINS`); empty allows any. */
    allowedOrigins: z.array(z.url()).default([]),
  })
  .strict();

/**
 * Keys that hold secrets. They are read by the Pulumi reader as secret outputs and never enter
 * the parsed object (which is printed by synth and may be logged by other tools).
 */
export const SECRET_KEYS = Object.freeze(['jwtSecret', 'publishKey', 'redisAuthToken'] as const);

/** Keys whose raw value is JSON when it arrives as a string from the Pulumi runtime. */
const STRUCTURED_KEYS = new Set([
  'regions',
  'connectionsPerTask',
  'task',
  'network',
  'msk',
  'redis',
  'logRetentionDays',
  'allowedOrigins',
  'keepalive',
]);

export interface ExistingVpcConfig {
  readonly id: string;
  readonly publicSubnetIds: readonly string[];
  readonly privateSubnetIds: readonly string[];
  readonly cidr?: string;
  readonly privateRouteTableIds?: readonly string[];
}

export interface RegionConfig {
  /** AWS region code. */
  readonly name: string;
  readonly minTasks: number;
  readonly maxTasks: number;
  /** CIDR of the region's VPC: the configured one, or the existing VPC's. Undefined only for an existing VPC without `cidr`. */
  readonly cidr?: string;
  /** Set when deploying into an existing VPC. */
  readonly vpc?: ExistingVpcConfig;
  /** AZs the region's tasks and brokers span: `wsgw:network.azCount`, or the existing VPC's private subnets. */
  readonly azCount: number;
  /** MSK brokers in the region: `wsgw:msk.brokersPerAz` × `azCount`. */
  readonly brokerCount: number;
}

export interface MskConfig {
  readonly instanceType: string;
  readonly brokersPerAz: number;
  readonly volumeGiB: number;
  readonly kafkaVersion: string;
  readonly partitions: number;
  readonly retentionHours: number;
  readonly crossRegion: CrossRegionMode;
  /** Gateways read from the replica in their own AZ (see the schema above). */
  readonly zoneLocalReads: boolean;
}

export interface RedisConfig {
  readonly mode: RedisMode;
  readonly nodeType: string;
  readonly replicas: number;
  readonly engineVersion: string;
  readonly maxDataGB: number;
  readonly maxEcpuPerSecond: number;
}

export interface TaskSize {
  /** Fargate CPU units (1024 = one vCPU). */
  readonly cpu: number;
  /** MiB. */
  readonly memory: number;
  /** Graviton: cheaper per vCPU-hour than x86 on Fargate; the image is built for linux/arm64. */
  readonly architecture: 'ARM64';
}

export interface KeepaliveConfig {
  readonly pingSeconds: number;
  readonly clientPingSeconds: number;
  readonly skipPingAfterClientFrame: boolean;
}

/** The parsed, validated and frozen `wsgw:` configuration of one stack. */
export interface StackConfig {
  /** Regions in configured order. The order means nothing: no name, range or role derives from a position. */
  readonly regions: readonly RegionConfig[];
  /**
   * The region whose provider manages the Global Accelerator and whose ACM certificate names the
   * shared validation record: `wsgw:homeRegion`, or the only region.
   */
  readonly homeRegion: string;
  readonly domain: string;
  readonly cloudflareZoneId: string;
  readonly edge: Edge;
  readonly keepalive: KeepaliveConfig;
  readonly connectionsPerTask: number;
  readonly image?: string;
  readonly task: TaskSize;
  readonly network: { readonly nat: NatMode; readonly azCount: number };
  /** What carries messages between gateways: `wsgw:bus`. */
  readonly bus: Bus;
  /**
   * The Kafka sizing: the deployed one with bus `kafka`; with `redis`, `wsgw:msk` or
   * COMPARISON_MSK, used only by the cost model's bus comparison.
   */
  readonly msk: MskConfig;
  /** The ElastiCache sizing: deployed with bus `redis`; with `kafka`, the cost comparison's. */
  readonly redis: RedisConfig;
  readonly logRetentionDays: number;
  readonly alarmEmail?: string;
  /** `jwks` when `wsgw:jwksUrl` is set, otherwise the HS256 secret `wsgw:jwtSecret` is required. */
  readonly auth: { readonly mode: 'jwt-secret' } | { readonly mode: 'jwks'; readonly jwksUrl: string };
  readonly allowedOrigins: readonly string[];
}

/** A configuration error; `issues` lists every problem, each starting with the full key. */
export class StackConfigError extends Error {
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`invalid stack configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'StackConfigError';
    this.issues = issues;
  }
}

/** `["regions", 1, "maxTasks"]` -> `wsgw:regions[1].maxTasks`. */
export function configKey(path: readonly PropertyKey[]): string {
  let key = CONFIG_NAMESPACE + ':';
  path.forEach((part, i) => {
    if (typeof part === 'number') key += `[${part}]`;
    else key += (i === 0 ? '' : '.') + String(part);
  });
  return key;
}

/**
 * Parses and validates the raw `wsgw:` values of one stack.
 *
 * @param raw keys with or without the `wsgw:` prefix; values as Pulumi provides them (strings,
 *   JSON strings for objects and numbers) or as YAML parsed them. Keys of other namespaces
 *   (`aws:region`, `pulumi:...`) are ignored.
 * @throws StackConfigError listing every problem, each naming its key.
 */
export function parseStackConfig(raw: Readonly<Record<string, unknown>>): StackConfig {
  const values: Record<string, unknown> = {};
  const issues: string[] = [];
  for (const [fullKey, value] of Object.entries(raw)) {
    const sep = fullKey.indexOf(':');
    if (sep >= 0 && fullKey.slice(0, sep) !== CONFIG_NAMESPACE) continue;
    const key = sep >= 0 ? fullKey.slice(sep + 1) : fullKey;
    if ((SECRET_KEYS as readonly string[]).includes(key)) continue;
    values[key] = STRUCTURED_KEYS.has(key) ? decodeJson(value) : value;
  }

  const result = schema.safeParse(values);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const k of issue.keys) issues.push(`${configKey([...issue.path, k])}: unknown setting`);
      } else {
        issues.push(`${configKey(issue.path)}: ${issue.message}`);
      }
    }
    throw new StackConfigError(issues);
  }
  const parsed = result.data;
  if (parsed.msk === undefined && parsed.bus === 'kafka')
    issues.push(`${configKey(['msk'])}: is required with wsgw:bus kafka (broker sizing and crossRegion)`);
  const c = { ...parsed, msk: parsed.msk ?? COMPARISON_MSK };
  const kafka = c.bus === 'kafka';
  // Gateways read other regions' streams themselves: Kafka in `direct` mode, and Redis always.
  const directReads = !kafka || c.msk.crossRegion === 'direct';

  // Cross-field rules zod's per-field schema cannot express.
  const seen = new Map<string, number>();
  c.regions.forEach((r, i) => {
    if (!(AWS_REGIONS as readonly string[]).includes(r.name)) {
      issues.push(`${configKey(['regions', i, 'name'])}: unknown AWS region "${r.name}"`);
    }
    const first = seen.get(r.name);
    if (first !== undefined) {
      issues.push(
        `${configKey(['regions', i, 'name'])}: duplicate region "${r.name}" (also wsgw:regions[${first}])`,
      );
    } else seen.set(r.name, i);
    if (r.minTasks > r.maxTasks) {
      issues.push(
        `${configKey(['regions', i, 'minTasks'])}: minTasks (${r.minTasks}) is greater than maxTasks (${r.maxTasks})`,
      );
    }
    if (r.vpc && r.cidr)
      issues.push(
        `${configKey(['regions', i, 'cidr'])}: set vpc.cidr instead when deploying into an existing VPC`,
      );
    if (r.vpc && directReads && c.regions.length > 1) {
      const why = kafka ? 'wsgw:msk.crossRegion "direct"' : 'wsgw:bus redis';
      if (!r.vpc.cidr)
        issues.push(`${configKey(['regions', i, 'vpc', 'cidr'])}: is required with ${why} (peering routes)`);
      if (!r.vpc.privateRouteTableIds?.length) {
        issues.push(
          `${configKey(['regions', i, 'vpc', 'privateRouteTableIds'])}: is required with ${why} (peering routes)`,
        );
      }
    }
  });

  const memories = FARGATE_SIZES[c.task.cpu];
  if (!memories) {
    issues.push(
      `${configKey(['task', 'cpu'])}: ${c.task.cpu} is not a Fargate CPU size (${Object.keys(FARGATE_SIZES).join(', ')})`,
    );
  } else if (!memories.includes(c.task.memory)) {
    issues.push(
      `${configKey(['task', 'memory'])}: ${c.task.memory} MiB is not valid with ${c.task.cpu} CPU units (${memories[0]}..${memories.at(-1)} MiB)`,
    );
  } else {
    // Every connection holds memory in the process and the kernel (measured: infra/capacity.ts);
    // a target the task cannot hold would have autoscaling pack tasks until they run out.
    const most = maxConnectionsPerTask(c.task.memory, c.edge);
    if (c.connectionsPerTask > most) {
      const m = connectionMemory(c.edge);
      issues.push(
        `${configKey(['connectionsPerTask'])}: ${c.connectionsPerTask} connections do not fit a task of ${c.task.memory} MiB (wsgw:task.memory) with wsgw:edge ${c.edge}: ` +
          `${(m.perConnectionBytes / 1000).toFixed(1)} kB each (${m.what}) after ${Math.round(m.reservedBytes(c.task.memory) / 2 ** 20)} MiB for the process and its history, within ${Math.round(m.usableShare * 100)} % of the memory; at most ${most}`,
      );
    }
  }

  // MSK places brokers in two or three subnets of distinct AZs (exactly two in us-west-1); a
  // region's broker count follows the AZs it really spans: its existing VPC's private subnets, or
  // wsgw:network.azCount for a created VPC.
  const azCounts = c.regions.map((r) => r.vpc?.privateSubnetIds.length ?? c.network.azCount);
  c.regions.forEach((r, i) => {
    if (!kafka) return;
    const azs = azCounts[i]!;
    if (r.vpc && azs > 3) {
      issues.push(
        `${configKey(['regions', i, 'vpc', 'privateSubnetIds'])}: MSK takes two or three subnets in distinct AZs; ${azs} given`,
      );
    } else if (MSK_TWO_AZ_REGIONS.has(r.name) && azs !== 2) {
      const from = r.vpc
        ? configKey(['regions', i, 'vpc', 'privateSubnetIds'])
        : configKey(['network', 'azCount']);
      issues.push(
        `${configKey(['regions', i, 'name'])}: MSK in ${r.name} takes exactly two subnets (two AZs); ${from} gives ${azs}`,
      );
    }
  });

  if (!kafka) issues.push(...redisIssues(c.redis));

  if (kafka && c.regions.length > 1 && c.msk.crossRegion === 'replicator') {
    // MSK Replicator and multi-VPC connectivity (needed on every source cluster) refuse
    // burstable brokers, and the Replicator needs at least 3 brokers (4 when spread over 2 AZs)
    // and identical topic names need Kafka 2.8.1.
    if (BURSTABLE_MSK.test(c.msk.instanceType)) {
      issues.push(
        `${configKey(['msk', 'instanceType'])}: ${c.msk.instanceType} cannot be a Replicator source; use kafka.m5.large or bigger, or crossRegion "direct"`,
      );
    }
    if (compareVersions(c.msk.kafkaVersion, REPLICATOR_MIN_KAFKA) < 0) {
      issues.push(
        `${configKey(['msk', 'kafkaVersion'])}: MSK Replicator copying topics under identical names needs Kafka ${REPLICATOR_MIN_KAFKA} or later; ${c.msk.kafkaVersion} is older`,
      );
    }
    c.regions.forEach((r, i) => {
      const azs = azCounts[i]!;
      const brokers = c.msk.brokersPerAz * azs;
      const needed = azs === 2 ? 4 : 3;
      if (brokers < needed) {
        const spread = r.vpc ? `${azs} private subnets of its VPC` : `${azs} AZs`;
        issues.push(
          `${configKey(['msk', 'brokersPerAz'])}: MSK Replicator needs at least ${needed} brokers; ${r.name} gets ${c.msk.brokersPerAz} per AZ × ${spread} = ${brokers}`,
        );
      }
    });
  }

  // Every region's range is explicit and disjoint from every other's: peered VPCs need distinct
  // ranges, and a region added later must never collide with one deployed earlier.
  const ranges: { cidr: string; key: string }[] = [];
  c.regions.forEach((r, i) => {
    if (!r.vpc && !r.cidr) {
      issues.push(
        `${configKey(['regions', i, 'cidr'])}: is required for a created VPC (a private /16 such as 10.16.0.0/16 that no other region uses)`,
      );
    }
    const cidr = r.vpc ? r.vpc.cidr : r.cidr;
    if (!cidr) return;
    const key = configKey(r.vpc ? ['regions', i, 'vpc', 'cidr'] : ['regions', i, 'cidr']);
    const range = cidrRange(cidr);
    if (!range) {
      issues.push(`${key}: ${cidr} is not a valid IPv4 CIDR`);
      return;
    }
    const clash = ranges.find((other) => cidrsOverlap(other.cidr, cidr));
    if (clash)
      issues.push(
        `${key}: ${cidr} overlaps ${clash.key} (${clash.cidr}); every region needs a range of its own`,
      );
    ranges.push({ cidr, key });
  });

  if (c.homeRegion === undefined) {
    if (c.regions.length > 1)
      issues.push(
        `${configKey(['homeRegion'])}: is required with more than one region (one of ${c.regions.map((r) => r.name).join(', ')})`,
      );
  } else if (!c.regions.some((r) => r.name === c.homeRegion)) {
    issues.push(
      `${configKey(['homeRegion'])}: "${c.homeRegion}" is not one of wsgw:regions (${c.regions.map((r) => r.name).join(', ')})`,
    );
  }

  if (issues.length > 0) throw new StackConfigError(issues);

  return deepFreeze<StackConfig>({
    regions: c.regions.map((r) => {
      const cidr = r.vpc ? r.vpc.cidr : r.cidr;
      const azCount = r.vpc?.privateSubnetIds.length ?? c.network.azCount;
      return {
        name: r.name,
        minTasks: r.minTasks,
        maxTasks: r.maxTasks,
        ...(cidr ? { cidr } : {}),
        ...(r.vpc ? { vpc: r.vpc } : {}),
        azCount,
        brokerCount: c.msk.brokersPerAz * azCount,
      };
    }),
    homeRegion: c.homeRegion ?? c.regions[0]!.name,
    domain: c.domain,
    cloudflareZoneId: c.cloudflareZoneId,
    edge: c.edge,
    keepalive: c.keepalive,
    connectionsPerTask: c.connectionsPerTask,
    ...(c.image ? { image: c.image } : {}),
    task: { cpu: c.task.cpu, memory: c.task.memory, architecture: 'ARM64' },
    network: c.network,
    bus: c.bus,
    msk: c.msk,
    redis: c.redis,
    logRetentionDays: c.logRetentionDays,
    ...(c.alarmEmail ? { alarmEmail: c.alarmEmail } : {}),
    auth: c.jwksUrl ? { mode: 'jwks', jwksUrl: c.jwksUrl } : { mode: 'jwt-secret' },
    allowedOrigins: c.allowedOrigins,
  });
}

/**
 * The Kafka sizing a stack on bus `redis` without `wsgw:msk` is compared with by `npm run cost`: the
 * smallest cluster the parser accepts, two burstable brokers read directly across regions.
 */
export const COMPARISON_MSK: MskConfig = Object.freeze({
  instanceType: 'kafka.t3.small',
  brokersPerAz: 1,
  volumeGiB: 10,
  kafkaVersion: '3.6.0',
  partitions: 3,
  retentionHours: 6,
  crossRegion: 'direct',
  zoneLocalReads: false,
});

/** What ElastiCache refuses in a `wsgw:redis` (checked with bus `redis` only). */
export function redisIssues(r: RedisConfig): string[] {
  const issues: string[] = [];
  if (r.mode === 'nodes') {
    if (!(VALKEY_NODE_VERSIONS as readonly string[]).includes(r.engineVersion))
      issues.push(
        `${configKey(['redis', 'engineVersion'])}: ElastiCache runs Valkey ${VALKEY_NODE_VERSIONS.join(', ')} on nodes; ${r.engineVersion} is not one of them`,
      );
  } else {
    const major = r.engineVersion.split('.')[0]!;
    if (!(VALKEY_SERVERLESS_MAJOR_VERSIONS as readonly string[]).includes(major))
      issues.push(
        `${configKey(['redis', 'engineVersion'])}: ElastiCache Serverless runs Valkey major versions ${VALKEY_SERVERLESS_MAJOR_VERSIONS.join(', ')}; ${r.engineVersion} is not one of them`,
      );
  }
  return issues;
}

/**
 * Why ElastiCache would refuse this AUTH token (node-based) or RBAC user password (serverless):
 * 16 to 128 printable ASCII characters, of which the only non-alphanumeric ones allowed are
 * `! & # $ ^ < > -` (Amazon ElastiCache User Guide, Authenticating with the Valkey and Redis OSS
 * AUTH command, https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html). Empty when
 * it is fine. The value itself never appears in a message.
 */
export function redisAuthTokenIssues(token: string): string[] {
  const key = configKey(['redisAuthToken']);
  const issues: string[] = [];
  if (token.length < 16 || token.length > 128)
    issues.push(`${key}: must be 16 to 128 characters (it has ${token.length})`);
  const bad = [...new Set([...token].filter((ch) => !/[A-Za-z0-9!&#$^<>-]/.test(ch)))];
  if (bad.length > 0)
    issues.push(
      `${key}: may hold only letters, digits and ! & # $ ^ < > - (it has ${bad.length} other character${bad.length === 1 ? '' : 's'}, e.g. ${/[\x21-\x7e]/.test(bad[0]!) ? JSON.stringify(bad[0]) : 'a space or non-ASCII one'})`,
    );
  return issues;
}

/** Compares dotted versions numerically: negative when `a` is older than `b`. */
export function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The first and last address of an IPv4 CIDR block as unsigned integers; undefined if malformed. */
export function cidrRange(cidr: string): { readonly first: number; readonly last: number } | undefined {
  const m = CIDR.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return undefined;
  const address = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - bits);
  const first = address - (address % size);
  return { first, last: first + size - 1 };
}

/** Whether two IPv4 CIDR blocks share an address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const x = cidrRange(a);
  const y = cidrRange(b);
  return x !== undefined && y !== undefined && x.first <= y.last && y.first <= x.last;
}

/**
 * Reads the `config:` map of a `Pulumi.<stack>.yaml` file: the raw values `parseStackConfig`
 * takes (secure values become the placeholder `"[secret]"`). For tools that run outside Pulumi.
 */
export function readStackFile(path: string): Record<string, unknown> {
  const doc = parseYaml(readFileSync(path, 'utf8')) as { config?: Record<string, unknown> } | null;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc?.config ?? {})) {
    const isSecure = typeof value === 'object' && value !== null && 'secure' in value;
    out[key] = isSecure ? '[secret]' : value;
  }
  return out;
}

function decodeJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value; // left for the schema to reject with the key's name
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
