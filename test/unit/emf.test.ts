/**
 * The Embedded Metric Format as CloudWatch Logs reads it (sandbox/emf.ts):
 * each directive's metrics once per DimensionSet, values arrays as samples,
 * units and storage resolution carried; a document breaking the
 * specification yields nothing, with the reason; other lines are just lines.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../contract/metrics';
import { metricsPort } from '../../lambdas/adapters/powertools';
import { extractMetrics } from '../../sandbox/emf';

const AT = Date.UTC(2026, 10, 27, 12, 0, 30);

const document = (directive: Record<string, unknown>, members: Record<string, unknown>, aws: Record<string, unknown> = {}) =>
  JSON.stringify({ _aws: { Timestamp: AT, CloudWatchMetrics: [directive], ...aws }, ...members });

afterEach(() => vi.restoreAllMocks());

describe('extractMetrics', () => {
  it('reads what the functions print through Powertools Metrics: the service dimension, units, repeated counts as a values array', () => {
    // Arrange: the project's metrics port, as lambdas/wiring builds it, printing one EMF line
    const printed: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string) => printed.push(chunk.trim()) > 0) as typeof process.stdout.write);
    const powertools = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
    const port = metricsPort(powertools);
    port.count('BookingsCreated');
    port.count('FallbacksFired');
    port.count('FallbacksFired');
    port.milliseconds('TimeToMatchMs', 1234);
    powertools.publishStoredMetrics();

    // Act
    const extraction = extractMetrics(printed.find((line) => line.includes('_aws'))!);

    // Assert
    expect('metrics' in extraction && extraction.metrics.map(({ timestamp: _, ...m }) => m)).toEqual([
      {
        namespace: METRICS_NAMESPACE,
        name: 'BookingsCreated',
        dimensions: [{ Name: 'service', Value: SERVICE_NAME }],
        unit: 'Count',
        storageResolution: 60,
        values: [1],
      },
      {
        namespace: METRICS_NAMESPACE,
        name: 'FallbacksFired',
        dimensions: [{ Name: 'service', Value: SERVICE_NAME }],
        unit: 'Count',
        storageResolution: 60,
        values: [1, 1],
      },
      {
        namespace: METRICS_NAMESPACE,
        name: 'TimeToMatchMs',
        dimensions: [{ Name: 'service', Value: SERVICE_NAME }],
        unit: 'Milliseconds',
        storageResolution: 60,
        values: [1234],
      },
    ]);
  });

  it('publishes each metric once per DimensionSet, an empty set giving the metric without dimensions, dimensions in name order', () => {
    const line = document(
      { Namespace: 'App', Dimensions: [['service', 'function_name'], []], Metrics: [{ Name: 'ColdStart', Unit: 'Count', StorageResolution: 1 }] },
      { service: 'svc', function_name: 'fn', ColdStart: 1 },
    );

    expect(extractMetrics(line)).toEqual({
      metrics: [
        {
          namespace: 'App',
          name: 'ColdStart',
          dimensions: [
            { Name: 'function_name', Value: 'fn' },
            { Name: 'service', Value: 'svc' },
          ],
          unit: 'Count',
          storageResolution: 1,
          timestamp: AT,
          values: [1],
        },
        { namespace: 'App', name: 'ColdStart', dimensions: [], unit: 'Count', storageResolution: 1, timestamp: AT, values: [1] },
      ],
    });
  });

  it('takes an absent Unit as None', () => {
    const extraction = extractMetrics(document({ Namespace: 'App', Dimensions: [[]], Metrics: [{ Name: 'Plain' }] }, { Plain: 2.5 }));

    expect(extraction).toMatchObject({ metrics: [{ name: 'Plain', unit: 'None', values: [2.5] }] });
  });

  it.each([
    ['no Timestamp', JSON.stringify({ _aws: { CloudWatchMetrics: [] } }), '_aws.Timestamp must be a number'],
    ['a metric member missing', document({ Namespace: 'App', Dimensions: [[]], Metrics: [{ Name: 'Gone' }] }, {}), 'metric Gone must be a number'],
    ['a metric given as text', document({ Namespace: 'App', Dimensions: [[]], Metrics: [{ Name: 'N' }] }, { N: '3' }), 'metric N must be a number'],
    [
      'a dimension that is not a string',
      document({ Namespace: 'App', Dimensions: [['shard']], Metrics: [{ Name: 'N' }] }, { shard: 3, N: 1 }),
      'dimension shard',
    ],
    ['no DimensionSet', document({ Namespace: 'App', Dimensions: [], Metrics: [{ Name: 'N' }] }, { N: 1 }), 'Dimensions must be a non-empty array'],
    ['an unknown unit', document({ Namespace: 'App', Dimensions: [[]], Metrics: [{ Name: 'N', Unit: 'Parsecs' }] }, { N: 1 }), 'is not a CloudWatch unit'],
    [
      'a storage resolution of 30',
      document({ Namespace: 'App', Dimensions: [[]], Metrics: [{ Name: 'N', StorageResolution: 30 }] }, { N: 1 }),
      'StorageResolution must be 1 or 60',
    ],
    ['101 values', document({ Namespace: 'App', Dimensions: [[]], Metrics: [{ Name: 'N' }] }, { N: Array(101).fill(1) }), 'an array of 1 to 100 numbers'],
    [
      '31 dimensions',
      document({ Namespace: 'App', Dimensions: [Array.from({ length: 31 }, (_, i) => `d${i}`)], Metrics: [{ Name: 'N' }] }, { N: 1 }),
      'at most 30 dimension keys',
    ],
    ['no Namespace', document({ Dimensions: [[]], Metrics: [{ Name: 'N' }] }, { N: 1 }), 'Namespace must be a string'],
  ])('extracts nothing from a document with %s, and says why', (_case, line, reason) => {
    const extraction = extractMetrics(line);

    expect(extraction).toEqual({ invalid: expect.stringContaining(reason) });
  });

  it('leaves other lines alone: plain text, JSON log entries, broken JSON', () => {
    for (const line of ['12:00:00 [sandbox] started', '{"level":"INFO","message":"[Priority] Favorite mechanic requested"}', '{"_aws": {']) {
      expect(extractMetrics(line)).toEqual({ metrics: [] });
    }
  });
});
