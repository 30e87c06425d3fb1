/**
 * Business metrics as CloudWatch Embedded Metric Format fields: a log line
 * carrying them is also a metric (no PutMetricData call, no extra latency).
 * Use cases add them to the log line that reports the same event.
 */

export const METRICS_NAMESPACE = 'PriorityDispatch';
/** The `service` field of every log line, and so the metrics' one dimension. */
export const SERVICE_NAME = 'priority-dispatch';

export type MetricName = 'OffersSent' | 'OffersAccepted' | 'FallbacksFired' | 'BroadcastsDelivered' | 'StaleConnectionsPruned' | 'PushFailures';

export function metrics(values: Partial<Record<MetricName, number>>, at: Date): Record<string, unknown> {
  const names = Object.keys(values) as MetricName[];
  return {
    _aws: {
      Timestamp: at.getTime(),
      // `service` is on every log line (lambdas/wiring.ts): one dimension keeps the metrics cheap to query and alarm on.
      CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [['service']], Metrics: names.map((Name) => ({ Name, Unit: 'Count' })) }],
    },
    ...values,
  };
}
