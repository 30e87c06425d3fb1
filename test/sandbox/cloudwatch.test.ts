/**
 * The sandbox's CloudWatch metrics over the wire: EMF lines in, the real
 * `@aws-sdk/client-cloudwatch` (awsJson1_0) and every installed AWS CLI
 * (v1: awsJson1_0, v2.9: awsQuery) reading them back with GetMetricData and
 * ListMetrics; then a started sandbox whose bookings, run through the flow,
 * show up as the counts the flow produced.
 */
import { randomUUID } from 'node:crypto';
import {
  CloudWatchClient,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  InvalidNextToken,
  ListMetricsCommand,
  type MetricDataQuery,
  ValidationException,
} from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../contract/metrics';
import { type AwsEndpoint, startAwsEndpoint } from '../../sandbox/aws-endpoint';
import { CloudWatchService } from '../../sandbox/cloudwatch';
import type { Sandbox } from '../../sandbox/index';
import { api, awsClientConfig, eventually, MechanicClient, startTestSandbox } from '../e2e/clients';
import { awsClis } from '../support/aws-cli';

const MINUTE = 60_000;

let endpoint: AwsEndpoint;
let cloudwatch: CloudWatchService;
let client: CloudWatchClient;

beforeAll(async () => {
  cloudwatch = new CloudWatchService();
  endpoint = await startAwsEndpoint({ port: 0, services: { monitoring: cloudwatch.handle } });
  client = new CloudWatchClient({ endpoint: endpoint.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
});

afterAll(async () => {
  client?.destroy();
  await endpoint?.close();
});

/** A namespace of its own per test: tests never see each other's metrics. */
const uniqueNamespace = (): string => `Test/${randomUUID()}`;
/** The start of the minute `minutesAgo` minutes before this one: a time whose datapoint a one-minute period reports as is. */
const minuteStart = (minutesAgo: number): number => Math.floor(Date.now() / MINUTE) * MINUTE - minutesAgo * MINUTE;

/** A line as Powertools Metrics prints it: the `service` dimension, one unit for all the metrics given. */
function emfLine(namespace: string, at: number, metrics: Record<string, number | number[]>, options: { unit?: string; resolution?: 1 } = {}): string {
  return JSON.stringify({
    _aws: {
      Timestamp: at,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [['service']],
          Metrics: Object.keys(metrics).map((Name) => ({ Name, Unit: options.unit ?? 'Count', ...(options.resolution ? { StorageResolution: 1 } : {}) })),
        },
      ],
    },
    service: SERVICE_NAME,
    ...metrics,
  });
}

function metricStat(
  namespace: string,
  name: string,
  stat: string,
  overrides: Partial<MetricDataQuery> & { period?: number; unit?: string } = {},
): MetricDataQuery {
  const { period, unit, ...query } = overrides;
  return {
    Id: `q${randomUUID().replace(/-/g, '').slice(0, 8)}`,
    MetricStat: {
      Metric: { Namespace: namespace, MetricName: name, Dimensions: [{ Name: 'service', Value: SERVICE_NAME }] },
      Period: period ?? 60,
      Stat: stat,
      ...(unit ? { Unit: unit as never } : {}),
    },
    ...query,
  };
}

const lastTenMinutes = (queries: MetricDataQuery[], extra: Partial<GetMetricDataCommandInput> = {}): GetMetricDataCommandInput => ({
  MetricDataQueries: queries,
  StartTime: new Date(minuteStart(10)),
  EndTime: new Date(minuteStart(-1)),
  ...extra,
});

const series = (result: { Timestamps?: Date[]; Values?: number[] } | undefined) =>
  (result?.Timestamps ?? []).map((timestamp, index) => [timestamp.getTime(), result!.Values![index]]);

describe('GetMetricData on metrics extracted from EMF lines', () => {
  it('sums each minute of a metric, newest first, labelled with its name', async () => {
    // Arrange: three samples (one as a values array) in one minute, one in the next
    const namespace = uniqueNamespace();
    const [first, second] = [minuteStart(3), minuteStart(2)];
    cloudwatch.ingest(emfLine(namespace, first + 5_000, { BookingsCreated: 1 }));
    cloudwatch.ingest(emfLine(namespace, first + 40_000, { BookingsCreated: [1, 1] }));
    cloudwatch.ingest(emfLine(namespace, second + 59_000, { BookingsCreated: 1 }));

    // Act
    const answer = await client.send(new GetMetricDataCommand(lastTenMinutes([metricStat(namespace, 'BookingsCreated', 'Sum', { Id: 'bookings' })])));

    // Assert
    expect(answer.MetricDataResults).toHaveLength(1);
    expect(answer.MetricDataResults![0]).toMatchObject({ Id: 'bookings', Label: 'BookingsCreated', StatusCode: 'Complete' });
    expect(series(answer.MetricDataResults![0])).toEqual([
      [second, 1],
      [first, 3],
    ]);
    expect(answer.NextToken).toBeUndefined();
  });

  it('computes SampleCount, Average, Minimum, Maximum and percentiles over a period, oldest first when asked', async () => {
    const namespace = uniqueNamespace();
    const [at, later] = [minuteStart(4), minuteStart(1)];
    for (const ms of [100, 400, 200, 300]) cloudwatch.ingest(emfLine(namespace, at + ms, { TimeToMatchMs: ms }, { unit: 'Milliseconds' }));
    cloudwatch.ingest(emfLine(namespace, later, { TimeToMatchMs: 50 }, { unit: 'Milliseconds' }));
    const stats = ['SampleCount', 'Average', 'Minimum', 'Maximum', 'p50', 'p90', 'Sum'];

    const answer = await client.send(
      new GetMetricDataCommand(
        lastTenMinutes(
          stats.map((stat, i) => metricStat(namespace, 'TimeToMatchMs', stat, { Id: `s${i}`, Label: stat })),
          { ScanBy: 'TimestampAscending' },
        ),
      ),
    );

    const byLabel = Object.fromEntries(answer.MetricDataResults!.map((result) => [result.Label, series(result)]));
    expect(byLabel).toEqual({
      SampleCount: [
        [at, 4],
        [later, 1],
      ],
      Average: [
        [at, 250],
        [later, 50],
      ],
      Minimum: [
        [at, 100],
        [later, 50],
      ],
      Maximum: [
        [at, 400],
        [later, 50],
      ],
      p50: [
        [at, 200],
        [later, 50],
      ],
      p90: [
        [at, 400],
        [later, 50],
      ],
      Sum: [
        [at, 1000],
        [later, 50],
      ],
    });
  });

  it('answers a metric only for its exact dimensions and unit, and leaves out a query with ReturnData false', async () => {
    const namespace = uniqueNamespace();
    const at = minuteStart(2);
    cloudwatch.ingest(emfLine(namespace, at, { OffersSent: 2 }));
    const undimensioned: MetricDataQuery = { Id: 'bare', MetricStat: { Metric: { Namespace: namespace, MetricName: 'OffersSent' }, Period: 60, Stat: 'Sum' } };

    const answer = await client.send(
      new GetMetricDataCommand(
        lastTenMinutes([
          metricStat(namespace, 'OffersSent', 'Sum', { Id: 'counted', unit: 'Count' }),
          metricStat(namespace, 'OffersSent', 'Sum', { Id: 'milliseconds', unit: 'Milliseconds' }),
          undimensioned,
          metricStat(namespace, 'OffersSent', 'Sum', { Id: 'hidden', ReturnData: false }),
        ]),
      ),
    );

    const byId = Object.fromEntries(answer.MetricDataResults!.map((result) => [result.Id, series(result)]));
    expect(byId).toEqual({ counted: [[at, 2]], milliseconds: [], bare: [] });
  });

  it('keeps a high-resolution metric per second, and a standard one per minute even at a 10-second period', async () => {
    const namespace = uniqueNamespace();
    const at = minuteStart(2);
    cloudwatch.ingest(emfLine(namespace, at + 1_200, { Fine: 1 }, { resolution: 1 }));
    cloudwatch.ingest(emfLine(namespace, at + 2_900, { Fine: 1 }, { resolution: 1 }));
    cloudwatch.ingest(emfLine(namespace, at + 12_000, { Coarse: 1 }));
    cloudwatch.ingest(emfLine(namespace, at + 31_000, { Coarse: 1 }));

    const answer = await client.send(
      new GetMetricDataCommand(
        lastTenMinutes(
          [metricStat(namespace, 'Fine', 'Sum', { Id: 'fine', period: 1 }), metricStat(namespace, 'Coarse', 'Sum', { Id: 'coarse', period: 10 })],
          { ScanBy: 'TimestampAscending' },
        ),
      ),
    );

    const byId = Object.fromEntries(answer.MetricDataResults!.map((result) => [result.Id, series(result)]));
    expect(byId).toEqual({
      fine: [
        [at + 1_000, 1],
        [at + 2_000, 1],
      ],
      coarse: [[at, 2]],
    });
  });

  it('pages by MaxDatapoints: PartialData and a NextToken until the last page', async () => {
    const namespace = uniqueNamespace();
    const thisMinute = minuteStart(0);
    for (const minutesAgo of [5, 4, 3]) cloudwatch.ingest(emfLine(namespace, thisMinute - minutesAgo * MINUTE, { FallbacksFired: minutesAgo }));
    const input = lastTenMinutes([metricStat(namespace, 'FallbacksFired', 'Sum', { Id: 'fallbacks' })], { MaxDatapoints: 2 });

    const first = await client.send(new GetMetricDataCommand(input));
    const second = await client.send(new GetMetricDataCommand({ ...input, NextToken: first.NextToken }));

    expect(first.MetricDataResults![0]).toMatchObject({ StatusCode: 'PartialData', Values: [3, 4] });
    expect(first.NextToken).toEqual(expect.any(String));
    expect(second.MetricDataResults![0]).toMatchObject({ StatusCode: 'Complete', Values: [5] });
    expect(second.NextToken).toBeUndefined();
    await expect(client.send(new GetMetricDataCommand({ ...input, NextToken: 'not-a-token' }))).rejects.toBeInstanceOf(InvalidNextToken);
  });

  it.each([
    ['an invalid period', { period: 61 }, 'MetricDataQueries.member.1.MetricStat.Period is not a valid period'],
    ['an unknown statistic', { stat: 'Median' }, 'The value Median for parameter MetricDataQueries.member.1.MetricStat.Stat is not a valid statistic.'],
    ['a trimmed mean, not emulated', { stat: 'tm90' }, 'The sandbox does not emulate the statistic tm90'],
    ['an id with a capital first', { Id: 'Bookings' }, 'The value Bookings for parameter MetricDataQueries.member.1.Id is not matching the expected pattern'],
    [
      'both a MetricStat and an expression',
      { Expression: 'SUM(METRICS())' },
      'Exactly one element of the MetricStat or the Expression must be set for MetricDataQueries.member.1.',
    ],
    ['metric math, not emulated', { Expression: 'SUM(METRICS())', MetricStat: undefined }, 'The sandbox does not emulate metric math or Metrics Insights'],
  ])('refuses %s with ValidationError (the SDK: ValidationException) naming the member', async (_case, change, message) => {
    const { stat, ...overrides } = change as { stat?: string; period?: number; Id?: string; Expression?: string; MetricStat?: undefined };
    const query = metricStat('PriorityDispatch', 'BookingsCreated', stat ?? 'Sum', overrides);

    const error = await client.send(new GetMetricDataCommand(lastTenMinutes([query]))).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ValidationException);
    expect((error as ValidationException).$metadata.httpStatusCode).toBe(400);
    expect((error as ValidationException).message).toContain(message);
  });

  it('refuses a time range that ends where it starts', async () => {
    const at = new Date(minuteStart(1));

    const error = await client
      .send(new GetMetricDataCommand({ MetricDataQueries: [metricStat('PriorityDispatch', 'BookingsCreated', 'Sum')], StartTime: at, EndTime: at }))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ValidationException);
    expect((error as ValidationException).message).toBe('The parameter StartTime must not equal parameter EndTime.');
  });
});

describe('ListMetrics', () => {
  it('lists the metrics extracted, filtered by namespace, name and dimension', async () => {
    const namespace = uniqueNamespace();
    cloudwatch.ingest(emfLine(namespace, minuteStart(1), { OffersSent: 1, FavoriteAccepted: 1 }));

    const all = await client.send(new ListMetricsCommand({ Namespace: namespace }));
    const one = await client.send(new ListMetricsCommand({ Namespace: namespace, MetricName: 'OffersSent', Dimensions: [{ Name: 'service' }] }));
    const none = await client.send(new ListMetricsCommand({ Namespace: namespace, Dimensions: [{ Name: 'service', Value: 'another' }] }));

    expect(all.Metrics!.map((m) => m.MetricName).sort()).toEqual(['FavoriteAccepted', 'OffersSent']);
    expect(one.Metrics).toEqual([{ Namespace: namespace, MetricName: 'OffersSent', Dimensions: [{ Name: 'service', Value: SERVICE_NAME }] }]);
    expect(none.Metrics).toEqual([]);
  });
});

const clis = awsClis();

describe('the real AWS CLI', () => {
  it.skipIf(clis.length === 0)('reads a metric with `aws cloudwatch get-metric-data` and lists it (every installed CLI, whatever its protocol)', async () => {
    const namespace = uniqueNamespace();
    const at = minuteStart(2);
    cloudwatch.ingest(emfLine(namespace, at + 10_000, { BookingsCreated: [1, 1] }));
    const queries = JSON.stringify([metricStat(namespace, 'BookingsCreated', 'Sum', { Id: 'bookings' })]);
    const range = ['--start-time', new Date(minuteStart(10)).toISOString(), '--end-time', new Date(minuteStart(-1)).toISOString()];

    for (const cli of clis) {
      const read = await cli.run(endpoint.url, ['cloudwatch', 'get-metric-data', '--metric-data-queries', queries, ...range]);
      const listed = await cli.run(endpoint.url, ['cloudwatch', 'list-metrics', '--namespace', namespace]);
      const refused = await cli.run(endpoint.url, [
        'cloudwatch',
        'get-metric-data',
        '--metric-data-queries',
        JSON.stringify([metricStat(namespace, 'BookingsCreated', 'Median')]),
        ...range,
      ]);

      expect(read.code, `${cli.label}: ${read.stderr}`).toBe(0);
      const result = JSON.parse(read.stdout).MetricDataResults[0];
      expect(result, cli.label).toMatchObject({ Id: 'bookings', Label: 'BookingsCreated', Values: [2], StatusCode: 'Complete' });
      // v1 prints the JSON protocol's epoch seconds as they came, v2 the query protocol's ISO 8601.
      const [timestamp] = result.Timestamps as (number | string)[];
      expect(typeof timestamp === 'number' ? timestamp * 1000 : Date.parse(timestamp!), cli.label).toBe(at);
      expect(JSON.parse(listed.stdout).Metrics, cli.label).toEqual([
        { Namespace: namespace, MetricName: 'BookingsCreated', Dimensions: [{ Name: 'service', Value: SERVICE_NAME }] },
      ]);
      expect(refused.code, cli.label).not.toBe(0);
      expect(refused.stderr, cli.label).toContain('(ValidationError)');
      expect(refused.stderr, cli.label).toContain('is not a valid statistic');
    }
  });
});

describe('metrics of the flow, in a started sandbox', () => {
  let sandbox: Sandbox;
  let sandboxClient: CloudWatchClient;

  beforeAll(async () => {
    sandbox = await startTestSandbox({ flag: 'on', flagCacheTtlSeconds: 1, priorityWindowSeconds: 300 });
    sandboxClient = new CloudWatchClient(awsClientConfig(sandbox));
  });
  afterAll(async () => {
    sandboxClient?.destroy();
    await sandbox?.stop();
  });

  /** The metric's statistic over the last half hour in one period, as the dashboard's "over the time range" widget asks. */
  async function total(name: string, stat = 'Sum'): Promise<number | undefined> {
    const end = minuteStart(-1);
    const answer = await sandboxClient.send(
      new GetMetricDataCommand({
        MetricDataQueries: [metricStat(METRICS_NAMESPACE, name, stat, { Id: 'total', period: 1800 })],
        StartTime: new Date(end - 30 * MINUTE),
        EndTime: new Date(end),
      }),
    );
    return answer.MetricDataResults![0]!.Values![0];
  }

  it('counts the bookings made, the offer to the favorite, its win and its time to match', async () => {
    // Arrange: Alice, a seeded mechanic, online; three customers
    const alice = await MechanicClient.connect(sandbox, 'mech-alice');
    const book = async (body: Record<string, unknown>) => {
      const answer = await api<{ request_id: string }>(sandbox, 'POST', '/intake/start', {
        token: await sandbox.token({ sub: `cust-${randomUUID().slice(0, 8)}` }),
        body: { plan: 'free', concern: 'Squeaky brakes', ...body },
      });
      expect(answer.status).toBe(201);
      return answer.body.request_id;
    };

    // Act: two open bookings and one for Alice as favorite, which she accepts
    await book({});
    await book({});
    const requestId = await book({ preferred_mechanic_id: 'mech-alice', routing_type: 'priority_broadcast' });
    await alice.waitFor('priority_session_request', requestId);
    alice.accept(requestId);
    await alice.waitFor('accept_result', requestId);
    await alice.close();

    // Assert: what the functions counted, read back as CloudWatch serves it
    await eventually(async () => (await total('FavoriteAccepted')) === 1, 'the favorite’s win to be counted');
    expect(await total('BookingsCreated')).toBe(3);
    expect(await total('OffersSent')).toBe(1);
    expect(await total('OffersAccepted')).toBe(1);
    expect(await total('TimeToMatchMs', 'SampleCount')).toBe(1);
    expect(await total('FallbacksFired')).toBeUndefined();
  });
});
