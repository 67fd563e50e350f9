import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { DEFAULT_PORT, EMF, ENV, HTTP_PATHS } from '../../services/shared/src/constants.js';
import type { Edge, TaskSize } from '../stack-config.js';
import { historyBudgetBytes, maxConnectionsPerTask } from '../capacity.js';
import { assumeRolePolicy, executionRolePolicy, gatewayTaskPolicy, type GatewayKafkaAccess } from '../iam.js';
import {
  PUBLIC_PORTS,
  REDIRECT_PORT,
  REDIS_ENV,
  SCALING,
  gatewayEnvironment,
  type InfraTiming,
} from '../plan.js';
import type { Network } from './network.js';

/** The container's name in the task definition and the load balancer mapping. */
export const CONTAINER_NAME = 'gateway';
/**
 * ALB policy with TLS 1.3 (and TLS 1.2 for older clients; no TLS 1.0/1.1). The TLS 1.3-only
 * policy would lock out a share of older Android and embedded clients for little gain.
 */
export const TLS_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';
/**
 * Open file descriptors per task: one per WebSocket. Fargate's hard ceiling; Docker's default
 * soft limit of 1024 would cap a task at about a thousand connections.
 */
const NOFILE = 1_048_576;

export interface GatewayServiceArgs {
  readonly region: string;
  /** ECS service name and the EMF ServiceName dimension value (WSGW_SERVICE_NAME). */
  readonly serviceName: string;
  readonly network: Network;
  readonly image: pulumi.Input<string>;
  /** The ECR repository the execution role may pull from; undefined for non-ECR images. */
  readonly ecrRepositoryArn?: pulumi.Input<string>;
  /** The region's validated certificate: the ALB's, or (wsgw:edge nlb) the exportable one the tasks serve. */
  readonly certificateArn: pulumi.Input<string>;
  /** `alb`: the ALB terminates TLS; `nlb`: an NLB passes TCP and the gateway terminates TLS. */
  readonly edge: Edge;
  /** wsgw:keepalive.skipPingAfterClientFrame. */
  readonly skipPingAfterClientFrame: boolean;
  readonly task: TaskSize;
  readonly minTasks: number;
  readonly maxTasks: number;
  readonly connectionsPerTask: number;
  readonly timing: InfraTiming;
  readonly logRetentionDays: number;
  readonly accountId: pulumi.Input<string>;
  /** Bus `kafka`: the local cluster first; in `direct` mode the other regions' clusters follow. Empty with bus `redis`. */
  readonly kafka: readonly {
    readonly region: string;
    readonly clusterArn: pulumi.Input<string>;
    readonly bootstrapBrokers: pulumi.Input<string>;
  }[];
  /** Origins whose topics the gateway reads from the local cluster (all regions with the replicator). */
  readonly localReadOrigins: readonly string[];
  /**
   * Bus `redis`: the local cache's URL, the other regions' (read directly over peering), the
   * replicas a publish waits for, and the password for all of them (a secret, passed to the task
   * from Secrets Manager as WSGW_REDIS_PASSWORD).
   */
  readonly redis?: {
    readonly url: pulumi.Input<string>;
    readonly remotes: readonly { readonly region: string; readonly url: pulumi.Input<string> }[];
    readonly waitReplicas?: number;
    readonly password: pulumi.Input<string>;
  };
  readonly jwtSecret?: pulumi.Input<string>;
  readonly publishKey?: pulumi.Input<string>;
  readonly jwksUrl?: string;
  readonly allowedOrigins: readonly string[];
  /** Tasks find their Kafka rack (`WSGW_KAFKA_RACK_MAP`) to read from the replica in their AZ. */
  readonly zoneLocalReads: boolean;
}

/**
 * One region's gateway fleet: the internet-facing load balancer (an ALB terminating TLS, or an NLB
 * passing TCP to tasks that terminate it; HTTP redirects either way), the Fargate service behind
 * it, its two IAM roles, its secret, its logs, and target tracking on the connection count the
 * gateway itself reports through EMF.
 */
export class GatewayService extends pulumi.ComponentResource {
  readonly loadBalancer: aws.lb.LoadBalancer;
  /** Where WebSocket traffic goes: the one whose health the alarms and Global Accelerator watch. */
  readonly targetGroup: aws.lb.TargetGroup;
  readonly cluster: aws.ecs.Cluster;
  readonly service: aws.ecs.Service;
  readonly taskDefinition: aws.ecs.TaskDefinition;
  readonly taskRole: aws.iam.Role;
  readonly executionRole: aws.iam.Role;
  readonly logGroup: aws.cloudwatch.LogGroup;

  constructor(name: string, args: GatewayServiceArgs, opts: pulumi.ComponentResourceOptions) {
    super('wsgw:aws:GatewayService', name, {}, opts);
    const o = { parent: this };
    const net = args.network;
    const local = args.kafka[0];
    if (!local && !args.redis)
      throw new Error(`${name}: the local Kafka cluster or a Redis cache is required`);

    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { name: `/wsgw/gateway/${args.serviceName}`, retentionInDays: args.logRetentionDays },
      o,
    );

    // One secret per region (not a replicated one) keeps each region deployable on its own.
    // It holds JSON so the execution role needs exactly one secret ARN for every value.
    // Tasks name the secret's version: a new value is a new version, hence a new task definition
    // revision and a rolling deployment, and no task can start before the value exists. Without a
    // version, old tasks would keep the old value and new ones get the new one.
    let secretRef: pulumi.Output<{ readonly arn: string; readonly versionId: string }> | undefined;
    let secretArn: pulumi.Output<string> | undefined;
    const secretKeys: string[] = [];
    if (args.jwtSecret !== undefined || args.publishKey !== undefined || args.redis !== undefined) {
      const secret = new aws.secretsmanager.Secret(
        `${name}-secrets`,
        {
          namePrefix: `wsgw/${args.serviceName}/`,
          // A Kafka stack's secret keeps its description (changing it would be an update for nothing).
          description: args.redis
            ? 'wsgw gateway JWT secret, publish key and Redis password'
            : 'wsgw gateway JWT secret and publish key',
        },
        o,
      );
      const values: Record<string, pulumi.Input<string>> = {};
      if (args.jwtSecret !== undefined) ((values.jwtSecret = args.jwtSecret), secretKeys.push('jwtSecret'));
      if (args.publishKey !== undefined)
        ((values.publishKey = args.publishKey), secretKeys.push('publishKey'));
      if (args.redis !== undefined)
        ((values.redisPassword = args.redis.password), secretKeys.push('redisPassword'));
      const version = new aws.secretsmanager.SecretVersion(
        `${name}-secrets`,
        { secretId: secret.id, secretString: pulumi.secret(pulumi.jsonStringify(values)) },
        o,
      );
      secretArn = secret.arn;
      secretRef = pulumi
        .all([secret.arn, version.versionId])
        .apply(([arn, versionId]) => ({ arn, versionId }));
    }

    this.executionRole = new aws.iam.Role(
      `${name}-execution`,
      {
        assumeRolePolicy: pulumi
          .output(args.accountId)
          .apply((a) => JSON.stringify(assumeRolePolicy('ecs-tasks.amazonaws.com', a))),
      },
      o,
    );
    new aws.iam.RolePolicy(
      `${name}-execution`,
      {
        role: this.executionRole.id,
        policy: pulumi
          .all([args.ecrRepositoryArn, this.logGroup.arn, secretArn])
          .apply(([ecrRepositoryArn, logGroupArn, secret]) =>
            JSON.stringify(
              executionRolePolicy({
                logGroupArn,
                ...(ecrRepositoryArn ? { ecrRepositoryArn } : {}),
                ...(secret ? { secretArn: secret } : {}),
              }),
            ),
          ),
      },
      o,
    );

    this.taskRole = new aws.iam.Role(
      `${name}-task`,
      {
        assumeRolePolicy: pulumi
          .output(args.accountId)
          .apply((a) => JSON.stringify(assumeRolePolicy('ecs-tasks.amazonaws.com', a))),
      },
      o,
    );
    const nlb = args.edge === 'nlb';
    // Bus `kafka`: MSK IAM access; bus `redis` authenticates with the password and needs no IAM, so
    // its task role has a policy only behind an NLB (the certificate export).
    if (args.kafka.length > 0 || nlb) {
      new aws.iam.RolePolicy(
        args.kafka.length > 0 ? `${name}-task-kafka` : `${name}-task-acm`,
        {
          role: this.taskRole.id,
          policy: pulumi
            .all([args.certificateArn, ...args.kafka.map((k) => k.clusterArn)])
            .apply(([certificateArn, ...arns]) => {
              const access: GatewayKafkaAccess[] = arns.map((clusterArn, i) =>
                i === 0
                  ? { clusterArn, readOrigins: args.localReadOrigins, writeOrigin: args.region }
                  : { clusterArn, readOrigins: [args.kafka[i]!.region] },
              );
              // Behind an NLB the gateway fetches its certificate and key from ACM itself.
              return JSON.stringify(
                gatewayTaskPolicy(access, undefined, nlb ? { exportCertificateArn: certificateArn } : {}),
              );
            }),
        },
        o,
      );
    }

    const containerDefinitions = pulumi
      .all([
        args.image,
        this.logGroup.name,
        net.zoneIds,
        args.certificateArn,
        ...args.kafka.map((k) => k.bootstrapBrokers),
        secretRef,
        pulumi.all([args.redis?.url, ...(args.redis?.remotes ?? []).map((r) => r.url)]),
      ])
      .apply(([image, logGroupName, zoneIds, certificateArn, ...rest]) => {
        const brokers = rest.slice(0, args.kafka.length) as string[];
        const secret = rest[args.kafka.length] as { arn: string; versionId: string } | undefined;
        const [redisUrl, ...redisRemotes] = rest[args.kafka.length + 1] as (string | undefined)[];
        const redis = args.redis;
        const env = gatewayEnvironment({
          region: args.region,
          serviceName: args.serviceName,
          ...(brokers[0] !== undefined ? { brokers: brokers[0] } : {}),
          remoteBrokers: Object.fromEntries(args.kafka.slice(1).map((k, i) => [k.region, brokers[i + 1]!])),
          ...(redis && redisUrl
            ? {
                redis: {
                  url: redisUrl,
                  remotes: Object.fromEntries(redis.remotes.map((r, i) => [r.region, redisRemotes[i]!])),
                  ...(redis.waitReplicas !== undefined ? { waitReplicas: redis.waitReplicas } : {}),
                },
              }
            : {}),
          ...(args.jwksUrl ? { jwksUrl: args.jwksUrl } : {}),
          allowedOrigins: args.allowedOrigins,
          ...(args.zoneLocalReads ? { zoneIds: zoneIds as Record<string, string> } : {}),
          timing: args.timing.gateway,
          skipPingAfterClientFrame: args.skipPingAfterClientFrame,
          historyMaxBytes: historyBudgetBytes(args.task.memory),
          // A task above its average (imbalance, a storm) refuses upgrades before it runs out of memory.
          maxConnections: maxConnectionsPerTask(args.task.memory, args.edge),
          ...(nlb ? { tlsCertificateArn: certificateArn as string } : {}),
        });
        const container: aws.ecs.ContainerDefinition = {
          name: CONTAINER_NAME,
          image: image as string,
          essential: true,
          portMappings: [DEFAULT_PORT, ...(nlb ? [REDIRECT_PORT] : [])].map((containerPort) => ({
            containerPort,
            protocol: 'tcp' as const,
          })),
          environment: Object.entries(env).map(([n, value]) => ({ name: n, value })),
          // arn:…:secret:name:json-key:version-stage:version-id (stage empty: the id decides).
          secrets: secret
            ? secretKeys.map((k) => ({
                name:
                  k === 'jwtSecret'
                    ? ENV.jwtSecret
                    : k === 'publishKey'
                      ? ENV.publishKey
                      : REDIS_ENV.password,
                valueFrom: `${secret.arn}:${k}::${secret.versionId}`,
              }))
            : [],
          // SIGTERM starts the gateway's drain; ECS waits this long before SIGKILL.
          stopTimeout: args.timing.stopTimeoutS,
          ulimits: [{ name: 'nofile', softLimit: NOFILE, hardLimit: NOFILE }],
          // An init process forwards SIGTERM to node and reaps zombies.
          linuxParameters: { initProcessEnabled: true },
          logConfiguration: {
            logDriver: 'awslogs',
            options: {
              'awslogs-group': logGroupName as string,
              'awslogs-region': args.region,
              'awslogs-stream-prefix': CONTAINER_NAME,
              // Never let a slow CloudWatch Logs call block stdout and with it the event loop
              // serving every socket; a full buffer drops log lines instead.
              mode: 'non-blocking',
              'max-buffer-size': '25m',
            },
          },
        };
        return JSON.stringify([container]);
      });

    this.taskDefinition = new aws.ecs.TaskDefinition(
      `${name}-task`,
      {
        family: args.serviceName,
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: String(args.task.cpu),
        memory: String(args.task.memory),
        runtimePlatform: { cpuArchitecture: args.task.architecture, operatingSystemFamily: 'LINUX' },
        executionRoleArn: this.executionRole.arn,
        taskRoleArn: this.taskRole.arn,
        containerDefinitions,
      },
      o,
    );

    // Container Insights supplies RunningTaskCount and per-service CPU for the dashboard.
    this.cluster = new aws.ecs.Cluster(
      `${name}-cluster`,
      { name: args.serviceName, settings: [{ name: 'containerInsights', value: 'enabled' }] },
      o,
    );

    const lb = nlb ? this.networkLoadBalancer(name, args) : this.applicationLoadBalancer(name, args);
    this.loadBalancer = lb.loadBalancer;
    this.targetGroup = lb.targetGroup;

    this.service = new aws.ecs.Service(
      `${name}-service`,
      {
        name: args.serviceName,
        cluster: this.cluster.arn,
        taskDefinition: this.taskDefinition.arn,
        launchType: 'FARGATE',
        platformVersion: 'LATEST',
        desiredCount: args.minTasks,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        // Start new tasks before stopping old ones: capacity never dips during a deploy.
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: 200,
        healthCheckGracePeriodSeconds: 30,
        // Rebalancing stops running tasks, and every stopped task drops its sockets; new tasks
        // from autoscaling spread over the AZs anyway.
        availabilityZoneRebalancing: 'DISABLED',
        networkConfiguration: {
          subnets: net.taskSubnetIds,
          securityGroups: [net.taskSecurityGroup.id],
          assignPublicIp: net.assignPublicIp,
        },
        loadBalancers: lb.targets.map((t) => ({
          targetGroupArn: t.targetGroup.arn,
          containerName: CONTAINER_NAME,
          containerPort: t.port,
        })),
        propagateTags: 'SERVICE',
        enableEcsManagedTags: true,
        // `pulumi up` waits until the new tasks run and pass their health checks (or fails, after
        // the circuit breaker rolled back) instead of reporting success while a region runs nothing.
        waitForSteadyState: true,
      },
      // Autoscaling owns desiredCount after creation; a `pulumi up` must not reset it to the floor.
      { parent: this, dependsOn: [...lb.listeners], ignoreChanges: ['desiredCount'] },
    );

    const target = new aws.appautoscaling.Target(
      `${name}-scaling`,
      {
        serviceNamespace: 'ecs',
        scalableDimension: 'ecs:service:DesiredCount',
        resourceId: pulumi.interpolate`service/${this.cluster.name}/${this.service.name}`,
        minCapacity: args.minTasks,
        maxCapacity: args.maxTasks,
      },
      o,
    );
    const scaled = {
      serviceNamespace: target.serviceNamespace,
      scalableDimension: target.scalableDimension,
      resourceId: target.resourceId,
    };

    // Connections per task: each task prints one EMF line per interval with its own count and
    // only the ServiceName dimension, so the Average across the series is connections per task
    // and falls as tasks are added, which is what target tracking needs.
    new aws.appautoscaling.Policy(
      `${name}-connections`,
      {
        ...scaled,
        policyType: 'TargetTrackingScaling',
        targetTrackingScalingPolicyConfiguration: {
          targetValue: args.connectionsPerTask,
          scaleOutCooldown: SCALING.scaleOutCooldownS,
          scaleInCooldown: SCALING.scaleInCooldownS,
          customizedMetricSpecification: {
            namespace: EMF.namespace,
            metricName: EMF.metricName,
            statistic: 'Average',
            unit: EMF.unit,
            dimensions: [{ name: EMF.dimension, value: args.serviceName }],
          },
        },
      },
      o,
    );
    // CPU guard: a fleet of few, very busy connections (heavy fan-out) scales on CPU instead.
    // With two policies ECS scales out if either asks and in only when both allow it.
    new aws.appautoscaling.Policy(
      `${name}-cpu`,
      {
        ...scaled,
        policyType: 'TargetTrackingScaling',
        targetTrackingScalingPolicyConfiguration: {
          targetValue: SCALING.cpuTargetPercent,
          scaleOutCooldown: SCALING.scaleOutCooldownS,
          scaleInCooldown: SCALING.scaleInCooldownS,
          predefinedMetricSpecification: { predefinedMetricType: 'ECSServiceAverageCPUUtilization' },
        },
      },
      o,
    );

    this.registerOutputs({ loadBalancerDnsName: this.loadBalancer.dnsName, serviceName: this.service.name });
  }

  /** Target group health check on /readyz, timed so the load balancer notices a draining task in time. */
  private healthCheck(
    args: GatewayServiceArgs,
    protocol: 'HTTP' | 'HTTPS',
  ): aws.types.input.lb.TargetGroupHealthCheck {
    return {
      path: HTTP_PATHS.ready,
      matcher: '200',
      port: 'traffic-port',
      protocol,
      interval: args.timing.healthCheck.intervalS,
      timeout: args.timing.healthCheck.timeoutS,
      healthyThreshold: args.timing.healthCheck.healthyThreshold,
      unhealthyThreshold: args.timing.healthCheck.unhealthyThreshold,
    };
  }

  /** An internet-facing load balancer in the public subnets, behind the load balancer's security group. */
  private internetFacing(
    name: string,
    args: GatewayServiceArgs,
    kind: aws.lb.LoadBalancerArgs,
  ): aws.lb.LoadBalancer {
    const net = args.network;
    return new aws.lb.LoadBalancer(
      name,
      { ...kind, internal: false, subnets: net.publicSubnetIds, securityGroups: [net.lbSecurityGroup.id] },
      { parent: this },
    );
  }

  /** The ALB: TLS ends here (HTTPS listener), HTTP redirects, /metrics answered at the edge. */
  private applicationLoadBalancer(name: string, args: GatewayServiceArgs): EdgeResources {
    const o = { parent: this };
    const net = args.network;
    const loadBalancer = this.internetFacing(`${name}-alb`, args, {
      loadBalancerType: 'application',
      // Longer than any silence of a live connection (deriveTiming), so idle-but-alive sockets stay open.
      idleTimeout: args.timing.lbIdleTimeoutS,
      dropInvalidHeaderFields: true,
      desyncMitigationMode: 'strictest',
    });
    const targetGroup = new aws.lb.TargetGroup(
      `${name}-tg`,
      {
        vpcId: net.vpcId,
        port: DEFAULT_PORT,
        protocol: 'HTTP',
        targetType: 'ip',
        deregistrationDelay: args.timing.deregistrationDelayS,
        // A WebSocket is one long request; this sends new handshakes to the task holding the
        // fewest open ones, which balances connections better than round robin after a scale-out.
        loadBalancingAlgorithmType: 'least_outstanding_requests',
        healthCheck: this.healthCheck(args, 'HTTP'),
      },
      o,
    );
    const https = new aws.lb.Listener(
      `${name}-https`,
      {
        loadBalancerArn: loadBalancer.arn,
        port: PUBLIC_PORTS.https,
        protocol: 'HTTPS',
        sslPolicy: TLS_POLICY,
        certificateArn: args.certificateArn,
        defaultActions: [{ type: 'forward', targetGroupArn: targetGroup.arn }],
      },
      o,
    );
    // The gateway serves /metrics only on its metrics port, which nothing outside the task reaches;
    // this rule answers the path at the edge as well, so an image that still serves it on the
    // public port (a prebuilt wsgw:image, say) never exposes it.
    new aws.lb.ListenerRule(
      `${name}-no-metrics`,
      {
        listenerArn: https.arn,
        priority: 1,
        conditions: [{ pathPattern: { values: [HTTP_PATHS.metrics, `${HTTP_PATHS.metrics}/*`] } }],
        actions: [
          {
            type: 'fixed-response',
            fixedResponse: { contentType: 'text/plain', messageBody: 'not found', statusCode: '404' },
          },
        ],
      },
      o,
    );
    const http = new aws.lb.Listener(
      `${name}-http`,
      {
        loadBalancerArn: loadBalancer.arn,
        port: PUBLIC_PORTS.http,
        protocol: 'HTTP',
        defaultActions: [
          {
            type: 'redirect',
            redirect: { port: String(PUBLIC_PORTS.https), protocol: 'HTTPS', statusCode: 'HTTP_301' },
          },
        ],
      },
      o,
    );
    return {
      loadBalancer,
      targetGroup,
      targets: [{ targetGroup, port: DEFAULT_PORT }],
      listeners: [https, http],
    };
  }

  /**
   * The NLB: TCP passed through to tasks that terminate TLS themselves (the ACM exportable
   * certificate they fetch), port 80 passed to the tasks' redirect listener. It carries a security
   * group, which an NLB takes only when it is created and which Global Accelerator needs to
   * preserve client addresses (AWS Global Accelerator Developer Guide, Preserve client IP
   * addresses). Cross-zone load balancing stays off: with it on, an NLB's traffic between zones is
   * billed as regional data transfer, and ECS spreads tasks evenly over the zones.
   */
  private networkLoadBalancer(name: string, args: GatewayServiceArgs): EdgeResources {
    const o = { parent: this };
    const net = args.network;
    const loadBalancer = this.internetFacing(`${name}-nlb`, args, {
      loadBalancerType: 'network',
      enableCrossZoneLoadBalancing: false,
    });
    const group = (suffix: string, port: number, healthCheck: aws.types.input.lb.TargetGroupHealthCheck) =>
      new aws.lb.TargetGroup(
        `${name}-${suffix}`,
        {
          vpcId: net.vpcId,
          port,
          protocol: 'TCP',
          targetType: 'ip',
          deregistrationDelay: args.timing.deregistrationDelayS,
          // Clients' addresses reach the gateway (Global Accelerator preserves them up to the NLB).
          preserveClientIp: 'true',
          healthCheck,
        },
        o,
      );
    // The health check speaks TLS to the traffic port; the NLB does not verify the certificate.
    const targetGroup = group('tg', DEFAULT_PORT, this.healthCheck(args, 'HTTPS'));
    const redirect = group('tg-redirect', REDIRECT_PORT, {
      protocol: 'TCP',
      port: 'traffic-port',
      interval: args.timing.healthCheck.intervalS,
      healthyThreshold: args.timing.healthCheck.healthyThreshold,
      unhealthyThreshold: args.timing.healthCheck.unhealthyThreshold,
    });
    const listener = (suffix: string, port: number, tg: aws.lb.TargetGroup) =>
      new aws.lb.Listener(
        `${name}-${suffix}`,
        {
          loadBalancerArn: loadBalancer.arn,
          port,
          protocol: 'TCP',
          // Longer than any silence of a live connection (deriveTiming), like the ALB's idle timeout.
          tcpIdleTimeoutSeconds: args.timing.lbIdleTimeoutS,
          defaultActions: [{ type: 'forward', targetGroupArn: tg.arn }],
        },
        o,
      );
    const listeners = [
      listener('https', PUBLIC_PORTS.https, targetGroup),
      listener('http', PUBLIC_PORTS.http, redirect),
    ];
    return {
      loadBalancer,
      targetGroup,
      targets: [
        { targetGroup, port: DEFAULT_PORT },
        { targetGroup: redirect, port: REDIRECT_PORT },
      ],
      listeners,
    };
  }
}

interface EdgeResources {
  readonly loadBalancer: aws.lb.LoadBalancer;
  readonly targetGroup: aws.lb.TargetGroup;
  /** Every target group the service registers its tasks in, with the container port. */
  readonly targets: readonly { readonly targetGroup: aws.lb.TargetGroup; readonly port: number }[];
  readonly listeners: readonly aws.lb.Listener[];
}
