/**
 * Turns the handlers' JSON log lines (Powertools Logger and Metrics) into one
 * readable line each for the terminal, keeping the message (and so its
 * `[Priority]` / `[Fallback]` prefix) first so `grep` still works.
 */
/** Not worth a terminal's width: fields every Powertools line has (the JSON keeps them all); `correlation_id` comes last. */
const QUIET_FIELDS = new Set([
  'timestamp',
  'level',
  'message',
  'service',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
  'sampling_rate',
  'xray_trace_id',
]);

/** One field as a readable line shows it: `name=value`, a string as it is, anything else as JSON. */
export const field = (name: string, value: unknown): string => `${name}=${typeof value === 'string' ? value : JSON.stringify(value)}`;

export function readable(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (isMetrics(entry)) return metricsLine(entry);
  if (typeof entry.message !== 'string') return line;
  const time = typeof entry.timestamp === 'string' ? entry.timestamp.slice(11, 23) : '';
  const level = entry.level === 'INFO' || !entry.level ? '' : ` ${String(entry.level)}`;
  const { correlation_id: correlationId, ...fields } = entry;
  const details = [...Object.entries(fields), ['correlation_id', correlationId] as const]
    .filter(([name, value]) => !QUIET_FIELDS.has(name) && value !== undefined && value !== null)
    .map(([name, value]) => field(name, value))
    .join(' ');
  return `${time}${level} ${entry.message}${details ? `  ${details}` : ''}`;
}

interface EmfLine {
  _aws: { Timestamp: number; CloudWatchMetrics: { Metrics: { Name: string }[] }[] };
  [field: string]: unknown;
}

const isMetrics = (entry: Record<string, unknown>): entry is EmfLine =>
  typeof entry._aws === 'object' && entry._aws !== null && Array.isArray((entry._aws as EmfLine['_aws']).CloudWatchMetrics);

/** An Embedded Metric Format line: `[metrics] OffersSent=1`. */
function metricsLine(entry: EmfLine): string {
  const names = entry._aws.CloudWatchMetrics.flatMap((directive) => directive.Metrics.map((metric) => metric.Name));
  const time = new Date(entry._aws.Timestamp).toISOString().slice(11, 23);
  return `${time} [metrics] ${names.map((name) => `${name}=${JSON.stringify(entry[name])}`).join(' ')}`;
}

export const sandboxLine = (message: string): string => `${new Date().toISOString().slice(11, 23)} [sandbox] ${message}`;
