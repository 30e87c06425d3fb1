/**
 * The sandbox's CloudWatch metrics: the samples extracted from the functions'
 * EMF lines (sandbox/emf.ts) and the statistics GetMetricData computes from
 * them. Kept in memory for the sandbox's life and never written to the data
 * dir: metrics are observability, not business state, and a restarted
 * sandbox starting with an empty chart loses nothing a booking needs.
 *
 * As CloudWatch stores them: a sample's time is cut to its storage resolution
 * (the minute, or the second for StorageResolution 1), so a standard metric
 * asked for at a 10-second period still shows one datapoint a minute; the
 * sandbox keeps 15 days (CloudWatch keeps one-minute data that long) and at
 * most `maxSamplesPerMetric` samples of each metric.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Metric
 */
import type { Dimension, MetricSamples } from './emf';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** How long CloudWatch keeps one-minute datapoints (and high-resolution ones: 3 hours). */
const RETENTION_MS = 15 * DAY_MS;
const HIGH_RESOLUTION_RETENTION_MS = 3 * HOUR_MS;

export interface MetricIdentity {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: readonly Dimension[];
}

interface Sample {
  /** Epoch ms, cut to the storage resolution. */
  readonly at: number;
  readonly value: number;
  readonly unit: string;
}

interface StoredMetric {
  readonly identity: MetricIdentity;
  readonly samples: Sample[];
  /** Epoch ms of the newest sample (ListMetrics' RecentlyActive). */
  lastAt: number;
}

/** What one MetricStat asks for, validated (sandbox/cloudwatch.ts). */
export interface StatQuery {
  readonly identity: MetricIdentity;
  /** Seconds. */
  readonly period: number;
  readonly stat: Statistic;
  readonly unit?: string;
  /** Epoch ms, StartTime inclusive and EndTime exclusive, as the caller sent them. */
  readonly start: number;
  readonly end: number;
}

export type Statistic =
  | { readonly kind: 'SampleCount' | 'Sum' | 'Average' | 'Minimum' | 'Maximum' }
  | { readonly kind: 'percentile'; readonly percent: number };

export interface Datapoint {
  /** Epoch ms: the start of its period. */
  readonly timestamp: number;
  readonly value: number;
}

export class MetricStore {
  private readonly metrics = new Map<string, StoredMetric>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxSamplesPerMetric = 200_000,
  ) {}

  add(samples: MetricSamples): void {
    const key = identityKey(samples);
    let metric = this.metrics.get(key);
    if (!metric) {
      metric = { identity: { namespace: samples.namespace, name: samples.name, dimensions: samples.dimensions }, samples: [], lastAt: 0 };
      this.metrics.set(key, metric);
    }
    const at = samples.timestamp - (samples.timestamp % (samples.storageResolution * 1000));
    for (const value of samples.values) metric.samples.push({ at, value, unit: samples.unit });
    metric.lastAt = Math.max(metric.lastAt, samples.timestamp);
    this.forgetOld(metric);
  }

  /** Every metric with data kept (first seen first); `activeWithinMs` keeps those with a sample that recent. */
  list(activeWithinMs = RETENTION_MS): MetricIdentity[] {
    const since = this.now() - Math.min(activeWithinMs, RETENTION_MS);
    return [...this.metrics.values()].filter((m) => m.lastAt >= since).map((m) => m.identity);
  }

  /** The query's datapoints, oldest first (only periods that have samples, as CloudWatch answers). */
  datapoints(query: StatQuery): Datapoint[] {
    const metric = this.metrics.get(identityKey(query.identity));
    if (!metric) return [];
    const now = this.now();
    const start = alignedStart(query.start, query.period, now);
    // Sub-minute datapoints are kept 3 hours: older ranges need a period of a whole number of minutes, or get nothing.
    if (query.period % 60 !== 0 && start < now - HIGH_RESOLUTION_RETENTION_MS) return [];
    const from = Math.max(start, now - RETENTION_MS);
    const periods = new Map<number, number[]>();
    for (const sample of metric.samples) {
      if (sample.at < from || sample.at >= query.end || (query.unit !== undefined && sample.unit !== query.unit)) continue;
      const periodStart = start + Math.floor((sample.at - start) / (query.period * 1000)) * query.period * 1000;
      const values = periods.get(periodStart);
      if (values) values.push(sample.value);
      else periods.set(periodStart, [sample.value]);
    }
    return [...periods].sort(([a], [b]) => a - b).map(([timestamp, values]) => ({ timestamp, value: statistic(values, query.stat) }));
  }

  private forgetOld(metric: StoredMetric): void {
    const cutoff = this.now() - RETENTION_MS;
    let drop = Math.max(0, metric.samples.length - this.maxSamplesPerMetric);
    while (drop < metric.samples.length && metric.samples[drop]!.at < cutoff) drop++;
    if (drop > 0) metric.samples.splice(0, drop);
  }
}

const identityKey = (identity: MetricIdentity): string =>
  JSON.stringify([identity.namespace, identity.name, ...identity.dimensions.map((d) => [d.Name, d.Value])]);

/**
 * Where the first period starts, as GetMetricData rounds StartTime: down to the period for 5, 10, 20 and 30 s
 * (even divisions of a minute, and of a second for 1 s); otherwise down to the minute when StartTime is less than
 * 15 days ago, to 5 minutes up to 63 days ago, to the hour before that (GetMetricData's StartTime).
 */
export function alignedStart(startMs: number, periodSeconds: number, nowMs: number): number {
  const floorTo = (unitMs: number) => startMs - (((startMs % unitMs) + unitMs) % unitMs);
  if (periodSeconds < 60) return floorTo(periodSeconds * 1000);
  const age = nowMs - startMs;
  if (age < 15 * DAY_MS) return floorTo(MINUTE_MS);
  if (age < 63 * DAY_MS) return floorTo(5 * MINUTE_MS);
  return floorTo(HOUR_MS);
}

/**
 * One period's statistic. Percentiles are nearest-rank on the raw samples (the value below which `percent` % of
 * them lie), which is what CloudWatch computes for metrics it holds unaggregated (EMF's values are).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Percentiles
 */
export function statistic(values: readonly number[], stat: Statistic): number {
  switch (stat.kind) {
    case 'SampleCount':
      return values.length;
    case 'Sum':
      return values.reduce((sum, value) => sum + value, 0);
    case 'Average':
      return values.reduce((sum, value) => sum + value, 0) / values.length;
    case 'Minimum':
      return values.reduce((min, value) => Math.min(min, value));
    case 'Maximum':
      return values.reduce((max, value) => Math.max(max, value));
    case 'percentile': {
      const sorted = [...values].sort((a, b) => a - b);
      const rank = Math.ceil((stat.percent / 100) * sorted.length);
      return sorted[Math.max(0, rank - 1)]!;
    }
  }
}
