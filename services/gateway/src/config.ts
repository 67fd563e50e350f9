/**
 * Gateway configuration, read once from the environment at start-up and validated.
 * Every problem is reported as one line naming the variable and what it accepts, so an operator
 * reading a crash-looping task's log sees at once what to fix.
 */
import { hostname, totalmem } from 'node:os';
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ENV } from '../../shared/src/constants.js';
import { REGION_NAME, REGION_NAME_RULE } from '../../shared/src/names.js';
import { redactUrl } from './bus/redis-options.js';
import { ConfigError, bool, int, intIn, list, read, type Env } from './config-read.js';
import { readKafka, readRedis } from './config-bus.js';
import { DEFAULTS } from './config-defaults.js';
import type {
  CompressionSettings,
  GatewayConfig,
  HistorySettings,
  Limits,
  RebalanceSettings,
  Timing,
  TlsSettings,
} from './config-types.js';

// The configuration's public face, in one import: the types, the error, the defaults.
export type * from './config-types.js';
export { ConfigError } from './config-read.js';
export { DEFAULTS } from './config-defaults.js';

/**
 * Upper bound of a `msg` frame's bytes besides its payload: frame header (10), the JSON fields and
 * quotes, a 128-character channel, `"enc":"base64"`, and a position of one origin and id.
 */
const MSG_FRAME_OVERHEAD_BYTES = 512;

const ORIGIN = /^https?:\/\/(\*\.)?[a-z0-9.-]+(:\d{1,5})?$/i;
/** An ACM certificate ARN; the first group is its region. */
const ACM_ARN = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[A-Za-z0-9-]+$/;

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

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

  const kafka = readKafka(env, region);

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
