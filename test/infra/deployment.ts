/**
 * The invariants every deployment must satisfy, as one suite run against a stack config under
 * Pulumi mocks. Each `program-*.test.ts` file runs it for one config: Pulumi's runtime is
 * process-global, and vitest gives each file its own fork.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_METRICS_PORT,
  DEFAULT_PORT,
  EMF,
  ENV,
  HTTP_PATHS,
  TIMING_DEFAULTS,
} from '../../services/shared/src/constants.js';
import { parseStackConfig, type StackConfig } from '../../infra/stack-config.js';
import {
  type DeclaredResource,
  MOCK_ACCOUNT,
  isSecret,
  resolve,
  reveal,
  runProgram,
} from '../../infra/mocks.js';
import {
  GLOBAL_ACCELERATOR_TCP_IDLE_TIMEOUT_S,
  NLB_TCP_IDLE_TIMEOUT_RANGE_S,
  REDIRECT_PORT,
  deriveTiming,
  gatewayTiming,
  originTopicPattern,
  serviceName,
} from '../../infra/plan.js';
import { ZONE_LOCAL_READS } from '../../infra/components/kafka-cluster.js';
import { REDIS_ENV, planRedis } from '../../infra/plan.js';

/** A token ElastiCache accepts (16-128 characters, letters, digits and ! & # $ ^ < > -). */
export const TEST_REDIS_AUTH_TOKEN = 'test-Redis-token-0123456789';
import { regionOf } from '../../infra/synth.js';
import { historyBudgetBytes, maxConnectionsPerTask } from '../../infra/capacity.js';
import { expectedResources } from './expected-resources.js';

export interface DeploymentOutputs {
  readonly endpoint: string;
  readonly acceleratorDnsName: string;
  readonly acceleratorIps: string[];
  readonly regions: Record<
    string,
    { albDnsName?: string; nlbDnsName?: string; mskBootstrapBrokers?: string; redisUrl?: string }
  >;
}

/** A config with `n` regions, as a user would write it. */
export function generatedConfig(
  n: number,
  crossRegion: 'replicator' | 'direct' = 'replicator',
  msk: Record<string, unknown> = {},
): Record<string, unknown> {
  const names = ['us-east-1', 'eu-west-1', 'ap-southeast-1', 'us-west-2', 'eu-central-1', 'sa-east-1'].slice(
    0,
    n,
  );
  return {
    'wsgw:domain': 'rt.example.org',
    'wsgw:cloudflareZoneId': 'fedcba9876543210fedcba9876543210',
    'wsgw:connectionsPerTask': 15000,
    'wsgw:homeRegion': names[0],
    'wsgw:regions': names.map((name, i) => ({
      name,
      cidr: `10.${16 + i}.0.0/16`,
      minTasks: 2,
      maxTasks: 10 + i,
    })),
    'wsgw:network': { nat: 'single', azCount: 2 },
    'wsgw:msk': { instanceType: 'kafka.m5.large', brokersPerAz: 2, crossRegion, ...msk },
  };
}

const byType = (rs: readonly DeclaredResource[], type: string) => rs.filter((r) => r.type === type);
const inRegion = (rs: readonly DeclaredResource[], type: string, region: string) =>
  rs.filter((r) => r.type === type && r.region === region);
const one = (rs: readonly DeclaredResource[], type: string, region: string, nameSuffix = '') => {
  const found = inRegion(rs, type, region).filter((r) => r.name.endsWith(nameSuffix));
  expect(found, `${type} ${nameSuffix} in ${region}`).toHaveLength(1);
  return found[0]!;
};
/** Declared resources counted by type, per region (`global` for Global Accelerator, Cloudflare and the build). */
function countByPlace(rs: readonly DeclaredResource[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const r of rs) {
    if (r.type.startsWith('wsgw:') || r.type.startsWith('pulumi:')) continue;
    const place = (out[regionOf(r)] ??= {});
    place[r.type] = (place[r.type] ?? 0) + 1;
  }
  return out;
}
/** An IAM statement as parsed from a policy's JSON. */
interface PolicyStatementJson {
  Action: string[];
  Resource?: string | string[];
  Principal?: Record<string, string>;
  Condition?: Record<string, Record<string, unknown>>;
}
const statementsOf = (policy: string) =>
  JSON.parse(policy).Statement as { Action: string[]; Resource?: string | string[] }[];
const resourcesOf = (s: { Resource?: string | string[] }) =>
  s.Resource === undefined ? [] : typeof s.Resource === 'string' ? [s.Resource] : s.Resource;

export function describeDeployment(
  label: string,
  p: { stack: string; config: Record<string, unknown>; secrets?: Record<string, string> },
): void {
  describe(label, () => {
    let rs: readonly DeclaredResource[];
    let out: DeploymentOutputs;
    const cfg: StackConfig = parseStackConfig(p.config);
    const regions = cfg.regions.map((r) => r.name);
    const n = regions.length;
    const kafka = cfg.bus === 'kafka';
    const replicator = kafka && n > 1 && cfg.msk.crossRegion === 'replicator';
    // Gateways read other regions' streams directly: Kafka's `direct` mode, and always with Redis.
    const direct = n > 1 && (!kafka || cfg.msk.crossRegion === 'direct');
    /** The group of the bus's servers, and the ports the tasks reach them on. */
    const busSg = kafka ? 'msk' : 'redis';
    const busPorts = kafka ? [9098, 9098] : [planRedis(cfg.redis).ports.from, planRedis(cfg.redis).ports.to];
    const timing = deriveTiming(gatewayTiming(cfg.keepalive), cfg.keepalive.clientPingSeconds * 1000);
    const nlb = cfg.edge === 'nlb';
    /** The load balancer's name part in resource names and ARNs: `alb` (app/…) or `nlb` (net/…). */
    const lb = cfg.edge;

    beforeAll(async () => {
      const run = await runProgram({
        stack: p.stack,
        config: p.config,
        secrets: p.secrets ?? {
          jwtSecret: 'test-secret-0123456789abcdef',
          ...(kafka ? {} : { redisAuthToken: TEST_REDIS_AUTH_TOKEN }),
        },
        load: async () => {
          const m = await import('../../infra/index.js');
          return {
            endpoint: m.endpoint,
            acceleratorDnsName: await resolve(m.acceleratorDnsName),
            acceleratorIps: await resolve(m.acceleratorIps),
            regions: await resolve(m.regions as never),
          } as DeploymentOutputs;
        },
      });
      rs = run.resources;
      out = run.outputs;
    });

    it('declares one explicit AWS provider per region and binds every regional resource to one', () => {
      expect(byType(rs, 'pulumi:providers:aws').map((r) => r.inputs.region)).toEqual(regions);
      const unbound = rs.filter(
        (r) => r.type.startsWith('aws:') && !r.type.startsWith('aws:globalaccelerator/') && !r.region,
      );
      expect(unbound.map((r) => `${r.type} ${r.name}`)).toEqual([]);
    });

    it('creates exactly the resources of the design in each region and globally, nothing else', () => {
      const expected = expectedResources(cfg, { publishKey: Boolean(p.secrets?.publishKey) });
      const counted = countByPlace(rs);
      expect(Object.keys(counted).sort()).toEqual(['global', ...regions].sort());
      expect(counted.global).toEqual(expected.global);
      for (const region of regions) expect(counted[region], region).toEqual(expected.regions[region]);
      for (const region of regions) {
        const vpc = cfg.regions.find((r) => r.name === region)!.vpc;
        if (vpc) continue;
        // AZ names come from a lookup through the same region's provider.
        const subnets = inRegion(rs, 'aws:ec2/subnet:Subnet', region);
        expect(new Set(subnets.map((s) => s.inputs.availabilityZone)).size).toBe(cfg.network.azCount);
        for (const s of subnets) expect(s.inputs.availabilityZone).toMatch(new RegExp(`^${region}[a-f]$`));
      }
    });

    it(`has ${replicator ? n * (n - 1) : 0} replicators, each in its target region copying only its source's topic`, () => {
      const reps = byType(rs, 'aws:msk/replicator:Replicator');
      expect(reps).toHaveLength(replicator ? n * (n - 1) : 0);
      const pairs = new Set<string>();
      for (const rep of reps) {
        const info = rep.inputs.replicationInfoList;
        const source = /:kafka:([a-z0-9-]+):/.exec(info.sourceKafkaClusterArn)![1]!;
        const target = /:kafka:([a-z0-9-]+):/.exec(info.targetKafkaClusterArn)![1]!;
        expect(source).not.toBe(target);
        expect(rep.region).toBe(target);
        expect(info.topicReplications).toHaveLength(1);
        expect(info.topicReplications[0].topicsToReplicates).toEqual([originTopicPattern(source)]);
        expect(info.topicReplications[0].topicNameConfiguration.type).toBe('IDENTICAL');
        expect(info.consumerGroupReplications[0].consumerGroupsToReplicates).toEqual([]);
        expect(
          rep.inputs.kafkaClusters.map(
            (k: { amazonMskCluster: { mskClusterArn: string } }) => k.amazonMskCluster.mskClusterArn,
          ),
        ).toEqual([info.sourceKafkaClusterArn, info.targetKafkaClusterArn]);
        pairs.add(`${source}>${target}`);
      }
      expect(pairs.size).toBe(reps.length);
      // Replication sources need multi-VPC connectivity and a cluster policy; nothing else does.
      expect(byType(rs, 'aws:msk/clusterPolicy:ClusterPolicy')).toHaveLength(replicator ? n : 0);
      for (const c of byType(rs, 'aws:msk/cluster:Cluster')) {
        expect(Boolean(c.inputs.brokerNodeGroupInfo.connectivityInfo)).toBe(replicator);
      }
    });

    // Kafka rule: with message.timestamp.type=LogAppendTime "the timestamp in the message will be
    // the broker's local time when the message is appended to the log" (Apache Kafka topic configs,
    // https://kafka.apache.org/documentation/#topicconfigs_message.timestamp.type), so a topic created
    // with it would restamp replicated copies with the target's clock. AWS rule: MSK Replicator's
    // "copyTopicConfigurations" copies the source topic's configuration to the target topic
    // (CreateReplicator, TopicReplication, https://docs.aws.amazon.com/MSK/2.0/APIReference/v1-replicators.html).
    // The IAM action for DescribeConfigs on a topic is kafka-cluster:DescribeTopicDynamicConfiguration
    // (https://docs.aws.amazon.com/msk/latest/developerguide/kafka-actions.html).
    it('stamps every origin topic with the append time, keeps those stamps on replicated copies, and lets the gateway check it', () => {
      for (const region of kafka ? regions : []) {
        const topic = one(rs, 'aws:msk/topic:Topic', region);
        const configs = JSON.parse(topic.inputs.configs as string) as Record<string, string>;
        expect(configs['message.timestamp.type']).toBe('LogAppendTime');
        // Copies get the cluster's defaults: the same retention as the origin topic.
        const brokerProps = (
          one(rs, 'aws:msk/configuration:Configuration', region).inputs.serverProperties as string
        ).split('\n');
        expect(brokerProps).toContain(`log.retention.ms=${configs['retention.ms']}`);
        expect(brokerProps.some((p) => p.startsWith('log.message.timestamp.type'))).toBe(false);
      }
      for (const rep of byType(rs, 'aws:msk/replicator:Replicator')) {
        for (const t of rep.inputs.replicationInfoList.topicReplications)
          expect(t.copyTopicConfigurations).toBe(false);
      }
    });

    // AWS rule: "Cross-region replication (CRR) ... You do not need to provide security groups for
    // the source cluster. You must provide security groups for the target cluster with appropriate
    // inbound and outbound rules on port 9098." (Amazon MSK Developer Guide, MSK Replicator network
    // requirements, https://docs.aws.amazon.com/msk/latest/developerguide/msk-replicator-network-reqs.html)
    it('opens for the replicators only 9098 between their ENIs and the target cluster, and nothing on the source side', () => {
      const rules = [
        ...byType(rs, 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule'),
        ...byType(rs, 'aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule'),
      ];
      for (const rule of rules)
        expect(
          rule.inputs.fromPort > 9098 && rule.inputs.fromPort <= 14100,
          `${rule.name} ${rule.inputs.fromPort}`,
        ).toBe(false);
      for (const rep of byType(rs, 'aws:msk/replicator:Replicator')) {
        const [source, target] = rep.inputs.kafkaClusters as {
          vpcConfig: { subnetIds: string[]; securityGroupsIds?: string[] };
        }[];
        expect(source!.vpcConfig.securityGroupsIds ?? []).toEqual([]);
        expect(source!.vpcConfig.subnetIds.length).toBeGreaterThanOrEqual(2);
        expect(target!.vpcConfig.securityGroupsIds).toEqual([
          expect.stringMatching(new RegExp(`^${rep.region}-replicator-`)),
        ]);
      }
      for (const region of replicator ? regions : []) {
        const sg = (rule: DeclaredResource, field: string) =>
          String(rule.inputs[field]).replace(/-[0-9a-f]+$/, '');
        const fromReplicator = inRegion(
          rs,
          'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
          region,
        ).filter((r) => sg(r, 'referencedSecurityGroupId') === `${region}-replicator`);
        expect(
          fromReplicator.map((r) => [sg(r, 'securityGroupId'), r.inputs.fromPort, r.inputs.toPort]),
        ).toEqual([[`${region}-msk`, 9098, 9098]]);
        const out = inRegion(rs, 'aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule', region).filter(
          (r) => sg(r, 'securityGroupId') === `${region}-replicator`,
        );
        expect(
          out.map((r) => [
            sg(r, 'referencedSecurityGroupId'),
            r.inputs.cidrIpv4,
            r.inputs.fromPort,
            r.inputs.toPort,
          ]),
        ).toEqual([[`${region}-msk`, undefined, 9098, 9098]]);
      }
    });

    // AWS rule: "For your Amazon ECS tasks to pull private images from Amazon ECR, you must create a
    // gateway endpoint for Amazon S3. The gateway endpoint is required because Amazon ECR uses
    // Amazon S3 to store your image layers." (Amazon ECR User Guide, Amazon ECR interface VPC
    // endpoints, https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html); without
    // one, every layer a task pulls passes a NAT gateway and is billed per GB there, while "There
    // is no additional charge for using gateway endpoints" (Amazon VPC, Gateway endpoints,
    // https://docs.aws.amazon.com/vpc/latest/privatelink/gateway-endpoints.html).
    it('routes image layers (S3) from every task subnet of a created VPC through a free gateway endpoint', () => {
      for (const r of cfg.regions) {
        const endpoints = inRegion(rs, 'aws:ec2/vpcEndpoint:VpcEndpoint', r.name);
        if (r.vpc) {
          expect(endpoints).toEqual([]);
          continue;
        }
        expect(endpoints).toHaveLength(1);
        const e = endpoints[0]!.inputs;
        expect(e).toMatchObject({
          serviceName: `com.amazonaws.${r.name}.s3`,
          vpcEndpointType: 'Gateway',
          vpcId: one(rs, 'aws:ec2/vpc:Vpc', r.name).id,
        });
        const taskSubnets: string[] = one(rs, 'aws:ecs/service:Service', r.name).inputs.networkConfiguration
          .subnets;
        const tables = inRegion(rs, 'aws:ec2/routeTableAssociation:RouteTableAssociation', r.name)
          .filter((a) => taskSubnets.includes(a.inputs.subnetId))
          .map((a) => a.inputs.routeTableId);
        expect(tables.length).toBeGreaterThan(0);
        for (const table of tables) expect(e.routeTableIds).toContain(table);
      }
    });

    it("has one Global Accelerator endpoint group per region pointing at that region's load balancer", () => {
      const listener = byType(rs, 'aws:globalaccelerator/listener:Listener');
      expect(listener).toHaveLength(1);
      expect(listener[0]!.inputs).toMatchObject({ protocol: 'TCP', clientAffinity: 'SOURCE_IP' });
      const groups = byType(rs, 'aws:globalaccelerator/endpointGroup:EndpointGroup');
      expect(groups.map((g) => g.inputs.endpointGroupRegion).sort()).toEqual([...regions].sort());
      for (const g of groups) {
        const region = g.inputs.endpointGroupRegion as string;
        expect(g.inputs.endpointConfigurations).toHaveLength(1);
        const endpoint = g.inputs.endpointConfigurations[0];
        expect(endpoint.endpointId).toMatch(
          new RegExp(
            `^arn:aws:elasticloadbalancing:${region}:\\d{12}:loadbalancer/${nlb ? 'net' : 'app'}/${region}-${lb}-`,
          ),
        );
        expect(endpoint.clientIpPreservationEnabled).toBe(true);
      }
    });

    // AWS rule: "With AWS Global Accelerator, you add listeners that process inbound connections
    // from clients based on the ports and protocols that you specify" (Global Accelerator
    // Developer Guide, Listeners, https://docs.aws.amazon.com/global-accelerator/latest/dg/about-listeners.html),
    // and traffic goes to the same port on the endpoint unless a port override maps it elsewhere
    // (API Reference, PortOverride, https://docs.aws.amazon.com/global-accelerator/latest/api/API_PortOverride.html).
    // A port the ALB serves but the accelerator does not listen on times out through the public
    // name and is reachable only around the accelerator.
    it('serves through the accelerator exactly the ports the load balancers listen on and admit from the internet', () => {
      const gaPorts = byType(rs, 'aws:globalaccelerator/listener:Listener').flatMap((l) =>
        (l.inputs.portRanges as { fromPort: number; toPort: number }[]).flatMap((r) =>
          Array.from({ length: r.toPort - r.fromPort + 1 }, (_, k) => r.fromPort + k),
        ),
      );
      expect(
        byType(rs, 'aws:globalaccelerator/endpointGroup:EndpointGroup').every(
          (g) => (g.inputs.portOverrides ?? []).length === 0,
        ),
      ).toBe(true);
      for (const region of regions) {
        const albPorts = inRegion(rs, 'aws:lb/listener:Listener', region).map((l) => l.inputs.port as number);
        const open = inRegion(rs, 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule', region)
          .filter((r) => r.inputs.cidrIpv4 === '0.0.0.0/0')
          .map((r) => r.inputs.fromPort as number);
        expect([...albPorts].sort()).toEqual([...gaPorts].sort());
        expect([...open].sort()).toEqual([...gaPorts].sort());
      }
    });

    it('points the domain at the accelerator (not proxied) and validates ACM with one shared record', () => {
      const records = byType(rs, 'cloudflare:index/dnsRecord:DnsRecord');
      const edge = records.filter((r) => r.inputs.name === cfg.domain);
      expect(edge).toHaveLength(1);
      expect(edge[0]!.inputs).toMatchObject({
        zoneId: cfg.cloudflareZoneId,
        type: 'CNAME',
        content: out.acceleratorDnsName,
        proxied: false,
      });
      const validation = records.filter((r) => r !== edge[0]);
      expect(validation).toHaveLength(1);
      expect(validation[0]!.inputs.proxied).toBe(false);
      const fqdns = byType(rs, 'aws:acm/certificateValidation:CertificateValidation').map(
        (v) => v.inputs.validationRecordFqdns,
      );
      expect(fqdns).toHaveLength(n);
      for (const f of fqdns) expect(f).toEqual([validation[0]!.inputs.name]);
    });

    it('scales on exactly the metric the gateway emits, plus a CPU guard, scaling in slower than out', () => {
      for (const region of regions) {
        const svcName = serviceName(p.stack, region);
        const conn = one(rs, 'aws:appautoscaling/policy:Policy', region, '-connections').inputs
          .targetTrackingScalingPolicyConfiguration;
        expect(conn.customizedMetricSpecification).toEqual({
          namespace: EMF.namespace,
          metricName: EMF.metricName,
          statistic: 'Average',
          unit: EMF.unit,
          dimensions: [{ name: EMF.dimension, value: svcName }],
        });
        expect(conn.targetValue).toBe(cfg.connectionsPerTask);
        expect(conn.scaleInCooldown).toBeGreaterThan(conn.scaleOutCooldown);
        const cpu = one(rs, 'aws:appautoscaling/policy:Policy', region, '-cpu').inputs
          .targetTrackingScalingPolicyConfiguration;
        expect(cpu.predefinedMetricSpecification.predefinedMetricType).toBe(
          'ECSServiceAverageCPUUtilization',
        );
        expect(cpu.scaleInCooldown).toBeGreaterThan(cpu.scaleOutCooldown);
        // The dimension value is what the task is told to print.
        const container = JSON.parse(
          one(rs, 'aws:ecs/taskDefinition:TaskDefinition', region).inputs.containerDefinitions,
        )[0];
        const env = Object.fromEntries(
          container.environment.map((e: { name: string; value: string }) => [e.name, e.value]),
        );
        expect(env[ENV.serviceName]).toBe(svcName);
        const r = cfg.regions.find((x) => x.name === region)!;
        expect(one(rs, 'aws:appautoscaling/target:Target', region).inputs).toMatchObject({
          minCapacity: r.minTasks,
          maxCapacity: r.maxTasks,
          scalableDimension: 'ecs:service:DesiredCount',
        });
      }
    });

    it('admits 0.0.0.0/0 only to the load balancer on 80 and 443', () => {
      for (const sg of byType(rs, 'aws:ec2/securityGroup:SecurityGroup'))
        expect(sg.inputs.ingress ?? []).toEqual([]);
      const open = byType(rs, 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule').filter(
        (r) => r.inputs.cidrIpv4 === '0.0.0.0/0' || r.inputs.cidrIpv6 === '::/0',
      );
      expect(open).toHaveLength(2 * n);
      for (const rule of open) {
        expect(rule.inputs.securityGroupId).toMatch(new RegExp(`^${rule.region}-${lb}-`));
        expect([80, 443]).toContain(rule.inputs.fromPort);
        expect(rule.inputs.toPort).toBe(rule.inputs.fromPort);
      }
      for (const rule of byType(rs, 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule').filter(
        (r) => !open.includes(r),
      )) {
        // Everything else comes from a security group, or (direct reads) a peer VPC on the bus's ports.
        if (rule.inputs.cidrIpv4) {
          expect(direct).toBe(true);
          expect(rule.inputs.cidrIpv4).toMatch(/^10\.\d+\.0\.0\/16$/);
          expect([rule.inputs.fromPort, rule.inputs.toPort]).toEqual(busPorts);
          expect(rule.inputs.securityGroupId).toMatch(new RegExp(`^${rule.region}-${busSg}-`));
        } else {
          expect(rule.inputs.referencedSecurityGroupId).toBeTruthy();
        }
      }
      for (const region of regions) {
        const tasksIn = inRegion(
          rs,
          'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
          region,
        ).filter((r) => String(r.inputs.securityGroupId).startsWith(`${region}-tasks-`));
        expect(tasksIn.map((r) => r.inputs.fromPort).sort()).toEqual(
          nlb ? [DEFAULT_PORT, REDIRECT_PORT] : [DEFAULT_PORT],
        );
        for (const r of tasksIn)
          expect(r.inputs.referencedSecurityGroupId).toMatch(new RegExp(`^${region}-${lb}-`));
        const busFromSg = inRegion(rs, 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule', region)
          .filter(
            (r) =>
              String(r.inputs.securityGroupId).startsWith(`${region}-${busSg}-`) &&
              r.inputs.referencedSecurityGroupId,
          )
          .map((r) => String(r.inputs.referencedSecurityGroupId).replace(/-[0-9a-f]+$/, ''));
        expect(new Set(busFromSg)).toEqual(
          new Set(replicator ? [`${region}-tasks`, `${region}-replicator`] : [`${region}-tasks`]),
        );
      }
    });

    // AWS rule: "Amazon MSK distributes the broker nodes evenly across the subnets that you
    // specify" (AWS::MSK::Cluster BrokerNodeGroupInfo, ClientSubnets,
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-msk-cluster-brokernodegroupinfo.html).
    it("gives each region's cluster brokersPerAz brokers in each subnet it spans", () => {
      for (const r of kafka ? cfg.regions : []) {
        const msk = one(rs, 'aws:msk/cluster:Cluster', r.name).inputs;
        expect(msk.brokerNodeGroupInfo.clientSubnets).toHaveLength(r.azCount);
        expect(msk.numberOfBrokerNodes).toBe(
          cfg.msk.brokersPerAz * msk.brokerNodeGroupInfo.clientSubnets.length,
        );
        expect(msk.numberOfBrokerNodes).toBe(r.brokerCount);
      }
    });

    // AWS rule: "If you use the default AWS managed key, alias/aws/sns, for encryption, then
    // CloudWatch alarms can't initiate the alarm action ... The default AWS KMS key policy for
    // Amazon SNS doesn't allow CloudWatch alarms to perform kms:Decrypt and kms:GenerateDataKey API
    // calls. You can't manually edit AWS managed key policies." (AWS re:Post Knowledge Center, How
    // do I configure a CloudWatch alarm with an encrypted SNS topic?,
    // https://repost.aws/knowledge-center/cloudwatch-configure-alarm-sns), and SNS access policies
    // decide who may publish (Amazon SNS Developer Guide, Key management,
    // https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
    it('lets every alarm notify: a topic under a key of the stack that CloudWatch may use for this account, published to only by these alarms', () => {
      for (const region of regions) {
        const topic = one(rs, 'aws:sns/topic:Topic', region);
        const keys = inRegion(rs, 'aws:kms/key:Key', region).filter(
          (k) => k.state.arn === topic.inputs.kmsMasterKeyId,
        );
        expect(keys, `the key of ${region}'s alarm topic`).toHaveLength(1);
        const keyPolicy = JSON.parse(keys[0]!.inputs.policy) as { Statement: PolicyStatementJson[] };
        const cloudwatch = keyPolicy.Statement.filter(
          (st) => st.Principal?.Service === 'cloudwatch.amazonaws.com',
        );
        expect(cloudwatch).toHaveLength(1);
        expect([...cloudwatch[0]!.Action].sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
        expect(cloudwatch[0]!.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': MOCK_ACCOUNT } });
        // The account keeps control of the key (a key policy without it locks everyone out).
        expect(keyPolicy.Statement).toContainEqual(
          expect.objectContaining({
            Principal: { AWS: `arn:aws:iam::${MOCK_ACCOUNT}:root` },
            Action: ['kms:*'],
          }),
        );
        expect(keys[0]!.inputs.enableKeyRotation).toBe(true);

        const alarms = inRegion(rs, 'aws:cloudwatch/metricAlarm:MetricAlarm', region);
        for (const alarm of alarms) {
          expect(alarm.inputs.alarmActions).toEqual([topic.state.arn]);
          expect(alarm.inputs.okActions).toEqual([topic.state.arn]);
        }
        const policies = inRegion(rs, 'aws:sns/topicPolicy:TopicPolicy', region).filter(
          (t) => t.inputs.arn === topic.state.arn,
        );
        expect(policies).toHaveLength(1);
        const publish = (
          JSON.parse(policies[0]!.inputs.policy) as { Statement: PolicyStatementJson[] }
        ).Statement.filter((st) => st.Principal?.Service === 'cloudwatch.amazonaws.com');
        expect(publish).toHaveLength(1);
        expect(publish[0]!.Action).toEqual(['sns:Publish']);
        expect(publish[0]!.Resource).toBe(topic.state.arn);
        const { ArnLike, StringEquals, ...others } = publish[0]!.Condition!;
        expect(others).toEqual({});
        expect(StringEquals).toEqual({ 'aws:SourceAccount': MOCK_ACCOUNT });
        expect(Object.keys(ArnLike!)).toEqual(['aws:SourceArn']);
        expect([...(ArnLike!['aws:SourceArn'] as string[])].sort()).toEqual(
          alarms.map((a) => `arn:aws:cloudwatch:${region}:${MOCK_ACCOUNT}:alarm:${a.inputs.name}`).sort(),
        );
      }
    });

    it('encrypts and authenticates everywhere', () => {
      for (const region of regions) {
        const atRestKey = (arn: string) => {
          const keys = inRegion(rs, 'aws:kms/key:Key', region).filter((k) => k.state.arn === arn);
          expect(keys).toHaveLength(1);
          expect(keys[0]!.inputs.enableKeyRotation).toBe(true);
        };
        if (kafka) {
          const msk = one(rs, 'aws:msk/cluster:Cluster', region).inputs;
          expect(msk.encryptionInfo.encryptionInTransit).toEqual({ clientBroker: 'TLS', inCluster: true });
          expect(msk.encryptionInfo.encryptionAtRestKmsKeyArn).toBeTruthy();
          expect(msk.clientAuthentication).toEqual({ sasl: { iam: true }, unauthenticated: false });
          expect(msk.loggingInfo.brokerLogs.cloudwatchLogs.enabled).toBe(true);
          atRestKey(msk.encryptionInfo.encryptionAtRestKmsKeyArn);
        } else if (cfg.redis.mode === 'nodes') {
          const group = one(rs, 'aws:elasticache/replicationGroup:ReplicationGroup', region).inputs;
          expect(group).toMatchObject({
            transitEncryptionEnabled: true,
            transitEncryptionMode: 'required',
            atRestEncryptionEnabled: true,
          });
          expect(isSecret(group.authToken)).toBe(true);
          atRestKey(group.kmsKeyId);
        } else {
          const cache = one(rs, 'aws:elasticache/serverlessCache:ServerlessCache', region).inputs;
          expect(cache.userGroupId).toBeTruthy();
          atRestKey(cache.kmsKeyId);
        }
        const listeners = inRegion(rs, 'aws:lb/listener:Listener', region);
        const https = listeners.find((l) => l.inputs.port === 443)!.inputs;
        const http = listeners.find((l) => l.inputs.port === 80)!.inputs;
        const env = JSON.parse(
          one(rs, 'aws:ecs/taskDefinition:TaskDefinition', region).inputs.containerDefinitions,
        )[0].environment;
        if (kafka) expect(env.find((e: { name: string }) => e.name === ENV.kafkaAuth).value).toBe('msk-iam');
        else
          expect(env.find((e: { name: string }) => e.name === REDIS_ENV.url).value).toMatch(/^rediss:\/\//);
        if (nlb) {
          // TLS ends in the task, with the region's certificate; the NLB passes bytes it cannot read.
          expect(https.protocol).toBe('TCP');
          expect(env.find((e: { name: string }) => e.name === ENV.tlsAcmCertificateArn).value).toMatch(
            new RegExp(`^arn:aws:acm:${region}:`),
          );
          continue;
        }
        expect(https).toMatchObject({
          protocol: 'HTTPS',
          sslPolicy: expect.stringMatching(/^ELBSecurityPolicy-TLS13-/),
        });
        expect(https.certificateArn).toMatch(new RegExp(`^arn:aws:acm:${region}:`));
        expect(http.defaultActions).toEqual([
          { type: 'redirect', redirect: { port: '443', protocol: 'HTTPS', statusCode: 'HTTP_301' } },
        ]);
      }
      for (const repo of byType(rs, 'aws:ecr/repository:Repository')) {
        expect(repo.inputs.imageScanningConfiguration).toEqual({ scanOnPush: true });
        expect(repo.inputs.encryptionConfigurations).toEqual([{ encryptionType: 'AES256' }]);
      }
    });

    it('runs the gateway the way its contracts expect', () => {
      for (const region of regions) {
        const td = one(rs, 'aws:ecs/taskDefinition:TaskDefinition', region).inputs;
        expect(td).toMatchObject({
          cpu: String(cfg.task.cpu),
          memory: String(cfg.task.memory),
          requiresCompatibilities: ['FARGATE'],
          runtimePlatform: { cpuArchitecture: 'ARM64' },
        });
        const c = JSON.parse(td.containerDefinitions)[0];
        expect(c.stopTimeout).toBe(timing.stopTimeoutS);
        expect(c.stopTimeout * 1000).toBeGreaterThan(TIMING_DEFAULTS.drainDeadlineMs);
        expect(c.logConfiguration.logDriver).toBe('awslogs');
        expect(c.logConfiguration.options['awslogs-region']).toBe(region);
        const logGroup = inRegion(rs, 'aws:cloudwatch/logGroup:LogGroup', region).find(
          (l) => l.inputs.name === c.logConfiguration.options['awslogs-group'],
        )!;
        expect(logGroup.inputs.retentionInDays).toBe(cfg.logRetentionDays);
        const env = Object.fromEntries(
          c.environment.map((e: { name: string; value: string }) => [e.name, e.value]),
        );
        expect(env[ENV.region]).toBe(region);
        expect(env[ENV.awsRegion]).toBe(region);
        if (!kafka) {
          // The bus is Redis: no Kafka setting reaches the task, the cache's URL (without its
          // password) does, and the password comes from the region's secret at a pinned version.
          expect(Object.keys(env).filter((k) => k.startsWith('WSGW_KAFKA_'))).toEqual([]);
          expect(env[REDIS_ENV.url]).toBe(out.regions[region]!.redisUrl);
          expect(env[REDIS_ENV.url]).toMatch(
            new RegExp(`^rediss://([a-z]+@)?[^:@/]+\\.cache\\.amazonaws\\.com:6379$`),
          );
          expect(env[REDIS_ENV.password]).toBeUndefined();
          expect(c.secrets).toContainEqual({
            name: REDIS_ENV.password,
            valueFrom: expect.stringMatching(
              new RegExp(`^arn:aws:secretsmanager:${region}:.*:redisPassword::[0-9a-f-]{36}$`),
            ),
          });
          expect(env[REDIS_ENV.waitReplicas]).toBe(
            planRedis(cfg.redis).waitReplicas === undefined
              ? undefined
              : String(planRedis(cfg.redis).waitReplicas),
          );
          const remotes = (env[REDIS_ENV.remotes] ?? '')
            .split(';')
            .filter((x: string) => x !== '')
            .map((x: string) => x.split('=') as [string, string]);
          expect(remotes.map(([r]: [string, string]) => r)).toEqual(regions.filter((r) => r !== region));
          for (const [r, url] of remotes) expect(url).toBe(out.regions[r]!.redisUrl);
        }
        if (kafka) {
          expect(env[ENV.kafkaBrokers]).toBe(out.regions[region]!.mskBootstrapBrokers);
          expect(env[ENV.kafkaBrokers]).toContain(`.kafka.${region}.amazonaws.com:9098`);
          const brokerProps = one(rs, 'aws:msk/configuration:Configuration', region).inputs
            .serverProperties as string;
          if (cfg.msk.zoneLocalReads) {
            // Each task finds its Kafka rack (MSK's broker.rack, a zone id) from its zone name.
            const racks = new Map(
              env[ENV.kafkaRackMap].split(',').map((p: string) => p.split('=') as [string, string]),
            );
            const subnets = inRegion(rs, 'aws:ec2/subnet:Subnet', region);
            if (!cfg.regions.find((r) => r.name === region)!.vpc)
              expect(subnets.length).toBeGreaterThanOrEqual(4);
            for (const subnet of subnets)
              expect(racks.get(subnet.inputs.availabilityZone)).toMatch(/^[a-z]+\d-az\d$/);
            expect(new Set(racks.values()).size).toBe(racks.size);
            for (const p of ZONE_LOCAL_READS) expect(brokerProps.split('\n')).toContain(p);
          } else {
            expect(env[ENV.kafkaRackMap]).toBeUndefined();
            expect(brokerProps).not.toContain('replica.selector.class');
          }
        }
        for (const k of ['drainDelayMs', 'drainWindowMs', 'drainDeadlineMs'] as const)
          expect(env[ENV[k]]).toBe(String(TIMING_DEFAULTS[k]));
        expect(env[ENV.jwtSecret]).toBeUndefined();
        if (cfg.auth.mode === 'jwt-secret') {
          const secretArn = inRegion(rs, 'aws:secretsmanager/secret:Secret', region)[0];
          expect(secretArn).toBeDefined();
          expect(c.secrets).toContainEqual({
            name: ENV.jwtSecret,
            valueFrom: expect.stringMatching(
              new RegExp(`^arn:aws:secretsmanager:${region}:.*:jwtSecret::[0-9a-f-]{36}$`),
            ),
          });
        }
        if (direct && kafka) {
          expect(env[ENV.kafkaRemoteBrokers].split(';').map((x: string) => x.split('=')[0])).toEqual(
            regions.filter((r) => r !== region),
          );
        } else {
          expect(env[ENV.kafkaRemoteBrokers]).toBeUndefined();
        }
        if (cfg.image) expect(c.image).toBe(cfg.image);
        else
          expect(c.image).toMatch(
            new RegExp(
              `^\\d{12}\\.dkr\\.ecr\\.${region}\\.amazonaws\\.com/wsgw-${p.stack}@sha256:[0-9a-f]{64}$`,
            ),
          );

        const svc = one(rs, 'aws:ecs/service:Service', region).inputs;
        expect(svc.deploymentCircuitBreaker).toEqual({ enable: true, rollback: true });
        expect(svc.desiredCount).toBe(cfg.regions.find((r) => r.name === region)!.minTasks);
        expect(svc.launchType).toBe('FARGATE');
        expect(one(rs, 'aws:ecs/cluster:Cluster', region).inputs.settings).toEqual([
          { name: 'containerInsights', value: 'enabled' },
        ]);

        const tg = one(rs, 'aws:lb/targetGroup:TargetGroup', region, '-tg').inputs;
        expect(tg.healthCheck.path).toBe(HTTP_PATHS.ready);
        expect(tg.deregistrationDelay).toBe(timing.deregistrationDelayS);
        expect(tg.deregistrationDelay * 1000).toBeGreaterThanOrEqual(TIMING_DEFAULTS.drainDelayMs);
      }
    });

    // AWS rules: a Fargate task (awsvpc) has its own network interface, and what reaches it is what
    // its security groups admit ("Each task ... gets its own elastic network interface"; Amazon
    // ECS Developer Guide, Amazon ECS task networking options for Fargate,
    // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html);
    // the ALB sends traffic and health checks to the target group's port, the health check "port
    // the load balancer uses when performing health checks on targets ... the default is
    // traffic-port, which is the port on which each target receives traffic from the load
    // balancer" (Elastic Load Balancing API Reference, CreateTargetGroup, HealthCheckPort,
    // https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html);
    // and listener rules are evaluated by priority before the default action (User Guide for
    // Application Load Balancers, Listener rules,
    // https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-rules.html).
    // AWS rules: Global Accelerator forgets a TCP flow idle for 340 s and the timeout cannot be
    // changed ("idle timeout for TCP connections is 340 seconds", AWS Global Accelerator Developer
    // Guide, How AWS Global Accelerator works,
    // https://docs.aws.amazon.com/global-accelerator/latest/dg/introduction-how-it-works.html); an
    // ALB closes a connection on which no data was sent or received for its idle timeout, whose
    // "valid range is 1-4000 seconds" (Elastic Load Balancing API Reference, LoadBalancerAttribute,
    // idle_timeout.timeout_seconds, https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_LoadBalancerAttribute.html);
    // an NLB TCP listener does the same after 60 to 6000 s, 350 s by default (User Guide for Network
    // Load Balancers, Update the TCP idle timeout,
    // https://docs.aws.amazon.com/elasticloadbalancing/latest/network/update-idle-timeout.html).
    it("keeps every live connection through the accelerator, the load balancer and the gateway's idle timeout", () => {
      for (const region of regions) {
        const c = JSON.parse(
          one(rs, 'aws:ecs/taskDefinition:TaskDefinition', region).inputs.containerDefinitions,
        )[0];
        const env = Object.fromEntries(
          c.environment.map((e: { name: string; value: string }) => [e.name, e.value]),
        );
        const ping = Number(env[ENV.pingIntervalMs]) / 1000;
        const idle = Number(env[ENV.idleTimeoutMs]) / 1000;
        expect(ping).toBe(cfg.keepalive.pingSeconds);
        // A live connection carries a frame at least this often: a gateway ping or a client ping.
        const silence = Math.max(ping, cfg.keepalive.clientPingSeconds);
        expect(silence).toBeLessThan(GLOBAL_ACCELERATOR_TCP_IDLE_TIMEOUT_S);
        // A client whose one ping comes late is not yet silent for the gateway's idle timeout.
        expect(2 * cfg.keepalive.clientPingSeconds).toBeLessThanOrEqual(idle);
        expect(ping).toBeLessThanOrEqual(idle);
        expect(env[ENV.pingSkipActive]).toBe(cfg.keepalive.skipPingAfterClientFrame ? 'true' : undefined);
        // A task refuses upgrades past what its memory holds, at or above the autoscaling target.
        expect(Number(env[ENV.maxConnections])).toBe(maxConnectionsPerTask(cfg.task.memory, cfg.edge));
        expect(Number(env[ENV.maxConnections])).toBeGreaterThanOrEqual(cfg.connectionsPerTask);
        expect(Number(env[ENV.historyMaxBytes])).toBe(historyBudgetBytes(cfg.task.memory));
        const lbInputs = one(rs, 'aws:lb/loadBalancer:LoadBalancer', region).inputs;
        if (nlb) {
          for (const l of inRegion(rs, 'aws:lb/listener:Listener', region)) {
            expect(l.inputs.protocol).toBe('TCP');
            expect(l.inputs.tcpIdleTimeoutSeconds).toBeGreaterThanOrEqual(
              Math.max(NLB_TCP_IDLE_TIMEOUT_RANGE_S.min, 3 * silence),
            );
            expect(l.inputs.tcpIdleTimeoutSeconds).toBeLessThanOrEqual(NLB_TCP_IDLE_TIMEOUT_RANGE_S.max);
          }
        } else {
          expect(lbInputs.idleTimeout).toBeGreaterThanOrEqual(3 * silence);
          expect(lbInputs.idleTimeout).toBeLessThanOrEqual(4000);
        }
      }
    });

    // AWS rules: Global Accelerator preserves client addresses for NLB endpoints only when the NLB
    // has security groups ("Global Accelerator does not support client IP address preservation for
    // ... Network Load Balancers without security groups", AWS Global Accelerator Developer Guide,
    // Preserve client IP addresses,
    // https://docs.aws.amazon.com/global-accelerator/latest/dg/preserve-client-ip-address.html), and
    // an NLB takes security groups only when it is created (User Guide for Network Load Balancers,
    // Security groups, https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-security-groups.html).
    // A public certificate can be exported only if it was requested with export enabled, which
    // cannot be changed after issuance (AWS News Blog, AWS Certificate Manager introduces exportable
    // public SSL/TLS certificates to use anywhere,
    // https://aws.amazon.com/blogs/aws/aws-certificate-manager-introduces-exportable-public-ssl-tls-certificates-to-use-anywhere/),
    // and ACM renews a certificate "exported since being issued or last renewed" (ACM User Guide,
    // Managed certificate renewal, https://docs.aws.amazon.com/acm/latest/userguide/acm-renewal.html).
    it(`terminates TLS ${nlb ? 'in the tasks, with an exportable certificate they fetch themselves' : 'at the ALB'}`, () => {
      for (const region of regions) {
        const lbInputs = one(rs, 'aws:lb/loadBalancer:LoadBalancer', region).inputs;
        const cert = one(rs, 'aws:acm/certificate:Certificate', region);
        const validated = one(rs, 'aws:acm/certificateValidation:CertificateValidation', region).inputs
          .certificateArn;
        expect(validated).toBe(cert.state.arn);
        const c = JSON.parse(
          one(rs, 'aws:ecs/taskDefinition:TaskDefinition', region).inputs.containerDefinitions,
        )[0];
        const env = Object.fromEntries(
          c.environment.map((e: { name: string; value: string }) => [e.name, e.value]),
        );
        if (nlb) {
          expect(lbInputs).toMatchObject({
            loadBalancerType: 'network',
            internal: false,
            enableCrossZoneLoadBalancing: false,
          });
          expect(lbInputs.securityGroups).toEqual([expect.stringMatching(new RegExp(`^${region}-nlb-`))]);
          expect(cert.inputs).toMatchObject({
            options: { export: 'ENABLED' },
            keyAlgorithm: 'EC_prime256v1',
            validationMethod: 'DNS',
          });
          expect(env[ENV.tlsAcmCertificateArn]).toBe(cert.state.arn);
          expect(env[ENV.httpRedirectPort]).toBe(String(REDIRECT_PORT));
          for (const tg of inRegion(rs, 'aws:lb/targetGroup:TargetGroup', region))
            expect(tg.inputs).toMatchObject({ protocol: 'TCP', targetType: 'ip', preserveClientIp: 'true' });
        } else {
          expect(lbInputs.loadBalancerType).toBe('application');
          expect(cert.inputs.options).toBeUndefined();
          const https = inRegion(rs, 'aws:lb/listener:Listener', region).find((l) => l.inputs.port === 443)!;
          expect(https.inputs).toMatchObject({ protocol: 'HTTPS', certificateArn: validated });
          expect(env[ENV.tlsAcmCertificateArn]).toBeUndefined();
        }
      }
    });

    it('keeps /metrics off the public listener and the metrics port out of reach, with the health check on /readyz', () => {
      for (const region of regions) {
        const c = JSON.parse(
          one(rs, 'aws:ecs/taskDefinition:TaskDefinition', region).inputs.containerDefinitions,
        )[0];
        const env = Object.fromEntries(
          c.environment.map((e: { name: string; value: string }) => [e.name, e.value]),
        );
        expect(env[ENV.metricsPort]).toBe(String(DEFAULT_METRICS_PORT));
        expect(env[ENV.port]).toBe(String(DEFAULT_PORT));
        expect(DEFAULT_METRICS_PORT).not.toBe(DEFAULT_PORT);
        expect(env[ENV.demoPage]).not.toBe('true');
        // Only the public port is mapped (and, behind an NLB, the redirect port), and it is what the
        // load balancer targets and checks.
        const ports = nlb ? [DEFAULT_PORT, REDIRECT_PORT] : [DEFAULT_PORT];
        expect(c.portMappings).toEqual(ports.map((containerPort) => ({ containerPort, protocol: 'tcp' })));
        const tg = one(rs, 'aws:lb/targetGroup:TargetGroup', region, '-tg').inputs;
        expect(tg.port).toBe(DEFAULT_PORT);
        // Behind an NLB the check speaks TLS to the gateway, which terminates it.
        expect(tg.healthCheck).toMatchObject({
          path: HTTP_PATHS.ready,
          port: 'traffic-port',
          protocol: nlb ? 'HTTPS' : 'HTTP',
        });
        expect(
          one(rs, 'aws:ecs/service:Service', region).inputs.loadBalancers.map(
            (l: { containerPort: number }) => l.containerPort,
          ),
        ).toEqual(ports);
        // No rule lets anything reach the metrics port of a task, nor lets the load balancer send there.
        const covers = (r: DeclaredResource) =>
          r.inputs.ipProtocol === '-1' ||
          (r.inputs.fromPort <= DEFAULT_METRICS_PORT && DEFAULT_METRICS_PORT <= r.inputs.toPort);
        const into = inRegion(rs, 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule', region).filter(
          (r) => String(r.inputs.securityGroupId).startsWith(`${region}-tasks-`),
        );
        expect(into.filter(covers).map((r) => r.name)).toEqual([]);
        const fromLb = inRegion(rs, 'aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule', region).filter(
          (r) => String(r.inputs.securityGroupId).startsWith(`${region}-${lb}-`),
        );
        expect(fromLb.filter(covers).map((r) => r.name)).toEqual([]);
        if (nlb) {
          // An NLB routes TCP and reads no paths: the gateway answers /metrics with 404 on its public
          // port itself, and port 80 reaches only the task's redirect listener.
          expect(inRegion(rs, 'aws:lb/listenerRule:ListenerRule', region)).toEqual([]);
          const redirect = one(rs, 'aws:lb/targetGroup:TargetGroup', region, '-tg-redirect');
          const http = inRegion(rs, 'aws:lb/listener:Listener', region).find((l) => l.inputs.port === 80)!;
          expect(redirect.inputs.port).toBe(REDIRECT_PORT);
          expect(http.inputs.defaultActions).toEqual([
            expect.objectContaining({ type: 'forward', targetGroupArn: redirect.state.arn }),
          ]);
          continue;
        }
        // The HTTPS listener answers /metrics itself (also for an image that still serves it on the
        // public port); the HTTP listener only redirects.
        const https = inRegion(rs, 'aws:lb/listener:Listener', region).find((l) => l.inputs.port === 443)!;
        const rules = inRegion(rs, 'aws:lb/listenerRule:ListenerRule', region).filter(
          (r) => r.inputs.listenerArn === https.state.arn,
        );
        expect(rules).toHaveLength(1);
        const paths: string[] = rules[0]!.inputs.conditions.flatMap(
          (cond: { pathPattern?: { values: string[] } }) => cond.pathPattern?.values ?? [],
        );
        expect(paths).toEqual(expect.arrayContaining([HTTP_PATHS.metrics, `${HTTP_PATHS.metrics}/*`]));
        for (const path of [HTTP_PATHS.ready, HTTP_PATHS.health, HTTP_PATHS.publish, '/'])
          expect(paths).not.toContain(path);
        expect(rules[0]!.inputs.actions).toEqual([
          expect.objectContaining({
            type: 'fixed-response',
            fixedResponse: expect.objectContaining({ statusCode: '404' }),
          }),
        ]);
      }
    });

    it("grants the task role only this stack's Kafka actions and the execution role only pull, logs and its secret", () => {
      for (const region of regions) {
        // Redis authenticates with its password: the task role has no policy but the certificate
        // export behind an NLB.
        const taskPolicies = inRegion(rs, 'aws:iam/rolePolicy:RolePolicy', region).filter((x) =>
          /-task-(kafka|acm)$/.test(x.name),
        );
        expect(taskPolicies.map((x) => x.name)).toEqual(
          kafka ? [`${region}-task-kafka`] : nlb ? [`${region}-task-acm`] : [],
        );
        const all = taskPolicies.flatMap((x) => statementsOf(x.inputs.policy));
        // Behind an NLB the task also exports its region's certificate, and nothing else of ACM.
        const acm = all.filter((s) => s.Action.some((a) => a.startsWith('acm:')));
        const cert = one(rs, 'aws:acm/certificate:Certificate', region).state.arn;
        expect(acm.map((s) => [s.Action, resourcesOf(s)])).toEqual(
          nlb ? [[['acm:ExportCertificate'], [cert]]] : [],
        );
        const task = all.filter((s) => !acm.includes(s));
        for (const s of task) {
          for (const a of s.Action) expect(a).toMatch(/^kafka-cluster:[A-Za-z]+$/);
          for (const r of resourcesOf(s))
            expect(r).toMatch(
              new RegExp(`^arn:aws:kafka:[a-z0-9-]+:\\d{12}:(cluster|topic|group)/wsgw-${p.stack}-`),
            );
        }
        const writes = task.filter((s) => s.Action.includes('kafka-cluster:WriteData')).flatMap(resourcesOf);
        expect(writes).toHaveLength(kafka ? 1 : 0);
        if (kafka)
          expect(writes[0]).toMatch(new RegExp(`^arn:aws:kafka:${region}:.*/wsgw\\.fanout\\.${region}$`));
        const reads = task
          .filter((s) => s.Action.includes('kafka-cluster:ReadData'))
          .flatMap(resourcesOf)
          .map((r) => r.split('/').at(-1));
        // With the replicator every fan-out topic of the local cluster (all are this stack's), so
        // the region list appears in no role; otherwise exactly the origin topics it consumes.
        expect(reads.sort()).toEqual(
          !kafka ? [] : replicator ? ['wsgw.fanout.*'] : regions.map((r) => `wsgw.fanout.${r}`).sort(),
        );
        const clusters = new Set(
          task.flatMap(resourcesOf).map((r) => /^arn:aws:kafka:([a-z0-9-]+):/.exec(r)![1]),
        );
        expect([...clusters].sort()).toEqual(!kafka ? [] : direct ? [...regions].sort() : [region]);

        const exec = statementsOf(
          one(rs, 'aws:iam/rolePolicy:RolePolicy', region, '-execution').inputs.policy,
        );
        const allowed = [
          'ecr:GetAuthorizationToken',
          'ecr:BatchCheckLayerAvailability',
          'ecr:BatchGetImage',
          'ecr:GetDownloadUrlForLayer',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'secretsmanager:GetSecretValue',
        ];
        for (const s of exec) for (const a of s.Action) expect(allowed).toContain(a);
        for (const s of exec.filter((x) => x.Action.includes('secretsmanager:GetSecretValue'))) {
          expect(resourcesOf(s)).toEqual([
            expect.stringMatching(new RegExp(`^arn:aws:secretsmanager:${region}:`)),
          ]);
        }
        for (const s of exec.filter((x) => x.Action.includes('ecr:BatchGetImage'))) {
          expect(resourcesOf(s)).toEqual([
            expect.stringMatching(
              cfg.image
                ? /^arn:aws:ecr:/
                : new RegExp(`^arn:aws:ecr:${region}:\\d{12}:repository/wsgw-${p.stack}$`),
            ),
          ]);
        }
      }
    });

    // Pulumi rule: "the engine combines a parent's aliases with each child's own name and type when
    // computing the child's identity, so renaming or retyping a component with aliases set on the
    // component preserves its children without requiring per-child aliases" (Pulumi docs, Resource
    // option: aliases, https://www.pulumi.com/docs/iac/concepts/resources/options/aliases/).
    it("answers to the components' former types, so renaming them replaces nothing deployed", () => {
      const formerly = (type: string) => byType(rs, type).map((c) => c.aliases.map((a) => a.type));
      expect(formerly('wsgw:aws:KafkaCluster')).toEqual(kafka ? regions.map(() => ['wsgw:aws:Kafka']) : []);
      expect(formerly('wsgw:aws:ImageRegistry')).toEqual([['wsgw:aws:Registry']]);
      expect(byType(rs, 'wsgw:aws:Kafka')).toEqual([]);
      expect(byType(rs, 'wsgw:aws:Registry')).toEqual([]);
      // The clusters keep their names: the URN changes only in the component's type.
      expect(byType(rs, 'wsgw:aws:KafkaCluster').map((c) => c.name)).toEqual(kafka ? regions : []);
      expect(byType(rs, 'wsgw:aws:ImageRegistry').map((c) => c.name)).toEqual(['registry']);
    });

    // AWS rule: "By default, replication only applies to images pushed after the replication
    // configuration is applied." (Amazon ECR User Guide, Replication backfill,
    // https://docs.aws.amazon.com/AmazonECR/latest/userguide/replication-backfill.html). A region
    // added after the first push would never receive the image through replication, so every
    // region gets a repository of its own that the plan itself pushes to.
    // AWS rule: `aws ecs wait services-stable` succeeds only once "length(deployments) == 1 &&
    // runningCount == desiredCount" (AWS CLI reference, ecs wait services-stable,
    // https://docs.aws.amazon.com/cli/latest/reference/ecs/wait/services-stable.html); the
    // provider's `waitForSteadyState` waits for exactly that, so `pulumi up` fails instead of
    // reporting success while a region runs nothing.
    it('gives every region an image the plan pushes into a repository in that region, and waits until the service runs it', () => {
      for (const region of regions) {
        expect(one(rs, 'aws:ecs/service:Service', region).inputs.waitForSteadyState).toBe(true);
        const image = JSON.parse(
          one(rs, 'aws:ecs/taskDefinition:TaskDefinition', region).inputs.containerDefinitions,
        )[0].image as string;
        if (cfg.image) {
          expect(image).toBe(cfg.image);
          continue;
        }
        const repo = one(rs, 'aws:ecr/repository:Repository', region);
        const url = repo.state.repositoryUrl as string;
        expect(url).toMatch(
          new RegExp(`^\\d{12}\\.dkr\\.ecr\\.${region}\\.amazonaws\\.com/wsgw-${p.stack}$`),
        );
        // The digest the task runs is the one a build in the plan pushed to this very repository.
        const builds = byType(rs, 'docker-build:index:Image').filter(
          (b) => image === `${url}@${b.state.digest}`,
        );
        expect(builds, `the build behind ${region}'s task image`).toHaveLength(1);
        const build = builds[0]!.inputs;
        expect(build.push).toBe(true);
        expect(build.tags.length).toBeGreaterThan(0);
        for (const tag of build.tags) expect(tag.startsWith(`${url}:`)).toBe(true);
        expect(reveal<{ address: string }[]>(build.registries).map((r) => r.address)).toEqual([url]);
        // The registry password (an ECR token) stays encrypted in the state.
        expect(isSecret(build.registries) || isSecret(build.registries[0].password)).toBe(true);
        expect(build.platforms).toEqual(['linux/arm64']);
        expect(build.dockerfile.location).toMatch(/\/Dockerfile$/);
        // AWS rule: DeleteRepository: "If the repository isn't empty, you must either delete the
        // contents of the repository or use the force option" (Amazon ECR API Reference,
        // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DeleteRepository.html):
        // without it, retiring a region stops at its repository. The images are build outputs.
        expect(repo.inputs.forceDelete).toBe(true);
        // Untagged and superseded images expire in every region, not only where the build started.
        const lifecycle = inRegion(rs, 'aws:ecr/lifecyclePolicy:LifecyclePolicy', region);
        expect(lifecycle.map((l) => l.inputs.repository)).toEqual([repo.inputs.name]);
        // The home region's repository, policy and build answer to the names the single replicated
        // repository had, so a deployed stack keeps them instead of replacing them.
        // (The parent's own alias to its former type carries these to the old URNs.)
        const legacy = (old: string) =>
          region === cfg.homeRegion
            ? [{ name: old, parentUrn: `urn:pulumi:${p.stack}::wsgw::wsgw:aws:ImageRegistry::registry` }]
            : [];
        expect(repo.aliases).toEqual(legacy('registry-repo'));
        expect(lifecycle[0]!.aliases).toEqual(legacy('registry-lifecycle'));
        expect(builds[0]!.aliases).toEqual(legacy('registry-image'));
      }
    });

    // AWS rule: PutReplicationConfiguration "Creates or updates the replication configuration for a
    // registry" (Amazon ECR API Reference,
    // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutReplicationConfiguration.html):
    // one per registry (account and region), so two stacks in one account overwrite each other's,
    // and a PREFIX_MATCH filter on "wsgw-prod" also matches "wsgw-prod2". The same holds for the
    // other resources AWS keeps once per account or registry.
    it('creates nothing AWS keeps once per account or registry, and selects nothing by name prefix', () => {
      const shared = [
        'aws:ecr/replicationConfiguration:ReplicationConfiguration',
        'aws:ecr/registryPolicy:RegistryPolicy',
        'aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration',
        'aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate',
        'aws:ecr/pullThroughCacheRule:PullThroughCacheRule',
        'aws:ecr/accountSetting:AccountSetting',
        'aws:ecs/accountSettingDefault:AccountSettingDefault',
        'aws:iam/accountPasswordPolicy:AccountPasswordPolicy',
        'aws:iam/accountAlias:AccountAlias',
        'aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock',
        'aws:apigateway/account:Account',
        'aws:ec2/serialConsoleAccess:SerialConsoleAccess',
        'aws:ec2/imageBlockPublicAccess:ImageBlockPublicAccess',
      ];
      expect(rs.filter((r) => shared.includes(r.type)).map((r) => `${r.type} ${r.name}`)).toEqual([]);
      expect(JSON.stringify(rs.map((r) => r.inputs))).not.toContain('PREFIX_MATCH');
    });

    // AWS rules for the Redis bus (ElastiCache for Valkey):
    // - "AUTH can only be enabled for encryption in-transit enabled Valkey or Redis OSS clusters",
    //   and tokens "must be 16–128 printable characters", non-alphanumeric ones restricted to
    //   ! & # $ ^ < > - (Amazon ElastiCache User Guide, Authenticating with the Valkey and Redis OSS
    //   AUTH command, https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html).
    // - "All serverless caches must use RBAC for authentication" (same page), and a user group's
    //   users must include one named default (AWS CloudFormation, AWS::ElastiCache::UserGroup,
    //   UserIds, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-elasticache-usergroup.html).
    // - Multi-AZ promotes a read replica when the primary fails, so it needs automatic failover
    //   and a replica to promote (Amazon ElastiCache User Guide, Minimizing downtime in ElastiCache
    //   by using Multi-AZ, https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/AutoFailover.html).
    // - A node-based cluster in a VPC "must use a subnet group"; a serverless cache "takes a list
    //   of subnets directly" (Amazon ElastiCache User Guide, Subnets and subnet groups,
    //   https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/SubnetGroups.html).
    // - A cluster (cluster mode disabled) takes at most five read replicas (Amazon ElastiCache
    //   User Guide, Adding a read replica, https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Replication.AddReadReplica.html).
    if (!kafka) {
      it(`runs ElastiCache (${cfg.redis.mode}) in the private subnets, with TLS, authentication and Multi-AZ as AWS accepts them, reachable only by gateway tasks`, () => {
        const plan = planRedis(cfg.redis);
        expect(TEST_REDIS_AUTH_TOKEN.length).toBeGreaterThanOrEqual(16);
        expect(TEST_REDIS_AUTH_TOKEN).toMatch(/^[A-Za-z0-9!&#$^<>-]{16,128}$/);
        for (const r of cfg.regions) {
          const region = r.name;
          const privateSubnets = inRegion(rs, 'aws:ec2/subnet:Subnet', region)
            .filter((x) => x.name.includes('-private-'))
            .map((x) => x.id);
          const cacheSg = one(rs, 'aws:ec2/securityGroup:SecurityGroup', region, '-redis');
          if (cfg.redis.mode === 'nodes') {
            const g = one(rs, 'aws:elasticache/replicationGroup:ReplicationGroup', region).inputs;
            expect(g.engine).toBe('valkey');
            expect(g.authToken).toBeTruthy();
            expect(g.transitEncryptionEnabled).toBe(true);
            expect(g.numCacheClusters).toBe(1 + cfg.redis.replicas);
            expect(g.numCacheClusters - 1).toBeLessThanOrEqual(5);
            if (g.multiAzEnabled) expect(g.automaticFailoverEnabled).toBe(true);
            if (g.automaticFailoverEnabled) expect(g.numCacheClusters).toBeGreaterThanOrEqual(2);
            expect(g.multiAzEnabled).toBe(cfg.redis.replicas >= 1);
            expect(g.port).toBe(6379);
            expect(g.securityGroupIds).toEqual([cacheSg.id]);
            const subnets = one(rs, 'aws:elasticache/subnetGroup:SubnetGroup', region).inputs;
            expect(g.subnetGroupName).toBe(subnets.name);
            if (!r.vpc) expect([...subnets.subnetIds].sort()).toEqual([...privateSubnets].sort());
            expect(subnets.subnetIds).toHaveLength(r.azCount);
            expect(inRegion(rs, 'aws:elasticache/serverlessCache:ServerlessCache', region)).toEqual([]);
          } else {
            const c = one(rs, 'aws:elasticache/serverlessCache:ServerlessCache', region).inputs;
            expect(c.engine).toBe('valkey');
            expect(c.authToken).toBeUndefined();
            expect(c.subnetIds.length).toBeGreaterThanOrEqual(2);
            if (!r.vpc) expect([...c.subnetIds].sort()).toEqual([...privateSubnets].sort());
            expect(c.securityGroupIds).toEqual([cacheSg.id]);
            expect(c.cacheUsageLimits).toEqual({
              dataStorage: { maximum: cfg.redis.maxDataGB, unit: 'GB' },
              ecpuPerSeconds: [{ maximum: cfg.redis.maxEcpuPerSecond }],
            });
            const group = one(rs, 'aws:elasticache/userGroup:UserGroup', region).inputs;
            expect(c.userGroupId).toBe(group.userGroupId);
            const users = inRegion(rs, 'aws:elasticache/user:User', region).map((u) => u.inputs);
            expect([...group.userIds].sort()).toEqual(users.map((u) => u.userId).sort());
            const byName = new Map(users.map((u) => [u.userName, u]));
            expect([...byName.keys()].sort()).toEqual(['default', 'wsgw']);
            // The default user exists because AWS demands it, and can do nothing.
            expect(byName.get('default')!.accessString).toMatch(/^off\b/);
            expect(byName.get('wsgw')!.accessString).toMatch(/^on\b/);
            for (const u of users) {
              expect(u.engine).toBe('valkey');
              // The password stays encrypted in the state.
              const mode = u.authenticationMode;
              expect(isSecret(mode) || isSecret(mode.passwords) || isSecret(mode.passwords?.[0])).toBe(true);
              expect(reveal(mode)).toEqual({ type: 'password', passwords: [TEST_REDIS_AUTH_TOKEN] });
            }
          }
          // The cache admits exactly the region's tasks (and the peers' task ranges), on its ports.
          const into = [
            ...inRegion(rs, 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule', region),
          ].filter((x) => x.inputs.securityGroupId === cacheSg.id);
          const tasksSg = one(rs, 'aws:ec2/securityGroup:SecurityGroup', region, '-tasks').id;
          expect(
            into
              .filter((x) => x.inputs.referencedSecurityGroupId)
              .map((x) => x.inputs.referencedSecurityGroupId),
          ).toEqual([tasksSg]);
          const peers = cfg.regions.filter((x) => x.name !== region).map((x) => x.cidr);
          expect(
            into
              .filter((x) => x.inputs.cidrIpv4)
              .map((x) => x.inputs.cidrIpv4)
              .sort(),
          ).toEqual([...peers].sort());
          for (const rule of into)
            expect([rule.inputs.ipProtocol, rule.inputs.fromPort, rule.inputs.toPort]).toEqual([
              'tcp',
              plan.ports.from,
              plan.ports.to,
            ]);
          expect(plan.ports.to).toBe(cfg.redis.mode === 'serverless' ? 6380 : 6379);
          // No Kafka at all in a Redis region: no cluster, no replicator, no broker group.
          for (const type of [
            'aws:msk/cluster:Cluster',
            'aws:msk/replicator:Replicator',
            'aws:msk/topic:Topic',
          ])
            expect(inRegion(rs, type, region)).toEqual([]);
          expect(
            inRegion(rs, 'aws:ec2/securityGroup:SecurityGroup', region).map((x) => x.name),
          ).not.toContain(`${region}-msk`);
        }
      });
    }

    it(`${direct ? 'peers every pair of VPCs' : 'creates no VPC peering'} for direct consumption`, () => {
      const peerings = byType(rs, 'aws:ec2/vpcPeeringConnection:VpcPeeringConnection');
      expect(peerings).toHaveLength(direct ? (n * (n - 1)) / 2 : 0);
      expect(byType(rs, 'aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter')).toHaveLength(
        peerings.length,
      );
      for (const peering of peerings) {
        expect(regions).toContain(peering.inputs.peerRegion);
        expect(peering.inputs.peerRegion).not.toBe(peering.region);
      }
      if (direct) expect(byType(rs, 'aws:ec2/route:Route').length).toBeGreaterThanOrEqual(n * (n - 1));
    });

    it('exports the endpoint, the accelerator and per-region load balancer and brokers', () => {
      expect(out.endpoint).toBe(`wss://${cfg.domain}`);
      expect(out.acceleratorDnsName).toMatch(/\.awsglobalaccelerator\.com$/);
      expect(out.acceleratorIps).toHaveLength(2);
      expect(Object.keys(out.regions)).toEqual(regions);
      for (const region of regions) {
        expect(out.regions[region]![nlb ? 'nlbDnsName' : 'albDnsName']).toContain(
          `.${region}.elb.amazonaws.com`,
        );
        if (kafka) expect(out.regions[region]!.mskBootstrapBrokers).toMatch(/:9098(,|$)/);
        else expect(out.regions[region]!.redisUrl).toMatch(/^rediss:\/\/.*:6379$/);
      }
    });
  });
}
