/**
 * The business metrics: names the functions emit (as CloudWatch Embedded
 * Metric Format, through Powertools Metrics) and the stack alarms and charts on.
 */

export const METRICS_NAMESPACE = 'PriorityDispatch';
/** The `service` of every log line and the metrics' one dimension (POWERTOOLS_SERVICE_NAME). */
export const SERVICE_NAME = 'priority-dispatch';

export const METRIC_NAMES = [
  'OffersSent',
  'OffersAccepted',
  'FallbacksFired',
  'BroadcastsDelivered',
  'StaleConnectionsPruned',
  'PushFailures',
  'RequestsExpired',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];
