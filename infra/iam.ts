/**
 * IAM policy documents as pure functions of plain ARNs, so least privilege is tested directly
 * (test/infra/iam.test.ts) and the components only feed them resolved outputs.
 */
import { kafkaArns, originTopic } from './plan.js';

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow';
  readonly Action: readonly string[];
  /** Absent only in trust policies, where IAM forbids it. */
  readonly Resource?: string | readonly string[];
  readonly Principal?: Record<string, string>;
  readonly Condition?: Record<string, Record<string, string | readonly string[]>>;
}

export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly PolicyStatement[];
}

/** Trust policy for a service principal, pinned to this account against confused deputies. */
export function assumeRolePolicy(service: string, accountId: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: service },
        Action: ['sts:AssumeRole'],
        Condition: { StringEquals: { 'aws:SourceAccount': accountId } },
      },
    ],
  };
}

/** A cluster whose origin topics a gateway reads, and whether it also writes one of them. */
export interface GatewayKafkaAccess {
  readonly clusterArn: string;
  /**
   * Regions whose origin topics this gateway reads from the cluster; `'*'` names every fan-out
   * topic of the cluster (`wsgw.fanout.*`): with the replicator, the local copies of all regions.
   */
  readonly readOrigins: readonly string[];
  /** The region whose origin topic this gateway produces to (its own), on its local cluster. */
  readonly writeOrigin?: string;
}

/**
 * The task role: exactly the `kafka-cluster:` actions the gateway's Kafka bus performs.
 * - Connect, DescribeCluster: every MSK IAM client.
 * - WriteDataIdempotently (cluster): the producer is idempotent (docs/kafka.md).
 * - DescribeTopic, ReadData: the fan-out topics it consumes: with the replicator every one on its
 *   own cluster, in `direct` mode its own and each remote region's origin topic on that region's.
 * - WriteData, CreateTopic: its own origin topic only (the topic exists — the program creates it —
 *   but an admin `createTopics` is still authorized against this action).
 * - DescribeTopicDynamicConfiguration: its own origin topic, whose `message.timestamp.type` it
 *   checks at start (recovery needs append-time stamps).
 * - DescribeGroup, AlterGroup, DeleteGroup: its consumer groups on that cluster. Each bus instance
 *   consumes as the only member of its own group (broadcast) and deletes the group on close, so
 *   group names are per task and not known here; the grant covers the cluster's groups.
 */
export function gatewayTaskPolicy(
  access: readonly GatewayKafkaAccess[],
  topicPrefix?: string,
  opts: { readonly exportCertificateArn?: string } = {},
): PolicyDocument {
  const statements: PolicyStatement[] = [];
  // Behind an NLB the gateway terminates TLS with the region's exportable certificate, which it
  // exports from ACM (certificate, chain and passphrase-encrypted key) at start and to pick up renewals.
  if (opts.exportCertificateArn)
    statements.push({
      Effect: 'Allow',
      Action: ['acm:ExportCertificate'],
      Resource: opts.exportCertificateArn,
    });
  for (const a of access) {
    const arns = kafkaArns(a.clusterArn);
    const clusterActions = ['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster'];
    if (a.writeOrigin) clusterActions.push('kafka-cluster:WriteDataIdempotently');
    statements.push({ Effect: 'Allow', Action: clusterActions, Resource: arns.cluster });
    statements.push({
      Effect: 'Allow',
      Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
      Resource: a.readOrigins.map((r) => arns.topic(originTopic(r, topicPrefix))),
    });
    if (a.writeOrigin) {
      statements.push({
        Effect: 'Allow',
        Action: [
          'kafka-cluster:WriteData',
          'kafka-cluster:CreateTopic',
          'kafka-cluster:DescribeTopicDynamicConfiguration',
        ],
        Resource: arns.topic(originTopic(a.writeOrigin, topicPrefix)),
      });
    }
    statements.push({
      Effect: 'Allow',
      Action: ['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup', 'kafka-cluster:DeleteGroup'],
      Resource: arns.groups,
    });
  }
  return { Version: '2012-10-17', Statement: statements };
}

/**
 * The task execution role (used by ECS, not by the gateway): pull the image, write the log
 * stream, read the one secret. `ecr:GetAuthorizationToken` has no resource-level scoping.
 */
export function executionRolePolicy(p: {
  readonly ecrRepositoryArn?: string;
  readonly logGroupArn: string;
  readonly secretArn?: string;
}): PolicyDocument {
  const statements: PolicyStatement[] = [];
  if (p.ecrRepositoryArn) {
    statements.push({ Effect: 'Allow', Action: ['ecr:GetAuthorizationToken'], Resource: '*' });
    statements.push({
      Effect: 'Allow',
      Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      Resource: p.ecrRepositoryArn,
    });
  }
  statements.push({
    Effect: 'Allow',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Resource: `${p.logGroupArn}:log-stream:*`,
  });
  if (p.secretArn)
    statements.push({ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: p.secretArn });
  return { Version: '2012-10-17', Statement: statements };
}

/**
 * The MSK Replicator's execution role for one source -> target pair: AWS's reference policy
 * (the managed AWSMSKReplicatorExecutionRole) statement for statement, with its account-wide
 * resources (`cluster/*`, `topic/*\/*`, `group/*\/*`) narrowed to the two clusters. The replicator
 * creates and manages internal topics and groups of its own on both clusters, which a grant
 * narrowed to the copied topic would refuse.
 */
export function replicatorPolicy(p: {
  readonly sourceClusterArn: string;
  readonly targetClusterArn: string;
}): PolicyDocument {
  const clusters = [kafkaArns(p.sourceClusterArn), kafkaArns(p.targetClusterArn)];
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ClusterPermissions',
        Effect: 'Allow',
        Action: [
          'kafka-cluster:Connect',
          'kafka-cluster:DescribeCluster',
          'kafka-cluster:AlterCluster',
          'kafka-cluster:DescribeTopic',
          'kafka-cluster:CreateTopic',
          'kafka-cluster:AlterTopic',
          'kafka-cluster:WriteData',
          'kafka-cluster:ReadData',
          'kafka-cluster:AlterGroup',
          'kafka-cluster:DescribeGroup',
          'kafka-cluster:DescribeTopicDynamicConfiguration',
          'kafka-cluster:AlterTopicDynamicConfiguration',
          'kafka-cluster:WriteDataIdempotently',
        ],
        Resource: clusters.map((c) => c.cluster),
      },
      {
        Sid: 'TopicPermissions',
        Effect: 'Allow',
        Action: [
          'kafka-cluster:DescribeTopic',
          'kafka-cluster:CreateTopic',
          'kafka-cluster:AlterTopic',
          'kafka-cluster:WriteData',
          'kafka-cluster:ReadData',
          'kafka-cluster:DescribeTopicDynamicConfiguration',
          'kafka-cluster:AlterTopicDynamicConfiguration',
          'kafka-cluster:AlterCluster',
        ],
        Resource: clusters.map((c) => c.topics),
      },
      {
        Sid: 'GroupPermissions',
        Effect: 'Allow',
        Action: ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'],
        Resource: clusters.map((c) => c.groups),
      },
    ],
  };
}

/**
 * Cluster (resource) policy on a replication source: lets the MSK service open the multi-VPC
 * connection the target region's replicator reads through.
 */
export function replicationSourceClusterPolicy(clusterArn: string, accountId: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: 'kafka.amazonaws.com' },
        Action: ['kafka:CreateVpcConnection', 'kafka:GetBootstrapBrokers', 'kafka:DescribeClusterV2'],
        Resource: clusterArn,
        Condition: { StringEquals: { 'aws:SourceAccount': accountId } },
      },
    ],
  };
}

/**
 * Key policy of the customer-managed key that encrypts a region's alarm topic. The account keeps
 * full control through IAM (without that statement nobody could manage or delete the key), and
 * CloudWatch may use the key for this account's alarms only: CloudWatch encrypts each alarm
 * notification it publishes to an encrypted topic, which the AWS managed key `alias/aws/sns` does
 * not let it do (its policy cannot be edited).
 */
export function alarmTopicKeyPolicy(p: {
  readonly accountId: string;
  readonly partition: string;
}): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Account',
        Effect: 'Allow',
        Principal: { AWS: `arn:${p.partition}:iam::${p.accountId}:root` },
        Action: ['kms:*'],
        Resource: '*',
      },
      {
        Sid: 'CloudWatchAlarms',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: '*',
        Condition: { StringEquals: { 'aws:SourceAccount': p.accountId } },
      },
    ],
  };
}

/**
 * Access policy of a region's alarm topic: the account manages and subscribes as before, and
 * CloudWatch may publish for exactly the given alarms of this account.
 */
export function alarmTopicPolicy(p: {
  readonly topicArn: string;
  readonly alarmArns: readonly string[];
  readonly accountId: string;
  readonly partition: string;
}): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Account',
        Effect: 'Allow',
        Principal: { AWS: `arn:${p.partition}:iam::${p.accountId}:root` },
        Action: [
          'sns:GetTopicAttributes',
          'sns:SetTopicAttributes',
          'sns:AddPermission',
          'sns:RemovePermission',
          'sns:DeleteTopic',
          'sns:Subscribe',
          'sns:ListSubscriptionsByTopic',
          'sns:Publish',
        ],
        Resource: p.topicArn,
      },
      {
        Sid: 'CloudWatchAlarms',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['sns:Publish'],
        Resource: p.topicArn,
        Condition: {
          ArnLike: { 'aws:SourceArn': p.alarmArns },
          StringEquals: { 'aws:SourceAccount': p.accountId },
        },
      },
    ],
  };
}
