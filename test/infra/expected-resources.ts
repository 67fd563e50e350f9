/**
 * The resources a stack must create, per region and globally, written out from the design rather
 * than read from the program: the deployment suite compares the declared resources against this
 * exactly, so an unintended extra resource (or a missing one) fails a test instead of reaching a
 * bill. When the design changes, this file changes with it, in the same commit.
 */
import type { StackConfig } from '../../infra/stack-config.js';
import { natGatewayCount, planRedis } from '../../infra/plan.js';

export type ResourceCounts = Readonly<Record<string, number>>;

export interface ExpectedResources {
  /** Global Accelerator, Cloudflare and the image build: one set per stack. */
  readonly global: ResourceCounts;
  /** By region name. */
  readonly regions: Readonly<Record<string, ResourceCounts>>;
}

/** What a stack with this config creates; `secrets` names the secret keys the stack was given. */
export function expectedResources(
  cfg: StackConfig,
  secrets: { readonly publishKey: boolean },
): ExpectedResources {
  const names = cfg.regions.map((r) => r.name);
  const n = names.length;
  const kafka = cfg.bus === 'kafka';
  const replicator = kafka && n > 1 && cfg.msk.crossRegion === 'replicator';
  // With Redis the gateways always read other regions' caches directly, over peering.
  const direct = n > 1 && (!kafka || cfg.msk.crossRegion === 'direct');
  const serverless = !kafka && planRedis(cfg.redis).mode === 'serverless';
  // The Redis password always travels in the secret.
  const hasSecret = cfg.auth.mode === 'jwt-secret' || secrets.publishKey || !kafka;

  const regions: Record<string, ResourceCounts> = {};
  cfg.regions.forEach((r, i) => {
    const c: Record<string, number> = {};
    const add = (type: string, count: number) => {
      if (count > 0) c[type] = (c[type] ?? 0) + count;
    };
    const az = cfg.network.azCount;
    const nat = natGatewayCount(cfg.network.nat, az);
    // Route tables tasks and brokers use (peering adds a route to each in `direct` mode).
    let routeTables: number;
    if (r.vpc) {
      routeTables = r.vpc.privateRouteTableIds?.length ?? 0;
    } else {
      const privateTables = cfg.network.nat === 'perAz' ? az : 1;
      add('aws:ec2/vpc:Vpc', 1);
      add('aws:ec2/internetGateway:InternetGateway', 1);
      add('aws:ec2/subnet:Subnet', 2 * az);
      add('aws:ec2/routeTable:RouteTable', 1 + privateTables);
      add('aws:ec2/routeTableAssociation:RouteTableAssociation', 2 * az);
      add('aws:ec2/eip:Eip', nat);
      add('aws:ec2/natGateway:NatGateway', nat);
      add('aws:ec2/vpcEndpoint:VpcEndpoint', 1);
      routeTables = (cfg.network.nat === 'none' ? 1 : 0) + privateTables;
    }

    const nlb = cfg.edge === 'nlb';
    // Security groups: the load balancer, tasks, brokers or cache, and the replicator's ENIs.
    add('aws:ec2/securityGroup:SecurityGroup', 3 + (replicator ? 1 : 0));
    // In: clients on 80 and 443, tasks from the load balancer (an NLB also on the redirect port),
    // brokers (or the cache) from tasks; out: the load balancer to tasks (and their redirect port),
    // tasks to HTTPS and to brokers (or the cache); the replicators' ENIs to and from the local
    // brokers on 9098; with direct reads the peers' tasks to the brokers (or cache), and back.
    add(
      'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
      4 + (nlb ? 1 : 0) + (replicator ? 1 : 0) + (direct ? n - 1 : 0),
    );
    add(
      'aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule',
      3 + (nlb ? 1 : 0) + (replicator ? 1 : 0) + (direct ? n - 1 : 0),
    );

    if (kafka) {
      // Kafka: the cluster, its configuration, the origin topic, the at-rest key.
      add('aws:msk/cluster:Cluster', 1);
      add('aws:msk/configuration:Configuration', 1);
      add('aws:msk/topic:Topic', 1);
      add('aws:kms/key:Key', 1);
      add('aws:msk/clusterPolicy:ClusterPolicy', replicator ? 1 : 0);
    } else if (serverless) {
      // Redis, serverless: the cache, its at-rest key, and RBAC (the gateway user and a disabled
      // `default` user in a user group).
      add('aws:elasticache/serverlessCache:ServerlessCache', 1);
      add('aws:elasticache/user:User', 2);
      add('aws:elasticache/userGroup:UserGroup', 1);
      add('aws:kms/key:Key', 1);
    } else {
      // Redis, node-based: the replication group, its subnet group, its at-rest key.
      add('aws:elasticache/replicationGroup:ReplicationGroup', 1);
      add('aws:elasticache/subnetGroup:SubnetGroup', 1);
      add('aws:kms/key:Key', 1);
    }

    // Gateway fleet.
    add('aws:ecs/cluster:Cluster', 1);
    add('aws:ecs/taskDefinition:TaskDefinition', 1);
    add('aws:ecs/service:Service', 1);
    // An ALB answers /metrics at the edge with a rule; an NLB has a second target group for the
    // tasks' redirect port instead.
    add('aws:lb/loadBalancer:LoadBalancer', 1);
    add('aws:lb/targetGroup:TargetGroup', nlb ? 2 : 1);
    add('aws:lb/listener:Listener', 2);
    add('aws:lb/listenerRule:ListenerRule', nlb ? 0 : 1);
    add('aws:acm/certificate:Certificate', 1);
    add('aws:acm/certificateValidation:CertificateValidation', 1);
    add('aws:appautoscaling/target:Target', 1);
    add('aws:appautoscaling/policy:Policy', 2);
    add('aws:iam/role:Role', 2);
    // The execution role's policy; the task role's (Kafka access, or with Redis only the
    // certificate export behind an NLB).
    add('aws:iam/rolePolicy:RolePolicy', 1 + (kafka || nlb ? 1 : 0));
    add('aws:secretsmanager/secret:Secret', hasSecret ? 1 : 0);
    add('aws:secretsmanager/secretVersion:SecretVersion', hasSecret ? 1 : 0);
    // Task logs, broker logs, and the replicators' logs of this (target) region.
    add('aws:cloudwatch/logGroup:LogGroup', 1 + (kafka ? 1 : 0) + (replicator ? 1 : 0));

    // Monitoring: the alarms notify a topic encrypted under a key of its own. Kafka has one on
    // consumer lag, a cache two (memory, and CPU or throttling).
    add('aws:cloudwatch/metricAlarm:MetricAlarm', kafka ? 4 : 5);
    add('aws:cloudwatch/dashboard:Dashboard', 1);
    add('aws:sns/topic:Topic', 1);
    add('aws:sns/topicPolicy:TopicPolicy', 1);
    add('aws:kms/key:Key', 1);
    add('aws:sns/topicSubscription:TopicSubscription', cfg.alarmEmail ? 1 : 0);

    // The replicators into this region, each with its own role and policy.
    if (replicator) {
      add('aws:msk/replicator:Replicator', n - 1);
      add('aws:iam/role:Role', n - 1);
      add('aws:iam/rolePolicy:RolePolicy', n - 1);
    }
    // Peering: this region requests the connections to the regions after it and accepts those
    // from the regions before it; a route to every peer in each of its route tables.
    if (direct) {
      add('aws:ec2/vpcPeeringConnection:VpcPeeringConnection', n - 1 - i);
      add('aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter', i);
      add('aws:ec2/route:Route', (n - 1) * routeTables);
    }

    // Unless the image is prebuilt, every region has its own repository the build pushes to.
    if (!cfg.image) {
      add('aws:ecr/repository:Repository', 1);
      add('aws:ecr/lifecyclePolicy:LifecyclePolicy', 1);
    }
    regions[r.name] = c;
  });

  const global: Record<string, number> = {
    'aws:globalaccelerator/accelerator:Accelerator': 1,
    'aws:globalaccelerator/listener:Listener': 1,
    'aws:globalaccelerator/endpointGroup:EndpointGroup': n,
    // The public record and the one ACM validation record every region shares.
    'cloudflare:index/dnsRecord:DnsRecord': 2,
  };
  // One build per region, each pushed into that region's repository.
  if (!cfg.image) global['docker-build:index:Image'] = n;
  return { global, regions };
}
