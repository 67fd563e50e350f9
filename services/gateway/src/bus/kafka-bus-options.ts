/**
 * The options of the Kafka bus (docs/kafka.md, Options): what each means, its default, and the
 * checks the constructor makes, which throw `TypeError`/`RangeError` naming the option.
 */
import type { Registry } from 'prom-client';
import { DEFAULT_TOPIC_PREFIX } from '../../../shared/src/constants.js';
import type { KafkaConnectionOptions } from './kafka-config.js';
import type { RemoteCluster } from './kafka-remote.js';
import { REGION_NAME, REGION_NAME_RULE, TOPIC_PREFIX, TOPIC_PREFIX_RULE } from '../../../shared/src/names.js';

/** The subset of a pino logger the bus writes to. */
export interface BusLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const noLog: BusLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface KafkaBusOptions extends Omit<KafkaConnectionOptions, 'clientId'> {
  /** This gateway's region; it produces to `<topicPrefix><region>`. */
  readonly region: string;
  /** This gateway's unique node id (envelope `node`, client id, consumer group). */
  readonly nodeId: string;
  /** Fan-out topic prefix. Default `wsgw.fanout.`. */
  readonly topicPrefix?: string;
  /** Most publishes waiting for an acknowledgement; beyond it publish rejects. Default 10 000. */
  readonly bufferLimit?: number;
  /** Longest a publish waits in the buffer before it is rejected (ms). Default 30 000. */
  readonly bufferTimeoutMs?: number;
  /** Most records in one produce request. Default 500. */
  readonly maxBatch?: number;
  /**
   * Largest encoded envelope accepted (bytes); larger publishes reject with `bus_rejected`.
   * Default 1 000 000, under the broker's default `message.max.bytes` (1 048 588).
   */
  readonly maxMessageBytes?: number;
  /** Partitions of the origin topic when the bus creates it. Default 6. */
  readonly partitions?: number;
  /** Replication factor of the origin topic when created. Default min(3, brokers in the cluster). */
  readonly replicationFactor?: number;
  /** How many recent message ids are remembered to drop duplicates. Default 50 000. */
  readonly dedupWindow?: number;
  /** How often to look for new fan-out topics (ms). Default 10 000. */
  readonly topicRefreshMs?: number;
  /**
   * The rack this gateway runs in (on MSK: its availability zone id, e.g. `use1-az1`); the local
   * cluster then serves its fetches from a replica in the same zone. Default: none (the leaders).
   */
  readonly rackId?: string;
  /** Longest the broker holds an empty fetch (ms); bounds nothing on the latency of data. Default 20. */
  readonly maxWaitTimeMs?: number;
  /** Also deliver records stamped up to this long before `start()` (clock skew between origins, ms). Default 1 000. */
  readonly startSlackMs?: number;
  /**
   * At start, read this much of the fan-out stream from before the start (ms) into the handler's
   * history (`skipped`), never delivering it; `KafkaBus.historyWarm` tells when it is done.
   * Default 0.
   */
  readonly readBackMs?: number;
  /**
   * Cross-region direct mode (`WSGW_KAFKA_REMOTE_BROKERS`): other regions' clusters whose origin
   * topic `<topicPrefix><region>` this bus reads directly (./kafka-remote.ts). Leave empty when
   * MirrorMaker 2 or MSK Replicator copies the topics into the local cluster.
   */
  readonly remotes?: readonly RemoteCluster[];
  /** How often each partition of the origin topic gets a progress tick (ms). Default 1 000. */
  readonly tickMs?: number;
  /**
   * How far append times of one log may run backwards (brokers' clocks disagreeing across a leader
   * change); progress is reported this much behind the ticks (ms). Default 100.
   */
  readonly stampSkewMs?: number;
  /** Metrics go here (prefix `wsgw_bus_`); default: a private registry. */
  readonly registry?: Registry;
  readonly logger?: BusLogger;
}

const DEFAULTS = Object.freeze({
  topicPrefix: DEFAULT_TOPIC_PREFIX,
  bufferLimit: 10_000,
  bufferTimeoutMs: 30_000,
  maxBatch: 500,
  maxMessageBytes: 1_000_000,
  partitions: 6,
  dedupWindow: 50_000,
  topicRefreshMs: 10_000,
  maxWaitTimeMs: 20,
  startSlackMs: 1_000,
  readBackMs: 0,
  tickMs: 1_000,
  stampSkewMs: 100,
});

/** The options with every default filled in. */
export type ResolvedKafkaBusOptions = Required<
  Omit<
    KafkaBusOptions,
    'registry' | 'logger' | 'remotes' | keyof KafkaConnectionOptions | 'replicationFactor' | 'rackId'
  >
> &
  KafkaBusOptions;

/** Fills in the defaults and checks the options; throws naming the first one that is wrong. */
export function resolveKafkaBusOptions(options: KafkaBusOptions): ResolvedKafkaBusOptions {
  const opts = { ...DEFAULTS, ...options };
  if (typeof opts.region !== 'string' || !REGION_NAME.test(opts.region))
    throw new TypeError(`region: ${REGION_NAME_RULE}`);
  if (typeof opts.nodeId !== 'string' || opts.nodeId === '') throw new TypeError('nodeId: required');
  if (!TOPIC_PREFIX.test(opts.topicPrefix)) throw new TypeError(`topicPrefix: ${TOPIC_PREFIX_RULE}`);
  for (const k of [
    'bufferLimit',
    'bufferTimeoutMs',
    'maxBatch',
    'maxMessageBytes',
    'partitions',
    'dedupWindow',
    'topicRefreshMs',
  ] as const) {
    if (!Number.isInteger(opts[k]) || opts[k] < 1) throw new RangeError(`${k}: must be a positive integer`);
  }
  const seen = new Set([opts.region]);
  for (const r of opts.remotes ?? []) {
    if (typeof r.region !== 'string' || !REGION_NAME.test(r.region) || seen.has(r.region)) {
      throw new TypeError(`remotes: region "${String(r.region)}" is invalid, repeated or this bus's own`);
    }
    seen.add(r.region);
  }
  return opts;
}
