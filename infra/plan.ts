/**
 * Pure planning functions: every number and name the program derives, in one place and tested
 * directly (test/infra/plan.test.ts). Nothing here touches Pulumi, so the cost model and synth
 * can reuse it.
 */
import { originTopic } from '../services/shared/src/names.js';
import { CLIENT_DEFAULTS } from '../services/client/src/client.js';
import {
  DEFAULT_METRICS_PORT,
  DEFAULT_PORT,
  DEFAULT_TOPIC_PREFIX,
  ENV,
  TIMING_DEFAULTS,
} from '../services/shared/src/constants.js';
import type { KeepaliveConfig, NatMode, RedisConfig } from './stack-config.js';

// ---------------------------------------------------------------------------------------------
// Timing: the load balancer and ECS must agree with the gateway's heartbeat and drain.

/** The gateway timing settings (milliseconds), defaults in TIMING_DEFAULTS. */
export type GatewayTiming = { readonly [K in keyof typeof TIMING_DEFAULTS]: number };

/** Fargate refuses a container `stopTimeout` above 120 s. */
export const FARGATE_MAX_STOP_TIMEOUT_S = 120;
/**
 * Global Accelerator forgets a TCP flow that carried nothing for 340 s, and this cannot be changed
 * ("idle timeout for TCP connections is 340 seconds", AWS Global Accelerator Developer Guide, How
 * AWS Global Accelerator works, https://docs.aws.amazon.com/global-accelerator/latest/dg/introduction-how-it-works.html).
 */
export const GLOBAL_ACCELERATOR_TCP_IDLE_TIMEOUT_S = 340;
/**
 * The ALB idle timeout's "valid range is 1-4000 seconds" (Elastic Load Balancing API Reference,
 * LoadBalancerAttribute, https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_LoadBalancerAttribute.html).
 */
export const ALB_MAX_IDLE_TIMEOUT_S = 4000;
/**
 * An NLB TCP listener's idle timeout may be 60 to 6000 s, 350 s by default (Elastic Load Balancing,
 * Network Load Balancers, Update the TCP idle timeout,
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/network/update-idle-timeout.html).
 */
export const NLB_TCP_IDLE_TIMEOUT_RANGE_S = Object.freeze({ min: 60, max: 6000 } as const);
/** ALB health checks: the shortest interval ALB allows and the smallest thresholds. */
const HEALTH_INTERVAL_S = 5;
const HEALTH_TIMEOUT_S = 4;

export interface InfraTiming {
  /** The gateway timing the tasks run with (passed to them as environment variables). */
  readonly gateway: GatewayTiming;
  /**
   * The longest a live connection stays silent (s): the longer of the gateway's ping interval and
   * the clients' app-level ping interval. Whatever sits on the path must keep such a connection.
   */
  readonly maxSilenceS: number;
  /**
   * Load balancer idle timeout (s), the ALB's or the NLB TCP listener's: three silences, so one or
   * two lost keep-alives never cut a live socket.
   */
  readonly lbIdleTimeoutS: number;
  /** Target group deregistration delay (s): covers the drain delay and the jittered close window. */
  readonly deregistrationDelayS: number;
  /** Container `stopTimeout` (s): the drain deadline plus a margin for the process to exit. */
  readonly stopTimeoutS: number;
  readonly healthCheck: {
    readonly intervalS: number;
    readonly timeoutS: number;
    readonly healthyThreshold: number;
    /** Consecutive 503s from `/readyz` before the ALB stops routing new connections. */
    readonly unhealthyThreshold: number;
  };
}

/** The gateway timing of a stack: the defaults, with the ping interval of `wsgw:keepalive`. */
export function gatewayTiming(k: Pick<KeepaliveConfig, 'pingSeconds'>): GatewayTiming {
  return Object.freeze({ ...TIMING_DEFAULTS, pingIntervalMs: k.pingSeconds * 1000 });
}

/**
 * Derives the load balancer and ECS timings from the gateway's own (TIMING_DEFAULTS, or a stack's
 * `gatewayTiming`) and the clients' ping interval, so a change of the heartbeat or drain moves the
 * infrastructure with it.
 *
 * Why each rule:
 * - A live connection carries a frame at least every `maxSilenceS`: the gateway pings every
 *   `pingIntervalMs`, clients every `clientPingMs`. Global Accelerator drops a flow silent for 340 s
 *   (fixed), so that silence must stay below it.
 * - The load balancer closes a connection that carried no bytes for its idle timeout; three
 *   silences tolerate two lost keep-alives.
 * - ECS stops a task behind an ALB in this order: deregister the target and wait for the
 *   deregistration delay (existing connections keep flowing, no new ones arrive), then SIGTERM,
 *   then SIGKILL after `stopTimeout`. The delay covers `drainDelayMs + drainWindowMs`, the time
 *   the gateway itself takes to shed its connections when it starts draining first (SIGTERM
 *   from a deployment or a failing health check, `/readyz` turning 503).
 * - `stopTimeout` must exceed the gateway's hard `drainDeadlineMs`, or ECS kills the process in
 *   the middle of its jittered close batches.
 * - `/readyz` turns 503 as the drain begins; the ALB must notice within `drainDelayMs`, so
 *   interval × unhealthyThreshold stays at or below it.
 */
export function deriveTiming(
  t: GatewayTiming = TIMING_DEFAULTS,
  clientPingMs: number = CLIENT_DEFAULTS.pingIntervalMs,
): InfraTiming {
  const maxSilenceS = Math.max(t.pingIntervalMs, clientPingMs) / 1000;
  if (maxSilenceS >= GLOBAL_ACCELERATOR_TCP_IDLE_TIMEOUT_S) {
    throw new RangeError(
      `a live connection may stay silent for ${maxSilenceS} s; Global Accelerator drops a TCP flow idle for ${GLOBAL_ACCELERATOR_TCP_IDLE_TIMEOUT_S} s`,
    );
  }
  const lbIdleTimeoutS = Math.max(NLB_TCP_IDLE_TIMEOUT_RANGE_S.min, Math.ceil(3 * maxSilenceS));
  if (lbIdleTimeoutS > ALB_MAX_IDLE_TIMEOUT_S)
    throw new RangeError(
      `a silence of ${maxSilenceS} s needs a load balancer idle timeout above the ALB's ${ALB_MAX_IDLE_TIMEOUT_S} s maximum`,
    );
  const deregistrationDelayS = Math.ceil((t.drainDelayMs + t.drainWindowMs) / 1000);
  if (deregistrationDelayS > 3600)
    throw new RangeError(
      `drain of ${deregistrationDelayS} s exceeds the 3600 s deregistration delay maximum`,
    );
  const stopTimeoutS = Math.ceil(t.drainDeadlineMs / 1000) + 10;
  if (stopTimeoutS > FARGATE_MAX_STOP_TIMEOUT_S) {
    throw new RangeError(
      `drainDeadlineMs ${t.drainDeadlineMs} needs a stopTimeout of ${stopTimeoutS} s; Fargate allows at most ${FARGATE_MAX_STOP_TIMEOUT_S} s`,
    );
  }
  const unhealthyThreshold = Math.max(2, Math.floor(t.drainDelayMs / 1000 / HEALTH_INTERVAL_S));
  return Object.freeze({
    gateway: Object.freeze({ ...t }),
    maxSilenceS,
    lbIdleTimeoutS,
    deregistrationDelayS,
    stopTimeoutS,
    healthCheck: Object.freeze({
      intervalS: HEALTH_INTERVAL_S,
      timeoutS: HEALTH_TIMEOUT_S,
      healthyThreshold: 2,
      unhealthyThreshold,
    }),
  });
}

/**
 * Autoscaling cadence. Scale-out reacts within a minute of a connection surge; scale-in waits
 * ten minutes, because every task removed drops its sockets and those clients reconnect at
 * once — a slow scale-in keeps reconnect storms rare and small.
 */
export const SCALING = Object.freeze({
  scaleOutCooldownS: 60,
  scaleInCooldownS: 600,
  /** The CPU guard: scale out when the average task CPU passes this, whatever the connection count. */
  cpuTargetPercent: 60,
});

// ---------------------------------------------------------------------------------------------
// Network

/**
 * The ports clients reach: HTTPS, and HTTP only to be redirected to it. The accelerator listens on
 * exactly these, and the ALBs listen on and admit from the internet exactly these, so
 * `http://<domain>` answers with a redirect instead of timing out.
 */
export const PUBLIC_PORTS = Object.freeze({ http: 80, https: 443 } as const);

/** Splits a /16 into one /22 public and one /19 private subnet per AZ. */
export function planSubnets(
  cidr: string,
  azCount: number,
): { readonly public: readonly string[]; readonly private: readonly string[] } {
  const m = /^(\d{1,3})\.(\d{1,3})\.0\.0\/16$/.exec(cidr);
  if (!m) throw new RangeError(`${cidr}: subnet planning needs a /16`);
  if (azCount < 1 || azCount > 6) throw new RangeError(`azCount ${azCount}: must be 1..6`);
  const prefix = `${m[1]}.${m[2]}`;
  const pub: string[] = [];
  const priv: string[] = [];
  for (let az = 0; az < azCount; az++) {
    // Public: ALB and NAT gateways only, 1019 addresses each is plenty (third octet 0..23).
    pub.push(`${prefix}.${az * 4}.0/22`);
    // Private: one ENI per Fargate task plus brokers; 8187 addresses per AZ (third octet 32..223).
    priv.push(`${prefix}.${32 + az * 32}.0/19`);
  }
  return Object.freeze({ public: Object.freeze(pub), private: Object.freeze(priv) });
}

/** Number of NAT gateways a mode creates. */
export function natGatewayCount(mode: NatMode, azCount: number): number {
  return mode === 'perAz' ? azCount : mode === 'single' ? 1 : 0;
}

/** One line on what the NAT choice costs and risks, printed by synth and in docs. */
export function describeNat(mode: NatMode, azCount: number): string {
  const n = natGatewayCount(mode, azCount);
  switch (mode) {
    case 'perAz':
      return `${n} NAT gateways (one per AZ): ~$${(n * 33).toFixed(0)}/month + $0.045/GB processed (us-east-1 prices); egress survives an AZ outage`;
    case 'single':
      return `1 NAT gateway: ~$33/month + $0.045/GB processed (us-east-1 prices); its AZ failing cuts image pulls and logs for every task`;
    case 'none':
      // AWS bills every public IPv4 address ($0.005/h, ~$3.60/month): no NAT gateway, but one per task.
      return 'no NAT gateway: tasks run in public subnets, reachable only from the load balancer security group, each paying for a public IPv4 address per task (~$3.60/month at $0.005/h)';
  }
}

// ---------------------------------------------------------------------------------------------
// Kafka

export interface MskPlan {
  readonly brokerCount: number;
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
}

/**
 * Broker count and durability settings. The producer uses acks=all, so a message is acknowledged
 * once `min.insync.replicas` brokers hold it; RF 3 / min ISR 2 survives one broker loss without
 * refusing writes. Smaller clusters (dev) get RF = brokers and min ISR one below.
 */
export function planMsk(brokersPerAz: number, azCount: number): MskPlan {
  const brokerCount = brokersPerAz * azCount;
  const replicationFactor = Math.min(3, brokerCount);
  const minInsyncReplicas = Math.max(1, replicationFactor - 1);
  return Object.freeze({ brokerCount, replicationFactor, minInsyncReplicas });
}

/** The topic a region's gateways produce to: one rule, shared with the gateway. */
export { originTopic };

/** Java regex (as MSK Replicator takes it) matching exactly one region's origin topic. */
export function originTopicPattern(region: string, prefix: string = DEFAULT_TOPIC_PREFIX): string {
  // Only the characters special outside a character class; `-` is literal there.
  return originTopic(region, prefix).replace(/[.\\+*?[^\]$(){}|]/g, (c) => `\\${c}`);
}

export interface ReplicationPair {
  readonly source: string;
  readonly target: string;
}

/**
 * Every ordered pair of distinct regions: n(n-1) replicators. Each copies only its source's
 * origin topic, so a message crosses each region boundary once and never loops back.
 */
export function replicationPairs(regions: readonly string[]): readonly ReplicationPair[] {
  const pairs: ReplicationPair[] = [];
  for (const target of regions)
    for (const source of regions) if (source !== target) pairs.push(Object.freeze({ source, target }));
  return Object.freeze(pairs);
}

/** Unordered pairs: one VPC peering connection per pair in `direct` mode. */
export function peeringPairs(regions: readonly string[]): readonly ReplicationPair[] {
  const pairs: ReplicationPair[] = [];
  regions.forEach((a, i) =>
    regions.slice(i + 1).forEach((b) => pairs.push(Object.freeze({ source: a, target: b }))),
  );
  return Object.freeze(pairs);
}

/** `us-east-1` -> `use1`, to keep AWS names that have length limits short and readable. */
export function shortRegion(region: string): string {
  const m = /^([a-z]{2})-([a-z]+)-(\d+)$/.exec(region);
  if (!m) return region;
  const dir = m[2]!
    .replace('northeast', 'ne')
    .replace('southeast', 'se')
    .replace('central', 'c')
    .replace('north', 'n')
    .replace('south', 's')
    .replace('east', 'e')
    .replace('west', 'w');
  return `${m[1]}${dir}${m[3]}`;
}

/** Name of the replicator from `source` into `target` (at most 128 characters by API). */
export function replicatorName(prefix: string, pair: ReplicationPair): string {
  return `${prefix}-${shortRegion(pair.source)}-to-${shortRegion(pair.target)}`.slice(0, 128);
}

/** ARNs an MSK IAM policy names, derived from a cluster ARN `arn:…:cluster/<name>/<uuid>`. */
export interface KafkaArns {
  readonly cluster: string;
  topic(name: string): string;
  /** Every topic on the cluster. */
  readonly topics: string;
  /** Every consumer group on the cluster (the gateway names one group per task). */
  readonly groups: string;
}

export function kafkaArns(clusterArn: string): KafkaArns {
  const m = /^(arn:[^:]+:kafka:[^:]+:\d+:)cluster\/([^/]+\/[^/]+)$/.exec(clusterArn);
  if (!m) throw new RangeError(`${clusterArn}: not an MSK cluster ARN`);
  const [, head, tail] = m;
  return Object.freeze({
    cluster: clusterArn,
    topic: (name: string) => `${head}topic/${tail}/${name}`,
    topics: `${head}topic/${tail}/*`,
    groups: `${head}group/${tail}/*`,
  });
}

// ---------------------------------------------------------------------------------------------
// Redis (ElastiCache for Valkey)

/**
 * The Redis settings the task receives, by their gateway names (services/shared ENV):
 * - `url`: the local cache, `rediss://[user@]host:port`, without a password.
 * - `remotes`: the other regions' caches, `region=url;region=url` (as WSGW_KAFKA_REMOTE_BROKERS).
 * - `waitReplicas`: replicas a publish waits for (WAIT) before it is acknowledged.
 * - `password`: the AUTH token or user password for every one of those URLs, a secret from
 *   Secrets Manager, never plain environment.
 */
export const REDIS_ENV = Object.freeze({
  url: ENV.redisUrl,
  remotes: ENV.redisRemotes,
  waitReplicas: ENV.redisWaitReplicas,
  password: ENV.redisPassword,
} as const);

/**
 * Ports of a cache: node-based replication groups listen on 6379, the default port of Valkey and
 * Redis OSS clusters (Amazon ElastiCache for Redis User Guide, Step 3: Authorize access to the
 * cluster, https://docs.aws.amazon.com/AmazonElastiCache/latest/red-ug/GettingStarted.AuthorizeAccess.html);
 * ElastiCache Serverless serves its endpoint on 6379 and its reader endpoint on 6380 (the AWS page
 * stating the reader port was not retrieved here: docs/infrastructure.md, Known limits).
 */
export const REDIS_PORT = 6379;
export const REDIS_READER_PORT = 6380;

/** The RBAC user the gateways authenticate as on a serverless cache (which takes no AUTH token). */
export const REDIS_GATEWAY_USER = 'wsgw';

export interface RedisPlan {
  readonly mode: RedisConfig['mode'];
  /** Nodes of the replication group: the primary and its replicas (0 for serverless). */
  readonly nodes: number;
  readonly automaticFailover: boolean;
  readonly multiAz: boolean;
  /** What the task's WSGW_REDIS_WAIT_REPLICAS says; undefined: publishes do not WAIT. */
  readonly waitReplicas?: number;
  /** The port range the cache's security group admits. */
  readonly ports: { readonly from: number; readonly to: number };
}

/**
 * What a region's cache is made of. Automatic failover needs a replica to promote, and Multi-AZ
 * needs automatic failover (Amazon ElastiCache User Guide, Minimizing downtime in ElastiCache by
 * using Multi-AZ, https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/AutoFailover.html), so
 * both follow the replica count. A publish waits for one replica: enough that a failover (which
 * promotes a replica) keeps it, without making every publish wait for the slowest of several.
 * Serverless replicates by itself and offers no WAIT to wait for it.
 */
export function planRedis(r: RedisConfig): RedisPlan {
  if (r.mode === 'serverless')
    return Object.freeze({
      mode: r.mode,
      nodes: 0,
      automaticFailover: true,
      multiAz: true,
      ports: Object.freeze({ from: REDIS_PORT, to: REDIS_READER_PORT }),
    });
  const replicated = r.replicas >= 1;
  return Object.freeze({
    mode: r.mode,
    nodes: 1 + r.replicas,
    automaticFailover: replicated,
    multiAz: replicated,
    ...(replicated ? { waitReplicas: 1 } : {}),
    ports: Object.freeze({ from: REDIS_PORT, to: REDIS_PORT }),
  });
}

/**
 * The identifiers of a region's cache and its users. Replication group ids are at most 40
 * characters of lower-case letters, digits and hyphens, starting with a letter, with no two
 * hyphens in a row and none at the end; user and user group ids start with a letter (CreateUser,
 * CreateUserGroup, CreateReplicationGroup in the Amazon ElastiCache API Reference). All are unique
 * per account and region, so they carry the stack.
 */
export function redisIds(
  stack: string,
  region: string,
): {
  readonly cache: string;
  readonly userGroup: string;
  readonly user: string;
  readonly defaultUser: string;
} {
  const base = `wsgw-${stack}-${shortRegion(region)}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-+/g, '-')
    .slice(0, 40)
    .replace(/-+$/, '');
  return Object.freeze({
    cache: base,
    userGroup: base,
    user: `${base}-gw`,
    defaultUser: `${base}-default`,
  });
}

/**
 * The node ids of a replication group, the `CacheClusterId` of each node's metrics: ElastiCache
 * names the nodes of a group `<group id>-001`, `-002`, … in creation order.
 */
export function redisNodeIds(cacheId: string, nodes: number): readonly string[] {
  return Array.from({ length: nodes }, (_, i) => `${cacheId}-${String(i + 1).padStart(3, '0')}`);
}

/** `rediss://[user@]host:port`: TLS always, the password travels separately (REDIS_ENV.password). */
export function redisUrl(host: string, port: number, user?: string): string {
  return `rediss://${user ? `${encodeURIComponent(user)}@` : ''}${host}:${port}`;
}

// ---------------------------------------------------------------------------------------------
// Images

/**
 * The ECR repository ARN behind an image reference, so the execution role may pull exactly that
 * repository; undefined for images outside ECR (public registries need no IAM).
 */
export function ecrRepositoryArnFromImage(image: string): string | undefined {
  const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)/.exec(image);
  if (!m) return undefined;
  const partition = image.includes('.amazonaws.com.cn/') ? 'aws-cn' : 'aws';
  return `arn:${partition}:ecr:${m[2]}:${m[1]}:repository/${m[3]}`;
}

/** The EMF `ServiceName` value (WSGW_SERVICE_NAME) and ECS service name of one region's fleet. */
export function serviceName(stack: string, region: string): string {
  return `wsgw-${stack}-${region}`;
}

// ---------------------------------------------------------------------------------------------
// Gateway environment

/** With `wsgw:edge nlb`: the task's plain listener that redirects `http://` to `https://`. */
export const REDIRECT_PORT = 8081;

export interface GatewayEnvInput {
  readonly region: string;
  readonly serviceName: string;
  /** The local cluster's IAM bootstrap brokers (bus `kafka`). */
  readonly brokers?: string;
  /** Bus `redis`: the local cache's URL, the other regions' by region, and WAIT's replica count. */
  readonly redis?: {
    readonly url: string;
    readonly remotes?: Readonly<Record<string, string>>;
    readonly waitReplicas?: number;
  };
  /** `direct` mode: the other regions' bootstrap brokers, by region. */
  readonly remoteBrokers?: Readonly<Record<string, string>>;
  readonly jwksUrl?: string;
  readonly allowedOrigins?: readonly string[];
  readonly timing?: GatewayTiming;
  /** Zone name to zone id of the region: each task finds its Kafka rack (MSK's `broker.rack`) here. */
  readonly zoneIds?: Readonly<Record<string, string>>;
  /** `wsgw:keepalive.skipPingAfterClientFrame`. */
  readonly skipPingAfterClientFrame?: boolean;
  /** The recovery history's bound, sized to the task (infra/capacity.ts). */
  readonly historyMaxBytes?: number;
  /** The most connections the task's memory holds (infra/capacity.ts): upgrades beyond get 503. */
  readonly maxConnections?: number;
  /** With `wsgw:edge nlb`: the certificate the gateway terminates TLS with. */
  readonly tlsCertificateArn?: string;
}

/**
 * The task's plain environment (secrets travel separately, through Secrets Manager). Timing
 * values are passed explicitly so the gateway runs with exactly the numbers the load balancer
 * and ECS were derived from.
 */
export function gatewayEnvironment(p: GatewayEnvInput): Readonly<Record<string, string>> {
  const t = p.timing ?? TIMING_DEFAULTS;
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    [ENV.port]: String(DEFAULT_PORT),
    // Metrics are served on their own port, which neither the load balancer nor any security
    // group rule reaches; stated here so the task definition documents it.
    [ENV.metricsPort]: String(DEFAULT_METRICS_PORT),
    [ENV.region]: p.region,
    [ENV.awsRegion]: p.region,
    [ENV.serviceName]: p.serviceName,
    // Kafka's settings keep their place, so a Kafka stack's task definition does not change.
    ...(p.brokers !== undefined
      ? {
          [ENV.kafkaBrokers]: p.brokers,
          [ENV.kafkaAuth]: 'msk-iam',
          [ENV.kafkaTls]: 'true',
          [ENV.kafkaTopicPrefix]: DEFAULT_TOPIC_PREFIX,
        }
      : {}),
    [ENV.pingIntervalMs]: String(t.pingIntervalMs),
    [ENV.idleTimeoutMs]: String(t.idleTimeoutMs),
    [ENV.drainDelayMs]: String(t.drainDelayMs),
    [ENV.drainWindowMs]: String(t.drainWindowMs),
    [ENV.drainDeadlineMs]: String(t.drainDeadlineMs),
    [ENV.emfIntervalMs]: String(t.emfIntervalMs),
  };
  if (p.redis) {
    env[REDIS_ENV.url] = p.redis.url;
    const remotes = Object.entries(p.redis.remotes ?? {});
    if (remotes.length > 0) env[REDIS_ENV.remotes] = remotes.map(([r, u]) => `${r}=${u}`).join(';');
    if (p.redis.waitReplicas !== undefined) env[REDIS_ENV.waitReplicas] = String(p.redis.waitReplicas);
  }
  const remote = Object.entries(p.remoteBrokers ?? {});
  if (remote.length > 0) env[ENV.kafkaRemoteBrokers] = remote.map(([r, b]) => `${r}=${b}`).join(';');
  const zones = Object.entries(p.zoneIds ?? {});
  if (zones.length > 0) env[ENV.kafkaRackMap] = zones.map(([name, id]) => `${name}=${id}`).join(',');
  if (p.jwksUrl) env[ENV.jwksUrl] = p.jwksUrl;
  if (p.allowedOrigins && p.allowedOrigins.length > 0) env[ENV.allowedOrigins] = p.allowedOrigins.join(',');
  if (p.skipPingAfterClientFrame) env[ENV.pingSkipActive] = 'true';
  if (p.historyMaxBytes !== undefined) env[ENV.historyMaxBytes] = String(p.historyMaxBytes);
  if (p.maxConnections !== undefined) env[ENV.maxConnections] = String(p.maxConnections);
  if (p.tlsCertificateArn) {
    env[ENV.tlsAcmCertificateArn] = p.tlsCertificateArn;
    env[ENV.httpRedirectPort] = String(REDIRECT_PORT);
  }
  return Object.freeze(env);
}
