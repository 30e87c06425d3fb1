/**
 * The flags of `npm start`, each also read from an env var (SANDBOX_HTTP_PORT,
 * …) so scripts and containers can set it. Pure: the CLI prints what this
 * throws, with the usage text.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_MESSAGE_RATE_LIMIT } from '../contract/env';
import { DEFAULT_THROTTLES, formatThrottle, parseThrottle, type Throttle, type Throttles } from '../contract/throttles';
import type { SandboxOptions } from './index';

export const USAGE = `Usage: npm start -- [options]

  --http-port <n>         HTTP API port (env SANDBOX_HTTP_PORT, default 3000, 0 = any free port)
  --ws-port <n>           WebSocket API port (env SANDBOX_WS_PORT, default 3001)
  --aws-port <n>          AWS endpoint port (env SANDBOX_AWS_PORT, default 4566)
  --priority-window <s>   priority window in seconds (env SANDBOX_PRIORITY_WINDOW, default 600)
  --flag on|off           set ENABLE_FAVORITES_PRIORITY at start (env SANDBOX_FLAG; default: keep stored, false at first)
  --flag-cache-ttl <s>    how long handlers cache the flag (env SANDBOX_FLAG_CACHE_TTL, default 10)
  --recovery-delay <s>    how long before the timer finishes a routing an invocation left undone (env SANDBOX_RECOVERY_DELAY, default 120)
  --request-ttl <s>       how long an open request waits for a mechanic before it expires (env SANDBOX_REQUEST_TTL, default 1800)
  --max-open-bookings <n> the most open bookings one customer may hold at once (env SANDBOX_MAX_OPEN_BOOKINGS, default 3)
  --lambda-concurrency <n>  worker threads per pool (request path, async targets) running Lambda containers (env SANDBOX_LAMBDA_CONCURRENCY, default: cores)
  --async-retry-delays <s>,<s>  Lambda's waits before retrying a failed async invocation (env SANDBOX_ASYNC_RETRY_DELAYS, default 60,120)
  --scheduler-precision aws|exact  when an at(T) schedule fires: aws = a random moment in T's minute, as AWS does;
                          exact = at T (env SANDBOX_SCHEDULER_PRECISION, default aws)
  --throttle on|off       API Gateway's route throttles, as the stack sets them: past a route's bucket, HTTP 429
                          {"message":"Too Many Requests"} (env SANDBOX_THROTTLE, default on)
  --http-throttle <rate>/<burst>           each HTTP route's bucket but intake's (env SANDBOX_HTTP_THROTTLE, default ${formatThrottle(DEFAULT_THROTTLES.http)})
  --intake-throttle <rate>/<burst>         POST /intake/start's (env SANDBOX_INTAKE_THROTTLE, default ${formatThrottle(DEFAULT_THROTTLES.intake)})
  --ws-throttle <rate>/<burst>             each WebSocket route's but accept's and decline's (env SANDBOX_WS_THROTTLE, default ${formatThrottle(DEFAULT_THROTTLES.webSocket)})
  --accept-decline-throttle <rate>/<burst> accept's, and decline's (env SANDBOX_ACCEPT_DECLINE_THROTTLE, default ${formatThrottle(DEFAULT_THROTTLES.acceptDecline)})
  --message-rate-limit <n>  messages one WebSocket connection may send per second; past it, one error event
                          rate_limited and the rest of that second is ignored (env SANDBOX_MESSAGE_RATE_LIMIT, default ${DEFAULT_MESSAGE_RATE_LIMIT})
  --in-memory             keep nothing on disk (env SANDBOX_IN_MEMORY=1)
  --data-dir <path>       where state lives (env SANDBOX_DATA_DIR, default .sandbox)
  --help                  this text`;

/** A flag or env value that makes no sense: the message names it. */
export class UsageError extends Error {}

export function parseSandboxArgs(args: readonly string[], env: NodeJS.ProcessEnv): SandboxOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        'http-port': { type: 'string' },
        'ws-port': { type: 'string' },
        'aws-port': { type: 'string' },
        'priority-window': { type: 'string' },
        flag: { type: 'string' },
        'flag-cache-ttl': { type: 'string' },
        'recovery-delay': { type: 'string' },
        'request-ttl': { type: 'string' },
        'max-open-bookings': { type: 'string' },
        'lambda-concurrency': { type: 'string' },
        'async-retry-delays': { type: 'string' },
        'scheduler-precision': { type: 'string' },
        throttle: { type: 'string' },
        'http-throttle': { type: 'string' },
        'intake-throttle': { type: 'string' },
        'ws-throttle': { type: 'string' },
        'accept-decline-throttle': { type: 'string' },
        'message-rate-limit': { type: 'string' },
        'in-memory': { type: 'boolean' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const text = (name: string, envName: string): string | undefined => (values[name] as string | undefined) ?? env[envName];
  const number = (name: string, envName: string, min: number): number | undefined => {
    const raw = text(name, envName);
    if (raw === undefined || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) throw new UsageError(`--${name} must be a whole number ≥ ${min}, got "${raw}"`);
    return value;
  };
  /** Two waits in seconds, `60,120`: Lambda retries a failed async invocation twice. */
  const delays = (name: string, envName: string): number[] | undefined => {
    const raw = text(name, envName);
    if (raw === undefined || raw === '') return undefined;
    const seconds = raw.split(',').map((part) => Number(part.trim()));
    if (seconds.length !== 2 || seconds.some((s) => !Number.isFinite(s) || s < 0))
      throw new UsageError(`--${name} must be two waits in seconds, like 60,120; got "${raw}"`);
    return seconds.map((s) => Math.round(s * 1000));
  };
  /** `rate/burst`, as the stack's props take it. */
  const throttle = (name: string, envName: string): Throttle | undefined => {
    const raw = text(name, envName);
    if (raw === undefined || raw === '') return undefined;
    const value = parseThrottle(raw);
    if (!value) throw new UsageError(`--${name} must be <rate>/<burst> (requests per second / at once), like 100/200; got "${raw}"`);
    return value;
  };
  const throttleSwitch = text('throttle', 'SANDBOX_THROTTLE');
  if (throttleSwitch !== undefined && throttleSwitch !== 'on' && throttleSwitch !== 'off')
    throw new UsageError(`--throttle must be on or off, got "${throttleSwitch}"`);
  const given: Partial<Throttles> = {
    http: throttle('http-throttle', 'SANDBOX_HTTP_THROTTLE'),
    intake: throttle('intake-throttle', 'SANDBOX_INTAKE_THROTTLE'),
    webSocket: throttle('ws-throttle', 'SANDBOX_WS_THROTTLE'),
    acceptDecline: throttle('accept-decline-throttle', 'SANDBOX_ACCEPT_DECLINE_THROTTLE'),
  };
  const throttles = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)) as Partial<Throttles>;
  const flag = text('flag', 'SANDBOX_FLAG');
  if (flag !== undefined && flag !== 'on' && flag !== 'off') throw new UsageError(`--flag must be on or off, got "${flag}"`);
  const precision = text('scheduler-precision', 'SANDBOX_SCHEDULER_PRECISION');
  if (precision !== undefined && precision !== 'aws' && precision !== 'exact')
    throw new UsageError(`--scheduler-precision must be aws or exact, got "${precision}"`);
  return {
    httpPort: number('http-port', 'SANDBOX_HTTP_PORT', 0),
    wsPort: number('ws-port', 'SANDBOX_WS_PORT', 0),
    awsPort: number('aws-port', 'SANDBOX_AWS_PORT', 0),
    priorityWindowSeconds: number('priority-window', 'SANDBOX_PRIORITY_WINDOW', 1),
    flagCacheTtlSeconds: number('flag-cache-ttl', 'SANDBOX_FLAG_CACHE_TTL', 1),
    recoveryDelaySeconds: number('recovery-delay', 'SANDBOX_RECOVERY_DELAY', 1),
    requestTtlSeconds: number('request-ttl', 'SANDBOX_REQUEST_TTL', 1),
    maxOpenBookingsPerCustomer: number('max-open-bookings', 'SANDBOX_MAX_OPEN_BOOKINGS', 1),
    lambdaConcurrency: number('lambda-concurrency', 'SANDBOX_LAMBDA_CONCURRENCY', 1),
    asyncRetryDelaysMs: delays('async-retry-delays', 'SANDBOX_ASYNC_RETRY_DELAYS'),
    schedulerPrecision: precision as 'aws' | 'exact' | undefined,
    throttles: throttleSwitch === 'off' ? 'off' : Object.keys(throttles).length ? throttles : undefined,
    messageRateLimit: number('message-rate-limit', 'SANDBOX_MESSAGE_RATE_LIMIT', 1),
    flag: flag as 'on' | 'off' | undefined,
    inMemory: (values['in-memory'] as boolean | undefined) ?? ['1', 'true'].includes(env.SANDBOX_IN_MEMORY ?? ''),
    dataDir: text('data-dir', 'SANDBOX_DATA_DIR'),
  };
}
