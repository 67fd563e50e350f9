/**
 * The bus settings: Kafka (`WSGW_KAFKA_*`), Redis (`WSGW_REDIS_*`), or neither (embedded mode).
 * Each reader refuses the settings that only make sense with its bus when that bus is not chosen.
 */
import { z } from 'zod';
import { DEFAULTS } from './config-defaults.js';
import { ConfigError, bool, intIn, list, read, type Env } from './config-read.js';
import type { KafkaSettings, RedisSettings } from './config-types.js';
import { ENV } from '../../shared/src/constants.js';
import {
  BROKER_ADDRESS,
  BROKER_ADDRESS_RULE,
  STREAM_PREFIX,
  STREAM_PREFIX_RULE,
  TOPIC_PREFIX,
  TOPIC_PREFIX_RULE,
} from '../../shared/src/names.js';
import { parseRemoteBrokers, type RemoteCluster } from './bus/kafka-remote.js';
import { parseRackMap, RACK_NAME, type RackSetting } from './bus/kafka-rack.js';
import {
  parseRedisRemotes,
  redactUrl,
  redisUrlProblem,
  withPassword,
  type RedisRemote,
} from './bus/redis-options.js';

/** The Kafka bus's settings when `WSGW_KAFKA_BROKERS` is set. */
export function readKafka(env: Env, region: string): KafkaSettings | undefined {
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
  return kafka;
}

/** The Redis bus's settings when `WSGW_REDIS_URL` is set; the others need it. */
export function readRedis(env: Env, ownRegion: string): RedisSettings | undefined {
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
