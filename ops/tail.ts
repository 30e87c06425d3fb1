/**
 * `tail`: the functions' log lines as they are written. In the sandbox they come from `GET /dev/logs` (its
 * cursor only moves forward, so no line is printed twice or skipped); against AWS this is CloudWatch Logs'
 * FilterLogEvents on the functions' log groups, which needs `@aws-sdk/client-cloudwatch-logs` (not a
 * dependency yet: `aws logs tail <group> --follow` does it meanwhile).
 */
import { readable } from '../sandbox/log-lines';
import { callApi } from './clients';
import { OpsError } from './errors';
import type { Target } from './target';

/** How often the sandbox is asked for new lines. */
const POLL_MS = 500;

export interface TailOptions {
  fromStart: boolean;
  json: boolean;
  /** Stops following (Ctrl-C). */
  signal: AbortSignal;
  print: (line: string) => void;
}

export async function tail(target: Target, options: TailOptions): Promise<void> {
  if (target.mode === 'aws') {
    throw new OpsError(
      'unsupported',
      'tail against a deployed stage needs @aws-sdk/client-cloudwatch-logs (not a dependency yet): use aws logs tail <log group> --follow',
    );
  }
  let cursor = options.fromStart ? 0 : undefined;
  while (!options.signal.aborted) {
    const { lines, next } = await callApi<{ lines: string[]; next: number }>(target, 'GET', `/dev/logs${cursor === undefined ? '' : `?since=${cursor}`}`);
    for (const line of lines) options.print(options.json ? jsonLine(line) : readable(line));
    cursor = next;
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, POLL_MS);
      options.signal.addEventListener('abort', () => resolve(clearTimeout(timer)), { once: true });
    });
  }
}

/** A handler's line is JSON already; a sandbox line (`12:00:00.000 [sandbox] …`) is wrapped so every line parses. */
export function jsonLine(line: string): string {
  if (line.startsWith('{')) return line;
  return JSON.stringify({ source: 'sandbox', message: line });
}
