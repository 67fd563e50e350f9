/**
 * Gateway configuration, read once from the environment at start-up and validated.
 * Every problem is reported as one line naming the variable and what it accepts, so an operator
 * reading a crash-looping task's log sees at once what to fix.
 */
import { hostname, totalmem } from 'node:os';
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import {
  DEFAULT_METRICS_PORT,
  DEFAULT_PORT,
  DEFAULT_STREAM_PREFIX,
  DEFAULT_TOPIC_PREFIX,
  ENV,
  PUBLISH_DEADLINE_MS,
  TIMING_DEFAULTS,
} from '../../shared/src/constants.js';
import { parseRemoteBrokers, type RemoteCluster } from './bus/kafka-remote.js';
import {
  BROKER_ADDRESS,
  BROKER_ADDRESS_RULE,
  REGION_NAME,
  REGION_NAME_RULE,
  STREAM_PREFIX,
  STREAM_PREFIX_RULE,
  TOPIC_PREFIX,
  TOPIC_PREFIX_RULE,
} from '../../shared/src/names.js';
import { parseRackMap, RACK_NAME, type RackSetting } from './bus/kafka-rack.js';
import {
  parseRedisRemotes,
  redactUrl,
  redisUrlProblem,
  withPassword,
  type RedisRemote,
} from './bus/redis-options.js';

export interface GatewayConfig {
  readonly port: number;
  readonly host: string;
  /** Port of the metrics listener (never the public port); 0 picks a free one. */
  readonly metricsPort: number;
  /** Serve the demo page at `/` (default: embedded mode only). */
  readonly demoPage: boolean;
  /** TLS in the task: the ACM certificate to export and serve, and how often to export it again. */
  readonly tls: TlsSettings | undefined;
  /** With TLS in the task: a plain listener that redirects to https. */
  readonly httpRedirectPort: number | undefined;
  readonly region: string;
  /** Names this task in envelopes and logs; unique per process unless set by `WSGW_NODE_ID`. */
  readonly nodeId: string;
  /**
   * What this process's message ids start with: unique per process whatever the configuration
   * (a fixed `WSGW_NODE_ID` gets a random incarnation), so that ids never repeat across restarts:
   * a receiver would drop a repeated id as a duplicate.
   */
  readonly messageIdPrefix: string;
  /** Value of the EMF `ServiceName` dimension. */
  readonly serviceName: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly production: boolean;
  readonly kafka: KafkaSettings | undefined;
  /** The Redis bus (docs/redis.md); undefined with Kafka or in embedded mode. */
  readonly redis: RedisSettings | undefined;
  readonly auth: AuthSettings;
  readonly publishKey: string | undefined;
  /** Exact origins (`https://app.example.com`) or wildcard subdomains (`https://*.example.com`); undefined allows any. */
  readonly allowedOrigins: readonly string[] | undefined;
  readonly limits: Limits;
  readonly compression: CompressionSettings;
  readonly timing: Timing;
  readonly history: HistorySettings;
  readonly rebalance: RebalanceSettings;
}

export interface TlsSettings {
  readonly acmCertificateArn: string;
  /** The AWS region that issued the certificate (from its ARN). */
  readonly region: string;
  readonly refreshMs: number;
}

export interface HistorySettings {
  /** Messages kept per channel for recovery. */
  readonly perChannel: number;
  /** Bytes kept for all channels together. */
  readonly maxBytes: number;
  /** Age of the oldest message kept (ms). */
  readonly maxAgeMs: number;
  /**
   * How far the append times of one origin log may run backwards (brokers' clocks disagreeing
   * across a leader change): sync points are reported this much earlier (ms).
   */
  readonly skewMs: number;
  /**
   * A starting gateway reports ready only once its history reaches back this far (ms), so that
   * clients moving to it from a draining task can recover. 0 turns the wait off.
   */
  readonly warmMs: number;
}

export interface RebalanceSettings {
  /** How often each gateway reports its connection count on the bus (ms); 0 turns rebalancing off. */
  readonly intervalMs: number;
  /** Shed only above average x (1 + threshold). */
  readonly threshold: number;
  /** Most connections shed per second, as a fraction of this gateway's connections. */
  readonly rate: number;
}

export interface KafkaSettings {
  readonly brokers: readonly string[];
  readonly auth: 'none' | 'msk-iam';
  readonly tls: boolean;
  readonly topicPrefix: string;
  /** AWS region used to sign MSK IAM tokens. */
  readonly awsRegion: string | undefined;
  /** Other regions' clusters read directly (cross-region `direct` mode); empty with replication. */
  readonly remotes: readonly RemoteCluster[];
  /** Where the rack of the fan-out consumer comes from (./bus/kafka-rack.ts); none: read from leaders. */
  readonly rack: RackSetting | undefined;
}

export interface RedisSettings {
  /** This region's Redis (`redis://` or `rediss://`, credentials included). */
  readonly url: string;
  /** Other regions' Redis servers, each read directly for its origin stream. */
  readonly remotes: readonly RedisRemote[];
  readonly streamPrefix: string;
  /** Replicas that must confirm a publish (`WAIT`); 0 acknowledges on the primary's word. */
  readonly waitReplicas: number;
}

export interface AuthSettings {
  readonly jwtSecret: string | undefined;
  readonly jwksUrl: string | undefined;
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  /** Tokens must expire within this many seconds of the upgrade; 0 lifts the bound (exp stays required). */
  readonly maxLifetimeS: number;
  /** Connections without a token get every permission. Embedded mode only, never production. */
  readonly allowAnonymous: boolean;
}

export interface Limits {
  readonly maxPayloadBytes: number;
  readonly rateLimitPerSec: number;
  readonly rateLimitBurst: number;
  /** Consecutive rate-limited frames tolerated before the connection is closed with 4029. */
  readonly rateLimitStrikes: number;
  readonly maxSubscriptions: number;
  readonly maxConnections: number;
  /** Outbound bytes queued for one connection (socket buffer + coalescing queue) before it is closed with 4008. */
  readonly maxBufferedBytes: number;
}

/** permessage-deflate (docs/protocol.md, Compression). */
export interface CompressionSettings {
  /** Negotiate the extension when a client offers it. */
  readonly enabled: boolean;
  /** Payloads below this many bytes are sent uncompressed (RSV1 clear) to every client. */
  readonly minBytes: number;
}

export interface Timing {
  readonly pingIntervalMs: number;
  /** Skip the ping to a connection that sent a frame within the ping interval. */
  readonly pingSkipActive: boolean;
  /** 0 disables the idle disconnect. */
  readonly idleTimeoutMs: number;
  readonly drainDelayMs: number;
  readonly drainWindowMs: number;
  readonly drainDeadlineMs: number;
  readonly emfIntervalMs: number;
  readonly readyProbeIntervalMs: number;
  /** Longest a publish waits for the bus before it is answered `bus_uncertain`. */
  readonly publishTimeoutMs: number;
}

/** A configuration error: `variable` names the setting at fault. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly expected: string,
    readonly got: string | undefined,
  ) {
    super(`${variable} ${expected}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Upper bound of a `msg` frame's bytes besides its payload: frame header (10), the JSON fields and
 * quotes, a 128-character channel, `"enc":"base64"`, and a position of one origin and id.
 */
const MSG_FRAME_OVERHEAD_BYTES = 512;

const int = (min: number, max: number) =>
  z.string().trim().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(min).max(max));
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
);

/** Reads one variable through a schema, turning failure into a {@link ConfigError}. */
function read<T>(env: Env, name: string, schema: z.ZodType<T, string>, expected: string, fallback: T): T;
function read<T>(env: Env, name: string, schema: z.ZodType<T, string>, expected: string): T | undefined;
function read<T>(
  env: Env,
  name: string,
  schema: z.ZodType<T, string>,
  expected: string,
  fallback?: T,
): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const r = schema.safeParse(raw);
  if (!r.success) throw new ConfigError(name, expected, raw);
  return r.data;
}

const intIn = (env: Env, name: string, min: number, max: number, fallback: number): number =>
  read(env, name, int(min, max), `must be an integer from ${min} to ${max}`, fallback);

const ORIGIN = /^https?:\/\/(\*\.)?[a-z0-9.-]+(:\d{1,5})?$/i;
/** An ACM certificate ARN; the first group is its region. */
const ACM_ARN = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[A-Za-z0-9-]+$/;

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Every setting that has a fixed default, by variable, in one place: `loadConfig` reads its
 * defaults from here and README's configuration table is checked against it
 * (test/unit/config-docs.test.ts). Defaults that depend on other settings or on the machine (the
 * node id, TLS with msk-iam, anonymous access, the demo page, the history's bytes) are computed in
 * `loadConfig` and described in README.
 */
export const DEFAULTS = Object.freeze({
  [ENV.port]: DEFAULT_PORT,
  [ENV.host]: '0.0.0.0',
  [ENV.metricsPort]: DEFAULT_METRICS_PORT,
  [ENV.region]: 'local',
  [ENV.serviceName]: 'wsgw',
  [ENV.logLevel]: 'info',
  [ENV.kafkaAuth]: 'none',
  [ENV.kafkaTopicPrefix]: DEFAULT_TOPIC_PREFIX,
  [ENV.redisStreamPrefix]: DEFAULT_STREAM_PREFIX,
  [ENV.redisWaitReplicas]: 0,
  [ENV.jwtMaxLifetimeS]: 86_400,
  [ENV.pingIntervalMs]: TIMING_DEFAULTS.pingIntervalMs,
  [ENV.pingSkipActive]: false,
  [ENV.tlsRefreshMs]: 6 * 3_600_000,
  [ENV.idleTimeoutMs]: TIMING_DEFAULTS.idleTimeoutMs,
  [ENV.maxPayloadBytes]: 64 * 1024,
  [ENV.compression]: 'on',
  [ENV.compressionMinBytes]: 512,
  [ENV.rateLimitPerSec]: 100,
  [ENV.rateLimitBurst]: 200,
  [ENV.rateLimitStrikes]: 20,
  [ENV.maxSubscriptions]: 256,
  [ENV.maxConnections]: 100_000,
  [ENV.maxBufferedBytes]: 1024 * 1024,
  [ENV.publishTimeoutMs]: PUBLISH_DEADLINE_MS,
  [ENV.drainDelayMs]: TIMING_DEFAULTS.drainDelayMs,
  [ENV.drainWindowMs]: TIMING_DEFAULTS.drainWindowMs,
  [ENV.drainDeadlineMs]: TIMING_DEFAULTS.drainDeadlineMs,
  [ENV.emfIntervalMs]: TIMING_DEFAULTS.emfIntervalMs,
  [ENV.readyProbeIntervalMs]: 5_000,
  [ENV.historySize]: 200,
  [ENV.historyTtlMs]: 300_000,
  [ENV.historyWarmMs]: 30_000,
  [ENV.recoverySkewMs]: 100,
  [ENV.rebalanceIntervalMs]: 5_000,
  [ENV.rebalanceThreshold]: 0.2,
  [ENV.rebalanceRate]: 0.02,
} as const);

/** Parses and validates the whole configuration; throws {@link ConfigError} on the first problem. */
export function loadConfig(env: Env = process.env): GatewayConfig {
  const production = env.NODE_ENV === 'production';
  const region = read(
    env,
    ENV.region,
    z.string().regex(REGION_NAME),
    `must be ${REGION_NAME_RULE}`,
    DEFAULTS[ENV.region],
  );

  const brokers = read(
    env,
    ENV.kafkaBrokers,
    list.pipe(z.array(z.string().regex(BROKER_ADDRESS)).min(1)),
    `must be a comma-separated list of ${BROKER_ADDRESS_RULE}`,
  );
  const kafkaAuth = read(
    env,
    ENV.kafkaAuth,
    z.enum(['none', 'msk-iam']),
    'must be "none" or "msk-iam"',
    DEFAULTS[ENV.kafkaAuth],
  );
  if (kafkaAuth === 'msk-iam' && !brokers) {
    throw new ConfigError(ENV.kafkaAuth, `needs ${ENV.kafkaBrokers} to be set`, kafkaAuth);
  }
  const awsRegion = env[ENV.awsRegion] || undefined;
  if (kafkaAuth === 'msk-iam' && !awsRegion) {
    throw new ConfigError(
      ENV.awsRegion,
      `must be set when ${ENV.kafkaAuth}=msk-iam (it signs the IAM tokens)`,
      undefined,
    );
  }
  const kafka: KafkaSettings | undefined = brokers
    ? {
        brokers,
        auth: kafkaAuth,
        // MSK IAM only exists over TLS, so it implies TLS.
        tls: read(env, ENV.kafkaTls, bool, 'must be true or false', kafkaAuth === 'msk-iam'),
        topicPrefix: read(
          env,
          ENV.kafkaTopicPrefix,
          z.string().regex(TOPIC_PREFIX),
          `must be ${TOPIC_PREFIX_RULE}`,
          DEFAULTS[ENV.kafkaTopicPrefix],
        ),
        awsRegion,
        remotes: readRemotes(env, region),
        rack: readRack(env),
      }
    : undefined;
  if (!kafka) {
    for (const name of [ENV.kafkaRack, ENV.kafkaRackMap]) {
      if (env[name])
        throw new ConfigError(
          name,
          `needs ${ENV.kafkaBrokers} to be set (racks are a Kafka setting)`,
          env[name],
        );
    }
  }
  if (kafka?.auth === 'msk-iam' && !kafka.tls) {
    throw new ConfigError(
      ENV.kafkaTls,
      'cannot be false with msk-iam (MSK IAM requires TLS)',
      env[ENV.kafkaTls],
    );
  }

  const redis = readRedis(env, region);
  if (redis && kafka) {
    throw new ConfigError(
      ENV.redisUrl,
      `cannot be combined with ${ENV.kafkaBrokers}; set one of them (the Redis bus or the Kafka bus)`,
      redactUrl(redis.url),
    );
  }

  const jwtSecret = env[ENV.jwtSecret] || undefined;
  if (jwtSecret !== undefined && Buffer.byteLength(jwtSecret) < 32) {
    throw new ConfigError(ENV.jwtSecret, 'must be at least 32 bytes for HS256', '<redacted>');
  }
  const jwksUrl = read(env, ENV.jwksUrl, z.string().refine(isHttpUrl), 'must be an http(s) URL');
  if (jwtSecret && jwksUrl) {
    throw new ConfigError(ENV.jwksUrl, `cannot be combined with ${ENV.jwtSecret}; set one of them`, jwksUrl);
  }
  const embedded = kafka === undefined && redis === undefined;
  const hasAuth = jwtSecret !== undefined || jwksUrl !== undefined;
  const allowAnonymous = read(
    env,
    ENV.allowAnonymous,
    bool,
    'must be true or false',
    embedded && !production && !hasAuth,
  );
  if (allowAnonymous && production) {
    throw new ConfigError(
      ENV.allowAnonymous,
      'cannot be true with NODE_ENV=production',
      env[ENV.allowAnonymous],
    );
  }
  if (allowAnonymous && !embedded) {
    throw new ConfigError(
      ENV.allowAnonymous,
      `can only be true in embedded mode (without ${ENV.kafkaBrokers} or ${ENV.redisUrl})`,
      env[ENV.allowAnonymous],
    );
  }
  if (production && !hasAuth) {
    throw new ConfigError(ENV.jwtSecret, `or ${ENV.jwksUrl} must be set with NODE_ENV=production`, undefined);
  }

  const publishKey = env[ENV.publishKey] || undefined;
  if (publishKey !== undefined && publishKey.length < 16) {
    throw new ConfigError(ENV.publishKey, 'must be at least 16 characters', '<redacted>');
  }

  const allowedOrigins = read(
    env,
    ENV.allowedOrigins,
    list.pipe(z.array(z.string().regex(ORIGIN)).min(1)),
    'must be a comma-separated list of origins such as https://app.example.com or https://*.example.com',
  );

  const timing: Timing = {
    pingIntervalMs: intIn(env, ENV.pingIntervalMs, 1_000, 600_000, DEFAULTS[ENV.pingIntervalMs]),
    pingSkipActive: read(
      env,
      ENV.pingSkipActive,
      bool,
      'must be true or false',
      DEFAULTS[ENV.pingSkipActive],
    ),
    idleTimeoutMs: intIn(env, ENV.idleTimeoutMs, 0, 86_400_000, DEFAULTS[ENV.idleTimeoutMs]),
    drainDelayMs: intIn(env, ENV.drainDelayMs, 0, 300_000, DEFAULTS[ENV.drainDelayMs]),
    drainWindowMs: intIn(env, ENV.drainWindowMs, 0, 300_000, DEFAULTS[ENV.drainWindowMs]),
    drainDeadlineMs: intIn(env, ENV.drainDeadlineMs, 1_000, 600_000, DEFAULTS[ENV.drainDeadlineMs]),
    emfIntervalMs: intIn(env, ENV.emfIntervalMs, 1_000, 60_000, DEFAULTS[ENV.emfIntervalMs]),
    readyProbeIntervalMs: intIn(
      env,
      ENV.readyProbeIntervalMs,
      100,
      60_000,
      DEFAULTS[ENV.readyProbeIntervalMs],
    ),
    publishTimeoutMs: intIn(env, ENV.publishTimeoutMs, 100, 120_000, DEFAULTS[ENV.publishTimeoutMs]),
  };
  if (timing.drainDelayMs + timing.drainWindowMs >= timing.drainDeadlineMs) {
    throw new ConfigError(
      ENV.drainDeadlineMs,
      `must exceed ${ENV.drainDelayMs} + ${ENV.drainWindowMs} (${timing.drainDelayMs + timing.drainWindowMs} ms)`,
      String(timing.drainDeadlineMs),
    );
  }
  if (timing.idleTimeoutMs !== 0 && timing.idleTimeoutMs < timing.pingIntervalMs) {
    throw new ConfigError(
      ENV.idleTimeoutMs,
      `must be 0 (off) or at least ${ENV.pingIntervalMs} (${timing.pingIntervalMs})`,
      String(timing.idleTimeoutMs),
    );
  }

  const limits: Limits = {
    maxPayloadBytes: intIn(env, ENV.maxPayloadBytes, 64, 16 * 1024 * 1024, DEFAULTS[ENV.maxPayloadBytes]),
    rateLimitPerSec: intIn(env, ENV.rateLimitPerSec, 1, 1_000_000, DEFAULTS[ENV.rateLimitPerSec]),
    rateLimitBurst: intIn(env, ENV.rateLimitBurst, 1, 1_000_000, DEFAULTS[ENV.rateLimitBurst]),
    rateLimitStrikes: intIn(env, ENV.rateLimitStrikes, 1, 1_000_000, DEFAULTS[ENV.rateLimitStrikes]),
    maxSubscriptions: intIn(env, ENV.maxSubscriptions, 1, 100_000, DEFAULTS[ENV.maxSubscriptions]),
    maxConnections: intIn(env, ENV.maxConnections, 1, 10_000_000, DEFAULTS[ENV.maxConnections]),
    maxBufferedBytes: intIn(
      env,
      ENV.maxBufferedBytes,
      1024,
      1024 * 1024 * 1024,
      DEFAULTS[ENV.maxBufferedBytes],
    ),
  };

  const compression: CompressionSettings = {
    enabled:
      read(env, ENV.compression, z.enum(['on', 'off']), 'must be on or off', DEFAULTS[ENV.compression]) ===
      'on',
    minBytes: intIn(env, ENV.compressionMinBytes, 0, 16 * 1024 * 1024, DEFAULTS[ENV.compressionMinBytes]),
  };

  // The largest frame a subscriber can be sent: a binary payload of the largest size reaches JSON
  // clients base64-encoded (a third larger), plus the frame's own fields. With room for less than
  // two of them, one large message would close every subscriber that had anything else queued,
  // and their recovery would replay it into the same close (docs/protocol.md, Limits).
  const largestFrame = Math.ceil(limits.maxPayloadBytes / 3) * 4 + MSG_FRAME_OVERHEAD_BYTES;
  if (limits.maxBufferedBytes < 2 * largestFrame) {
    throw new ConfigError(
      ENV.maxBufferedBytes,
      `must be at least twice the largest message frame (${2 * largestFrame} bytes for ${ENV.maxPayloadBytes}=${limits.maxPayloadBytes}, base64 included)`,
      String(limits.maxBufferedBytes),
    );
  }

  const history: HistorySettings = {
    perChannel: intIn(env, ENV.historySize, 0, 100_000, DEFAULTS[ENV.historySize]),
    maxBytes: intIn(env, ENV.historyMaxBytes, 0, 16 * 1024 * 1024 * 1024, defaultHistoryBytes()),
    maxAgeMs: intIn(env, ENV.historyTtlMs, 0, 86_400_000, DEFAULTS[ENV.historyTtlMs]),
    skewMs: intIn(env, ENV.recoverySkewMs, 0, 600_000, DEFAULTS[ENV.recoverySkewMs]),
    warmMs: intIn(env, ENV.historyWarmMs, 0, 3_600_000, DEFAULTS[ENV.historyWarmMs]),
  };
  const fraction = z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/)
    .transform(Number)
    .pipe(z.number().min(0).max(1));
  const rebalance: RebalanceSettings = {
    intervalMs: intIn(env, ENV.rebalanceIntervalMs, 0, 600_000, DEFAULTS[ENV.rebalanceIntervalMs]),
    threshold: read(
      env,
      ENV.rebalanceThreshold,
      fraction,
      'must be a number from 0 to 1 (0.2 = 20% above average)',
      DEFAULTS[ENV.rebalanceThreshold],
    ),
    rate: read(
      env,
      ENV.rebalanceRate,
      fraction,
      'must be a number from 0 to 1 (fraction of connections per second)',
      DEFAULTS[ENV.rebalanceRate],
    ),
  };

  const fixedNodeId = read(
    env,
    ENV.nodeId,
    z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
    'must be 1-64 characters of A-Z a-z 0-9 . _ -',
  );
  const nodeId = fixedNodeId ?? defaultNodeId();

  const port = read(env, ENV.port, int(0, 65_535), 'must be an integer from 0 to 65535', DEFAULTS[ENV.port]);
  const arn = read(
    env,
    ENV.tlsAcmCertificateArn,
    z.string().regex(ACM_ARN),
    'must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)',
  );
  const tls: TlsSettings | undefined =
    arn === undefined
      ? undefined
      : {
          acmCertificateArn: arn,
          region: ACM_ARN.exec(arn)![1]!,
          refreshMs: intIn(env, ENV.tlsRefreshMs, 1_000, 86_400_000, DEFAULTS[ENV.tlsRefreshMs]),
        };
  const httpRedirectPort = read(
    env,
    ENV.httpRedirectPort,
    int(0, 65_535),
    'must be an integer from 0 to 65535',
  );
  if (httpRedirectPort !== undefined && tls === undefined) {
    throw new ConfigError(
      ENV.httpRedirectPort,
      `needs ${ENV.tlsAcmCertificateArn}: without TLS in the task, the load balancer redirects`,
      String(httpRedirectPort),
    );
  }
  if (httpRedirectPort !== undefined && httpRedirectPort !== 0 && httpRedirectPort === port)
    throw new ConfigError(ENV.httpRedirectPort, `must differ from ${ENV.port}`, String(httpRedirectPort));
  const metricsPort = read(
    env,
    ENV.metricsPort,
    int(0, 65_535),
    'must be an integer from 0 to 65535',
    DEFAULTS[ENV.metricsPort],
  );
  if (metricsPort !== 0 && metricsPort === port)
    throw new ConfigError(
      ENV.metricsPort,
      `must differ from ${ENV.port}: metrics are never served on the public port`,
      String(metricsPort),
    );

  return Object.freeze({
    port,
    metricsPort,
    demoPage: read(env, ENV.demoPage, bool, 'must be true or false', embedded),
    tls,
    httpRedirectPort,
    host: read(
      env,
      ENV.host,
      z.string().refine((h) => isIP(h) !== 0 || HOSTNAME.test(h)),
      'must be an IP address or a host name (e.g. 0.0.0.0, ::, localhost)',
      DEFAULTS[ENV.host],
    ),
    region,
    nodeId,
    messageIdPrefix:
      fixedNodeId === undefined ? nodeId : `${nodeId}.${randomBytes(4).readUInt32BE(0).toString(36)}`,
    serviceName: read(
      env,
      ENV.serviceName,
      z.string().regex(/^[A-Za-z0-9._-]{1,255}$/),
      'must be 1-255 characters of A-Z a-z 0-9 . _ -',
      DEFAULTS[ENV.serviceName],
    ),
    logLevel: read(
      env,
      ENV.logLevel,
      z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
      'must be one of fatal, error, warn, info, debug, trace, silent',
      DEFAULTS[ENV.logLevel],
    ),
    production,
    kafka,
    redis,
    auth: {
      jwtSecret,
      jwksUrl,
      issuer: env[ENV.jwtIssuer] || undefined,
      audience: env[ENV.jwtAudience] || undefined,
      maxLifetimeS: intIn(env, ENV.jwtMaxLifetimeS, 0, 31_536_000, DEFAULTS[ENV.jwtMaxLifetimeS]),
      allowAnonymous,
    },
    publishKey,
    allowedOrigins,
    limits,
    compression,
    timing,
    history,
    rebalance,
  });
}

/** The Redis bus's settings when `WSGW_REDIS_URL` is set; the others need it. */
function readRedis(env: Env, ownRegion: string): RedisSettings | undefined {
  const raw = env[ENV.redisUrl];
  if (raw === undefined || raw.trim() === '') {
    for (const name of [ENV.redisRemotes, ENV.redisWaitReplicas, ENV.redisStreamPrefix, ENV.redisPassword]) {
      if (env[name])
        throw new ConfigError(
          name,
          `needs ${ENV.redisUrl} to be set`,
          name === ENV.redisPassword ? undefined : env[name], // a password is never echoed
        );
    }
    return undefined;
  }
  const password = env[ENV.redisPassword];
  if (password !== undefined && password === '')
    throw new ConfigError(ENV.redisPassword, 'must not be empty (unset it instead)', undefined);
  const url = withPassword(raw.trim(), password);
  const problem = redisUrlProblem(url);
  // The URL may carry a password: it is never echoed whole.
  if (problem) throw new ConfigError(ENV.redisUrl, problem, redactUrl(url));
  let remotes: RedisRemote[] = [];
  const remotesRaw = env[ENV.redisRemotes];
  if (remotesRaw !== undefined && remotesRaw.trim() !== '') {
    try {
      remotes = parseRedisRemotes(remotesRaw).map((r) => ({ ...r, url: withPassword(r.url, password) }));
    } catch (err) {
      throw new ConfigError(
        ENV.redisRemotes,
        `must be <region>=<redis:// or rediss:// URL>;<region>=... (${(err as Error).message})`,
        undefined,
      );
    }
    if (remotes.some((r) => r.region === ownRegion))
      throw new ConfigError(
        ENV.redisRemotes,
        `must not list this gateway's own region ${ownRegion}`,
        undefined,
      );
  }
  return {
    url,
    remotes,
    streamPrefix: read(
      env,
      ENV.redisStreamPrefix,
      z.string().regex(STREAM_PREFIX),
      `must be ${STREAM_PREFIX_RULE}`,
      DEFAULTS[ENV.redisStreamPrefix],
    ),
    waitReplicas: intIn(env, ENV.redisWaitReplicas, 0, 5, DEFAULTS[ENV.redisWaitReplicas]),
  };
}

function readRack(env: Env): RackSetting | undefined {
  const fixed = read(
    env,
    ENV.kafkaRack,
    z.string().regex(RACK_NAME),
    'must be 1-64 characters of A-Z a-z 0-9 . _ - (on MSK an availability zone id such as use1-az1)',
  );
  const raw = env[ENV.kafkaRackMap];
  if (!raw) return fixed === undefined ? undefined : { kind: 'fixed', rack: fixed };
  if (fixed !== undefined)
    throw new ConfigError(ENV.kafkaRackMap, `cannot be combined with ${ENV.kafkaRack}; set one of them`, raw);
  try {
    return { kind: 'by-zone', racks: parseRackMap(raw) };
  } catch (err) {
    throw new ConfigError(ENV.kafkaRackMap, `must be <zone>=<rack>,... (${(err as Error).message})`, raw);
  }
}

function readRemotes(env: Env, ownRegion: string): RemoteCluster[] {
  const raw = env[ENV.kafkaRemoteBrokers];
  if (raw === undefined || raw.trim() === '') return [];
  let remotes: RemoteCluster[];
  try {
    remotes = parseRemoteBrokers(raw);
  } catch (err) {
    throw new ConfigError(
      ENV.kafkaRemoteBrokers,
      `must be region=host:port,...;region=... (${(err as Error).message})`,
      raw,
    );
  }
  if (remotes.some((r) => r.region === ownRegion)) {
    throw new ConfigError(
      ENV.kafkaRemoteBrokers,
      `must not list this gateway's own region ${ownRegion}`,
      raw,
    );
  }
  return remotes;
}

/**
 * An eighth of the memory this process may use (its cgroup limit in a container, else the host's),
 * between 32 MiB and 512 MiB: 256 MiB on a 2 GiB task, where 20,000 idle connections take about
 * 120 MB. The history counts what its entries really cost (history.ts), so this is real memory.
 */
export function defaultHistoryBytes(limit: number = memoryLimit()): number {
  const MiB = 1024 * 1024;
  return Math.min(512 * MiB, Math.max(32 * MiB, Math.floor(limit / 8 / MiB) * MiB));
}

/** The cgroup limit when there is one (Node reports "none" as 0 or as 2^64), else the host's memory. */
function memoryLimit(): number {
  const c = process.constrainedMemory?.() ?? 0;
  const host = totalmem();
  return c > 0 && c < host ? c : host;
}

function isHttpUrl(u: string): boolean {
  try {
    return /^https?:$/.test(new URL(u).protocol);
  } catch {
    return false;
  }
}

function defaultNodeId(): string {
  // Hostname for humans, random suffix so that a restarted task never reuses a node id.
  const host =
    hostname()
      .replace(/[^A-Za-z0-9.-]/g, '')
      .slice(0, 40) || 'node';
  return `${host}-${randomBytes(3).toString('hex')}`;
}
