/**
 * `tail`: the functions' log lines as they are written. In the sandbox they come from `GET /dev/logs` (its
 * cursor only moves forward, so no line is printed twice or skipped); against a stage from CloudWatch Logs'
 * FilterLogEvents on every function's log group (the `LogGroupNames` output), polled one group at a time.
 * Both print through the same formatter, sandbox/log-lines.ts.
 */
import { type CloudWatchLogsClient, FilterLogEventsCommand, type FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { readable } from '../sandbox/log-lines';
import { callApi } from './clients';
import { need, type Target } from './target';

/** How often the sandbox is asked for new lines. */
const POLL_MS = 500;
/**
 * The pause after each FilterLogEvents call: its quota is a few calls a second per account and region
 * (shared with everyone else's `aws logs tail`), so a cycle over the 16 groups takes about 4 s.
 */
const AWS_CALL_GAP_MS = 250;
/**
 * CloudWatch Logs can make an event searchable after a later one of the same group (concurrent containers
 * write to different streams), so each call looks this far behind the newest event printed.
 */
export const LATE_EVENT_MS = 10_000;
/** `--from-start` against a stage: the log groups keep a month, more than a terminal wants. */
const FROM_START_AWS_MS = 60 * 60 * 1000;

export interface TailOptions {
  fromStart: boolean;
  json: boolean;
  /** Stops following (Ctrl-C). */
  signal: AbortSignal;
  print: (line: string) => void;
}

export async function tail(target: Target, options: TailOptions, logs: () => CloudWatchLogsClient): Promise<void> {
  if (target.mode === 'aws') return tailLogGroups(logs(), need(target, 'logGroupNames'), options);
  let cursor = options.fromStart ? 0 : undefined;
  while (!options.signal.aborted) {
    const { lines, next } = await callApi<{ lines: string[]; next: number }>(target, 'GET', `/dev/logs${cursor === undefined ? '' : `?since=${cursor}`}`);
    for (const line of lines) options.print(options.json ? jsonLine(line) : readable(line));
    cursor = next;
    await pause(POLL_MS, options.signal);
  }
}

/** Each cycle asks every group for what came since its cursor, then prints the cycle's events in time order. */
async function tailLogGroups(logs: CloudWatchLogsClient, groups: readonly string[], options: TailOptions): Promise<void> {
  const start = Date.now() - (options.fromStart ? FROM_START_AWS_MS : 0);
  const cursors = new Map(groups.map((group) => [group, { startTime: start, printed: new Map() } as LogCursor]));
  while (!options.signal.aborted) {
    const cycle: { group: string; event: FilteredLogEvent }[] = [];
    for (const group of groups) {
      const events: FilteredLogEvent[] = [];
      let nextToken: string | undefined;
      do {
        const page = await logs.send(new FilterLogEventsCommand({ logGroupName: group, startTime: cursors.get(group)!.startTime, nextToken }));
        events.push(...(page.events ?? []));
        nextToken = page.nextToken;
        await pause(AWS_CALL_GAP_MS, options.signal);
      } while (nextToken && !options.signal.aborted);
      const { fresh, cursor } = advance(cursors.get(group)!, events);
      cursors.set(group, cursor);
      cycle.push(...fresh.map((event) => ({ group, event })));
      if (options.signal.aborted) break;
    }
    cycle.sort((a, b) => (a.event.timestamp ?? 0) - (b.event.timestamp ?? 0));
    for (const { group, event } of cycle) options.print(logEventLine(event.message ?? '', group, options.json));
  }
}

/** Where a group's next FilterLogEvents starts (inclusive), and the events already printed from there on. */
export interface LogCursor {
  startTime: number;
  /** eventId → timestamp. */
  printed: ReadonlyMap<string, number>;
}

/** The events of one answer not printed yet, and the cursor after them (LATE_EVENT_MS behind the newest). */
export function advance(cursor: LogCursor, events: readonly FilteredLogEvent[]): { fresh: FilteredLogEvent[]; cursor: LogCursor } {
  const fresh = events.filter((event) => !cursor.printed.has(event.eventId ?? ''));
  const newest = fresh.reduce((max, event) => Math.max(max, event.timestamp ?? 0), 0);
  const startTime = Math.max(cursor.startTime, newest - LATE_EVENT_MS);
  const printed = [...cursor.printed, ...fresh.map((event) => [event.eventId ?? '', event.timestamp ?? 0] as const)].filter(([, at]) => at >= startTime);
  return { fresh, cursor: { startTime, printed: new Map(printed) } };
}

/** An event's message as tail prints it: the same readable line as the sandbox's, or JSON with `--json`. */
export function logEventLine(message: string, group: string, json: boolean): string {
  // The message keeps the newline the function wrote.
  const line = message.trimEnd();
  return json ? jsonLine(line, group) : readable(line);
}

/**
 * A handler's line is JSON already; any other line (the sandbox's `12:00:00.000 [sandbox] …`, Lambda's
 * START/END/REPORT) is wrapped, naming where it came from, so every line parses.
 */
export function jsonLine(line: string, source = 'sandbox'): string {
  if (line.startsWith('{')) return line;
  return JSON.stringify({ source, message: line });
}

/** Resolves after `ms`, or at once on Ctrl-C. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => resolve(clearTimeout(timer)), { once: true });
  });
}
