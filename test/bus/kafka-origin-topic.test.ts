/**
 * Setting up the origin topic, against an admin client that answers as the broker would. Creating
 * and reading real topics is covered by test/bus/bus-kafka.test.ts.
 */
import kafkajs, { type Admin, type ConfigEntries } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { noLog, type BusLogger } from '../../services/gateway/src/bus/kafka-bus-options.js';
import { KafkaBusMetrics } from '../../services/gateway/src/bus/kafka-metrics.js';
import {
  createOriginTopic,
  originPartitions,
  verifyStamps,
} from '../../services/gateway/src/bus/kafka-origin-topic.js';

/** kafkajs' enums are spread into its exports, so only its default export carries them. */
const { ConfigSource } = kafkajs;

const entry = (
  configName: string,
  configValue: string,
  more: Partial<ConfigEntries> = {},
): ConfigEntries => ({
  configName,
  configValue,
  isDefault: false,
  configSource: ConfigSource.TOPIC_CONFIG,
  isSensitive: false,
  readOnly: false,
  configSynonyms: [],
  ...more,
});

/** An admin client whose topic has these settings; it records what it is asked to change. */
function adminWith(
  entries: ConfigEntries[],
): Pick<Admin, 'describeConfigs' | 'alterConfigs'> & { altered: { name: string; value: string }[][] } {
  const altered: { name: string; value: string }[][] = [];
  return {
    altered,
    describeConfigs: async () => ({
      throttleTime: 0,
      resources: [
        { configEntries: entries, errorCode: 0, errorMessage: '', resourceName: 't', resourceType: 2 },
      ],
    }),
    alterConfigs: async (c: Parameters<Admin['alterConfigs']>[0]) => {
      altered.push(c.resources[0]!.configEntries);
    },
  };
}

const errorsOf = async (metrics: KafkaBusMetrics, kind: string): Promise<number> =>
  (await metrics.errors.get()).values.find((v) => v.labels.kind === kind)?.value ?? 0;

describe('verifyStamps', () => {
  it('accepts a topic that stamps append times as it is', async () => {
    const admin = adminWith([entry('message.timestamp.type', 'LogAppendTime')]);
    expect(await verifyStamps(admin, 't', noLog, new KafkaBusMetrics())).toBe(true);
    expect(admin.altered).toEqual([]);
  });

  it("sets LogAppendTime on a topic that lacks it, keeping the topic's own overrides and only those", async () => {
    const admin = adminWith([
      entry('message.timestamp.type', 'CreateTime'),
      entry('retention.ms', '600000'),
      entry('segment.bytes', '1073741824', { configSource: ConfigSource.DEFAULT_CONFIG, isDefault: true }),
      entry('min.insync.replicas', '2', { configSource: ConfigSource.STATIC_BROKER_CONFIG }),
      entry('leader.replication.throttled.replicas', '', { readOnly: true }),
      entry('sasl.jaas.config', 'secret', { isSensitive: true }),
    ]);
    const warned: string[] = [];
    const log: BusLogger = { ...noLog, warn: (_obj, msg) => void warned.push(msg) };
    expect(await verifyStamps(admin, 't', log, new KafkaBusMetrics())).toBe(true);
    // AlterConfigs replaces the whole set of overrides: anything left out would be reset.
    expect(admin.altered).toEqual([
      [
        { name: 'retention.ms', value: '600000' },
        { name: 'message.timestamp.type', value: 'LogAppendTime' },
      ],
    ]);
    expect(warned).toHaveLength(1);
  });

  it('answers false, counts and logs when the broker will not set it', async () => {
    const admin = adminWith([]);
    admin.alterConfigs = () => Promise.reject(new Error('TOPIC_AUTHORIZATION_FAILED'));
    const metrics = new KafkaBusMetrics();
    const logged: string[] = [];
    expect(
      await verifyStamps(admin, 't', { ...noLog, error: (_obj, msg) => void logged.push(msg) }, metrics),
    ).toBe(false);
    expect(await errorsOf(metrics, 'stamps')).toBe(1);
    expect(logged).toEqual([expect.stringMatching(/recovery will not vouch/)]);
  });
});

describe('createOriginTopic', () => {
  const admin = (topics: string[], brokers: number) => {
    const created: unknown[] = [];
    return {
      created,
      describeCluster: async () => ({
        brokers: Array.from({ length: brokers }, (_, i) => ({ nodeId: i, host: 'h', port: 9092 })),
        controller: 0,
        clusterId: 'c',
      }),
      listTopics: async () => topics,
      createTopics: async (o: Parameters<Admin['createTopics']>[0]) => (created.push(...o.topics), true),
    };
  };

  it('creates a missing topic stamping append times, with min(3, brokers) replicas unless told', async () => {
    const small = admin([], 2);
    await createOriginTopic(small, { topic: 't', partitions: 6 });
    expect(small.created).toEqual([
      {
        topic: 't',
        numPartitions: 6,
        replicationFactor: 2,
        configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }],
      },
    ]);
    const large = admin([], 5);
    await createOriginTopic(large, { topic: 't', partitions: 6 });
    expect(large.created).toMatchObject([{ replicationFactor: 3 }]);
    const told = admin([], 5);
    await createOriginTopic(told, { topic: 't', partitions: 6, replicationFactor: 1 });
    expect(told.created).toMatchObject([{ replicationFactor: 1 }]);
  });

  it('leaves an existing topic alone', async () => {
    const existing = admin(['t'], 3);
    await createOriginTopic(existing, { topic: 't', partitions: 6 });
    expect(existing.created).toEqual([]);
  });
});

describe('originPartitions', () => {
  it('refuses a topic without partitions (its metadata is not there yet)', async () => {
    await expect(originPartitions({ fetchTopicMetadata: async () => ({ topics: [] }) }, 't')).rejects.toThrow(
      /has no partitions/,
    );
  });
});
