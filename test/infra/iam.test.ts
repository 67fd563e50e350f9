import { describe, expect, it } from 'vitest';
import { alarmTopicKeyPolicy, alarmTopicPolicy, assumeRolePolicy, executionRolePolicy, gatewayTaskPolicy, replicationSourceClusterPolicy, replicatorPolicy } from '../../infra/iam.js';

const USE1 = 'arn:aws:kafka:us-east-1:123456789012:cluster/wsgw-prod-use1/aaaa-1';
const EUW1 = 'arn:aws:kafka:eu-west-1:123456789012:cluster/wsgw-prod-euw1/bbbb-2';
const topic = (cluster: string, name: string) => cluster.replace(':cluster/', ':topic/') + '/' + name;

function actionsOn(doc: ReturnType<typeof gatewayTaskPolicy>, resource: string): string[] {
  return doc.Statement.filter((s) => (Array.isArray(s.Resource) ? s.Resource.includes(resource) : s.Resource === resource)).flatMap((s) => s.Action);
}

function resourcesOf(doc: ReturnType<typeof gatewayTaskPolicy>): string[] {
  return doc.Statement.flatMap((s) => (s.Resource === undefined ? [] : typeof s.Resource === 'string' ? [s.Resource] : [...s.Resource]));
}

describe('gatewayTaskPolicy', () => {
  const replicatorMode = gatewayTaskPolicy([{ clusterArn: USE1, readOrigins: ['us-east-1', 'eu-west-1'], writeOrigin: 'us-east-1' }]);

  it('grants only kafka-cluster actions, never wildcards', () => {
    const actions = replicatorMode.Statement.flatMap((s) => s.Action);
    expect(actions.every((a) => a.startsWith('kafka-cluster:') && !a.includes('*'))).toBe(true);
  });

  it('writes only its own origin topic and reads every local copy', () => {
    expect(actionsOn(replicatorMode, topic(USE1, 'wsgw.fanout.us-east-1')).sort()).toEqual(
      ['kafka-cluster:CreateTopic', 'kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData', 'kafka-cluster:WriteData'].sort(),
    );
    expect(actionsOn(replicatorMode, topic(USE1, 'wsgw.fanout.eu-west-1')).sort()).toEqual(['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData']);
    expect(actionsOn(replicatorMode, USE1)).toContain('kafka-cluster:WriteDataIdempotently');
  });

  it('lets each task manage its own consumer group (created on start, deleted on close)', () => {
    expect(actionsOn(replicatorMode, 'arn:aws:kafka:us-east-1:123456789012:group/wsgw-prod-use1/aaaa-1/*').sort()).toEqual(
      ['kafka-cluster:AlterGroup', 'kafka-cluster:DeleteGroup', 'kafka-cluster:DescribeGroup'],
    );
  });

  it('names only the given cluster, its topics and its groups', () => {
    for (const r of resourcesOf(replicatorMode)) expect(r.startsWith('arn:aws:kafka:us-east-1:123456789012:') && r.includes('/wsgw-prod-use1/aaaa-1')).toBe(true);
  });

  it('reads (never writes) the remote clusters in direct mode', () => {
    const direct = gatewayTaskPolicy([
      { clusterArn: USE1, readOrigins: ['us-east-1'], writeOrigin: 'us-east-1' },
      { clusterArn: EUW1, readOrigins: ['eu-west-1'] },
    ]);
    expect(actionsOn(direct, topic(EUW1, 'wsgw.fanout.eu-west-1')).sort()).toEqual(['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData']);
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
      ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetAuthorizationToken', 'ecr:GetDownloadUrlForLayer', 'logs:CreateLogStream', 'logs:PutLogEvents', 'secretsmanager:GetSecretValue'].sort(),
    );
    expect(byAction['ecr:GetAuthorizationToken']).toBe('*'); // not resource-scopable
    expect(byAction['ecr:BatchGetImage']).toBe('arn:aws:ecr:us-east-1:123456789012:repository/wsgw-prod');
    expect(byAction['secretsmanager:GetSecretValue']).toBe('arn:aws:secretsmanager:us-east-1:123456789012:secret:wsgw/x-abc');
  });

  it('drops ECR and secret statements when there is no ECR image or secret', () => {
    const doc = executionRolePolicy({ logGroupArn: 'arn:aws:logs:us-east-1:1:log-group:g' });
    expect(doc.Statement.flatMap((s) => s.Action)).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
  });
});

describe('replicatorPolicy', () => {
  const doc = replicatorPolicy({ sourceClusterArn: EUW1, targetClusterArn: USE1, sourceRegion: 'eu-west-1' });
  it('reads the source origin topic and writes its copy on the target', () => {
    expect(actionsOn(doc, topic(EUW1, 'wsgw.fanout.eu-west-1'))).toContain('kafka-cluster:ReadData');
    expect(actionsOn(doc, topic(EUW1, 'wsgw.fanout.eu-west-1'))).not.toContain('kafka-cluster:WriteData');
    expect(actionsOn(doc, topic(USE1, 'wsgw.fanout.eu-west-1'))).toEqual(expect.arrayContaining(['kafka-cluster:CreateTopic', 'kafka-cluster:WriteData']));
    expect(actionsOn(doc, topic(USE1, 'wsgw.fanout.us-east-1'))).toEqual([]);
  });
});

describe('trust and resource policies', () => {
  it('pins service trust to the account', () => {
    const doc = assumeRolePolicy('ecs-tasks.amazonaws.com', '123456789012');
    expect(doc.Statement[0]).toMatchObject({ Principal: { Service: 'ecs-tasks.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } } });
    // IAM rejects a trust policy that names a Resource.
    expect(doc.Statement[0]).not.toHaveProperty('Resource');
  });
  it('lets MSK open multi-VPC connections on a replication source', () => {
    const doc = replicationSourceClusterPolicy(EUW1, '123456789012');
    expect(doc.Statement[0]).toMatchObject({ Principal: { Service: 'kafka.amazonaws.com' }, Resource: EUW1 });
    expect(doc.Statement[0]!.Action).toEqual(['kafka:CreateVpcConnection', 'kafka:GetBootstrapBrokers', 'kafka:DescribeClusterV2']);
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
    expect(key.Statement).toContainEqual(expect.objectContaining({ Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: ['kms:*'] }));
    expect(key.Statement).toHaveLength(2);
  });
  it('lets CloudWatch publish for the named alarms only', () => {
    const alarmArns = ['arn:aws:cloudwatch:eu-west-1:123456789012:alarm:wsgw-prod-eu-west-1-cpu'];
    const topic = alarmTopicPolicy({ topicArn: 'arn:aws:sns:eu-west-1:123456789012:t', alarmArns, accountId: '123456789012', partition: 'aws' });
    const cw = topic.Statement.filter((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(cw).toEqual([
      expect.objectContaining({ Action: ['sns:Publish'], Resource: 'arn:aws:sns:eu-west-1:123456789012:t', Condition: { ArnLike: { 'aws:SourceArn': alarmArns }, StringEquals: { 'aws:SourceAccount': '123456789012' } } }),
    ]);
    // No statement opens the topic to anyone outside the account.
    for (const s of topic.Statement) expect(s.Principal).not.toEqual({ AWS: '*' });
  });
});
