/**
 * The CDK app: reads context, builds the one stack, runs cdk-nag.
 *   npx cdk synth -c stage=prod -c jwtIssuer=https://auth.example.com -c jwtAudience=priority-dispatch
 * Optional: -c priorityWindowMinutes=10 -c flagCacheTtlSeconds=10 -c consoleSite=true
 *   -c httpThrottle=100/200 -c intakeThrottle=1/5 -c webSocketThrottle=500/1000 -c acceptDeclineThrottle=100/200 (rate/burst)
 *   -c messageRateLimit=10 -c maxOpenBookingsPerCustomer=3
 */
import { App, Duration, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_STAGE, stackName } from '../contract/naming';
import { parseThrottle, type Throttle } from '../contract/throttles';
import { PriorityDispatchStack } from '../lib/priority-dispatch-stack';

const app = new App();
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined || value === null || value === '' ? undefined : String(value);
};
const positiveNumber = (key: string): number | undefined => {
  const raw = context(key);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`context ${key} must be a positive number, got "${raw}"`);
  return value;
};

/** `-c key=true` arrives as the string "true"; cdk.json may hold a real boolean. */
const flag = (key: string): boolean | undefined => {
  const raw = context(key);
  if (raw === undefined) return undefined;
  if (raw !== 'true' && raw !== 'false') throw new Error(`context ${key} must be true or false, got "${raw}"`);
  return raw === 'true';
};

/** `rate/burst`, e.g. `-c intakeThrottle=0.5/5`. */
const throttle = (key: string): Throttle | undefined => {
  const raw = context(key);
  if (raw === undefined) return undefined;
  const value = parseThrottle(raw);
  if (!value) throw new Error(`context ${key} must be rate/burst, like 100/200, got "${raw}"`);
  return value;
};

const stage = context('stage') ?? DEFAULT_STAGE;
const priorityWindowMinutes = positiveNumber('priorityWindowMinutes');
const flagCacheTtlSeconds = positiveNumber('flagCacheTtlSeconds');
const maxOpenBookingsPerCustomer = positiveNumber('maxOpenBookingsPerCustomer');

new PriorityDispatchStack(app, stackName(stage), {
  stackName: stackName(stage),
  description: `priority-dispatch (${stage}): favorite-mechanic priority dispatch with a durable broadcast fallback`,
  stage,
  jwtIssuer: context('jwtIssuer'),
  jwtAudience: context('jwtAudience'),
  priorityWindow: priorityWindowMinutes === undefined ? undefined : Duration.seconds(Math.round(priorityWindowMinutes * 60)),
  flagCacheTtl: flagCacheTtlSeconds === undefined ? undefined : Duration.seconds(flagCacheTtlSeconds),
  consoleSite: flag('consoleSite'),
  httpThrottle: throttle('httpThrottle'),
  intakeThrottle: throttle('intakeThrottle'),
  webSocketThrottle: throttle('webSocketThrottle'),
  acceptDeclineThrottle: throttle('acceptDeclineThrottle'),
  messageRateLimit: positiveNumber('messageRateLimit'),
  maxOpenBookingsPerCustomer,
});

// cdk-nag 3 is a policy-validation plugin: any unacknowledged finding fails synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
