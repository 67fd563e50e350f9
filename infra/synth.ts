/**
 * `npm run synth -- <stack>`: runs the Pulumi program offline under mocks with the config of
 * `Pulumi.<stack>.yaml`, then prints what `pulumi up` would create, region by region (type,
 * name, key settings), and a Mermaid diagram of the deployed architecture.
 *
 * Nothing reaches AWS or Cloudflare: outputs such as ARNs and DNS names are the mocks'
 * (infra/mocks.ts). Secrets are never read from the stack file; placeholders stand in.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StackConfigError, parseStackConfig, readStackFile } from './stack-config.js';
import { type DeclaredResource, reveal, runProgram } from './mocks.js';
import { deriveTiming, describeNat, gatewayTiming } from './plan.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Types listed under `global`: not bound to an AWS region (Global Accelerator's API lives in us-west-2). */
const GLOBAL_TYPES = /^(aws:globalaccelerator\/|cloudflare:|docker-build:)/;

/** The few settings that matter when reviewing a plan, per resource type. */
export function keySettings(r: DeclaredResource): string {
  const i = r.inputs;
  const list = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));
  switch (r.type) {
    case 'aws:ec2/vpc:Vpc':
      return `cidr=${i.cidrBlock}`;
    case 'aws:ec2/subnet:Subnet':
      return `cidr=${i.cidrBlock} az=${i.availabilityZone}`;
    case 'aws:ec2/natGateway:NatGateway':
      return 'NAT gateway (~$33/month + $0.045/GB)';
    case 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule':
    case 'aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule':
      return `${r.type.includes('Ingress') ? 'in' : 'out'} ${i.ipProtocol}/${i.fromPort === i.toPort ? i.fromPort : `${i.fromPort}-${i.toPort}`} ${r.type.includes('Ingress') ? 'from' : 'to'} ${i.cidrIpv4 ?? 'security group'}`;
    case 'aws:lb/loadBalancer:LoadBalancer':
      return `${i.loadBalancerType} ${i.internal ? 'internal' : 'internet-facing'}${i.idleTimeout ? ` idleTimeout=${i.idleTimeout}s` : ''}${i.loadBalancerType === 'network' ? ` crossZone=${i.enableCrossZoneLoadBalancing}` : ''}`;
    case 'aws:lb/targetGroup:TargetGroup':
      return `${i.protocol}:${i.port} health=${i.healthCheck?.protocol} ${i.healthCheck?.path ?? ''} every ${i.healthCheck?.interval}s deregistrationDelay=${i.deregistrationDelay}s`;
    case 'aws:lb/listener:Listener':
      return `${i.protocol}:${i.port} ${i.sslPolicy ?? i.defaultActions?.[0]?.type}${i.tcpIdleTimeoutSeconds ? ` idleTimeout=${i.tcpIdleTimeoutSeconds}s` : ''}`;
    case 'aws:acm/certificate:Certificate':
      return `${i.domainName} ${i.keyAlgorithm ?? 'RSA_2048'}${i.options?.export === 'ENABLED' ? ' exportable (served by the tasks)' : ''}`;
    case 'aws:lb/listenerRule:ListenerRule':
      return `priority ${i.priority}: ${list((i.conditions ?? []).flatMap((c: { pathPattern?: { values?: string[] } }) => c.pathPattern?.values ?? []))} -> ${i.actions?.[0]?.type} ${i.actions?.[0]?.fixedResponse?.statusCode ?? ''}`.trimEnd();
    case 'aws:ecs/cluster:Cluster':
      return `containerInsights=${i.settings?.[0]?.value}`;
    case 'aws:ecs/taskDefinition:TaskDefinition': {
      const c = JSON.parse(i.containerDefinitions ?? '[]')[0] ?? {};
      return `${i.cpu} CPU / ${i.memory} MiB ${i.runtimePlatform?.cpuArchitecture} stopTimeout=${c.stopTimeout}s image=${String(c.image).replace(/@sha256:.*/, '@sha256:…')}`;
    }
    case 'aws:ecs/service:Service':
      return `desired=${i.desiredCount} (autoscaled) circuitBreaker=${i.deploymentCircuitBreaker?.enable ? 'rollback' : 'off'} publicIp=${i.networkConfiguration?.assignPublicIp}`;
    case 'aws:appautoscaling/target:Target':
      return `tasks ${i.minCapacity}..${i.maxCapacity}`;
    case 'aws:appautoscaling/policy:Policy': {
      const t = i.targetTrackingScalingPolicyConfiguration ?? {};
      const m = t.customizedMetricSpecification;
      const metric = m
        ? `${m.namespace}/${m.metricName} ${m.statistic}`
        : t.predefinedMetricSpecification?.predefinedMetricType;
      return `track ${metric} = ${t.targetValue} (out ${t.scaleOutCooldown}s, in ${t.scaleInCooldown}s)`;
    }
    case 'aws:msk/cluster:Cluster':
      return `${i.numberOfBrokerNodes}× ${i.brokerNodeGroupInfo?.instanceType} ${i.brokerNodeGroupInfo?.storageInfo?.ebsStorageInfo?.volumeSize} GiB Kafka ${i.kafkaVersion} IAM+TLS${i.brokerNodeGroupInfo?.connectivityInfo ? ' multi-VPC' : ''}`;
    case 'aws:elasticache/replicationGroup:ReplicationGroup':
      return `${i.numCacheClusters}× ${i.nodeType} Valkey ${i.engineVersion} TLS+AUTH failover=${i.automaticFailoverEnabled} multiAz=${i.multiAzEnabled}`;
    case 'aws:elasticache/serverlessCache:ServerlessCache':
      return `serverless Valkey ${i.majorEngineVersion} ≤${i.cacheUsageLimits?.dataStorage?.maximum} GB ≤${i.cacheUsageLimits?.ecpuPerSeconds?.[0]?.maximum} ECPU/s TLS+RBAC`;
    case 'aws:msk/topic:Topic':
      return `${i.name} partitions=${i.partitionCount} rf=${i.replicationFactor}`;
    case 'aws:msk/replicator:Replicator':
      return `${i.replicatorName} topics=${list(i.replicationInfoList?.topicReplications?.[0]?.topicsToReplicates)}`;
    case 'aws:ec2/vpcPeeringConnection:VpcPeeringConnection':
      return `peer region ${i.peerRegion}`;
    case 'aws:globalaccelerator/listener:Listener':
      return `${i.protocol} ${list((i.portRanges ?? []).map((r: { fromPort: number; toPort: number }) => (r.fromPort === r.toPort ? r.fromPort : `${r.fromPort}-${r.toPort}`)))} affinity=${i.clientAffinity}`;
    case 'aws:globalaccelerator/endpointGroup:EndpointGroup':
      return `region=${i.endpointGroupRegion} clientIpPreservation=${i.endpointConfigurations?.[0]?.clientIpPreservationEnabled}`;
    case 'cloudflare:index/dnsRecord:DnsRecord':
      return `${i.name} ${i.type} -> ${i.content} proxied=${i.proxied}`;
    case 'docker-build:index:Image':
      return `build ${i.dockerfile?.location?.replace(ROOT, '') || 'Dockerfile'} for ${list(i.platforms)}, push to ${list(reveal(i.tags))}`;
    case 'aws:ecr/repository:Repository':
      return `${i.name} scanOnPush=${i.imageScanningConfiguration?.scanOnPush}`;
    case 'aws:cloudwatch/metricAlarm:MetricAlarm':
      return `${i.metricName ?? 'metrics insights query'} > ${i.threshold}`;
    case 'aws:cloudwatch/logGroup:LogGroup':
      return `${i.name} retention=${i.retentionInDays}d`;
    default:
      return '';
  }
}

export function regionOf(r: DeclaredResource): string {
  return GLOBAL_TYPES.test(r.type) || !r.region ? 'global' : r.region;
}

/** A Mermaid flowchart drawn from what the program declared (not from the config). */
export function mermaid(resources: readonly DeclaredResource[], domain: string): string {
  const of = (type: string) => resources.filter((r) => r.type === type);
  const id = (region: string) => region.replace(/-/g, '_');
  const lines = [
    'flowchart LR',
    `  clients([Clients]) -->|wss://${domain}| dns["Cloudflare DNS<br/>${domain} (not proxied)"]`,
    '  dns --> ga["Global Accelerator<br/>TCP 443 and 80, SOURCE_IP affinity"]',
  ];
  for (const svc of of('aws:ecs/service:Service')) {
    const region = svc.region!;
    const r = id(region);
    const target = of('aws:appautoscaling/target:Target').find((t) => t.region === region)?.inputs;
    const msk = of('aws:msk/cluster:Cluster').find((c) => c.region === region)?.inputs;
    const group = of('aws:elasticache/replicationGroup:ReplicationGroup').find(
      (c) => c.region === region,
    )?.inputs;
    const serverless = of('aws:elasticache/serverlessCache:ServerlessCache').some((c) => c.region === region);
    const bus = msk
      ? `|"IAM + TLS :9098"| msk_${r}[("MSK ${msk.numberOfBrokerNodes}× ${msk.brokerNodeGroupInfo?.instanceType}<br/>wsgw.fanout.${region}")]`
      : `|"AUTH + TLS :6379"| msk_${r}[("ElastiCache Valkey ${group ? `${group.numCacheClusters}× ${group.nodeType}` : serverless ? 'serverless' : ''}<br/>stream of ${region}")]`;
    const nlb = of('aws:lb/loadBalancer:LoadBalancer').some(
      (l) => l.region === region && l.inputs.loadBalancerType === 'network',
    );
    const edge = nlb ? `NLB<br/>TCP passed through, /readyz` : `ALB<br/>HTTPS TLS 1.3, /readyz`;
    const tasks = nlb ? 'ECS Fargate gateway, TLS in the task' : 'ECS Fargate gateway';
    lines.push(
      `  subgraph ${r}["${region}"]`,
      `    alb_${r}["${edge}"] --> svc_${r}["${tasks}<br/>${target?.minCapacity}..${target?.maxCapacity} tasks"]`,
      `    svc_${r} -->${bus}`,
      `    ecr_${r}[(ECR)] -.-> svc_${r}`,
      '  end',
      `  ga --> alb_${r}`,
    );
  }
  for (const rep of of('aws:msk/replicator:Replicator')) {
    const m = /-([a-z0-9-]+)-to-([a-z0-9-]+)$/.exec(rep.name);
    if (m) lines.push(`  msk_${id(m[1]!)} -. "Replicator wsgw.fanout.${m[1]}" .-> msk_${id(m[2]!)}`);
  }
  for (const p of of('aws:ec2/vpcPeeringConnection:VpcPeeringConnection')) {
    lines.push(`  svc_${id(p.region!)} <-. "VPC peering: direct reads" .-> msk_${id(p.inputs.peerRegion)}`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const stack = process.argv[2];
  if (!stack) {
    process.stderr.write('usage: npm run synth -- <stack>   (reads Pulumi.<stack>.yaml)\n');
    process.exit(2);
  }
  const file = join(ROOT, `Pulumi.${stack}.yaml`);
  if (!existsSync(file)) {
    process.stderr.write(`synth: ${file} not found\n`);
    process.exit(2);
  }
  const raw = readStackFile(file);
  let config;
  try {
    config = parseStackConfig(raw);
  } catch (err) {
    if (err instanceof StackConfigError) {
      process.stderr.write(`synth: Pulumi.${stack}.yaml: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const secrets = {
    ...(config.auth.mode === 'jwt-secret' ? { jwtSecret: 'synth-placeholder-secret' } : {}),
    ...(config.bus === 'redis' ? { redisAuthToken: 'synth-placeholder-token' } : {}),
  };
  const run = await runProgram({
    stack,
    config: raw,
    secrets,
    load: () => import('./index.js'),
  });

  const out: string[] = [];
  const timing = deriveTiming(gatewayTiming(config.keepalive), config.keepalive.clientPingSeconds * 1000);
  out.push(
    `# wsgw stack "${stack}": ${config.regions.length} region(s), ${run.resources.filter((r) => !r.type.startsWith('wsgw:') && !r.type.startsWith('pulumi:')).length} resources`,
  );
  out.push(`network: ${describeNat(config.network.nat, config.network.azCount)}`);
  out.push(
    config.bus === 'redis'
      ? `bus: Redis (ElastiCache for Valkey, ${config.redis.mode === 'nodes' ? `${1 + config.redis.replicas}× ${config.redis.nodeType}` : 'serverless'})`
      : 'bus: Kafka (MSK)',
  );
  out.push(
    `cross-region: ${config.regions.length <= 1 ? 'none (one region)' : config.bus === 'redis' ? 'direct reads of the other caches' : config.msk.crossRegion}`,
  );
  out.push(
    `edge: ${config.edge === 'alb' ? 'ALB terminating TLS' : 'NLB passing TCP, TLS in the tasks (ACM exportable certificate)'}`,
  );
  out.push(
    `keep-alives: gateway ping every ${config.keepalive.pingSeconds}s${config.keepalive.skipPingAfterClientFrame ? ' (skipped after a client frame)' : ''}, clients every ${config.keepalive.clientPingSeconds}s`,
  );
  out.push(
    `timing: load balancer idle ${timing.lbIdleTimeoutS}s, deregistration ${timing.deregistrationDelayS}s, stopTimeout ${timing.stopTimeoutS}s`,
  );
  const groups = new Map<string, DeclaredResource[]>();
  for (const r of run.resources) {
    if (r.type.startsWith('wsgw:') || r.type.startsWith('pulumi:')) continue;
    const key = regionOf(r);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const order = ['global', ...config.regions.map((r) => r.name)];
  for (const key of order) {
    const rs = groups.get(key) ?? [];
    out.push('', `## ${key} (${rs.length})`);
    const typeWidth = Math.max(...rs.map((r) => r.type.length));
    const nameWidth = Math.max(...rs.map((r) => r.name.length));
    for (const r of rs)
      out.push(`${r.type.padEnd(typeWidth)}  ${r.name.padEnd(nameWidth)}  ${keySettings(r)}`.trimEnd());
  }
  out.push('', '## Architecture', '', '```mermaid', mermaid(run.resources, config.domain), '```');
  process.stdout.write(out.join('\n') + '\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
