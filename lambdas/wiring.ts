/**
 * The one place that builds AWS clients and adapters, from the environment
 * the stack (or the sandbox) sets. Each piece is built on first use and then
 * kept for the container's life, so a handler needs only the env of what it
 * uses (ws-ping has no table) and clients are reused across invocations.
 * Endpoints come from `AWS_ENDPOINT_URL_<SERVICE>` where set (the sandbox).
 * Handlers wrap themselves in `observe` (Powertools: context, correlation id,
 * metrics published per invocation).
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDbConnectionStore } from './adapters/dynamodb-connection-store';
import { DynamoDbMechanicStore } from './adapters/dynamodb-mechanic-store';
import { DynamoDbRequestStore } from './adapters/dynamodb-request-store';
import { DynamoDbSessionStore } from './adapters/dynamodb-session-store';
import { ApiGatewayPusher } from './adapters/apigw-pusher';
import { EventBridgeFallbackScheduler } from './adapters/eventbridge-scheduler';
import { loggerPort, metricsPort, observer } from './adapters/powertools';
import { systemClock } from './adapters/system-clock';
import { JoseTokenVerifier } from './adapters/jose-token-verifier';
import { SsmFeatureFlag } from './adapters/ssm-flag';
import { DEFAULT_FLAG_CACHE_TTL_SECONDS, DEFAULT_PRIORITY_WINDOW_SECONDS, DEFAULT_ROUTING_GUARD_SECONDS, ENV } from '../contract/env';
import { numberEnv, requireEnv } from './config';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../contract/metrics';
import type { Deps } from './use-cases/deps';

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

const sessions = once(() => new DynamoDbSessionStore(documentClient(), tableName()));
const requests = once(() => new DynamoDbRequestStore(documentClient(), tableName()));
const mechanics = once(() => new DynamoDbMechanicStore(documentClient(), tableName()));
const connections = once(() => new DynamoDbConnectionStore(documentClient(), tableName()));
const pusher = once(() => new ApiGatewayPusher(new ApiGatewayManagementApiClient({ endpoint: requireEnv(ENV.connectionsEndpoint) })));
const scheduler = once(
  () =>
    new EventBridgeFallbackScheduler(new SchedulerClient({}), {
      groupName: requireEnv(ENV.scheduleGroupName),
      // Only functions that create schedules get these; deleting needs the group alone.
      functionArn: process.env[ENV.fallbackFunctionArn] ?? '',
      routingGuardFunctionArn: process.env[ENV.routingGuardFunctionArn] ?? '',
      roleArn: process.env[ENV.schedulerRoleArn] ?? '',
      deadLetterQueueArn: process.env[ENV.fallbackDeadLetterQueueArn] ?? '',
    }),
);
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
const routingGuardSeconds = once(() => numberEnv(ENV.routingGuardSeconds, DEFAULT_ROUTING_GUARD_SECONDS));

export const deps: Deps = {
  get sessions() {
    return sessions();
  },
  get requests() {
    return requests();
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
  get scheduler() {
    return scheduler();
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
  get routingGuardSeconds() {
    return routingGuardSeconds();
  },
};
