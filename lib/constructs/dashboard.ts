/**
 * The CloudWatch dashboard ops open first: the business metrics the functions
 * emit (contract/metrics.ts, EMF in the PriorityDispatch namespace, dimension
 * `service`) and the state of every alarm of the stack.
 */
import { Duration } from 'aws-cdk-lib';
import {
  type Alarm,
  AlarmStatusWidget,
  Dashboard as CloudWatchDashboard,
  GraphWidget,
  type IAlarm,
  MathExpression,
  Metric,
  SingleValueWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, type MetricName, SERVICE_NAME } from '../../contract/metrics';

export interface DashboardProps {
  readonly dashboardName: string;
  /** Every alarm of the stack: the dashboard shows each one's state. */
  readonly alarms: readonly IAlarm[];
  /** Drawn on the push failures chart as its threshold line. */
  readonly pushFailuresAlarm: Alarm;
}

const FIVE_MINUTES = Duration.minutes(5);
/**
 * The acceptance rate's period: an offer and the favorite's accept may fall in
 * different 5-minute periods (a window lasts 10 minutes by default); an hour
 * keeps most pairs together, so the rate rarely reads above 100%.
 */
const RATE_PERIOD = Duration.hours(1);

const business = (metricName: MetricName, statistic = 'Sum', period = FIVE_MINUTES): Metric =>
  new Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: SERVICE_NAME }, statistic, period });

export class Dashboard extends Construct {
  readonly dashboard: CloudWatchDashboard;

  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    const favoriteAcceptanceRate = new MathExpression({
      expression: '100 * favoriteAccepted / offersSent',
      usingMetrics: { favoriteAccepted: business('FavoriteAccepted', 'Sum', RATE_PERIOD), offersSent: business('OffersSent', 'Sum', RATE_PERIOD) },
      label: 'Favorite acceptance rate (%)',
      period: RATE_PERIOD,
    });

    this.dashboard = new CloudWatchDashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.days(1),
      widgets: [
        [
          new SingleValueWidget({
            title: 'Over the time range',
            metrics: (['BookingsCreated', 'OffersSent', 'OffersAccepted', 'FavoriteAccepted', 'FallbacksFired', 'RequestsExpired'] as const).map((name) =>
              business(name),
            ),
            setPeriodToTimeRange: true,
            width: 24,
          }),
        ],
        [
          new GraphWidget({
            title: 'Bookings, priority offers sent, accepted (any win) and won by the favorite',
            left: [business('BookingsCreated'), business('OffersSent'), business('OffersAccepted'), business('FavoriteAccepted')],
            width: 12,
          }),
          new GraphWidget({
            title: 'Favorite acceptance rate: favorite wins / priority offers sent, per hour',
            left: [favoriteAcceptanceRate],
            leftYAxis: { min: 0, max: 100, label: '%', showUnits: false },
            width: 12,
          }),
        ],
        [
          new GraphWidget({
            title: 'Fallbacks to everyone and expired requests',
            left: [business('FallbacksFired'), business('RequestsExpired')],
            width: 8,
          }),
          new GraphWidget({
            title: 'Time to match: routing start to the win (ms)',
            left: [business('TimeToMatchMs', 'p50'), business('TimeToMatchMs', 'p90'), business('TimeToMatchMs', 'Maximum')],
            width: 8,
          }),
          new GraphWidget({
            title: 'Push failures (alarm line) and stale connections pruned',
            left: [business('PushFailures'), business('StaleConnectionsPruned')],
            leftAnnotations: [props.pushFailuresAlarm.toAnnotation()],
            width: 8,
          }),
        ],
        [new AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: 24 })],
      ],
    });
  }
}
