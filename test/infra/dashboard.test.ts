/**
 * The dashboard (issue #11 item 4): bookings, offers sent and accepted, the
 * favorite acceptance rate, fallbacks, expiries, time to match, push failures,
 * and the state of every alarm the stack has.
 */
import { describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE, type MetricName } from '../../contract/metrics';
import { dashboardName } from '../../contract/naming';
import { buildStack } from './synth-helpers';

const { template } = buildStack({ stage: 'prod' });

interface Widget {
  type: string;
  properties: { title: string; view?: string; metrics?: unknown[][]; alarms?: string[] };
}

/** The DashboardBody is a Fn::Join of JSON text and references: references become `<LogicalId.Arn>` / `<Ref>`, then it parses. */
function dashboardBody(): { widgets: Widget[] } {
  const [dashboard, ...more] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(more).toEqual([]);
  const [, parts] = dashboard!.Properties.DashboardBody['Fn::Join'] as [string, unknown[]];
  const text = parts
    .map((part) => {
      if (typeof part === 'string') return part;
      const reference = part as { 'Fn::GetAtt'?: [string, string]; Ref?: string };
      if (reference['Fn::GetAtt']) return `<${reference['Fn::GetAtt'].join('.')}>`;
      if (reference.Ref) return `<${reference.Ref}>`;
      throw new Error(`unexpected part ${JSON.stringify(part)}`);
    })
    .join('');
  return JSON.parse(text);
}

const widgets = dashboardBody().widgets;
/** The metric names a widget charts, each as `name stat` (`expression` for a math expression). */
const chartedIn = (widget: Widget): string[] =>
  (widget.properties.metrics ?? []).map((row) => {
    const options = row.at(-1) as { stat?: string; expression?: string };
    if (options.expression) return `expression ${options.expression}`;
    expect(row[0]).toBe(METRICS_NAMESPACE);
    expect(row.slice(2, 4)).toEqual(['service', 'priority-dispatch']);
    return `${row[1]} ${options.stat}`;
  });
const widgetCharting = (metric: string): Widget | undefined => widgets.find((w) => chartedIn(w).some((m) => m.startsWith(metric)));

describe('dashboard', () => {
  it('is named after the stage, and its URL is an output', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: dashboardName('prod') });
    expect(JSON.stringify(template.findOutputs('DashboardUrl'))).toContain('#dashboards:name=PriorityDispatch-prod');
  });

  it.each<[string, MetricName, string]>([
    ['bookings', 'BookingsCreated', 'Sum'],
    ['offers sent', 'OffersSent', 'Sum'],
    ['offers accepted', 'OffersAccepted', 'Sum'],
    ['fallbacks', 'FallbacksFired', 'Sum'],
    ['expiries', 'RequestsExpired', 'Sum'],
    ['push failures', 'PushFailures', 'Sum'],
    ['time to match', 'TimeToMatchMs', 'p50'],
    ['time to match', 'TimeToMatchMs', 'p90'],
  ])('charts %s (%s, %s)', (_what, metric, stat) => {
    expect(widgets.some((w) => w.properties.view === 'timeSeries' && chartedIn(w).includes(`${metric} ${stat}`))).toBe(true);
  });

  it('charts the favorite acceptance rate as favorite wins over priority offers sent, in percent', () => {
    const rate = widgetCharting('expression');
    expect(rate?.properties.metrics).toEqual([
      [expect.objectContaining({ expression: '100 * favoriteAccepted / offersSent', period: 3600 })],
      [METRICS_NAMESPACE, 'FavoriteAccepted', 'service', 'priority-dispatch', expect.objectContaining({ id: 'favoriteAccepted', stat: 'Sum', period: 3600 })],
      [METRICS_NAMESPACE, 'OffersSent', 'service', 'priority-dispatch', expect.objectContaining({ id: 'offersSent', stat: 'Sum', period: 3600 })],
    ]);
  });

  it('shows the state of every alarm of the stack', () => {
    const alarmWidgets = widgets.filter((w) => w.type === 'alarm');
    expect(alarmWidgets).toHaveLength(1);
    const alarms = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
    // Per-handler errors, timer and fan-out errors, push failures, the DLQ: more than a handful, so a missing one shows.
    expect(alarms.length).toBeGreaterThan(10);
    expect(alarmWidgets[0]!.properties.alarms!.sort()).toEqual(alarms.map((id) => `<${id}.Arn>`).sort());
  });
});
