import {
  DEFAULT_METRICS_PORT,
  DEFAULT_PORT,
  DEFAULT_STREAM_PREFIX,
  DEFAULT_TOPIC_PREFIX,
  ENV,
  PUBLISH_DEADLINE_MS,
  TIMING_DEFAULTS,
} from '../../shared/src/constants.js';

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
