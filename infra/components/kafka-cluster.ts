import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { MskConfig } from '../stack-config.js';
import { replicationSourceClusterPolicy } from '../iam.js';
import { originTopic, planMsk } from '../plan.js';

/**
 * Every gateway reads the whole fan-out stream; with these, gateways that name their zone id
 * (client.rack; MSK's broker.rack) read from the replica in their zone instead of paying for
 * cross-zone transfer from the leader. A follower learns how far it may serve (the high
 * watermark) on its next fetch from the leader, which the leader holds up to
 * `replica.fetch.wait.max.ms` when no new data comes. On a local two-rack cluster, Kafka's 500 ms
 * made a quiet channel's messages ~190 ms later (p50) than reads from the leader; at 10 ms they
 * were 0-13 ms later.
 */
export const ZONE_LOCAL_READS = [
  'replica.selector.class=org.apache.kafka.common.replica.RackAwareReplicaSelector',
  'replica.fetch.wait.max.ms=10',
] as const;

export interface KafkaClusterArgs {
  readonly region: string;
  readonly clusterName: string;
  readonly msk: MskConfig;
  readonly azCount: number;
  readonly subnetIds: pulumi.Input<string>[];
  readonly securityGroupId: pulumi.Input<string>;
  readonly logRetentionDays: number;
  /**
   * This cluster is the source of cross-region replicators: turn on multi-VPC private
   * connectivity (IAM) and the cluster policy that lets MSK open those connections.
   */
  readonly replicationSource: boolean;
  readonly accountId: pulumi.Input<string>;
}

/**
 * One region's Kafka: a provisioned MSK cluster that speaks only IAM over TLS, encrypts at rest
 * with its own KMS key, ships broker logs to CloudWatch, and holds this region's origin topic
 * `wsgw.fanout.<region>` (replicated copies of the others arrive beside it).
 */
export class KafkaCluster extends pulumi.ComponentResource {
  readonly cluster: aws.msk.Cluster;
  readonly clusterArn: pulumi.Output<string>;
  readonly clusterName: pulumi.Output<string>;
  /** Comma-separated `host:9098` list (WSGW_KAFKA_BROKERS). */
  readonly bootstrapBrokers: pulumi.Output<string>;
  readonly topic: aws.msk.Topic;

  constructor(name: string, args: KafkaClusterArgs, opts: pulumi.ComponentResourceOptions) {
    // Formerly `wsgw:aws:Kafka`: the alias keeps the deployed component and, through it, its children.
    super(
      'wsgw:aws:KafkaCluster',
      name,
      {},
      pulumi.mergeOptions(opts, { aliases: [{ type: 'wsgw:aws:Kafka' }] }),
    );
    const o = { parent: this };
    const plan = planMsk(args.msk.brokersPerAz, args.azCount);

    const key = new aws.kms.Key(
      `${name}-at-rest`,
      {
        description: `${args.clusterName} MSK encryption at rest`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
      },
      o,
    );
    const brokerLogs = new aws.cloudwatch.LogGroup(
      `${name}-broker-logs`,
      { name: `/wsgw/msk/${args.clusterName}`, retentionInDays: args.logRetentionDays },
      o,
    );

    // Topics are infrastructure, not a side effect of the first produce: auto-creation stays off
    // so a typo in a topic name fails loudly. Replicated topics are created by the replicator.
    const serverProperties = [
      'auto.create.topics.enable=false',
      `default.replication.factor=${plan.replicationFactor}`,
      `min.insync.replicas=${plan.minInsyncReplicas}`,
      `num.partitions=${args.msk.partitions}`,
      // A lagging replica must never become leader and silently drop acknowledged messages.
      'unclean.leader.election.enable=false',
      // Replicated copies are created by the replicator without the origin topic's settings (so
      // that they keep its timestamps, below): they retain what the origin topic retains.
      `log.retention.ms=${args.msk.retentionHours * 3_600_000}`,
      ...(args.msk.zoneLocalReads ? ZONE_LOCAL_READS : []),
    ].join('\n');
    const configuration = new aws.msk.Configuration(
      `${name}-config`,
      { name: `${args.clusterName}-config`, kafkaVersions: [args.msk.kafkaVersion], serverProperties },
      o,
    );

    this.cluster = new aws.msk.Cluster(
      `${name}-cluster`,
      {
        clusterName: args.clusterName,
        kafkaVersion: args.msk.kafkaVersion,
        numberOfBrokerNodes: plan.brokerCount,
        configurationInfo: { arn: configuration.arn, revision: configuration.latestRevision },
        brokerNodeGroupInfo: {
          instanceType: args.msk.instanceType,
          clientSubnets: args.subnetIds,
          securityGroups: [args.securityGroupId],
          storageInfo: { ebsStorageInfo: { volumeSize: args.msk.volumeGiB } },
          ...(args.replicationSource
            ? { connectivityInfo: { vpcConnectivity: { clientAuthentication: { sasl: { iam: true } } } } }
            : {}),
        },
        clientAuthentication: { sasl: { iam: true }, unauthenticated: false },
        encryptionInfo: {
          encryptionAtRestKmsKeyArn: key.arn,
          encryptionInTransit: { clientBroker: 'TLS', inCluster: true },
        },
        // DEFAULT monitoring is free and includes the consumer-lag metrics the alarms use.
        enhancedMonitoring: 'DEFAULT',
        loggingInfo: { brokerLogs: { cloudwatchLogs: { enabled: true, logGroup: brokerLogs.name } } },
      },
      o,
    );

    if (args.replicationSource) {
      new aws.msk.ClusterPolicy(
        `${name}-replication-source`,
        {
          clusterArn: this.cluster.arn,
          policy: pulumi
            .all([this.cluster.arn, args.accountId])
            .apply(([arn, acct]) => JSON.stringify(replicationSourceClusterPolicy(arn, acct))),
        },
        o,
      );
    }

    this.topic = new aws.msk.Topic(
      `${name}-origin-topic`,
      {
        clusterArn: this.cluster.arn,
        name: originTopic(args.region),
        partitionCount: args.msk.partitions,
        replicationFactor: plan.replicationFactor,
        configs: JSON.stringify({
          'retention.ms': String(args.msk.retentionHours * 3_600_000),
          'min.insync.replicas': String(plan.minInsyncReplicas),
          'cleanup.policy': 'delete',
          // The broker stamps each record with its append time: the stamps follow the log's
          // order, which the gateways' recovery sync points rest on (docs/protocol.md, Recovery).
          'message.timestamp.type': 'LogAppendTime',
        }),
      },
      o,
    );

    this.clusterArn = this.cluster.arn;
    this.clusterName = this.cluster.clusterName;
    this.bootstrapBrokers = this.cluster.bootstrapBrokersSaslIam;
    this.registerOutputs({ clusterArn: this.clusterArn, bootstrapBrokers: this.bootstrapBrokers });
  }
}
