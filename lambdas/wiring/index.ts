/**
 * The composition root: what every function has (Powertools Logger and
 * Metrics, `observe`, the clock, the timing settings) and `wire`, which adds
 * the parts a handler names. Each part lives in its own module here
 * (`table`, `pusher`, `timer`, `fan-out`, `flag`, `tokens`) and is the one
 * place that builds its AWS client and adapter, so a handler's static imports
 * — and so its esbuild bundle — reach exactly the clients its manifest entry grants
 * (test/infra/bundle.test.ts checks each bundle against contract/routes.ts).
 * Nothing here imports a part: a barrel would put every client in every bundle.
 *
 * Pieces are built on first use and kept for the container's life, so
 * clients are reused across invocations and handlers may be imported before
 * their env is set (tests). Endpoints come from `AWS_ENDPOINT_URL_<SERVICE>`
 * where set (the sandbox).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  DEFAULT_MAX_OPEN_BOOKINGS_PER_CUSTOMER,
  DEFAULT_MESSAGE_RATE_LIMIT,
  DEFAULT_PRIORITY_WINDOW_SECONDS,
  DEFAULT_RECOVERY_DELAY_SECONDS,
  DEFAULT_REQUEST_TTL_SECONDS,
  DEFAULT_WS_TICKET_TTL_SECONDS,
  ENV,
} from '../../contract/env';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../contract/metrics';
import { loggerPort, metricsPort, observer } from '../adapters/powertools';
import { Sha256 } from '../adapters/sha256';
import { systemClock } from '../adapters/system-clock';
import { numberEnv } from '../config';
import type { Deps } from '../use-cases/deps';

/** Builds on first call, then returns the same value for the container's life. */
export function once<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => {
    built ??= { value: build() };
    return built.value;
  };
}

/**
 * What every part's AWS client is built with: the signer's hash
 * (lambdas/adapters/sha256.ts, 20–30 µs less CPU per call under Node 24).
 * Region, credentials and endpoint come from the environment as usual.
 */
export const awsClientConfig = { sha256: Sha256 };

const powertoolsLogger = new Logger({ serviceName: SERVICE_NAME });
const powertoolsMetrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

/** The logger every part and handler shares. */
export const log = loggerPort(powertoolsLogger);

/** Wraps a handler: Lambda context and correlation id on every log line of the invocation, metrics published at its end. */
export const observe = observer(powertoolsLogger, powertoolsMetrics);

/** What every function has: no AWS client among it. */
export type Base = Pick<
  Deps,
  | 'clock'
  | 'log'
  | 'metrics'
  | 'priorityWindowSeconds'
  | 'recoveryDelaySeconds'
  | 'requestTtlSeconds'
  | 'messageRateLimit'
  | 'maxOpenBookingsPerCustomer'
  | 'ticketTtlSeconds'
>;

const priorityWindowSeconds = once(() => numberEnv(ENV.priorityWindowSeconds, DEFAULT_PRIORITY_WINDOW_SECONDS));
const recoveryDelaySeconds = once(() => numberEnv(ENV.recoveryDelaySeconds, DEFAULT_RECOVERY_DELAY_SECONDS));
const requestTtlSeconds = once(() => numberEnv(ENV.requestTtlSeconds, DEFAULT_REQUEST_TTL_SECONDS));
const messageRateLimit = once(() => numberEnv(ENV.messageRateLimit, DEFAULT_MESSAGE_RATE_LIMIT));
const maxOpenBookingsPerCustomer = once(() => numberEnv(ENV.maxOpenBookingsPerCustomer, DEFAULT_MAX_OPEN_BOOKINGS_PER_CUSTOMER));
const ticketTtlSeconds = once(() => numberEnv(ENV.wsTicketTtlSeconds, DEFAULT_WS_TICKET_TTL_SECONDS));

const base: Base = {
  clock: systemClock,
  log,
  metrics: metricsPort(powertoolsMetrics),
  get priorityWindowSeconds() {
    return priorityWindowSeconds();
  },
  get recoveryDelaySeconds() {
    return recoveryDelaySeconds();
  },
  get requestTtlSeconds() {
    return requestTtlSeconds();
  },
  get messageRateLimit() {
    return messageRateLimit();
  },
  get maxOpenBookingsPerCustomer() {
    return maxOpenBookingsPerCustomer();
  },
  get ticketTtlSeconds() {
    return ticketTtlSeconds();
  },
};

type Merged<P extends readonly object[]> = P extends readonly [infer First, ...infer Rest extends readonly object[]] ? First & Merged<Rest> : unknown;

/**
 * A handler's deps: the base plus the parts it names, e.g.
 * `wire(table, pusher, fanOut)`. Getters are copied as getters, so each part
 * is still built on first use.
 */
export function wire<P extends readonly object[]>(...parts: P): Base & Merged<P> {
  const deps = {};
  for (const part of [base, ...parts]) Object.defineProperties(deps, Object.getOwnPropertyDescriptors(part));
  return deps as Base & Merged<P>;
}
