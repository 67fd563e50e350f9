import { describe, expect, it } from 'vitest';
import {
  alarmTopicKeyPolicy,
  alarmTopicPolicy,
  assumeRolePolicy,
  executionRolePolicy,
  gatewayTaskPolicy,
  replicationSourceClusterPolicy,
  replicatorPolicy,
} from '../../infra/iam.js';

const USE1 = 'arn:aws:kafka:us-east-1:123456789012:cluster/wsgw-prod-use1/aaaa-1';
const EUW1 = 'arn:aws:kafka:eu-west-1:123456789012:cluster/wsgw-prod-euw1/bbbb-2';
const topic = (cluster: string, name: string) => cluster.replace(':cluster/', ':topic/') + '/' + name;

function actionsOn(doc: ReturnType<typeof gatewayTaskPolicy>, resource: string): string[] {
  return doc.Statement.filter((s) =>
    Array.isArray(s.Resource) ? s.Resource.includes(resource) : s.Resource === resource,
  ).flatMap((s) => s.Action);
}

function resourcesOf(doc: ReturnType<typeof gatewayTaskPolicy>): string[] {
  return doc.Statement.flatMap((s) =>
    s.Resource === undefined ? [] : typeof s.Resource === 'string' ? [s.Resource] : [...s.Resource],
  );
}

describe('gatewayTaskPolicy', () => {
  const replicatorMode = gatewayTaskPolicy([
    { clusterArn: USE1, readOrigins: ['us-east-1', 'eu-west-1'], writeOrigin: 'us-east-1' },
  ]);

  it('grants only kafka-cluster actions, never wildcards', () => {
    const actions = replicatorMode.Statement.flatMap((s) => s.Action);
    expect(actions.every((a) => a.startsWith('kafka-cluster:') && !a.includes('*'))).toBe(true);
  });

  it('writes only its own origin topic and reads every local copy', () => {
    expect(actionsOn(replicatorMode, topic(USE1, 'wsgw.fanout.us-east-1')).sort()).toEqual(
      [
        'kafka-cluster:CreateTopic',
        'kafka-cluster:DescribeTopic',
        'kafka-cluster:DescribeTopicDynamicConfiguration',
        'kafka-cluster:ReadData',
        'kafka-cluster:WriteData',
      ].sort(),
    );
    expect(actionsOn(replicatorMode, topic(USE1, 'wsgw.fanout.eu-west-1')).sort()).toEqual([
      'kafka-cluster:DescribeTopic',
      'kafka-cluster:ReadData',
    ]);
    expect(actionsOn(replicatorMode, USE1)).toContain('kafka-cluster:WriteDataIdempotently');
  });

  it("lets a task behind an NLB export exactly its region's certificate, and nothing else of ACM", () => {
    const cert = 'arn:aws:acm:us-east-1:123456789012:certificate/0123';
    const withTls = gatewayTaskPolicy(
      [{ clusterArn: USE1, readOrigins: ['us-east-1'], writeOrigin: 'us-east-1' }],
      undefined,
      { exportCertificateArn: cert },
    );
    expect(withTls.Statement.filter((s) => s.Action.some((a) => a.startsWith('acm:')))).toEqual([
      { Effect: 'Allow', Action: ['acm:ExportCertificate'], Resource: cert },
    ]);
    expect(replicatorMode.Statement.flatMap((s) => s.Action).filter((a) => a.startsWith('acm:'))).toEqual([]);
  });

  it('lets each task manage its own consumer group (created on start, deleted on close)', () => {
    expect(
      actionsOn(replicatorMode, 'arn:aws:kafka:us-east-1:123456789012:group/wsgw-prod-use1/aaaa-1/*').sort(),
    ).toEqual(['kafka-cluster:AlterGroup', 'kafka-cluster:DeleteGroup', 'kafka-cluster:DescribeGroup']);
  });

  it('names only the given cluster, its topics and its groups', () => {
    for (const r of resourcesOf(replicatorMode))
      expect(
        r.startsWith('arn:aws:kafka:us-east-1:123456789012:') && r.includes('/wsgw-prod-use1/aaaa-1'),
      ).toBe(true);
  });

  it('reads (never writes) the remote clusters in direct mode', () => {
    const direct = gatewayTaskPolicy([
      { clusterArn: USE1, readOrigins: ['us-east-1'], writeOrigin: 'us-east-1' },
      { clusterArn: EUW1, readOrigins: ['eu-west-1'] },
    ]);
    expect(actionsOn(direct, topic(EUW1, 'wsgw.fanout.eu-west-1')).sort()).toEqual([
      'kafka-cluster:DescribeTopic',
      'kafka-cluster:ReadData',
    ]);
    expect(actionsOn(direct, EUW1)).not.toContain('kafka-cluster:WriteDataIdempotently');
    expect(direct.Statement.flatMap((s) => s.Action)).not.toContain('kafka-cluster:AlterCluster');
  });
});

describe('executionRolePolicy', () => {
  it('allows ECR pull, the log group and the one secret, nothing else', () => {
    const doc = executionRolePolicy({
      ecrRepositoryArn: 'arn:aws:ecr:us-east-1:123456789012:repository/wsgw-prod',
      logGroupArn: 'arn:aws:logs:us-east-1:123456789012:log-group:/wsgw/gateway/x',
      secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:wsgw/x-abc',
    });
    const byAction = Object.fromEntries(doc.Statement.flatMap((s) => s.Action.map((a) => [a, s.Resource])));
    expect(Object.keys(byAction).sort()).toEqual(
      [
        'ecr:BatchCheckLayerAvailability',
        'ecr:BatchGetImage',
        'ecr:GetAuthorizationToken',
        'ecr:GetDownloadUrlForLayer',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'secretsmanager:GetSecretValue',
      ].sort(),
    );
    expect(byAction['ecr:GetAuthorizationToken']).toBe('*'); // not resource-scopable
    expect(byAction['ecr:BatchGetImage']).toBe('arn:aws:ecr:us-east-1:123456789012:repository/wsgw-prod');
    expect(byAction['secretsmanager:GetSecretValue']).toBe(
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:wsgw/x-abc',
    );
  });

  it('drops ECR and secret statements when there is no ECR image or secret', () => {
    const doc = executionRolePolicy({ logGroupArn: 'arn:aws:logs:us-east-1:1:log-group:g' });
    expect(doc.Statement.flatMap((s) => s.Action)).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
  });
});

/**
 * AWS's reference policy for the replicator's service execution role, as published: the managed
 * policy AWSMSKReplicatorExecutionRole ("grants permissions to the Amazon MSK replicator to
 * replicate data between MSK clusters ... and to delete internal topics created by the
 * replicator"; Amazon MSK Developer Guide, AWS managed policy: AWSMSKReplicatorExecutionRole,
 * https://docs.aws.amazon.com/msk/latest/developerguide/security-iam-awsmanpol-AWSMSKReplicatorExecutionRole.html).
 * The replicator creates and manages topics and groups of its own on both clusters, so a grant
 * narrowed to the copied topic can break it; the stack's policy keeps these statements and only
 * replaces the account-wide resources with the two clusters'.
 */
const REPLICATOR_REFERENCE = [
  {
    kind: 'cluster',
    actions: [
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
    resource: 'arn:aws:kafka:*:*:cluster/*',
  },
  {
    kind: 'topic',
    actions: [
      'kafka-cluster:DescribeTopic',
      'kafka-cluster:CreateTopic',
      'kafka-cluster:AlterTopic',
      'kafka-cluster:WriteData',
      'kafka-cluster:ReadData',
      'kafka-cluster:DescribeTopicDynamicConfiguration',
      'kafka-cluster:AlterTopicDynamicConfiguration',
      'kafka-cluster:AlterCluster',
    ],
    resource: 'arn:aws:kafka:*:*:topic/*/*',
  },
  {
    kind: 'group',
    actions: ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'],
    resource: 'arn:aws:kafka:*:*:group/*/*',
  },
] as const;

describe('replicatorPolicy', () => {
  const doc = replicatorPolicy({ sourceClusterArn: EUW1, targetClusterArn: USE1 });
  const scoped = {
    cluster: [EUW1, USE1],
    topic: [EUW1, USE1].map((c) => c.replace(':cluster/', ':topic/') + '/*'),
    group: [EUW1, USE1].map((c) => c.replace(':cluster/', ':group/') + '/*'),
  };

  it("grants exactly the reference policy's actions, on the two clusters instead of every cluster of every account", () => {
    expect(doc.Statement).toHaveLength(REPLICATOR_REFERENCE.length);
    for (const ref of REPLICATOR_REFERENCE) {
      const matching = doc.Statement.filter(
        (s) => JSON.stringify(s.Resource) === JSON.stringify(scoped[ref.kind]),
      );
      expect(matching, ref.kind).toHaveLength(1);
      expect([...matching[0]!.Action].sort()).toEqual([...ref.actions].sort());
      // Each scoped resource is one the reference's wildcard covers.
      const pattern = new RegExp(`^${ref.resource.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`);
      for (const r of scoped[ref.kind]) expect(r).toMatch(pattern);
    }
  });

  it('names no cluster but the two', () => {
    for (const r of resourcesOf(doc))
      expect(r.includes('/wsgw-prod-euw1/bbbb-2') || r.includes('/wsgw-prod-use1/aaaa-1')).toBe(true);
  });
});

describe('trust and resource policies', () => {
  it('pins service trust to the account', () => {
    const doc = assumeRolePolicy('ecs-tasks.amazonaws.com', '123456789012');
    expect(doc.Statement[0]).toMatchObject({
      Principal: { Service: 'ecs-tasks.amazonaws.com' },
      Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
    });
    // IAM rejects a trust policy that names a Resource.
    expect(doc.Statement[0]).not.toHaveProperty('Resource');
  });
  it('lets MSK open multi-VPC connections on a replication source', () => {
    const doc = replicationSourceClusterPolicy(EUW1, '123456789012');
    expect(doc.Statement[0]).toMatchObject({ Principal: { Service: 'kafka.amazonaws.com' }, Resource: EUW1 });
    expect(doc.Statement[0]!.Action).toEqual([
      'kafka:CreateVpcConnection',
      'kafka:GetBootstrapBrokers',
      'kafka:DescribeClusterV2',
    ]);
  });
});

// AWS rule: CloudWatch alarms need kms:Decrypt and kms:GenerateDataKey on the key of an encrypted
// topic, which the AWS managed key's policy does not grant and cannot be edited to grant (AWS
// re:Post Knowledge Center, https://repost.aws/knowledge-center/cloudwatch-configure-alarm-sns);
// a key policy that omits the account's own statement leaves the key unmanageable ("Allows access
// to the AWS account and enables IAM policies", AWS KMS Developer Guide, Default key policy,
// https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).
describe('alarm topic policies', () => {
  const key = alarmTopicKeyPolicy({ accountId: '123456789012', partition: 'aws' });
  it('lets CloudWatch encrypt notifications with the key for this account only, and keeps the account in control', () => {
    expect(key.Statement).toContainEqual({
      Sid: 'CloudWatchAlarms',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Resource: '*',
      Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
    });
    expect(key.Statement).toContainEqual(
      expect.objectContaining({ Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: ['kms:*'] }),
    );
    expect(key.Statement).toHaveLength(2);
  });
  it('lets CloudWatch publish for the named alarms only', () => {
    const alarmArns = ['arn:aws:cloudwatch:eu-west-1:123456789012:alarm:wsgw-prod-eu-west-1-cpu'];
    const topic = alarmTopicPolicy({
      topicArn: 'arn:aws:sns:eu-west-1:123456789012:t',
      alarmArns,
      accountId: '123456789012',
      partition: 'aws',
    });
    const cw = topic.Statement.filter((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(cw).toEqual([
      expect.objectContaining({
        Action: ['sns:Publish'],
        Resource: 'arn:aws:sns:eu-west-1:123456789012:t',
        Condition: {
          ArnLike: { 'aws:SourceArn': alarmArns },
          StringEquals: { 'aws:SourceAccount': '123456789012' },
        },
      }),
    ]);
    // No statement opens the topic to anyone outside the account.
    for (const s of topic.Statement) expect(s.Principal).not.toEqual({ AWS: '*' });
  });
});
