/**
 * Environment contract between the deployers (CDK stack, sandbox) and the
 * handlers. The stack and the sandbox set these names; `lambdas/wiring/` reads them.
 * AWS endpoints are not here: SDK v3 honours `AWS_ENDPOINT_URL_<SERVICE>`.
 */
export const ENV = {
  /** Read by Powertools Logger: DEBUG, INFO, WARN or ERROR. @default INFO */
  logLevel: 'POWERTOOLS_LOG_LEVEL',
  tableName: 'TABLE_NAME',
  flagParameterName: 'FLAG_PARAMETER_NAME',
  /** Seconds a flag read is cached. @default 10 */
  flagCacheTtlSeconds: 'FLAG_CACHE_TTL_SECONDS',
  /** Seconds the favorite has the request to themselves. @default 600 */
  priorityWindowSeconds: 'PRIORITY_WINDOW_SECONDS',
  /** `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`: the `@connections` endpoint. */
  connectionsEndpoint: 'CONNECTIONS_ENDPOINT',
  scheduleGroupName: 'SCHEDULE_GROUP_NAME',
  /** The function each request's timer schedule invokes. */
  timerFunctionArn: 'TIMER_FUNCTION_ARN',
  /** The function messages to many mechanics are handed to (asynchronously). */
  fanOutFunctionName: 'FAN_OUT_FUNCTION_NAME',
  /** Seconds after which the timer finishes a routing its invocation did not. @default 120 */
  recoveryDelaySeconds: 'RECOVERY_DELAY_SECONDS',
  /** Seconds an open request waits for a mechanic before it expires. @default 1800 */
  requestTtlSeconds: 'REQUEST_TTL_SECONDS',
  schedulerRoleArn: 'SCHEDULER_ROLE_ARN',
  /** Where the timer schedules send an event they could not deliver. */
  deadLetterQueueArn: 'DEAD_LETTER_QUEUE_ARN',
  jwtIssuer: 'JWT_ISSUER',
  jwtAudience: 'JWT_AUDIENCE',
  /** @default `${JWT_ISSUER}/.well-known/jwks.json` */
  jwksUrl: 'JWKS_URL',
  /** Messages one WebSocket connection may send per second (the rest of that second are ignored). @default 10 */
  messageRateLimit: 'MESSAGE_RATE_LIMIT',
  /** The most open bookings (not matched, cancelled or expired) one customer may hold at once. @default 3 */
  maxOpenBookingsPerCustomer: 'MAX_OPEN_BOOKINGS_PER_CUSTOMER',
  /** Seconds a WebSocket connect ticket (`POST /ws/ticket`) stays valid. The stack keeps the default; the sandbox's tests shorten it. @default 60 */
  wsTicketTtlSeconds: 'WS_TICKET_TTL_SECONDS',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

export const DEFAULT_PRIORITY_WINDOW_SECONDS = 600;
export const DEFAULT_FLAG_CACHE_TTL_SECONDS = 10;
/** Longer than any intake or checkout invocation (29 s), short enough that a customer is not kept waiting long. */
export const DEFAULT_RECOVERY_DELAY_SECONDS = 120;
/** An open request nobody accepts expires after 30 minutes. */
export const DEFAULT_REQUEST_TTL_SECONDS = 1800;
/**
 * Messages per second one WebSocket connection may send (fixed one-second windows): a mechanic app sends a handful
 * at most (an accept, a sync after reconnecting, a ping every few minutes), so 10 leaves room for a retry burst and
 * stops a client stuck in a loop from turning each of its messages into reads, writes and pushes.
 */
export const DEFAULT_MESSAGE_RATE_LIMIT = 10;
/** A customer holds at most 3 open bookings; the next intake gets 429 `too_many_open_bookings`. */
export const DEFAULT_MAX_OPEN_BOOKINGS_PER_CUSTOMER = 3;
/** A connect ticket is for connecting now: a minute covers a slow network, and a leaked one is soon worthless. */
export const DEFAULT_WS_TICKET_TTL_SECONDS = 60;
