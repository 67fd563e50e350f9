import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { assumeRolePolicy, replicatorPolicy } from '../iam.js';
import { originTopicPattern, replicationPairs, replicatorName } from '../plan.js';

/** What the replicators need to know about one region. */
export interface ReplicationRegion {
  readonly name: string;
  readonly provider: aws.Provider;
  readonly clusterArn: pulumi.Input<string>;
  readonly subnetIds: pulumi.Input<string>[];
  readonly replicatorSecurityGroupId: pulumi.Input<string>;
  /** The region's Kafka component: replicators wait for its cluster policy and origin topic. */
  readonly kafka: pulumi.Resource;
}

export interface ReplicationArgs {
  readonly namePrefix: string;
  readonly regions: readonly ReplicationRegion[];
  readonly accountId: pulumi.Input<string>;
  readonly logRetentionDays: number;
}

/**
 * `crossRegion: replicator`: one MSK Replicator per ordered pair of regions, living in the
 * target region (where AWS runs it), copying only the source's origin topic `wsgw.fanout.<source>`.
 *
 * - Topic names stay IDENTICAL, so every cluster holds `wsgw.fanout.<every region>` and the
 *   gateway's IAM grants name exact topics. Loops are impossible by construction — a replicator
 *   never copies a topic that did not originate in its source — and MSK's `__mskmr` header guards
 *   them besides.
 * - Starting position LATEST: gateways consume from "now" (docs/kafka.md, Broadcast from "now").
 * - Consumer groups are not replicated: offsets mean nothing in another region, and every
 *   gateway task has its own group.
 */
export class Replication extends pulumi.ComponentResource {
  readonly replicators: aws.msk.Replicator[] = [];

  constructor(name: string, args: ReplicationArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('wsgw:aws:Replication', name, {}, opts);
    const byName = new Map(args.regions.map((r) => [r.name, r]));

    const logGroups = new Map(
      args.regions.map((r) => [
        r.name,
        new aws.cloudwatch.LogGroup(
          `${name}-${r.name}-logs`,
          { name: `/wsgw/msk-replicator/${args.namePrefix}`, retentionInDays: args.logRetentionDays },
          { parent: this, provider: r.provider },
        ),
      ]),
    );

    for (const pair of replicationPairs(args.regions.map((r) => r.name))) {
      const src = byName.get(pair.source)!;
      const dst = byName.get(pair.target)!;
      const o = { parent: this, provider: dst.provider };
      const id = `${name}-${pair.source}-to-${pair.target}`;

      const role = new aws.iam.Role(
        id,
        {
          assumeRolePolicy: pulumi
            .output(args.accountId)
            .apply((a) => JSON.stringify(assumeRolePolicy('kafka.amazonaws.com', a))),
        },
        o,
      );
      const policy = new aws.iam.RolePolicy(
        id,
        {
          role: role.id,
          policy: pulumi
            .all([src.clusterArn, dst.clusterArn])
            .apply(([sourceClusterArn, targetClusterArn]) =>
              JSON.stringify(replicatorPolicy({ sourceClusterArn, targetClusterArn })),
            ),
        },
        o,
      );

      this.replicators.push(
        new aws.msk.Replicator(
          id,
          {
            replicatorName: replicatorName(args.namePrefix, pair),
            description: `wsgw fan-out ${pair.source} -> ${pair.target}`,
            serviceExecutionRoleArn: role.arn,
            // Cross-region: the source is reached over its multi-VPC connectivity and takes no
            // security group; the replicator's ENIs sit in the target's subnets with a group that
            // may reach the target's brokers on 9098.
            kafkaClusters: [
              {
                amazonMskCluster: { mskClusterArn: src.clusterArn },
                vpcConfig: { subnetIds: src.subnetIds },
              },
              {
                amazonMskCluster: { mskClusterArn: dst.clusterArn },
                vpcConfig: { subnetIds: dst.subnetIds, securityGroupsIds: [dst.replicatorSecurityGroupId] },
              },
            ],
            replicationInfoList: {
              sourceKafkaClusterArn: src.clusterArn,
              targetKafkaClusterArn: dst.clusterArn,
              // Envelopes are small protobufs; the producer compresses batches already.
              targetCompressionType: 'NONE',
              topicReplications: [
                {
                  topicsToReplicates: [originTopicPattern(pair.source)],
                  topicsToExcludes: [],
                  detectAndCopyNewTopics: true,
                  // Not the origin topic's settings: its LogAppendTime would make the target's
                  // brokers restamp every copy, and recovery compares the origin's stamps across
                  // regions. Copies get the cluster's defaults (retention included) and keep the
                  // timestamps the replicator writes them with.
                  copyTopicConfigurations: false,
                  copyAccessControlListsForTopics: false,
                  startingPosition: { type: 'LATEST' },
                  topicNameConfiguration: { type: 'IDENTICAL' },
                },
              ],
              consumerGroupReplications: [
                {
                  consumerGroupsToReplicates: [],
                  detectAndCopyNewConsumerGroups: false,
                  synchroniseConsumerGroupOffsets: false,
                },
              ],
            },
            logDelivery: {
              replicatorLogDelivery: {
                cloudwatchLogs: { enabled: true, logGroup: logGroups.get(pair.target)!.name },
              },
            },
          },
          { ...o, dependsOn: [policy, src.kafka, dst.kafka] },
        ),
      );
    }
    this.registerOutputs({});
  }
}
