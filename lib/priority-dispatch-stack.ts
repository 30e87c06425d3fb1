/**
 * The whole of priority-dispatch in one stack: the table, the feature flag,
 * one function per manifest entry (contract/routes.ts) with exactly the grants its
 * manifest flags ask for, the fallback scheduler and the two APIs.
 */
import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { DEFAULT_FLAG_CACHE_TTL_SECONDS, DEFAULT_PRIORITY_WINDOW_SECONDS } from '../contract/env';
import { DEFAULT_STAGE, flagParameterName, scheduleGroupName } from '../contract/naming';
import { type FunctionName, type FunctionSpec, functions as manifest, isScheduleTarget, scheduleTargets } from '../contract/routes';
import { Alarms } from './constructs/alarms';
import { Apis } from './constructs/apis';
import { Data } from './constructs/data';
import { FallbackScheduler } from './constructs/fallback-scheduler';
import { FeatureFlag } from './constructs/flag';
import { type LogLevel, ProjectFunction } from './constructs/node-function';

/** Until a real issuer is configured, the JWT authorizers refuse every request (fail closed). */
export const PLACEHOLDER_JWT_ISSUER = 'https://issuer.invalid';
export const DEFAULT_JWT_AUDIENCE = 'priority-dispatch';
/** Handlers cache the flag; a flip must reach every container quickly. */
export const MAX_FLAG_CACHE_TTL = Duration.seconds(15);

export interface PriorityDispatchStackProps extends StackProps {
  /**
   * Deployment stage: part of every name (stack, flag parameter, schedule
   * group, WebSocket stage). Lowercase letters, digits and dashes.
   * @default 'dev'
   */
  readonly stage?: string;
  /**
   * How long the favorite mechanic has the request to themselves.
   * @default Duration.minutes(10)
   */
  readonly priorityWindow?: Duration;
  /**
   * How long handlers cache the feature flag; at most 15 s so a flip by ops
   * takes effect quickly.
   * @default Duration.seconds(10)
   */
  readonly flagCacheTtl?: Duration;
  /**
   * JWT issuer (`iss`) for the HTTP API authorizer and the WebSocket
   * `$connect` authorizer.
   * @default 'https://issuer.invalid': a placeholder that refuses every request, with a synth warning
   */
  readonly jwtIssuer?: string;
  /**
   * JWT audience (`aud`) both authorizers require.
   * @default 'priority-dispatch'
   */
  readonly jwtAudience?: string;
  /**
   * What happens to stateful resources (table, log groups, DLQ, schedule
   * group) when they leave the stack.
   * @default RemovalPolicy.DESTROY for stage 'dev', RemovalPolicy.RETAIN for every other stage
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Create the account-level API Gateway CloudWatch role that WebSocket access
   * logging needs. Turn off if the account already registers one elsewhere.
   * @default true
   */
  readonly manageApiGatewayAccountRole?: boolean;
  /**
   * The functions' log level (Powertools Logger); lines below it are not written.
   * @default 'INFO'
   */
  readonly logLevel?: LogLevel;
}

export class PriorityDispatchStack extends Stack {
  readonly stage: string;
  readonly data: Data;
  readonly flag: FeatureFlag;
  readonly functions: Readonly<Record<FunctionName, ProjectFunction>>;
  readonly fallback: FallbackScheduler;
  readonly apis: Apis;
  readonly alarms: Alarms;

  constructor(scope: Construct, id: string, props: PriorityDispatchStackProps = {}) {
    super(scope, id, props);
    this.stage = props.stage ?? DEFAULT_STAGE;
    const stage = this.stage;
    if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(stage)) {
      throw new Error(`stage must be lowercase letters, digits and dashes (at most 31), got "${stage}"`);
    }
    const priorityWindow = props.priorityWindow ?? Duration.seconds(DEFAULT_PRIORITY_WINDOW_SECONDS);
    const flagCacheTtl = props.flagCacheTtl ?? Duration.seconds(DEFAULT_FLAG_CACHE_TTL_SECONDS);
    validateSeconds('priorityWindow', priorityWindow, 1, Duration.days(1).toSeconds());
    validateSeconds('flagCacheTtl', flagCacheTtl, 1, MAX_FLAG_CACHE_TTL.toSeconds());
    const jwtIssuer = props.jwtIssuer ?? PLACEHOLDER_JWT_ISSUER;
    const jwtAudience = props.jwtAudience ?? DEFAULT_JWT_AUDIENCE;
    if (jwtIssuer === PLACEHOLDER_JWT_ISSUER) {
      Annotations.of(this).addWarningV2(
        'priority-dispatch:jwtIssuerPlaceholder',
        `jwtIssuer is not set: both APIs will refuse every request (issuer ${PLACEHOLDER_JWT_ISSUER}). Deploy with -c jwtIssuer=https://… (and -c jwtAudience=…).`,
      );
    }
    const removalPolicy = props.removalPolicy ?? (stage === 'dev' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN);

    this.data = new Data(this, 'Data', { removalPolicy });
    this.flag = new FeatureFlag(this, 'Flag', { parameterName: flagParameterName(stage) });

    const specs = Object.entries(manifest) as [FunctionName, FunctionSpec][];
    const functions = {} as Record<FunctionName, ProjectFunction>;
    for (const [name, spec] of specs) {
      functions[name] = new ProjectFunction(this, capitalize(name), {
        entry: spec.entry,
        description: spec.description,
        // Schedule targets are invoked by the Scheduler, not behind API Gateway's 29 s limit.
        timeout: isScheduleTarget(name) ? Duration.seconds(60) : Duration.seconds(29),
        // Pushing is CPU-bound SDK work (DESIGN §6), and Lambda CPU scales with memory.
        memorySize: spec.pushes ? 1024 : 256,
        logRetention: RetentionDays.ONE_MONTH,
        logLevel: props.logLevel,
        removalPolicy,
      });
    }
    this.functions = functions;
    const lambdas = Object.fromEntries(specs.map(([name]) => [name, functions[name].function])) as Record<FunctionName, ProjectFunction['function']>;

    this.fallback = new FallbackScheduler(this, 'Fallback', {
      scheduleGroupName: scheduleGroupName(stage),
      targets: { fallback: functions[scheduleTargets.fallback].function, routingGuard: functions[scheduleTargets.routingGuard].function },
      removalPolicy,
    });

    this.apis = new Apis(this, 'Apis', {
      stage,
      jwtIssuer,
      jwtAudience,
      functions: lambdas,
      removalPolicy,
      manageApiGatewayAccountRole: props.manageApiGatewayAccountRole,
    });

    // Grants: exactly what each manifest entry lists, nothing more.
    for (const [name, spec] of specs) {
      const fn = functions[name];
      if (spec.table) fn.bindTable(this.data.table, spec.table);
      if (spec.readsFlag) fn.bindFlag(this.flag.parameter, flagCacheTtl);
      if (spec.pushes) fn.bindPush(this.apis.webSocketStage);
      if (spec.createsSchedules) fn.bindScheduleCreation(this.fallback, priorityWindow);
      if (spec.deletesSchedules) fn.bindScheduleDeletion(this.fallback);
      if (spec.verifiesJwt) fn.bindJwt(jwtIssuer, jwtAudience);
    }

    this.alarms = new Alarms(this, 'Alarms', {
      functions: lambdas,
      fallbackFunction: scheduleTargets.fallback,
    });

    new CfnOutput(this, 'HttpApiUrl', { description: 'Customer and admin HTTP API', value: this.apis.httpStage.url });
    new CfnOutput(this, 'WebSocketUrl', { description: 'Mechanic WebSocket API (add ?token=<JWT>)', value: this.apis.webSocketStage.url });
    new CfnOutput(this, 'FlagParameterName', { description: 'Feature flag: put-parameter --overwrite true|false', value: this.flag.parameter.parameterName });
    new CfnOutput(this, 'TableName', { value: this.data.table.tableName });
    new CfnOutput(this, 'ScheduleGroupName', { value: this.fallback.group.scheduleGroupName });
    new CfnOutput(this, 'FallbackDeadLetterQueueUrl', { description: 'Undeliverable fallbacks', value: this.fallback.deadLetterQueue.queueUrl });
  }
}

function validateSeconds(name: string, value: Duration, min: number, max: number): void {
  const seconds = value.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < min || seconds > max) {
    throw new Error(`${name} must be a whole number of seconds between ${min} and ${max}, got ${value.toHumanString()}`);
  }
}

const capitalize = (name: string): string => name.charAt(0).toUpperCase() + name.slice(1);
