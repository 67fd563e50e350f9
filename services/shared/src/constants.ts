/**
 * Contract constants shared by the gateway, the client SDK and the Pulumi program.
 *
 * Everything here is part of the public contract (docs/architecture.md, Contracts): the infrastructure imports these
 * values instead of copying strings, so that the autoscaling policy, health checks and task
 * environment can never drift from what the gateway actually serves and emits.
 * This module must stay free of side effects and of runtime dependencies.
 */

/** Default listening port (`PORT`). */
export const DEFAULT_PORT = 8080;

/**
 * Default port of the metrics listener (`WSGW_METRICS_PORT`): Prometheus metrics are served there
 * only, never on the public port, because they name brokers, topics and the runtime. Inside a task
 * it is reachable from the task's own network namespace and security group, not from the load
 * balancer.
 */
export const DEFAULT_METRICS_PORT = 9464;

/** HTTP paths served by every gateway task. `metrics` is served on the metrics port only. */
export const HTTP_PATHS = Object.freeze({
  health: '/healthz',
  ready: '/readyz',
  metrics: '/metrics',
  publish: '/publish',
  demo: '/',
});

/** WebSocket subprotocols. JSON is the default when a client offers none. */
export const SUBPROTOCOLS = Object.freeze({
  json: 'wsgw.v1.json',
  proto: 'wsgw.v1.proto',
});

/**
 * CloudWatch Embedded Metric Format: the gateway prints one line per interval carrying
 * `ActiveConnections` with the single dimension `ServiceName`; the ECS target-tracking policy
 * tracks its `Average`, which is connections per task.
 */
export const EMF = Object.freeze({
  namespace: 'WsGateway',
  metricName: 'ActiveConnections',
  dimension: 'ServiceName',
  unit: 'Count',
});

/** Prometheus metric name prefix. */
export const METRICS_PREFIX = 'wsgw_';

/** Default Kafka topic prefix; each origin region produces to `<prefix><region>`. */
export const DEFAULT_TOPIC_PREFIX = 'wsgw.fanout.';

/** Default Redis stream prefix; each origin region appends to the stream `<prefix><region>`. */
export const DEFAULT_STREAM_PREFIX = 'wsgw.fanout.';

/**
 * How long a gateway waits for the bus to hold a publish before it answers `bus_uncertain` (the
 * message may still be delivered), by default (`WSGW_PUBLISH_TIMEOUT_MS`). The SDK waits longer
 * than this before it calls a publish uncertain itself.
 */
export const PUBLISH_DEADLINE_MS = 30_000;

/** WebSocket close codes (docs/protocol.md). 1xxx are standard; 4xxx are the gateway's own. */
export const CLOSE_CODES = Object.freeze({
  normal: 1000,
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  internalError: 1011,
  reconnectNow: 1012,
  tryAgainLater: 1013,
  tokenExpired: 4001,
  slowConsumer: 4008,
  rateLimited: 4029,
} as const);

/** Names of every environment variable the gateway reads. */
export const ENV = Object.freeze({
  port: 'PORT',
  host: 'WSGW_HOST',
  /** Port of the metrics listener; 0 turns it off. */
  metricsPort: 'WSGW_METRICS_PORT',
  /** Serve the demo page and the browser SDK bundle (default: only in embedded mode). */
  demoPage: 'WSGW_DEMO_PAGE',
  /**
   * TLS in the task (behind a load balancer that passes TCP): the ACM exportable certificate the
   * gateway exports and serves its public port with; unset: plain HTTP (TLS ends at the ALB).
   */
  tlsAcmCertificateArn: 'WSGW_TLS_ACM_CERTIFICATE_ARN',
  /** How often the certificate is exported again (ms). */
  tlsRefreshMs: 'WSGW_TLS_REFRESH_MS',
  /** A plain listener that answers every request with a redirect to https (with TLS in the task). */
  httpRedirectPort: 'WSGW_HTTP_REDIRECT_PORT',
  region: 'WSGW_REGION',
  nodeId: 'WSGW_NODE_ID',
  serviceName: 'WSGW_SERVICE_NAME',
  logLevel: 'WSGW_LOG_LEVEL',
  kafkaBrokers: 'WSGW_KAFKA_BROKERS',
  kafkaAuth: 'WSGW_KAFKA_AUTH',
  kafkaTopicPrefix: 'WSGW_KAFKA_TOPIC_PREFIX',
  kafkaTls: 'WSGW_KAFKA_TLS',
  /**
   * Cross-region `direct` mode only: the other regions' clusters this gateway reads its origin
   * topics from, as `<region>=<host:port>,<host:port>;<region>=...`. Unset with MSK Replicator.
   */
  kafkaRemoteBrokers: 'WSGW_KAFKA_REMOTE_BROKERS',
  /**
   * The rack (on MSK: availability zone id, e.g. `use1-az1`) the gateway's Kafka consumer names
   * (`client.rack`), so that it fetches from a replica in its own zone.
   */
  kafkaRack: 'WSGW_KAFKA_RACK',
  /**
   * The same, looked up by the task's availability zone name (read from the ECS task metadata) in
   * a map `<zone name>=<rack>,...`: one task definition serves every zone. The infrastructure
   * sets it from the region's zone names and ids.
   */
  kafkaRackMap: 'WSGW_KAFKA_RACK_MAP',
  /**
   * `redis://` or `rediss://` URL (with `user:password@` when Redis wants auth) of this region's
   * Redis; selects the Redis bus (docs/redis.md). Cannot be combined with `WSGW_KAFKA_BROKERS`.
   */
  redisUrl: 'WSGW_REDIS_URL',
  /** Other regions' Redis servers, read directly: `<region>=<url>;<region>=<url>`. */
  redisRemotes: 'WSGW_REDIS_REMOTES',
  /** Stream name prefix; each region appends to `<prefix><region>`. */
  redisStreamPrefix: 'WSGW_REDIS_STREAM_PREFIX',
  /** Replicas that must confirm a publish (`WAIT`) before it is acknowledged; 0 without replicas. */
  redisWaitReplicas: 'WSGW_REDIS_WAIT_REPLICAS',
  /**
   * The password (AUTH token) for every Redis URL that carries none of its own, the local one and
   * the remotes: lets the deployment pass it as a secret, apart from the URLs in plain environment.
   */
  redisPassword: 'WSGW_REDIS_PASSWORD',
  awsRegion: 'AWS_REGION',
  jwtSecret: 'WSGW_JWT_SECRET',
  jwksUrl: 'WSGW_JWKS_URL',
  jwtIssuer: 'WSGW_JWT_ISSUER',
  jwtAudience: 'WSGW_JWT_AUDIENCE',
  /** Longest a token may still be valid at the upgrade, in seconds (exp is required). */
  jwtMaxLifetimeS: 'WSGW_JWT_MAX_LIFETIME_S',
  publishKey: 'WSGW_PUBLISH_KEY',
  allowedOrigins: 'WSGW_ALLOWED_ORIGINS',
  allowAnonymous: 'WSGW_ALLOW_ANONYMOUS',
  pingIntervalMs: 'WSGW_PING_INTERVAL_MS',
  /** Skip the ping to a connection that sent a frame within the interval (it proved itself alive). */
  pingSkipActive: 'WSGW_PING_SKIP_ACTIVE',
  idleTimeoutMs: 'WSGW_IDLE_TIMEOUT_MS',
  maxPayloadBytes: 'WSGW_MAX_PAYLOAD_BYTES',
  /** Accept permessage-deflate (RFC 7692) when a client offers it: `on` or `off`. */
  compression: 'WSGW_COMPRESSION',
  /** Messages smaller than this many bytes go out uncompressed even to clients that negotiated it. */
  compressionMinBytes: 'WSGW_COMPRESSION_MIN_BYTES',
  rateLimitPerSec: 'WSGW_RATE_LIMIT_PER_SEC',
  rateLimitBurst: 'WSGW_RATE_LIMIT_BURST',
  rateLimitStrikes: 'WSGW_RATE_LIMIT_STRIKES',
  maxSubscriptions: 'WSGW_MAX_SUBSCRIPTIONS',
  maxConnections: 'WSGW_MAX_CONNECTIONS',
  maxBufferedBytes: 'WSGW_MAX_BUFFERED_BYTES',
  publishTimeoutMs: 'WSGW_PUBLISH_TIMEOUT_MS',
  drainDelayMs: 'WSGW_DRAIN_DELAY_MS',
  drainWindowMs: 'WSGW_DRAIN_WINDOW_MS',
  drainDeadlineMs: 'WSGW_DRAIN_DEADLINE_MS',
  emfIntervalMs: 'WSGW_EMF_INTERVAL_MS',
  readyProbeIntervalMs: 'WSGW_READY_PROBE_INTERVAL_MS',
  historySize: 'WSGW_HISTORY_SIZE',
  historyMaxBytes: 'WSGW_HISTORY_MAX_BYTES',
  historyTtlMs: 'WSGW_HISTORY_TTL_MS',
  historyWarmMs: 'WSGW_HISTORY_WARM_MS',
  recoverySkewMs: 'WSGW_RECOVERY_SKEW_MS',
  rebalanceIntervalMs: 'WSGW_REBALANCE_INTERVAL_MS',
  rebalanceThreshold: 'WSGW_REBALANCE_THRESHOLD',
  rebalanceRate: 'WSGW_REBALANCE_RATE',
} as const);

/**
 * Defaults of the timing settings the infrastructure must agree with:
 * the ALB idle timeout must exceed the ping interval, the target group's deregistration delay
 * must cover the drain delay, and the ECS stop timeout must cover the whole drain deadline.
 */
export const TIMING_DEFAULTS = Object.freeze({
  pingIntervalMs: 25_000,
  idleTimeoutMs: 300_000,
  drainDelayMs: 10_000,
  drainWindowMs: 30_000,
  /** Hard deadline from SIGTERM to exit; must stay below the ECS stop timeout (max 120 s). */
  drainDeadlineMs: 50_000,
  emfIntervalMs: 60_000,
});
