/**
 * The one place that builds AWS clients and adapters, from the environment
 * the stack (or the sandbox) sets. Each piece is built on first use and then
 * kept for the container's life, so a handler needs only the env of what it
 * uses (ws-ping has no table) and clients are reused across invocations.
 * Endpoints come from `AWS_ENDPOINT_URL_<SERVICE>` where set (the sandbox).
 * Handlers wrap themselves in `observe` (Powertools: context, correlation id,
 * metrics published per invocation).
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDbConnectionStore } from './adapters/dynamodb-connection-store';
import { DynamoDbMechanicStore } from './adapters/dynamodb-mechanic-store';
import { DynamoDbBookingStore } from './adapters/dynamodb-booking-store';
import { SignedConnectionsPusher } from './adapters/signed-connections-pusher';
import { EventBridgeRequestTimer } from './adapters/eventbridge-request-timer';
import { LambdaFanOut } from './adapters/lambda-fan-out';
import { loggerPort, metricsPort, observer } from './adapters/powertools';
import { systemClock } from './adapters/system-clock';
import { JoseTokenVerifier } from './adapters/jose-token-verifier';
import { SsmFeatureFlag } from './adapters/ssm-flag';
import {
  DEFAULT_FLAG_CACHE_TTL_SECONDS,
  DEFAULT_PRIORITY_WINDOW_SECONDS,
  DEFAULT_RECOVERY_DELAY_SECONDS,
  DEFAULT_REQUEST_TTL_SECONDS,
  ENV,
} from '../contract/env';
import { numberEnv, requireEnv } from './config';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../contract/metrics';
import type { Deps } from './use-cases/deps';
import { PUSH_CONCURRENCY } from './use-cases/tell-mechanics';

function once<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => {
    built ??= { value: build() };
    return built.value;
  };
}

const powertoolsLogger = new Logger({ serviceName: SERVICE_NAME });
const powertoolsMetrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
const log = loggerPort(powertoolsLogger);

/** Wraps a handler: Lambda context and correlation id on every log line of the invocation, metrics published at its end. */
export const observe = observer(powertoolsLogger, powertoolsMetrics);

const documentClient = once(() =>
  DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false } }),
);
const tableName = once(() => requireEnv(ENV.tableName));

const bookings = once(() => new DynamoDbBookingStore(documentClient(), tableName()));
const mechanics = once(() => new DynamoDbMechanicStore(documentClient(), tableName()));
const connections = once(() => new DynamoDbConnectionStore(documentClient(), tableName()));
const pusher = once(
  () =>
    new SignedConnectionsPusher(requireEnv(ENV.connectionsEndpoint), {
      // Lambda sets AWS_REGION in every function's environment.
      region: process.env.AWS_REGION ?? '',
      credentials: defaultProvider(),
      maxSockets: PUSH_CONCURRENCY,
    }),
);
const timer = once(
  () =>
    new EventBridgeRequestTimer(
      new SchedulerClient({}),
      {
        groupName: requireEnv(ENV.scheduleGroupName),
        // Only functions that set timers get these; deleting needs the group alone.
        functionArn: process.env[ENV.timerFunctionArn] ?? '',
        roleArn: process.env[ENV.schedulerRoleArn] ?? '',
        deadLetterQueueArn: process.env[ENV.deadLetterQueueArn] ?? '',
      },
      systemClock,
    ),
);
const fanOut = once(() => new LambdaFanOut(new LambdaClient({}), requireEnv(ENV.fanOutFunctionName)));
const flag = once(
  () =>
    new SsmFeatureFlag(
      new SSMClient({}),
      requireEnv(ENV.flagParameterName),
      numberEnv(ENV.flagCacheTtlSeconds, DEFAULT_FLAG_CACHE_TTL_SECONDS),
      systemClock,
      log,
    ),
);
const tokens = once(() => {
  const issuer = requireEnv(ENV.jwtIssuer);
  return new JoseTokenVerifier(process.env[ENV.jwksUrl] || `${issuer.replace(/\/$/, '')}/.well-known/jwks.json`, issuer, requireEnv(ENV.jwtAudience));
});
const priorityWindowSeconds = once(() => numberEnv(ENV.priorityWindowSeconds, DEFAULT_PRIORITY_WINDOW_SECONDS));
const recoveryDelaySeconds = once(() => numberEnv(ENV.recoveryDelaySeconds, DEFAULT_RECOVERY_DELAY_SECONDS));
const requestTtlSeconds = once(() => numberEnv(ENV.requestTtlSeconds, DEFAULT_REQUEST_TTL_SECONDS));

export const deps: Deps = {
  get bookings() {
    return bookings();
  },
  get mechanics() {
    return mechanics();
  },
  get connections() {
    return connections();
  },
  get pusher() {
    return pusher();
  },
  get timer() {
    return timer();
  },
  get fanOut() {
    return fanOut();
  },
  get flag() {
    return flag();
  },
  get tokens() {
    return tokens();
  },
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
};
