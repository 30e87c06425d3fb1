/**
 * CloudWatch metrics (signing service `monitoring`), as far as reading the
 * business metrics goes: the functions' Embedded Metric Format lines become
 * metrics, as CloudWatch Logs extracts them in AWS (sandbox/emf.ts, kept in
 * memory by sandbox/metric-store.ts), and GetMetricData and ListMetrics
 * answer them in both protocols CloudWatch's clients speak: awsJson1_0
 * (`X-Amz-Target: GraniteServiceVersion20100801.<Operation>`, query
 * compatible: errors carry their query code in `x-amzn-query-error`), which
 * the AWS SDK for JavaScript v3 and AWS CLI v1 use, and awsQuery (form in,
 * XML out), which AWS CLI v2.9 uses.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html
 *
 * Not emulated: metric math and Metrics Insights (`Expression`),
 * LabelOptions, PutMetricData, alarms, dashboards and every other
 * CloudWatch API. Bad input gets AWS's `ValidationError` naming the member.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AwsError, sendText, type AwsService } from './aws-wire';
import { parseQueryForm, queryError, queryResponse, type QueryScalars } from './aws-query';
import { type Dimension, extractMetrics, STANDARD_UNITS } from './emf';
import { type Datapoint, type MetricIdentity, MetricStore, type Statistic } from './metric-store';

const TARGET_PREFIX = 'GraniteServiceVersion20100801';
const XML_NAMESPACE = 'http://monitoring.amazonaws.com/doc/2010-08-01/';
const JSON_CONTENT_TYPE = 'application/x-amz-json-1.0';
const SHAPE_NAMESPACE = 'com.amazonaws.cloudwatch';
/**
 * Errors go by their query code (`ValidationError`); in JSON the body names the model's shape instead, and
 * `x-amzn-query-error` carries the code, which the SDK maps back to the shape (`ValidationException`) and the CLI prints.
 */
const JSON_ERROR_SHAPES: Record<string, string> = { ValidationError: 'ValidationException' };
/** The members the query protocol sends as text that the operations read as numbers, booleans and times. */
const QUERY_SCALARS: QueryScalars = { Period: 'number', MaxDatapoints: 'number', ReturnData: 'boolean', StartTime: 'timestamp', EndTime: 'timestamp' };

/** GetMetricData's limits: queries per call, datapoints per page; ListMetrics' page; dimensions of a metric. */
const MAX_QUERIES = 500;
const DEFAULT_MAX_DATAPOINTS = 100_800;
const LIST_PAGE = 500;
const MAX_DIMENSIONS = 30;
const HIGH_RESOLUTION_PERIODS = [1, 5, 10, 20, 30];
const QUERY_ID = /^[a-z][a-zA-Z0-9_]*$/;

type Input = Record<string, unknown>;
type Operation = (input: Input) => Input;

export class CloudWatchService {
  readonly metrics: MetricStore;

  constructor(options: { now?: () => number } = {}) {
    this.metrics = new MetricStore(options.now);
  }

  /** One line a function printed: its EMF metrics are stored; an invalid EMF document's reason is returned (the line extracts nothing). */
  ingest(line: string): string | undefined {
    const extraction = extractMetrics(line);
    if ('invalid' in extraction) return extraction.invalid;
    for (const samples of extraction.metrics) this.metrics.add(samples);
    return undefined;
  }

  readonly handle: AwsService = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const requestId = crypto.randomUUID();
    const query = /^application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '');
    try {
      if (query) {
        const { action, input } = parseQueryForm(body.toString('utf8'), QUERY_SCALARS);
        const result = this.operation(req.method, action)(input);
        sendText(res, 200, queryResponse(action, XML_NAMESPACE, result, requestId), { 'content-type': 'text/xml' }, requestId);
      } else {
        const target = String(req.headers['x-amz-target'] ?? '');
        const [prefix, name] = target.split('.');
        const operation = this.operation(req.method, prefix === TARGET_PREFIX ? (name ?? '') : '', target || undefined);
        sendText(res, 200, toJson(operation(parseJson(body))), { 'content-type': JSON_CONTENT_TYPE }, requestId);
      }
    } catch (error) {
      if (!(error instanceof AwsError)) throw error;
      if (query) sendText(res, error.status, queryError(XML_NAMESPACE, error, requestId), { 'content-type': 'text/xml' }, requestId);
      else
        sendText(
          res,
          error.status,
          JSON.stringify({ __type: `${SHAPE_NAMESPACE}#${JSON_ERROR_SHAPES[error.type] ?? error.type}`, message: error.message }),
          {
            'content-type': JSON_CONTENT_TYPE,
            'x-amzn-query-error': `${error.type};${error.status < 500 ? 'Sender' : 'Receiver'}`,
          },
          requestId,
        );
    }
  };

  /** `shownAs`: how the error names an unknown operation (the JSON protocol's whole target). */
  private operation(method: string | undefined, name: string, shownAs = name): Operation {
    const operations: Record<string, Operation> = {
      GetMetricData: (input) => this.getMetricData(input),
      ListMetrics: (input) => this.listMetrics(input),
    };
    const operation = Object.hasOwn(operations, name) ? operations[name] : undefined;
    if (method !== 'POST' || !operation)
      throw new AwsError(
        400,
        'InvalidAction',
        shownAs ? `The sandbox does not emulate CloudWatch's ${shownAs}` : 'Missing X-Amz-Target header or Action parameter',
      );
    return operation;
  }

  // ---- operations ------------------------------------------------------------

  private getMetricData(input: Input): Input {
    const queries = metricDataQueries(input.MetricDataQueries);
    const start = requiredTime(input.StartTime, 'startTime');
    const end = requiredTime(input.EndTime, 'endTime');
    if (start === end) throw validation('The parameter StartTime must not equal parameter EndTime.');
    if (start > end) throw validation('The parameter StartTime must be less than the parameter EndTime.');
    const scanBy = input.ScanBy ?? 'TimestampDescending';
    if (scanBy !== 'TimestampDescending' && scanBy !== 'TimestampAscending')
      throw validation(
        `Value '${String(scanBy)}' at 'scanBy' failed to satisfy constraint: Member must satisfy enum value set: [TimestampDescending, TimestampAscending]`,
      );
    const maxDatapoints = input.MaxDatapoints ?? DEFAULT_MAX_DATAPOINTS;
    if (!Number.isInteger(maxDatapoints) || (maxDatapoints as number) < 1)
      throw validation(`The value ${String(maxDatapoints)} for parameter MaxDatapoints is not valid: it must be a whole number of at least 1.`);

    const series = queries
      .filter((query) => query.returnData)
      .map((query) => {
        const points = this.metrics.datapoints({ ...query.stat, start, end });
        return { query, points: scanBy === 'TimestampAscending' ? points : points.reverse() };
      });
    // A page holds up to MaxDatapoints, series after series; NextToken says how many were already answered.
    const offset = pageOffset(input.NextToken);
    const pageEnd = offset + (maxDatapoints as number);
    const results: Input[] = [];
    let before = 0;
    for (const { query, points } of series) {
      const from = Math.max(0, offset - before);
      const to = Math.min(points.length, pageEnd - before);
      // A series with no datapoints at all is answered on the first page; the others on the pages that hold their points.
      if (from < to || (points.length === 0 && offset === 0)) results.push(metricDataResult(query.id, query.label, points.slice(from, to), to < points.length));
      before += points.length;
    }
    return { MetricDataResults: results, Messages: [], ...(pageEnd < before ? { NextToken: pageToken(pageEnd) } : {}) };
  }

  private listMetrics(input: Input): Input {
    const namespace = optionalName(input.Namespace, 'namespace');
    const metricName = optionalName(input.MetricName, 'metricName');
    const filters = dimensionFilters(input.Dimensions);
    if (input.RecentlyActive !== undefined && input.RecentlyActive !== 'PT3H')
      throw validation(`Value '${String(input.RecentlyActive)}' at 'recentlyActive' failed to satisfy constraint: Member must satisfy enum value set: [PT3H]`);
    const matching = this.metrics
      .list(input.RecentlyActive === 'PT3H' ? 3 * 3600_000 : undefined)
      .filter(
        (metric) =>
          (namespace === undefined || metric.namespace === namespace) &&
          (metricName === undefined || metric.name === metricName) &&
          filters.every((filter) => metric.dimensions.some((d) => d.Name === filter.Name && (filter.Value === undefined || d.Value === filter.Value))),
      );
    const offset = pageOffset(input.NextToken);
    const page = matching.slice(offset, offset + LIST_PAGE);
    return {
      Metrics: page.map((metric) => ({ Namespace: metric.namespace, MetricName: metric.name, Dimensions: metric.dimensions })),
      ...(offset + LIST_PAGE < matching.length ? { NextToken: pageToken(offset + LIST_PAGE) } : {}),
    };
  }
}

// ---- GetMetricData's input -------------------------------------------------------

interface MetricDataQuery {
  readonly id: string;
  readonly label: string;
  readonly returnData: boolean;
  readonly stat: { identity: MetricIdentity; period: number; stat: Statistic; unit?: string };
}

function metricDataQueries(value: unknown): MetricDataQuery[] {
  if (value === undefined)
    throw validation("1 validation error detected: Value null at 'metricDataQueries' failed to satisfy constraint: Member must not be null");
  if (!Array.isArray(value)) throw validation('MetricDataQueries must be a list of MetricDataQuery structures.');
  if (value.length > MAX_QUERIES) throw validation(`The collection MetricDataQueries must not have a size greater than ${MAX_QUERIES}.`);
  const queries = value.map((query, index) => metricDataQuery(query, `MetricDataQueries.member.${index + 1}`));
  if (new Set(queries.map((q) => q.id)).size !== queries.length) throw validation('The values for parameter id in MetricDataQueries are not unique.');
  return queries;
}

function metricDataQuery(value: unknown, path: string): MetricDataQuery {
  const query = structure(value, path);
  const id = query.Id;
  if (typeof id !== 'string' || id.length > 255 || !QUERY_ID.test(id))
    throw validation(`The value ${String(id)} for parameter ${path}.Id is not matching the expected pattern ${QUERY_ID.source}.`);
  if ((query.MetricStat === undefined) === (query.Expression === undefined))
    throw validation(`Exactly one element of the MetricStat or the Expression must be set for ${path}.`);
  if (query.Expression !== undefined)
    throw validation(`The sandbox does not emulate metric math or Metrics Insights (${path}.Expression): ask for each metric with MetricStat.`);
  if (query.Label !== undefined && typeof query.Label !== 'string') throw validation(`The value for parameter ${path}.Label must be a string.`);
  if (query.ReturnData !== undefined && typeof query.ReturnData !== 'boolean')
    throw validation(`The value for parameter ${path}.ReturnData must be a boolean.`);

  const metricStat = structure(query.MetricStat, `${path}.MetricStat`);
  const metric = structure(metricStat.Metric, `${path}.MetricStat.Metric`);
  const namespace = requiredName(metric.Namespace, `${path}.MetricStat.Metric.Namespace`);
  const name = requiredName(metric.MetricName, `${path}.MetricStat.Metric.MetricName`);
  const dimensions = metricDimensions(metric.Dimensions, `${path}.MetricStat.Metric.Dimensions`);
  const period = metricStat.Period;
  if (!Number.isInteger(period) || (period as number) < 1 || ((period as number) % 60 !== 0 && !HIGH_RESOLUTION_PERIODS.includes(period as number)))
    throw validation(
      `The value ${String(period)} for parameter ${path}.MetricStat.Period is not a valid period: use 1, 5, 10, 20 or 30 (high-resolution metrics) or a multiple of 60.`,
    );
  const unit = metricStat.Unit;
  if (unit !== undefined && !(STANDARD_UNITS as readonly unknown[]).includes(unit))
    throw validation(`The value ${String(unit)} for parameter ${path}.MetricStat.Unit is not a valid unit.`);
  return {
    id,
    label: (query.Label as string | undefined) ?? name,
    returnData: query.ReturnData !== false,
    stat: {
      identity: { namespace, name, dimensions },
      period: period as number,
      stat: statisticOf(metricStat.Stat, `${path}.MetricStat.Stat`),
      ...(unit === undefined ? {} : { unit: unit as string }),
    },
  };
}

/**
 * CloudWatch's statistics and its percentiles (`p90`, `p99.9`). Its other extended statistics (trimmed means,
 * winsorized means, percentile ranks, trimmed counts and sums, IQR) are valid in AWS but not computed here.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html
 */
function statisticOf(value: unknown, path: string): Statistic {
  if (value === 'SampleCount' || value === 'Sum' || value === 'Average' || value === 'Minimum' || value === 'Maximum') return { kind: value };
  const percentile = typeof value === 'string' ? /^[pP](\d{1,2}(\.\d{1,10})?|100(\.0{1,10})?)$/.exec(value) : null;
  if (percentile) return { kind: 'percentile', percent: Number(percentile[1]) };
  if (typeof value === 'string' && /^(tm|wm|tc|ts|pr)\(?[\d.%:]*\)?$|^IQR$/i.test(value))
    throw validation(
      `The sandbox does not emulate the statistic ${value} (${path}): use SampleCount, Sum, Average, Minimum, Maximum or a percentile such as p90.`,
    );
  throw validation(`The value ${String(value)} for parameter ${path} is not a valid statistic.`);
}

function metricDimensions(value: unknown, path: string): Dimension[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_DIMENSIONS) throw validation(`${path} must be a list of at most ${MAX_DIMENSIONS} dimensions.`);
  return value
    .map((dimension, index) => {
      const d = structure(dimension, `${path}.member.${index + 1}`);
      return { Name: requiredName(d.Name, `${path}.member.${index + 1}.Name`), Value: requiredName(d.Value, `${path}.member.${index + 1}.Value`) };
    })
    .sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
}

function dimensionFilters(value: unknown): { Name: string; Value?: string }[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > 10) throw validation('Dimensions must be a list of at most 10 dimension filters.');
  return value.map((filter, index) => {
    const f = structure(filter, `Dimensions.member.${index + 1}`);
    const name = requiredName(f.Name, `Dimensions.member.${index + 1}.Name`);
    return f.Value === undefined ? { Name: name } : { Name: name, Value: requiredName(f.Value, `Dimensions.member.${index + 1}.Value`) };
  });
}

// ---- the answer ------------------------------------------------------------------

function metricDataResult(id: string, label: string, points: readonly Datapoint[], more: boolean): Input {
  return {
    Id: id,
    Label: label,
    Timestamps: points.map((point) => new Date(point.timestamp)),
    Values: points.map((point) => point.value),
    StatusCode: more ? 'PartialData' : 'Complete',
    Messages: [],
  };
}

/** awsJson1_0 sends timestamps as epoch seconds. */
const toJson = (output: Input): string =>
  JSON.stringify(output, function (this: Record<string, unknown>, key, value: unknown) {
    const raw = this[key];
    return raw instanceof Date ? raw.getTime() / 1000 : value;
  });

/** Where the next page starts: an opaque token, as CloudWatch's are. */
const pageToken = (offset: number): string => Buffer.from(JSON.stringify({ offset })).toString('base64url');

function pageOffset(token: unknown): number {
  if (token === undefined) return 0;
  try {
    const { offset } = JSON.parse(Buffer.from(String(token), 'base64url').toString('utf8')) as { offset?: unknown };
    if (Number.isInteger(offset) && (offset as number) >= 0) return offset as number;
  } catch {
    // answered below
  }
  throw new AwsError(400, 'InvalidNextToken', 'The service couldn’t process your request because the next token is invalid.');
}

// ---- small readers -----------------------------------------------------------------

const validation = (message: string): AwsError => new AwsError(400, 'ValidationError', message);

function parseJson(body: Buffer): Input {
  try {
    const input: unknown = body.length ? JSON.parse(body.toString('utf8')) : {};
    if (typeof input === 'object' && input !== null && !Array.isArray(input)) return input as Input;
  } catch {
    // answered below
  }
  throw new AwsError(400, 'SerializationException', 'The request body is not a JSON object');
}

function structure(value: unknown, path: string): Input {
  if (value === undefined) throw validation(`The parameter ${path} is required.`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw validation(`The parameter ${path} must be a structure.`);
  return value as Input;
}

function requiredName(value: unknown, path: string): string {
  if (value === undefined) throw validation(`The parameter ${path} is required.`);
  if (typeof value !== 'string' || value.length === 0 || value.length > 255)
    throw validation(`The value for parameter ${path} must be a string of 1 to 255 characters.`);
  return value;
}

const optionalName = (value: unknown, member: string): string | undefined => (value === undefined ? undefined : requiredName(value, member));

/** Epoch seconds (awsJson's timestamps, and the query protocol's once read) → epoch ms. */
function requiredTime(value: unknown, member: string): number {
  if (value === undefined) throw validation(`1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  if (typeof value !== 'number' || !Number.isFinite(value)) throw validation(`The value ${String(value)} for parameter ${member} is not a valid timestamp.`);
  return Math.round(value * 1000);
}
