import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { EMF } from '../../services/shared/src/constants.js';

export interface MonitoringArgs {
  readonly region: string;
  /** ECS service name, equal to the EMF ServiceName value. */
  readonly serviceName: string;
  readonly ecsClusterName: pulumi.Input<string>;
  readonly albArnSuffix: pulumi.Input<string>;
  readonly targetGroupArnSuffix: pulumi.Input<string>;
  readonly mskClusterName: pulumi.Input<string>;
  readonly alarmEmail?: string;
}

/** Thresholds, with why. */
export const ALARMS = Object.freeze({
  /** ALB-generated 5xx per minute: no healthy target, or targets refusing handshakes. */
  alb5xxPerMinute: 25,
  /** Maximum consumer time lag (s): messages older than this reach clients late enough to notice. */
  consumerLagSeconds: 30,
  /** Average service CPU (%): above the CPU guard's target, so it fires only when scaling fails to keep up. */
  cpuPercent: 85,
});

/**
 * Alarms and a dashboard for one region. Alarms notify an SNS topic (encrypted with the AWS
 * managed key); `wsgw:alarmEmail` subscribes an address to it.
 */
export class Monitoring extends pulumi.ComponentResource {
  readonly topic: aws.sns.Topic;
  readonly alarms: aws.cloudwatch.MetricAlarm[];
  readonly dashboard: aws.cloudwatch.Dashboard;

  constructor(name: string, args: MonitoringArgs, opts: pulumi.ComponentResourceOptions) {
    super('wsgw:aws:Monitoring', name, {}, opts);
    const o = { parent: this };

    this.topic = new aws.sns.Topic(`${name}-alarms`, { kmsMasterKeyId: 'alias/aws/sns' }, o);
    if (args.alarmEmail) {
      new aws.sns.TopicSubscription(`${name}-alarms-email`, { topic: this.topic.arn, protocol: 'email', endpoint: args.alarmEmail }, o);
    }
    const notify = { alarmActions: [this.topic.arn], okActions: [this.topic.arn] };
    const alb = { LoadBalancer: args.albArnSuffix };

    this.alarms = [
      new aws.cloudwatch.MetricAlarm(
        `${name}-alb-5xx`,
        {
          alarmDescription: `${args.serviceName}: the ALB is answering with 5xx (no healthy gateway task?)`,
          namespace: 'AWS/ApplicationELB',
          metricName: 'HTTPCode_ELB_5XX_Count',
          dimensions: alb,
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
      ),
      new aws.cloudwatch.MetricAlarm(
        `${name}-unhealthy-targets`,
        {
          alarmDescription: `${args.serviceName}: gateway tasks failing /readyz (bus path broken or tasks crashing)`,
          namespace: 'AWS/ApplicationELB',
          metricName: 'UnHealthyHostCount',
          dimensions: { ...alb, TargetGroup: args.targetGroupArnSuffix },
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
      // Each task consumes with its own group, so the group names are not known here; a Metrics
      // Insights query takes the worst lag over every group and topic of the cluster. No data
      // (no committed offsets) is not an alarm.
      new aws.cloudwatch.MetricAlarm(
        `${name}-consumer-lag`,
        {
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
      new aws.cloudwatch.MetricAlarm(
        `${name}-cpu`,
        {
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
          .all([args.ecsClusterName, args.albArnSuffix, args.targetGroupArnSuffix, args.mskClusterName])
          .apply(([ecs, lb, tg, msk]) =>
            JSON.stringify({
              widgets: [
                widget(0, 0, 'Connections per task (the scaling metric)', [[EMF.namespace, EMF.metricName, EMF.dimension, args.serviceName]]),
                widget(12, 0, 'Connections, total', [[EMF.namespace, EMF.metricName, EMF.dimension, args.serviceName, { stat: 'Sum' }]]),
                widget(0, 6, 'Running tasks', [['ECS/ContainerInsights', 'RunningTaskCount', 'ClusterName', ecs, 'ServiceName', args.serviceName]]),
                widget(12, 6, 'Task CPU / memory %', [
                  ['AWS/ECS', 'CPUUtilization', 'ClusterName', ecs, 'ServiceName', args.serviceName],
                  ['AWS/ECS', 'MemoryUtilization', 'ClusterName', ecs, 'ServiceName', args.serviceName],
                ]),
                widget(0, 12, 'ALB: new connections and 5xx', [
                  ['AWS/ApplicationELB', 'NewConnectionCount', 'LoadBalancer', lb],
                  ['AWS/ApplicationELB', 'HTTPCode_ELB_5XX_Count', 'LoadBalancer', lb],
                  ['AWS/ApplicationELB', 'UnHealthyHostCount', 'TargetGroup', tg, 'LoadBalancer', lb, { stat: 'Maximum' }],
                ], 'Sum'),
                widget(12, 12, 'MSK: bytes in/out per broker', [
                  [{ expression: `SEARCH('{AWS/Kafka,"Cluster Name","Broker ID"} MetricName="BytesInPerSec" "Cluster Name"="${msk}"', 'Average', 60)`, id: 'bin' }],
                  [{ expression: `SEARCH('{AWS/Kafka,"Cluster Name","Broker ID"} MetricName="BytesOutPerSec" "Cluster Name"="${msk}"', 'Average', 60)`, id: 'bout' }],
                ]),
                widget(0, 18, 'Consumer time lag (s)', [
                  [{ expression: `SEARCH('{AWS/Kafka,"Cluster Name","Consumer Group",Topic} MetricName="EstimatedMaxTimeLag" "Cluster Name"="${msk}"', 'Maximum', 60)`, id: 'lag' }],
                ], 'Maximum'),
              ],
            }),
          ),
      },
      o,
    );

    this.registerOutputs({ dashboardName: this.dashboard.dashboardName });
  }
}
