/**
 * `<pd-metrics-chart>`: the business metrics of the last half hour, per
 * minute, in the ops view. It reads them as the CloudWatch console and
 * `aws cloudwatch get-metric-data` do: GetMetricData through the AWS SDK,
 * signed with SigV4 against the AWS endpoint (console/ops-aws.ts; the sandbox's, which extracts
 * them from the functions' Embedded Metric Format lines as CloudWatch does),
 * every 10 seconds. Plain SVG; the latest minute and the window's totals are
 * also written out as numbers.
 */
import { CloudWatchClient, GetMetricDataCommand, type MetricDataQuery, type MetricDataResult } from '@aws-sdk/client-cloudwatch';
import { METRICS_NAMESPACE, type MetricName, SERVICE_NAME } from '../contract/metrics';
import { h } from './dom';
import { CHART_METRICS, type ChartWindow, chartWindow, formatDuration, perMinute, WINDOW_MINUTES, yScale } from './metrics-series';
import { awsClientConfig } from './ops-aws';

const REFRESH_EVERY_MS = 10_000;
/** The SVG's own coordinates, about the panel's width so its text keeps its size; it scales to the panel. */
const WIDTH = 600;
const HEIGHT = 220;
/** Room for the counts on the left and for half the last time label on the right. */
const PLOT = { left: 36, right: WIDTH - 32, top: 12, bottom: HEIGHT - 28 };
const SVG_NS = 'http://www.w3.org/2000/svg';
const TIME = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

const metricStat = (id: string, name: MetricName, stat: string, period: number): MetricDataQuery => ({
  Id: id,
  MetricStat: {
    Metric: { Namespace: METRICS_NAMESPACE, MetricName: name, Dimensions: [{ Name: 'service', Value: SERVICE_NAME }] },
    Period: period,
    Stat: stat,
  },
});

export class MetricsChart extends HTMLElement {
  private readonly cloudwatch = new CloudWatchClient(awsClientConfig);
  private readonly chart = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: 'img',
    'aria-label': 'Business metrics per minute',
    'data-testid': 'metrics-svg',
  });
  private readonly legend = h('tbody');
  private readonly timeToMatch = h('strong', { 'data-testid': 'metrics-time-to-match-p50' }, '…');
  private readonly updated = h('span', { class: 'muted', 'data-testid': 'metrics-updated' });
  private readonly error = h('p', { class: 'error', 'data-testid': 'metrics-error' });
  private refresher: ReturnType<typeof setInterval> | undefined;
  private reading = false;

  connectedCallback(): void {
    this.replaceChildren(
      h('h2', {}, `Business metrics, per minute, last ${WINDOW_MINUTES} minutes `, this.updated),
      h('p', { class: 'muted' }, `CloudWatch GetMetricData: ${METRICS_NAMESPACE} namespace, service = ${SERVICE_NAME}, Sum per 60 s.`),
      this.chart,
      h(
        'table',
        { class: 'legend' },
        h('thead', {}, h('tr', {}, h('th', {}, 'metric'), h('th', {}, 'this minute'), h('th', {}, `last ${WINDOW_MINUTES} min`))),
        this.legend,
      ),
      h('p', {}, 'Time to match (routing start to the win), median over the window: ', this.timeToMatch),
      this.error,
    );
    void this.refresh();
    this.refresher = setInterval(() => void this.refresh(), REFRESH_EVERY_MS);
  }

  disconnectedCallback(): void {
    clearInterval(this.refresher);
  }

  private async refresh(): Promise<void> {
    // A slow answer is not overtaken by the next poll's.
    if (this.reading) return;
    this.reading = true;
    try {
      const window = chartWindow(Date.now());
      const { MetricDataResults = [] } = await this.cloudwatch.send(
        new GetMetricDataCommand({
          MetricDataQueries: [
            ...CHART_METRICS.map((metric, i) => metricStat(`m${i}`, metric.name, 'Sum', 60)),
            // One period over the whole window: the median of every match in it.
            metricStat('ttm', 'TimeToMatchMs', 'p50', WINDOW_MINUTES * 60),
          ],
          StartTime: new Date(window.start),
          EndTime: new Date(window.end),
          ScanBy: 'TimestampAscending',
        }),
      );
      const byId = new Map(MetricDataResults.map((result) => [result.Id, result]));
      const series = CHART_METRICS.map((_, i) => seriesOf(window, byId.get(`m${i}`)));
      this.draw(window, series);
      this.writeLegend(series);
      const median = byId.get('ttm')?.Values?.[0];
      this.timeToMatch.textContent = median === undefined ? 'no match yet' : formatDuration(median);
      this.updated.textContent = `· updated ${new Date().toLocaleTimeString()}`;
      this.error.textContent = '';
    } catch (error) {
      this.error.textContent = (error as Error).message;
    } finally {
      this.reading = false;
    }
  }

  private draw(window: ChartWindow, series: number[][]): void {
    const { top, ticks } = yScale(Math.max(...series.flat()));
    const x = (index: number) => PLOT.left + (index / (WINDOW_MINUTES - 1)) * (PLOT.right - PLOT.left);
    const y = (value: number) => PLOT.bottom - (value / top) * (PLOT.bottom - PLOT.top);
    const gridLines = ticks.map((tick) =>
      svg(
        'g',
        { class: 'tick' },
        svg('line', { x1: PLOT.left, x2: PLOT.right, y1: y(tick), y2: y(tick), stroke: '#d9e2ec' }),
        svg('text', { x: PLOT.left - 6, y: y(tick) + 4, 'text-anchor': 'end', 'font-size': 12, fill: '#627d98' }, String(tick)),
      ),
    );
    // A time label every 5 minutes, and the minute under way.
    const timeLabels = window.minutes
      .map((minute, index) => ({ minute, index }))
      .filter(({ index }) => index % 5 === (WINDOW_MINUTES - 1) % 5)
      .map(({ minute, index }) =>
        svg('text', { x: x(index), y: HEIGHT - 8, 'text-anchor': 'middle', 'font-size': 12, fill: '#627d98' }, TIME.format(new Date(minute))),
      );
    const lines = CHART_METRICS.map((metric, i) =>
      svg(
        'polyline',
        {
          points: series[i]!.map((value, index) => `${x(index).toFixed(1)},${y(value).toFixed(1)}`).join(' '),
          fill: 'none',
          stroke: metric.color,
          'stroke-width': 2,
          'stroke-linejoin': 'round',
          'data-metric': metric.name,
        },
        svg('title', {}, metric.label),
      ),
    );
    // A dot on each minute that counted something, smaller for each later metric: equal values stay visible as rings.
    const dots = CHART_METRICS.flatMap((metric, i) =>
      series[i]!.flatMap((value, index) =>
        value > 0 ? [svg('circle', { cx: x(index), cy: y(value), r: 5 - i * 0.7, fill: metric.color }, svg('title', {}, `${metric.label}: ${value}`))] : [],
      ),
    );
    this.chart.replaceChildren(...gridLines, ...timeLabels, ...lines, ...dots);
  }

  private writeLegend(series: number[][]): void {
    this.legend.replaceChildren(
      ...CHART_METRICS.map((metric, i) => {
        const values = series[i]!;
        return h(
          'tr',
          { 'data-metric': metric.name },
          h('td', {}, h('span', { class: 'swatch', style: `background:${metric.color}` }), metric.label),
          h('td', { 'data-testid': `metrics-latest-${metric.name}` }, String(values.at(-1) ?? 0)),
          h('td', { 'data-testid': `metrics-total-${metric.name}` }, String(values.reduce((sum, value) => sum + value, 0))),
        );
      }),
    );
  }
}

const seriesOf = (window: ChartWindow, result: MetricDataResult | undefined): number[] => perMinute(window, result?.Timestamps ?? [], result?.Values ?? []);

/** An SVG element (`h` builds HTML ones): attributes and children. */
function svg(tag: string, attributes: Record<string, string | number>, ...children: (Node | string)[]): SVGElement {
  const element = document.createElementNS(SVG_NS, tag) as SVGElement;
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}
