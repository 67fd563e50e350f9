/**
 * Building the kafkajs client configuration: brokers, TLS and authentication (none, or MSK IAM
 * through SASL/OAUTHBEARER). Kept free of I/O so that it can be tested without AWS: the token
 * signer is injected, and the default one loads `aws-msk-iam-sasl-signer-js` only when used.
 */
import type { KafkaConfig, logCreator as LogCreator, OauthbearerProviderResponse } from 'kafkajs';
import { logLevel } from 'kafkajs';
import { BROKER_ADDRESS } from '../../../shared/src/names.js';

/** How the bus authenticates to the brokers (`WSGW_KAFKA_AUTH`). */
export type KafkaAuthMode = 'none' | 'msk-iam';

/** Connection settings shared by every Kafka client the bus creates. */
export interface KafkaConnectionOptions {
  /** Bootstrap brokers, `host:port` each (`WSGW_KAFKA_BROKERS`). */
  readonly brokers: readonly string[];
  /** Client id sent to the brokers; appears in broker logs and quotas. */
  readonly clientId: string;
  /** `none` (default) or `msk-iam`: SASL/OAUTHBEARER with tokens signed by the task's IAM role. */
  readonly auth?: KafkaAuthMode;
  /** TLS to the brokers (`WSGW_KAFKA_TLS`). Default false for `none`; always on for `msk-iam`. */
  readonly tls?: boolean;
  /** AWS region that signs MSK IAM tokens (`AWS_REGION`); required for `msk-iam`. */
  readonly awsRegion?: string;
  /** Refresh an MSK IAM token when it has less than this left (ms). Default 120 000. */
  readonly tokenRefreshMarginMs?: number;
  /** Timeout of one request to a broker (ms). Default 10 000. */
  readonly requestTimeoutMs?: number;
  /** TCP (and TLS) connection timeout (ms). Default 3 000. */
  readonly connectionTimeoutMs?: number;
}

/** A signed MSK IAM token and its expiry (ms since the epoch), as `aws-msk-iam-sasl-signer-js` returns it. */
export interface MskAuthToken {
  readonly token: string;
  readonly expiryTime: number;
}

/** Signs an MSK IAM token for a region. */
export type MskTokenSigner = (awsRegion: string) => Promise<MskAuthToken>;

/** Where kafkajs' own log lines go. */
export interface KafkaLogSink {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface KafkaConfigDeps {
  /** Token signer for `msk-iam`; default: `generateAuthToken` from `aws-msk-iam-sasl-signer-js`. */
  readonly signer?: MskTokenSigner;
  /** Clock, for token expiry. */
  readonly now?: () => number;
  /** Receives kafkajs log lines; default: none. */
  readonly log?: KafkaLogSink;
}

const BROKER = BROKER_ADDRESS;

/** The default signer: the AWS default credential chain (task role on ECS). */
const awsSigner: MskTokenSigner = async (awsRegion) => {
  const { generateAuthToken } = await import('aws-msk-iam-sasl-signer-js');
  return generateAuthToken({ region: awsRegion });
};

/**
 * Validates connection options and builds the kafkajs configuration.
 * Throws `TypeError`/`RangeError` naming the offending option.
 */
export function buildKafkaConfig(opts: KafkaConnectionOptions, deps: KafkaConfigDeps = {}): KafkaConfig {
  if (!Array.isArray(opts.brokers) || opts.brokers.length === 0) {
    throw new TypeError('brokers: at least one broker (host:port) is required');
  }
  for (const b of opts.brokers) {
    if (typeof b !== 'string' || !BROKER.test(b))
      throw new TypeError(`brokers: "${String(b)}" is not host:port`);
  }
  const auth = opts.auth ?? 'none';
  if (auth !== 'none' && auth !== 'msk-iam')
    throw new TypeError(`auth: "${String(auth)}" is not one of none, msk-iam`);

  const config: KafkaConfig = {
    clientId: opts.clientId,
    brokers: [...opts.brokers],
    connectionTimeout: opts.connectionTimeoutMs ?? 3_000,
    requestTimeout: opts.requestTimeoutMs ?? 10_000,
    authenticationTimeout: 10_000,
    // Re-authenticate (KIP-368) this long before the broker ends the SASL session.
    reauthenticationThreshold: 20_000,
    // Each client retries briefly; the bus itself reconnects with backoff and reports health.
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 5 },
    logLevel: logLevel.WARN,
    logCreator: makeLogCreator(deps.log),
  };
  if (opts.tls === true) config.ssl = true;

  if (auth === 'msk-iam') {
    if (typeof opts.awsRegion !== 'string' || opts.awsRegion === '') {
      throw new TypeError('awsRegion: required when auth is msk-iam (set AWS_REGION)');
    }
    const margin = opts.tokenRefreshMarginMs ?? 120_000;
    if (!Number.isFinite(margin) || margin < 0)
      throw new RangeError('tokenRefreshMarginMs: must be a non-negative number');
    // MSK serves IAM authentication only on its TLS listener (port 9098).
    config.ssl = true;
    config.sasl = {
      mechanism: 'oauthbearer',
      oauthBearerProvider: mskIamTokenProvider(
        opts.awsRegion,
        deps.signer ?? awsSigner,
        margin,
        deps.now ?? Date.now,
      ),
    };
  }
  return config;
}

/**
 * Returns the OAUTHBEARER provider kafkajs calls on every (re-)authentication. A token is reused
 * while it has more than `marginMs` left and re-signed before it expires; concurrent connections
 * share one signing call.
 */
export function mskIamTokenProvider(
  awsRegion: string,
  signer: MskTokenSigner,
  marginMs: number,
  now: () => number = Date.now,
): () => Promise<OauthbearerProviderResponse> {
  let current: MskAuthToken | undefined;
  let pending: Promise<MskAuthToken> | undefined;
  const refresh = (): Promise<MskAuthToken> => {
    pending ??= signer(awsRegion)
      .then((t) => {
        if (typeof t.token !== 'string' || t.token === '' || !Number.isFinite(t.expiryTime)) {
          throw new Error('MSK IAM signer returned no usable token');
        }
        current = t;
        return t;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
  return async () => {
    const t = current !== undefined && current.expiryTime - now() > marginMs ? current : await refresh();
    return { value: t.token };
  };
}

const LEVEL_NAMES: Record<number, string> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs reports every refused connection as an ERROR while a broker is down; the bus already
 * reports that state through health and metrics, so its lines go out as warnings.
 */
function makeLogCreator(log: KafkaLogSink | undefined): LogCreator {
  return () => (entry) => {
    if (!log) return;
    const { message, ...rest } = entry.log;
    // The bus limits the idempotent producer's retries on purpose: it retries a failed batch itself
    // with a new producer and consumers drop duplicates by message id.
    if (message.startsWith('Limiting retries for the idempotent producer')) return;
    const obj = { kafkajs: LEVEL_NAMES[entry.level] ?? String(entry.level), ns: entry.namespace, ...rest };
    if (entry.level <= logLevel.WARN) log.warn(obj, message);
    else log.debug(obj, message);
  };
}
