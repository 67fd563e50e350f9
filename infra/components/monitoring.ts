import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { EMF } from '../../services/shared/src/constants.js';
import { alarmTopicKeyPolicy, alarmTopicPolicy } from '../iam.js';
import type { Edge, RedisMode } from '../stack-config.js';
import { redisNodeIds } from '../plan.js';

export interface MonitoringArgs {
  readonly region: string;
  /** ECS service name, equal to the EMF ServiceName value. */
  readonly serviceName: string;
  readonly ecsClusterName: pulumi.Input<string>;
  readonly edge: Edge;
  /** The ALB's or NLB's ARN suffix (the `LoadBalancer` dimension). */
  readonly lbArnSuffix: pulumi.Input<string>;
  readonly targetGroupArnSuffix: pulumi.Input<string>;
  /** Bus `kafka`: the MSK cluster whose consumer lag and throughput are watched. */
  readonly mskClusterName?: pulumi.Input<string>;
  /** Bus `redis`: the cache (replication group id or serverless cache name), its mode and nodes. */
  readonly cache?: {
    readonly mode: RedisMode;
    readonly id: string;
    readonly nodes: number;
    readonly maxDataGB: number;
  };
  readonly accountId: pulumi.Input<string>;
  readonly alarmEmail?: string;
}

/**
 * The alarms of a region, by the suffix of their names. An NLB answers no HTTP, so it has no 5xx to
 * count. Kafka has consumer lag; a cache has its memory and its engine's CPU (nodes) or throttled
 * commands (serverless, which scales until its ECPU limit and then throttles).
 */
export function alarmSuffixes(edge: Edge, cache?: RedisMode): readonly string[] {
  const bus =
    cache === undefined
      ? ['consumer-lag']
      : ['cache-memory', cache === 'nodes' ? 'cache-cpu' : 'cache-throttled'];
  return [edge === 'alb' ? 'alb-5xx' : 'no-healthy-targets', 'unhealthy-targets', ...bus, 'cpu'];
}

/** Thresholds, with why. */
export const ALARMS = Object.freeze({
  /** ALB-generated 5xx per minute: no healthy target, or targets refusing handshakes. */
  alb5xxPerMinute: 25,
  /** Maximum consumer time lag (s): messages older than this reach clients late enough to notice. */
  consumerLagSeconds: 30,
  /** Average service CPU (%): above the CPU guard's target, so it fires only when scaling fails to keep up. */
  cpuPercent: 85,
  /** A cache's memory (%): streams are trimmed to the history window, so growth means trimming stopped or the load outgrew the cache. */
  cacheMemoryPercent: 80,
  /** The engine thread's CPU (%) of a node: Valkey runs commands on one thread, past this latency climbs. */
  cacheEngineCpuPercent: 80,
});

/**
 * Alarms and a dashboard for one region. Alarms notify an SNS topic; `wsgw:alarmEmail` subscribes
 * an address to it.
 *
 * The topic is encrypted with a customer-managed key of its own: CloudWatch must encrypt each
 * notification it publishes, and the AWS managed key `alias/aws/sns` does not let it (that key's
 * policy cannot be changed), so alarms on such a topic fire and notify nobody. The key lets
 * CloudWatch use it for this account only; the topic's policy lets CloudWatch publish for exactly
 * this region's alarms, named after the service so their ARNs are known in advance.
 */
export class Monitoring extends pulumi.ComponentResource {
  readonly topic: aws.sns.Topic;
  readonly alarms: aws.cloudwatch.MetricAlarm[];
  readonly dashboard: aws.cloudwatch.Dashboard;

  constructor(name: string, args: MonitoringArgs, opts: pulumi.ComponentResourceOptions) {
    super('wsgw:aws:Monitoring', name, {}, opts);
    const o = { parent: this };

    const partition = aws.getPartitionOutput({}, o).partition;
    const key = new aws.kms.Key(
      `${name}-alarms`,
      {
        description: `${args.serviceName} alarm topic encryption`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: pulumi
          .all([args.accountId, partition])
          .apply(([accountId, p]) => JSON.stringify(alarmTopicKeyPolicy({ accountId, partition: p }))),
      },
      o,
    );
    this.topic = new aws.sns.Topic(`${name}-alarms`, { kmsMasterKeyId: key.arn }, o);
    const alarmName = (suffix: string) => `${args.serviceName}-${suffix}`;
    const suffixes = alarmSuffixes(args.edge, args.cache?.mode);
    new aws.sns.TopicPolicy(
      `${name}-alarms`,
      {
        arn: this.topic.arn,
        policy: pulumi.all([this.topic.arn, args.accountId, partition]).apply(([topicArn, accountId, p]) =>
          JSON.stringify(
            alarmTopicPolicy({
              topicArn,
              accountId,
              partition: p,
              alarmArns: suffixes.map(
                (x) => `arn:${p}:cloudwatch:${args.region}:${accountId}:alarm:${alarmName(x)}`,
              ),
            }),
          ),
        ),
      },
      o,
    );
    if (args.alarmEmail) {
      new aws.sns.TopicSubscription(
        `${name}-alarms-email`,
        { topic: this.topic.arn, protocol: 'email', endpoint: args.alarmEmail },
        o,
      );
    }
    const notify = { alarmActions: [this.topic.arn], okActions: [this.topic.arn] };
    const lb = { LoadBalancer: args.lbArnSuffix };
    const lbNamespace = args.edge === 'alb' ? 'AWS/ApplicationELB' : 'AWS/NetworkELB';
    // ALB: 5xx it generates itself (no healthy target, or targets refusing); NLB: no healthy target
    // at all, when Global Accelerator sends the region's clients elsewhere.
    const first =
      args.edge === 'alb'
        ? new aws.cloudwatch.MetricAlarm(
            `${name}-alb-5xx`,
            {
              name: alarmName('alb-5xx'),
              alarmDescription: `${args.serviceName}: the ALB is answering with 5xx (no healthy gateway task?)`,
              namespace: 'AWS/ApplicationELB',
              metricName: 'HTTPCode_ELB_5XX_Count',
              dimensions: lb,
              statistic: 'Sum',
              period: 60,
              evaluationPeriods: 5,
              datapointsToAlarm: 3,
              threshold: ALARMS.alb5xxPerMinute,
              comparisonOperator: 'GreaterThanThreshold',
              treatMissingData: 'notBreaching',
              ...notify,
            },
            o,
          )
        : new aws.cloudwatch.MetricAlarm(
            `${name}-no-healthy-targets`,
            {
              name: alarmName('no-healthy-targets'),
              alarmDescription: `${args.serviceName}: no gateway task passes /readyz; Global Accelerator sends this region's clients elsewhere`,
              namespace: lbNamespace,
              metricName: 'HealthyHostCount',
              dimensions: { ...lb, TargetGroup: args.targetGroupArnSuffix },
              statistic: 'Minimum',
              period: 60,
              evaluationPeriods: 5,
              datapointsToAlarm: 3,
              threshold: 1,
              comparisonOperator: 'LessThanThreshold',
              treatMissingData: 'notBreaching',
              ...notify,
            },
            o,
          );

    this.alarms = [
      first,
      new aws.cloudwatch.MetricAlarm(
        `${name}-unhealthy-targets`,
        {
          name: alarmName('unhealthy-targets'),
          alarmDescription: `${args.serviceName}: gateway tasks failing /readyz (bus path broken or tasks crashing)`,
          namespace: lbNamespace,
          metricName: 'UnHealthyHostCount',
          dimensions: { ...lb, TargetGroup: args.targetGroupArnSuffix },
          statistic: 'Maximum',
          period: 60,
          evaluationPeriods: 5,
          datapointsToAlarm: 5,
          threshold: 0,
          comparisonOperator: 'GreaterThanThreshold',
          treatMissingData: 'notBreaching',
          ...notify,
        },
        o,
      ),
      ...(args.cache
        ? this.cacheAlarms(name, args, alarmName, notify)
        : [
            // Each task consumes with its own group, so the group names are not known here; a Metrics
            // Insights query takes the worst lag over every group and topic of the cluster. No data
            // (no committed offsets) is not an alarm.
            new aws.cloudwatch.MetricAlarm(
              `${name}-consumer-lag`,
              {
                name: alarmName('consumer-lag'),
                alarmDescription: `${args.serviceName}: gateways are behind the fan-out topics by more than ${ALARMS.consumerLagSeconds} s`,
                metricQueries: [
                  {
                    id: 'lag',
                    period: 60,
                    returnData: true,
                    expression: pulumi.interpolate`SELECT MAX(EstimatedMaxTimeLag) FROM SCHEMA("AWS/Kafka", "Cluster Name", "Consumer Group", Topic) WHERE "Cluster Name" = '${args.mskClusterName}'`,
                  },
                ],
                evaluationPeriods: 5,
                datapointsToAlarm: 3,
                threshold: ALARMS.consumerLagSeconds,
                comparisonOperator: 'GreaterThanThreshold',
                treatMissingData: 'notBreaching',
                ...notify,
              },
              o,
            ),
          ]),
      new aws.cloudwatch.MetricAlarm(
        `${name}-cpu`,
        {
          name: alarmName('cpu'),
          alarmDescription: `${args.serviceName}: gateway CPU stays high although the CPU guard should have scaled out (at maxTasks?)`,
          namespace: 'AWS/ECS',
          metricName: 'CPUUtilization',
          dimensions: { ClusterName: args.ecsClusterName, ServiceName: args.serviceName },
          statistic: 'Average',
          period: 60,
          evaluationPeriods: 10,
          datapointsToAlarm: 8,
          threshold: ALARMS.cpuPercent,
          comparisonOperator: 'GreaterThanThreshold',
          treatMissingData: 'missing',
          ...notify,
        },
        o,
      ),
    ];

    const widget = (x: number, y: number, title: string, metrics: unknown[], stat = 'Average') => ({
      type: 'metric',
      x,
      y,
      width: 12,
      height: 6,
      properties: { region: args.region, title, metrics, stat, period: 60, view: 'timeSeries' },
    });
    this.dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName: args.serviceName,
        dashboardBody: pulumi
          .all([args.ecsClusterName, args.lbArnSuffix, args.targetGroupArnSuffix, args.mskClusterName ?? ''])
          .apply(([ecs, lb, tg, msk]) =>
            JSON.stringify({
              widgets: [
                widget(0, 0, 'Connections per task (the scaling metric)', [
                  [EMF.namespace, EMF.metricName, EMF.dimension, args.serviceName],
                ]),
                widget(12, 0, 'Connections, total', [
                  [EMF.namespace, EMF.metricName, EMF.dimension, args.serviceName, { stat: 'Sum' }],
                ]),
                widget(0, 6, 'Running tasks', [
                  [
                    'ECS/ContainerInsights',
                    'RunningTaskCount',
                    'ClusterName',
                    ecs,
                    'ServiceName',
                    args.serviceName,
                  ],
                ]),
                widget(12, 6, 'Task CPU / memory %', [
                  ['AWS/ECS', 'CPUUtilization', 'ClusterName', ecs, 'ServiceName', args.serviceName],
                  ['AWS/ECS', 'MemoryUtilization', 'ClusterName', ecs, 'ServiceName', args.serviceName],
                ]),
                args.edge === 'alb'
                  ? widget(
                      0,
                      12,
                      'ALB: new connections and 5xx',
                      [
                        ['AWS/ApplicationELB', 'NewConnectionCount', 'LoadBalancer', lb],
                        ['AWS/ApplicationELB', 'HTTPCode_ELB_5XX_Count', 'LoadBalancer', lb],
                        [
                          'AWS/ApplicationELB',
                          'UnHealthyHostCount',
                          'TargetGroup',
                          tg,
                          'LoadBalancer',
                          lb,
                          { stat: 'Maximum' },
                        ],
                      ],
                      'Sum',
                    )
                  : widget(
                      0,
                      12,
                      'NLB: new flows, resets and unhealthy targets',
                      [
                        ['AWS/NetworkELB', 'NewFlowCount', 'LoadBalancer', lb],
                        ['AWS/NetworkELB', 'TCP_Target_Reset_Count', 'LoadBalancer', lb],
                        [
                          'AWS/NetworkELB',
                          'UnHealthyHostCount',
                          'TargetGroup',
                          tg,
                          'LoadBalancer',
                          lb,
                          { stat: 'Maximum' },
                        ],
                      ],
                      'Sum',
                    ),
                ...(args.cache
                  ? this.cacheWidgets(widget, args.cache)
                  : [
                      widget(12, 12, 'MSK: bytes in/out per broker', [
                        [
                          {
                            expression: `SEARCH('{AWS/Kafka,"Cluster Name","Broker ID"} MetricName="BytesInPerSec" "Cluster Name"="${msk}"', 'Average', 60)`,
                            id: 'bin',
                          },
                        ],
                        [
                          {
                            expression: `SEARCH('{AWS/Kafka,"Cluster Name","Broker ID"} MetricName="BytesOutPerSec" "Cluster Name"="${msk}"', 'Average', 60)`,
                            id: 'bout',
                          },
                        ],
                      ]),
                      widget(
                        0,
                        18,
                        'Consumer time lag (s)',
                        [
                          [
                            {
                              expression: `SEARCH('{AWS/Kafka,"Cluster Name","Consumer Group",Topic} MetricName="EstimatedMaxTimeLag" "Cluster Name"="${msk}"', 'Maximum', 60)`,
                              id: 'lag',
                            },
                          ],
                        ],
                        'Maximum',
                      ),
                    ]),
              ],
            }),
          ),
      },
      o,
    );

    this.registerOutputs({ dashboardName: this.dashboard.dashboardName });
  }

  /** Bus `redis`: the cache's memory and load on the dashboard, where Kafka has throughput and lag. */
  private cacheWidgets(
    widget: (x: number, y: number, title: string, metrics: unknown[], stat?: string) => unknown,
    c: NonNullable<MonitoringArgs['cache']>,
  ): unknown[] {
    if (c.mode === 'nodes') {
      const per = (metricName: string) =>
        redisNodeIds(c.id, c.nodes).map((node) => ['AWS/ElastiCache', metricName, 'CacheClusterId', node]);
      return [
        widget(12, 12, 'Cache: memory % per node', per('DatabaseMemoryUsagePercentage'), 'Maximum'),
        widget(0, 18, 'Cache: engine CPU % per node', per('EngineCPUUtilization'), 'Maximum'),
      ];
    }
    return [
      widget(
        12,
        12,
        'Cache: bytes stored',
        [['AWS/ElastiCache', 'BytesUsedForCache', 'clusterId', c.id]],
        'Maximum',
      ),
      widget(
        0,
        18,
        'Cache: ECPUs and throttled commands',
        [
          ['AWS/ElastiCache', 'ElastiCacheProcessingUnits', 'clusterId', c.id],
          ['AWS/ElastiCache', 'ThrottledCmds', 'clusterId', c.id],
        ],
        'Sum',
      ),
    ];
  }

  /**
   * Bus `redis`: the cache's memory and load. Node metrics are per node (`CacheClusterId`), so each
   * alarm takes the worst node; a serverless cache reports under its name (`clusterId`).
   */
  private cacheAlarms(
    name: string,
    args: MonitoringArgs,
    alarmName: (suffix: string) => string,
    notify: { alarmActions: pulumi.Output<string>[]; okActions: pulumi.Output<string>[] },
  ): aws.cloudwatch.MetricAlarm[] {
    const o = { parent: this };
    const c = args.cache!;
    const common = {
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
      ...notify,
    };
    if (c.mode === 'nodes') {
      const worstNode = (metricName: string) => [
        ...redisNodeIds(c.id, c.nodes).map((node, i) => ({
          id: `n${i}`,
          returnData: false,
          metric: {
            namespace: 'AWS/ElastiCache',
            metricName,
            dimensions: { CacheClusterId: node },
            period: 60,
            stat: 'Maximum',
          },
        })),
        {
          id: 'worst',
          returnData: true,
          expression: `MAX([${redisNodeIds(c.id, c.nodes)
            .map((_, i) => `n${i}`)
            .join(', ')}])`,
        },
      ];
      return [
        new aws.cloudwatch.MetricAlarm(
          `${name}-cache-memory`,
          {
            name: alarmName('cache-memory'),
            alarmDescription: `${args.serviceName}: a cache node uses more than ${ALARMS.cacheMemoryPercent} % of its memory (streams not trimmed, or the cache is too small)`,
            metricQueries: worstNode('DatabaseMemoryUsagePercentage'),
            threshold: ALARMS.cacheMemoryPercent,
            ...common,
          },
          o,
        ),
        new aws.cloudwatch.MetricAlarm(
          `${name}-cache-cpu`,
          {
            name: alarmName('cache-cpu'),
            alarmDescription: `${args.serviceName}: a cache node's engine thread is above ${ALARMS.cacheEngineCpuPercent} % CPU (publishes and reads slow down)`,
            metricQueries: worstNode('EngineCPUUtilization'),
            threshold: ALARMS.cacheEngineCpuPercent,
            ...common,
          },
          o,
        ),
      ];
    }
    const dims = { clusterId: c.id };
    return [
      new aws.cloudwatch.MetricAlarm(
        `${name}-cache-memory`,
        {
          name: alarmName('cache-memory'),
          alarmDescription: `${args.serviceName}: the cache holds more than ${ALARMS.cacheMemoryPercent} % of its ${c.maxDataGB} GB limit`,
          namespace: 'AWS/ElastiCache',
          metricName: 'BytesUsedForCache',
          dimensions: dims,
          statistic: 'Maximum',
          period: 60,
          threshold: (c.maxDataGB * 1e9 * ALARMS.cacheMemoryPercent) / 100,
          ...common,
        },
        o,
      ),
      new aws.cloudwatch.MetricAlarm(
        `${name}-cache-throttled`,
        {
          name: alarmName('cache-throttled'),
          alarmDescription: `${args.serviceName}: the cache throttles commands (at its ECPU limit, wsgw:redis.maxEcpuPerSecond)`,
          namespace: 'AWS/ElastiCache',
          metricName: 'ThrottledCmds',
          dimensions: dims,
          statistic: 'Sum',
          period: 60,
          threshold: 0,
          ...common,
        },
        o,
      ),
    ];
  }
}
