/**
 * The origin topic, `<topicPrefix><region>`, that a region's gateways produce to (docs/kafka.md,
 * Topics and records): created when missing, made to stamp records with the broker's append time
 * (which progress rests on, ./kafka-progress.ts), and its partitions read for the partitioner.
 */
import type { Admin, PartitionMetadata } from 'kafkajs';
import type { BusLogger } from './kafka-bus-options.js';
import type { KafkaBusMetrics } from './kafka-metrics.js';

/** The topic setting that makes the broker stamp each record with its append time. */
const TIMESTAMP_TYPE = 'message.timestamp.type';
/**
 * kafkajs' ConfigResourceTypes.TOPIC and ConfigSource.TOPIC_CONFIG (Kafka protocol values): its
 * enums exist in its types but, being CommonJS, cannot be imported by name from an ES module.
 */
const RESOURCE_TOPIC = 2;
const SOURCE_TOPIC_CONFIG = 1;

export interface OriginTopicSpec {
  readonly topic: string;
  /** Partitions when created. */
  readonly partitions: number;
  /** Replicas when created; default min(3, brokers in the cluster). */
  readonly replicationFactor?: number;
}

/** Creates the topic when it is missing, stamping append times. */
export async function createOriginTopic(
  admin: Pick<Admin, 'describeCluster' | 'listTopics' | 'createTopics'>,
  spec: OriginTopicSpec,
): Promise<void> {
  const cluster = await admin.describeCluster();
  const replicationFactor = spec.replicationFactor ?? Math.min(3, Math.max(1, cluster.brokers.length));
  if (!(await admin.listTopics()).includes(spec.topic)) {
    // Another gateway of the region may create it at the same moment; kafkajs then returns false.
    await admin.createTopics({
      topics: [
        {
          topic: spec.topic,
          numPartitions: spec.partitions,
          replicationFactor,
          configEntries: [{ name: TIMESTAMP_TYPE, value: 'LogAppendTime' }],
        },
      ],
      waitForLeaders: true,
    });
  }
}

/**
 * Checks that the origin topic stamps records with the broker's append time, and sets it when it
 * does not (a topic created before, or by someone else). False when that cannot be done: ticks
 * then say so, and no gateway takes progress from them.
 */
export async function verifyStamps(
  admin: Pick<Admin, 'describeConfigs' | 'alterConfigs'>,
  topic: string,
  log: BusLogger,
  metrics: KafkaBusMetrics,
): Promise<boolean> {
  try {
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: RESOURCE_TOPIC, name: topic }],
    });
    const entries = described.resources[0]?.configEntries ?? [];
    if (entries.find((e) => e.configName === TIMESTAMP_TYPE)?.configValue === 'LogAppendTime') return true;
    // AlterConfigs replaces the topic's whole set of overrides: send the current ones along.
    const overrides = entries.filter(
      (e) =>
        e.configSource === SOURCE_TOPIC_CONFIG &&
        !e.readOnly &&
        !e.isSensitive &&
        e.configName !== TIMESTAMP_TYPE,
    );
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: RESOURCE_TOPIC,
          name: topic,
          configEntries: [
            ...overrides.map((e) => ({ name: e.configName, value: e.configValue })),
            { name: TIMESTAMP_TYPE, value: 'LogAppendTime' },
          ],
        },
      ],
    });
    log.warn(
      { topic },
      `set ${TIMESTAMP_TYPE}=LogAppendTime on the origin topic (recovery needs append-time stamps)`,
    );
    return true;
  } catch (err) {
    metrics.errors.inc({ kind: 'stamps' });
    log.error(
      { err, topic },
      `cannot check or set ${TIMESTAMP_TYPE}=LogAppendTime on the origin topic: recovery will not vouch for messages from this region`,
    );
    return false;
  }
}

/** The topic's partitions as the partitioner needs them; throws when it has none. */
export async function originPartitions(
  admin: Pick<Admin, 'fetchTopicMetadata'>,
  topic: string,
): Promise<PartitionMetadata[]> {
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  const partitions = meta.topics[0]?.partitions ?? [];
  if (partitions.length === 0) throw new Error(`topic ${topic} has no partitions`);
  return partitions.map((p) => ({ ...p }));
}
