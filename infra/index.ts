/**
 * The wsgw Pulumi program: `pulumi up` per stack, regions listed in the stack config.
 *
 *   per region:  Network -> KafkaCluster (MSK) or RedisCache (ElastiCache, wsgw:bus redis)
 *                -> GatewayService (ECS Fargate + ALB) -> Monitoring
 *   across:      Certificates (ACM via Cloudflare), ImageRegistry (an ECR repository and image build per region),
 *                Replication (MSK Replicator) or DirectConnectivity (VPC peering; always with Redis),
 *                GlobalEdge (Global Accelerator + Cloudflare record)
 *
 * Every AWS resource gets an explicit provider of its region; `pulumi:disable-default-providers`
 * in the stack files turns a forgotten one into an error instead of a resource in the wrong place.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { readPulumiConfig } from './config.js';
import { Certificates } from './components/certificates.js';
import { GatewayService } from './components/gateway-service.js';
import { GlobalEdge } from './components/global-edge.js';
import { KafkaCluster } from './components/kafka-cluster.js';
import { Monitoring } from './components/monitoring.js';
import { Network } from './components/network.js';
import { DirectConnectivity, PEERED_MSK } from './components/direct-connectivity.js';
import { RedisCache } from './components/redis-cache.js';
import { ImageRegistry } from './components/image-registry.js';
import { Replication } from './components/replication.js';
import { deriveTiming, gatewayTiming, planRedis, serviceName, shortRegion } from './plan.js';

const { config, jwtSecret, publishKey, redisAuthToken } = readPulumiConfig();
const stack = pulumi.getStack();
const prefix = `wsgw-${stack}`;
const timing = deriveTiming(gatewayTiming(config.keepalive), config.keepalive.clientPingSeconds * 1000);
const multiRegion = config.regions.length > 1;
const onRedis = config.bus === 'redis';
const replicator = multiRegion && !onRedis && config.msk.crossRegion === 'replicator';
// With Redis, gateways always read the other regions' streams directly (there is no replicator).
const direct = multiRegion && (onRedis || config.msk.crossRegion === 'direct');
const redisPlan = planRedis(config.redis);

// Resource names carry the region, never the stack (URNs already carry the stack), so renaming
// nothing here ever replaces infrastructure.
const providers = Object.fromEntries(
  config.regions.map((r) => [
    r.name,
    new aws.Provider(`aws-${r.name}`, { region: r.name, defaultTags: { tags: { project: 'wsgw', stack } } }),
  ]),
);
const home = providers[config.homeRegion]!;
const accountId = aws.getCallerIdentityOutput({}, { provider: home }).accountId;

const registry = new ImageRegistry('registry', {
  repositoryName: prefix,
  regions: config.regions.map((r) => ({ name: r.name, provider: providers[r.name]! })),
  homeRegion: config.homeRegion,
  ...(config.image ? { prebuiltImage: config.image } : {}),
});
const certificates = new Certificates('certificates', {
  domain: config.domain,
  zoneId: config.cloudflareZoneId,
  regions: config.regions.map((r) => ({ name: r.name, provider: providers[r.name]! })),
  homeRegion: config.homeRegion,
  exportable: config.edge === 'nlb',
});

const regional = config.regions.map((r) => {
  const opts = { provider: providers[r.name]! };
  const network = new Network(
    r.name,
    {
      region: r.name,
      ...(r.cidr ? { cidr: r.cidr } : {}),
      azCount: config.network.azCount,
      nat: config.network.nat,
      ...(r.vpc ? { existingVpc: r.vpc } : {}),
      replicator,
      edge: config.edge,
      bus: config.bus,
      ...(onRedis ? { redisPorts: redisPlan.ports } : {}),
    },
    opts,
  );
  if (onRedis) {
    const cache = new RedisCache(
      r.name,
      {
        region: r.name,
        stack,
        redis: config.redis,
        subnetIds: network.privateSubnetIds,
        securityGroupId: network.redisSecurityGroup!.id,
        authToken: redisAuthToken!,
      },
      opts,
    );
    return { region: r, network, cache, opts };
  }
  const kafka = new KafkaCluster(
    r.name,
    {
      region: r.name,
      clusterName: `${prefix}-${shortRegion(r.name)}`,
      msk: config.msk,
      azCount: r.azCount,
      subnetIds: network.privateSubnetIds,
      securityGroupId: network.mskSecurityGroup!.id,
      logRetentionDays: config.logRetentionDays,
      replicationSource: replicator,
      accountId,
    },
    opts,
  );
  return { region: r, network, kafka, opts };
});

const services = regional.map(({ region: r, network, kafka, cache, opts }) => {
  const name = serviceName(stack, r.name);
  const remote = direct ? regional.filter((x) => x.region.name !== r.name) : [];
  const gateway = new GatewayService(
    r.name,
    {
      region: r.name,
      serviceName: name,
      network,
      image: registry.images[r.name]!.image,
      ...(registry.images[r.name]!.repositoryArn
        ? { ecrRepositoryArn: registry.images[r.name]!.repositoryArn! }
        : {}),
      certificateArn: certificates.arns[r.name]!,
      edge: config.edge,
      skipPingAfterClientFrame: config.keepalive.skipPingAfterClientFrame,
      task: config.task,
      minTasks: r.minTasks,
      maxTasks: r.maxTasks,
      connectionsPerTask: config.connectionsPerTask,
      timing,
      logRetentionDays: config.logRetentionDays,
      accountId,
      kafka: kafka
        ? [
            { region: r.name, clusterArn: kafka.clusterArn, bootstrapBrokers: kafka.bootstrapBrokers },
            ...remote.map((x) => ({
              region: x.region.name,
              clusterArn: x.kafka!.clusterArn,
              bootstrapBrokers: x.kafka!.bootstrapBrokers,
            })),
          ]
        : [],
      ...(cache
        ? {
            redis: {
              url: cache.url,
              remotes: remote.map((x) => ({ region: x.region.name, url: x.cache!.url })),
              ...(redisPlan.waitReplicas !== undefined ? { waitReplicas: redisPlan.waitReplicas } : {}),
              password: redisAuthToken!,
            },
          }
        : {}),
      // With the replicator every origin topic has a copy in the local cluster: the grant covers
      // every fan-out topic there ('*'), so adding or retiring a region changes no other region's
      // role, and a retired region's leftover copy stays readable by tasks still subscribed to it.
      localReadOrigins: replicator ? ['*'] : [r.name],
      ...(jwtSecret ? { jwtSecret } : {}),
      ...(publishKey ? { publishKey } : {}),
      ...(config.auth.mode === 'jwks' ? { jwksUrl: config.auth.jwksUrl } : {}),
      allowedOrigins: config.allowedOrigins,
      zoneLocalReads: config.msk.zoneLocalReads,
    },
    opts,
  );
  new Monitoring(
    r.name,
    {
      region: r.name,
      serviceName: name,
      ecsClusterName: gateway.cluster.name,
      edge: config.edge,
      lbArnSuffix: gateway.loadBalancer.arnSuffix,
      targetGroupArnSuffix: gateway.targetGroup.arnSuffix,
      ...(kafka ? { mskClusterName: kafka.clusterName } : {}),
      ...(cache
        ? {
            cache: {
              mode: config.redis.mode,
              id: cache.cacheId,
              nodes: redisPlan.nodes,
              maxDataGB: config.redis.maxDataGB,
            },
          }
        : {}),
      accountId,
      ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}),
    },
    opts,
  );
  return { region: r.name, gateway, kafka, cache };
});

if (replicator) {
  new Replication('replication', {
    namePrefix: prefix,
    accountId,
    logRetentionDays: config.logRetentionDays,
    regions: regional.map(({ region: r, network, kafka }) => ({
      name: r.name,
      provider: providers[r.name]!,
      clusterArn: kafka!.clusterArn,
      subnetIds: network.privateSubnetIds,
      replicatorSecurityGroupId: network.replicatorSecurityGroup!.id,
      kafka: kafka!,
    })),
  });
}
if (direct) {
  new DirectConnectivity('direct', {
    regions: regional.map(({ region: r, network }) => ({
      name: r.name,
      provider: providers[r.name]!,
      network,
    })),
    bus: onRedis
      ? { name: 'redis', ports: redisPlan.ports, securityGroup: (n) => n.redisSecurityGroup! }
      : PEERED_MSK,
  });
}

const edge = new GlobalEdge(
  'edge',
  {
    name: prefix,
    domain: config.domain,
    zoneId: config.cloudflareZoneId,
    endpoints: services.map((s) => ({ region: s.region, loadBalancerArn: s.gateway.loadBalancer.arn })),
  },
  // Global Accelerator's API lives in us-west-2 whatever the provider says; home is as good as any.
  { provider: home },
);

/** The public WebSocket URL clients connect to. */
export const endpoint = `wss://${config.domain}`;
export const acceleratorDnsName = edge.accelerator.dnsName;
/** The two static anycast IPv4 addresses (for allow-lists and A records). */
export const acceleratorIps = edge.ips;
/**
 * Per region: the load balancer's DNS name (`albDnsName`, or `nlbDnsName` with wsgw:edge nlb;
 * direct, bypassing the accelerator), the MSK IAM brokers (`mskBootstrapBrokers`) or the cache's
 * URL without its password (`redisUrl`), and the image repository (absent with a prebuilt
 * `wsgw:image`).
 */
export const regions = Object.fromEntries(
  services.map((s) => [
    s.region,
    {
      [config.edge === 'alb' ? 'albDnsName' : 'nlbDnsName']: s.gateway.loadBalancer.dnsName,
      ...(s.kafka ? { mskBootstrapBrokers: s.kafka.bootstrapBrokers } : {}),
      ...(s.cache ? { redisUrl: s.cache.url } : {}),
      ...(registry.images[s.region]!.repositoryUrl
        ? { imageRepositoryUrl: registry.images[s.region]!.repositoryUrl }
        : {}),
    },
  ]),
);
