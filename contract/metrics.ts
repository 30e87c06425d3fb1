/**
 * The business metrics: names the functions emit (as CloudWatch Embedded
 * Metric Format, through Powertools Metrics) and the stack alarms and charts on.
 */

export const METRICS_NAMESPACE = 'PriorityDispatch';
/** The `service` of every log line and the metrics' one dimension (POWERTOOLS_SERVICE_NAME). */
export const SERVICE_NAME = 'priority-dispatch';

export const METRIC_NAMES = [
  /** A booking stored at intake (paid ones too, before their checkout); a retried intake counts nothing. */
  'BookingsCreated',
  /** A priority offer pushed to a favorite (each favorite in order counts one). */
  'OffersSent',
  /** Any win: the favorite's, a workshop mechanic's or anyone's once open. */
  'OffersAccepted',
  /** A win by the favorite holding the window: with OffersSent, the favorite acceptance rate. */
  'FavoriteAccepted',
  /** Milliseconds from the routing's start (intake, or checkout for a paid booking) to the win. */
  'TimeToMatchMs',
  'FallbacksFired',
  'BroadcastsDelivered',
  'StaleConnectionsPruned',
  'PushFailures',
  'RequestsExpired',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];
