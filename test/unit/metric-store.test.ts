/**
 * How the sandbox's CloudWatch turns samples into GetMetricData datapoints
 * (sandbox/metric-store.ts), on an injected clock: periods from the rounded
 * StartTime, samples cut to their storage resolution, the statistics, and
 * what is forgotten (15 days; sub-minute periods only for the last 3 hours).
 */
import { describe, expect, it } from 'vitest';
import type { MetricSamples } from '../../sandbox/emf';
import { alignedStart, MetricStore, type StatQuery, type Statistic, statistic } from '../../sandbox/metric-store';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 10, 27, 12, 32, 34);
const identity = { namespace: 'PriorityDispatch', name: 'BookingsCreated', dimensions: [{ Name: 'service', Value: 'priority-dispatch' }] };

const samples = (timestamp: number, values: number[], overrides: Partial<MetricSamples> = {}): MetricSamples => ({
  ...identity,
  unit: 'Count',
  storageResolution: 60,
  timestamp,
  values,
  ...overrides,
});

const query = (overrides: Partial<StatQuery> = {}): StatQuery => ({
  identity,
  period: 60,
  stat: { kind: 'Sum' },
  start: NOW - 10 * MINUTE,
  end: NOW + MINUTE,
  ...overrides,
});

describe('alignedStart', () => {
  it.each([
    ['a minute period, less than 15 days ago: down to the minute', NOW - HOUR, 60, Date.UTC(2026, 10, 27, 11, 32)],
    ['a 5-minute period: still down to the minute, not to 5 minutes', NOW - HOUR, 300, Date.UTC(2026, 10, 27, 11, 32)],
    ['20 days ago: down to 5 minutes', NOW - 20 * DAY, 300, Date.UTC(2026, 10, 7, 12, 30)],
    ['70 days ago: down to the hour', NOW - 70 * DAY, 3600, Date.UTC(2026, 8, 18, 12)],
    ['a 10-second period: down to the 10 seconds', NOW - MINUTE, 10, Date.UTC(2026, 10, 27, 12, 31, 30)],
    ['a 5-second period', Date.UTC(2026, 10, 27, 12, 2, 17), 5, Date.UTC(2026, 10, 27, 12, 2, 15)],
  ])('rounds StartTime with %s', (_case, start, period, expected) => {
    expect(alignedStart(start, period, NOW)).toBe(expected);
  });
});

describe('statistic', () => {
  const values = [3, 1, 4, 1, 5, 9, 2, 6];
  it.each<[Statistic, number]>([
    [{ kind: 'SampleCount' }, 8],
    [{ kind: 'Sum' }, 31],
    [{ kind: 'Average' }, 31 / 8],
    [{ kind: 'Minimum' }, 1],
    [{ kind: 'Maximum' }, 9],
    [{ kind: 'percentile', percent: 50 }, 3],
    [{ kind: 'percentile', percent: 90 }, 9],
    [{ kind: 'percentile', percent: 12.5 }, 1],
    [{ kind: 'percentile', percent: 0 }, 1],
    [{ kind: 'percentile', percent: 100 }, 9],
  ])('%o of 3 1 4 1 5 9 2 6 is %d', (stat, expected) => {
    expect(statistic(values, stat)).toBe(expected);
  });

  it('takes the minimum and maximum of more samples than a function has arguments', () => {
    const many = Array.from({ length: 300_000 }, (_, i) => i);

    expect([statistic(many, { kind: 'Minimum' }), statistic(many, { kind: 'Maximum' })]).toEqual([0, 299_999]);
  });
});

describe('MetricStore', () => {
  it('answers one datapoint per period that has samples, from the rounded start, oldest first', () => {
    // Arrange: periods of 5 minutes from 12:22 (the start 12:22:34 rounded down to its minute)
    const store = new MetricStore(() => NOW);
    store.add(samples(Date.UTC(2026, 10, 27, 12, 22, 0), [1]));
    store.add(samples(Date.UTC(2026, 10, 27, 12, 26, 59), [1, 1]));
    store.add(samples(Date.UTC(2026, 10, 27, 12, 32, 10), [4]));

    // Act
    const points = store.datapoints(query({ period: 300, start: NOW - 10 * MINUTE }));

    // Assert: 12:22–12:27 holds three, 12:27–12:32 none (left out), 12:32–12:37 four
    expect(points).toEqual([
      { timestamp: Date.UTC(2026, 10, 27, 12, 22), value: 3 },
      { timestamp: Date.UTC(2026, 10, 27, 12, 32), value: 4 },
    ]);
  });

  it('keeps StartTime inclusive and EndTime exclusive, on times cut to the minute', () => {
    const store = new MetricStore(() => NOW);
    store.add(samples(Date.UTC(2026, 10, 27, 12, 20, 45), [1]));
    store.add(samples(Date.UTC(2026, 10, 27, 12, 30, 5), [1]));

    const points = store.datapoints(query({ start: Date.UTC(2026, 10, 27, 12, 20), end: Date.UTC(2026, 10, 27, 12, 30) }));

    expect(points).toEqual([{ timestamp: Date.UTC(2026, 10, 27, 12, 20), value: 1 }]);
  });

  it('filters by unit when asked, and keeps metrics apart by their dimensions', () => {
    const store = new MetricStore(() => NOW);
    store.add(samples(NOW - MINUTE, [7], { unit: 'Milliseconds' }));
    store.add(samples(NOW - MINUTE, [1], { dimensions: [] }));

    expect(store.datapoints(query({ unit: 'Count' }))).toEqual([]);
    expect(store.datapoints(query({ unit: 'Milliseconds' })).map((p) => p.value)).toEqual([7]);
    expect(store.datapoints(query({ identity: { ...identity, dimensions: [] } })).map((p) => p.value)).toEqual([1]);
  });

  it('answers a sub-minute period for the last 3 hours only, and forgets everything after 15 days', () => {
    let now = NOW;
    const store = new MetricStore(() => now);
    store.add(samples(NOW - 4 * HOUR, [1], { storageResolution: 1 }));
    store.add(samples(NOW - 14 * DAY, [2], { storageResolution: 1 }));

    const sinceFourHours = query({ period: 1, start: NOW - 5 * HOUR });
    expect(store.datapoints(sinceFourHours)).toEqual([]);
    expect(store.datapoints({ ...sinceFourHours, period: 60 }).map((p) => p.value)).toEqual([1]);

    now = NOW + 2 * DAY;
    store.add(samples(now, [3]));
    expect(store.datapoints(query({ start: NOW - 20 * DAY, end: now + MINUTE, period: 3600 })).map((p) => p.value)).toEqual([1, 3]);
  });

  it('keeps at most its limit of samples per metric, dropping the oldest', () => {
    const store = new MetricStore(() => NOW, 3);
    for (const value of [1, 2, 3, 4]) store.add(samples(NOW - MINUTE, [value]));

    expect(store.datapoints(query()).map((p) => p.value)).toEqual([9]);
  });

  it('lists the metrics with samples, and only the recently active ones when asked', () => {
    const store = new MetricStore(() => NOW);
    store.add(samples(NOW - 5 * HOUR, [1], { name: 'OffersSent' }));
    store.add(samples(NOW - MINUTE, [1]));

    expect(store.list().map((m) => m.name)).toEqual(['OffersSent', 'BookingsCreated']);
    expect(store.list(3 * HOUR).map((m) => m.name)).toEqual(['BookingsCreated']);
  });
});
