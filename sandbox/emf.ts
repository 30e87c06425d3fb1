/**
 * What CloudWatch Logs does with a Lambda function's output line in the
 * Embedded Metric Format: the metrics it extracts, per the specification
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 * Each MetricDirective publishes each of its metrics once per DimensionSet,
 * with the dimension values read from the root node; a metric's member is
 * a number or an array of up to 100 numbers, each one sample. A document
 * that breaks the specification yields no metric at all (in AWS the line is
 * still stored and `EMFValidationErrors` counts it), and the reason is
 * returned so the sandbox can say it.
 */

/** Units a MetricDefinition may name (MetricDatum's StandardUnit); absent means `None`. */
export const STANDARD_UNITS = [
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
] as const;

export interface Dimension {
  readonly Name: string;
  readonly Value: string;
}

/** One metric's samples from one document: its identity, unit, resolution, time and values. */
export interface MetricSamples {
  readonly namespace: string;
  readonly name: string;
  /** Sorted by name: a metric's identity does not depend on the order its document listed them. */
  readonly dimensions: readonly Dimension[];
  readonly unit: string;
  /** 1 (high resolution) or 60 seconds (the default). */
  readonly storageResolution: 1 | 60;
  /** Epoch milliseconds, from `_aws.Timestamp`. */
  readonly timestamp: number;
  readonly values: readonly number[];
}

export type Extraction = { readonly metrics: readonly MetricSamples[] } | { readonly invalid: string };

/** The specification's limits: dimensions per DimensionSet, metrics per directive, values per array, name lengths. */
const MAX_DIMENSIONS = 30;
const MAX_METRICS = 100;
const MAX_VALUES = 100;
const MAX_NAME = 255;

/** A line that is not an EMF document (not JSON, or no `_aws` member) extracts nothing and is not invalid: it is just a log line. */
export function extractMetrics(line: string): Extraction {
  // Most lines are log entries: only a line naming `_aws` is worth parsing.
  if (!line.startsWith('{') || !line.includes('"_aws"')) return { metrics: [] };
  let root: unknown;
  try {
    root = JSON.parse(line);
  } catch {
    return { metrics: [] };
  }
  if (!isObject(root) || !('_aws' in root)) return { metrics: [] };
  try {
    return { metrics: documentMetrics(root) };
  } catch (error) {
    if (error instanceof InvalidDocument) return { invalid: error.message };
    throw error;
  }
}

class InvalidDocument extends Error {}

function documentMetrics(root: Record<string, unknown>): MetricSamples[] {
  const metadata = root._aws;
  if (!isObject(metadata)) throw new InvalidDocument('_aws must be an object');
  const timestamp = metadata.Timestamp;
  if (typeof timestamp !== 'number' || !Number.isInteger(timestamp) || timestamp < 0)
    throw new InvalidDocument('_aws.Timestamp must be a number of milliseconds since the epoch');
  const directives = metadata.CloudWatchMetrics;
  if (!Array.isArray(directives)) throw new InvalidDocument('_aws.CloudWatchMetrics must be an array of MetricDirective objects');
  return directives.flatMap((directive, index) => directiveMetrics(root, directive, timestamp, `_aws.CloudWatchMetrics[${index}]`));
}

function directiveMetrics(root: Record<string, unknown>, directive: unknown, timestamp: number, path: string): MetricSamples[] {
  if (!isObject(directive)) throw new InvalidDocument(`${path} must be an object`);
  const namespace = directive.Namespace;
  if (!isName(namespace)) throw new InvalidDocument(`${path}.Namespace must be a string of 1 to ${MAX_NAME} characters`);
  // The specification's JSON schema: at least one DimensionSet; a DimensionSet may be empty (a metric without dimensions).
  const dimensionSets = directive.Dimensions;
  if (!Array.isArray(dimensionSets) || dimensionSets.length === 0) throw new InvalidDocument(`${path}.Dimensions must be a non-empty array of DimensionSets`);
  const dimensionLists = dimensionSets.map((set, index) => dimensionsOf(root, set, `${path}.Dimensions[${index}]`));
  const definitions = directive.Metrics;
  if (!Array.isArray(definitions) || definitions.length > MAX_METRICS)
    throw new InvalidDocument(`${path}.Metrics must be an array of at most ${MAX_METRICS} MetricDefinition objects`);
  return definitions.flatMap((definition, index) => {
    const where = `${path}.Metrics[${index}]`;
    if (!isObject(definition) || !isName(definition.Name)) throw new InvalidDocument(`${where}.Name must be a string of 1 to ${MAX_NAME} characters`);
    const name = definition.Name;
    const unit = definition.Unit ?? 'None';
    if (typeof unit !== 'string' || !(STANDARD_UNITS as readonly string[]).includes(unit))
      throw new InvalidDocument(`${where}.Unit ${JSON.stringify(unit)} is not a CloudWatch unit`);
    const resolution = definition.StorageResolution ?? 60;
    if (resolution !== 1 && resolution !== 60) throw new InvalidDocument(`${where}.StorageResolution must be 1 or 60`);
    const values = valuesOf(root[name], name);
    return dimensionLists.map((dimensions) => ({ namespace, name, dimensions, unit, storageResolution: resolution, timestamp, values }));
  });
}

function dimensionsOf(root: Record<string, unknown>, set: unknown, path: string): Dimension[] {
  if (!Array.isArray(set) || set.length > MAX_DIMENSIONS) throw new InvalidDocument(`${path} must be an array of at most ${MAX_DIMENSIONS} dimension keys`);
  const dimensions = set.map((key) => {
    if (!isName(key)) throw new InvalidDocument(`${path} must hold dimension keys (strings of 1 to ${MAX_NAME} characters)`);
    const value = root[key];
    if (typeof value !== 'string' || value.length === 0) throw new InvalidDocument(`dimension ${key} must be a non-empty string member of the root node`);
    return { Name: key, Value: value };
  });
  return dimensions.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
}

function valuesOf(target: unknown, name: string): number[] {
  const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
  if (finite(target)) return [target];
  if (Array.isArray(target) && target.length > 0 && target.length <= MAX_VALUES && target.every(finite)) return target;
  throw new InvalidDocument(`metric ${name} must be a number or an array of 1 to ${MAX_VALUES} numbers on the root node`);
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isName = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME;
