/**
 * CloudWatch Embedded Metric Format: one JSON line on stdout per interval carrying
 * `ActiveConnections` with the single dimension `ServiceName`. The awslogs driver ships stdout to
 * CloudWatch Logs, which extracts the metric; ECS target tracking then follows its Average, i.e.
 * connections per task. Any other dimension (a task id, say) would split the series and the
 * policy could no longer aggregate it.
 */
import { EMF } from '../../shared/src/constants.js';

export function emfLine(
  serviceName: string,
  activeConnections: number,
  extra: Record<string, string | number> = {},
  now = Date.now(),
): string {
  return JSON.stringify({
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [
        {
          Namespace: EMF.namespace,
          Dimensions: [[EMF.dimension]],
          Metrics: [{ Name: EMF.metricName, Unit: EMF.unit, StorageResolution: 60 }],
        },
      ],
    },
    ...extra,
    [EMF.dimension]: serviceName,
    [EMF.metricName]: activeConnections,
  });
}
