/**
 * The whole of priority-dispatch in one stack: the table, the feature flag,
 * one function per manifest entry (contract/routes.ts) with exactly the grants its
 * manifest flags ask for, the request timers (schedule group, scheduler role,
 * dead-letter queue), the two APIs, the alarms and a dashboard of them all;
 * and, when asked, the web console as a static site on CloudFront.
 */
import { Annotations, Aws, CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import {
  DEFAULT_FLAG_CACHE_TTL_SECONDS,
  DEFAULT_MESSAGE_RATE_LIMIT,
  DEFAULT_MAX_OPEN_BOOKINGS_PER_CUSTOMER,
  DEFAULT_PRIORITY_WINDOW_SECONDS,
  DEFAULT_RECOVERY_DELAY_SECONDS,
  DEFAULT_REQUEST_TTL_SECONDS,
} from '../contract/env';
import { DEFAULT_STAGE, dashboardName, flagParameterName, functionName, STACK_OUTPUTS, scheduleGroupName } from '../contract/naming';
import {
  asyncTargets,
  type FunctionName,
  type FunctionSpec,
  functions as manifest,
  isAsyncTarget,
  memoryMbOf,
  messageFunctions,
  timeoutSecondsOf,
} from '../contract/routes';
import { DEFAULT_THROTTLES, type Throttle, type Throttles, throttleProblem } from '../contract/throttles';
import { Alarms } from './constructs/alarms';
import { Apis } from './constructs/apis';
import { ConsoleSite } from './constructs/console-site';
import { Dashboard } from './constructs/dashboard';
import { Data } from './constructs/data';
import { FeatureFlag } from './constructs/flag';
import { type LogLevel, ProjectFunction } from './constructs/node-function';
import { RequestTimers } from './constructs/request-timers';

/** Until a real issuer is configured, the JWT authorizers refuse every request (fail closed). */
export const PLACEHOLDER_JWT_ISSUER = 'https://issuer.invalid';
export const DEFAULT_JWT_AUDIENCE = 'priority-dispatch';
/** Handlers cache the flag; a flip must reach every container quickly. */
export const MAX_FLAG_CACHE_TTL = Duration.seconds(15);
/** Shortest recovery delay: Scheduler's one-minute precision, and longer than any API invocation (29 s) it must not overtake. */
export const MIN_RECOVERY_DELAY = Duration.seconds(60);
/** Longest recovery delay: a customer whose routing died is not kept waiting longer. */
export const MAX_RECOVERY_DELAY = Duration.minutes(15);
/** Shortest and longest time an open request waits for a mechanic. */
export const MIN_REQUEST_TTL = Duration.seconds(60);
export const MAX_REQUEST_TTL = Duration.days(1);
/** The highest `maxOpenBookingsPerCustomer`: the customer's open sessions are one item's string set, read whole when full. */
export const MAX_OPEN_BOOKINGS_LIMIT = 100;

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
   * How long an open request (offered to everyone or to a workshop) waits for
   * a mechanic to accept it before it expires and its customer is told.
   * Whole seconds, between 1 minute and 1 day.
   * @default Duration.minutes(30)
   */
  readonly requestTtl?: Duration;
  /**
   * How long after a routing began the request timer finishes it if the
   * invocation that started it (intake, checkout: at most 29 s, API Gateway's
   * limit) died half-way. Whole seconds, at least 1 minute (Scheduler's
   * precision, and past any such invocation) and at most 15 minutes.
   * @default Duration.minutes(2)
   */
  readonly recoveryDelay?: Duration;
  /**
   * The most open bookings (awaiting checkout, routing, offered or open; not
   * matched, cancelled or expired) one customer may hold at once: the next
   * intake gets 429 `too_many_open_bookings` and writes nothing. An
   * `Idempotency-Key` retry of an existing booking is never refused by it.
   * A whole number from 1 to 100.
   * @default 3
   */
  readonly maxOpenBookingsPerCustomer?: number;
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
  /**
   * Also deploy the web console (console/) as a static site: a private S3
   * bucket behind a CloudFront distribution (output `ConsoleUrl`), its page
   * pointed at this stage's APIs. The HTTP API then allows that origin's
   * browser calls (CORS). Users paste tokens from the issuer; the ops view
   * sends operators to the ops CLI.
   * @default false
   */
  readonly consoleSite?: boolean;
  /**
   * Each HTTP API route's throttle but intake's (API Gateway's token bucket per route: `rateLimit` requests/s,
   * `burstLimit` at once; past it, 429). Size all four against the account's 10,000 requests/s (README "Sizing
   * the throttles").
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly httpThrottle?: Throttle;
  /**
   * `POST /intake/start`'s throttle: every booking may become two pushes to every connected mechanic, which share
   * the account's quota with everything else.
   * @default { rateLimit: 1, burstLimit: 5 }
   */
  readonly intakeThrottle?: Throttle;
  /**
   * Each WebSocket route's throttle but accept's and decline's (`$connect`, `sync`, `ping`, `pause`, `resume`, `$default`).
   * @default { rateLimit: 500, burstLimit: 1000 }
   */
  readonly webSocketThrottle?: Throttle;
  /**
   * The throttle of the WebSocket `accept` route, and of `decline` (each its own bucket).
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly acceptDeclineThrottle?: Throttle;
  /**
   * Messages one WebSocket connection may send per second (fixed one-second windows); past it the connection gets
   * one `error` event `rate_limited` and the rest of that second's messages do nothing. API Gateway throttles
   * routes, not connections: this is counted in the table, so it holds across Lambda containers. Whole, ≥ 1.
   * @default 10
   */
  readonly messageRateLimit?: number;
}

export class PriorityDispatchStack extends Stack {
  readonly stage: string;
  readonly data: Data;
  readonly flag: FeatureFlag;
  readonly functions: Readonly<Record<FunctionName, ProjectFunction>>;
  readonly timers: RequestTimers;
  readonly apis: Apis;
  readonly alarms: Alarms;
  readonly dashboard: Dashboard;
  /** Only with `consoleSite`. */
  readonly consoleSite?: ConsoleSite;

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
    const requestTtl = props.requestTtl ?? Duration.seconds(DEFAULT_REQUEST_TTL_SECONDS);
    const recoveryDelay = props.recoveryDelay ?? Duration.seconds(DEFAULT_RECOVERY_DELAY_SECONDS);
    validateSeconds('requestTtl', requestTtl, MIN_REQUEST_TTL.toSeconds(), MAX_REQUEST_TTL.toSeconds());
    validateSeconds('recoveryDelay', recoveryDelay, MIN_RECOVERY_DELAY.toSeconds(), MAX_RECOVERY_DELAY.toSeconds());
    const maxOpenBookings = props.maxOpenBookingsPerCustomer ?? DEFAULT_MAX_OPEN_BOOKINGS_PER_CUSTOMER;
    if (!Number.isInteger(maxOpenBookings) || maxOpenBookings < 1 || maxOpenBookings > MAX_OPEN_BOOKINGS_LIMIT) {
      throw new Error(`maxOpenBookingsPerCustomer must be a whole number between 1 and ${MAX_OPEN_BOOKINGS_LIMIT}, got ${maxOpenBookings}`);
    }
    const jwtIssuer = props.jwtIssuer ?? PLACEHOLDER_JWT_ISSUER;
    const jwtAudience = props.jwtAudience ?? DEFAULT_JWT_AUDIENCE;
    if (jwtIssuer === PLACEHOLDER_JWT_ISSUER) {
      Annotations.of(this).addWarningV2(
        'priority-dispatch:jwtIssuerPlaceholder',
        `jwtIssuer is not set: both APIs will refuse every request (issuer ${PLACEHOLDER_JWT_ISSUER}). Deploy with -c jwtIssuer=https://… (and -c jwtAudience=…).`,
      );
    }
    const removalPolicy = props.removalPolicy ?? (stage === 'dev' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN);
    const throttles: Throttles = {
      http: validThrottle('httpThrottle', props.httpThrottle ?? DEFAULT_THROTTLES.http),
      intake: validThrottle('intakeThrottle', props.intakeThrottle ?? DEFAULT_THROTTLES.intake),
      webSocket: validThrottle('webSocketThrottle', props.webSocketThrottle ?? DEFAULT_THROTTLES.webSocket),
      acceptDecline: validThrottle('acceptDeclineThrottle', props.acceptDeclineThrottle ?? DEFAULT_THROTTLES.acceptDecline),
    };
    const messageRateLimit = props.messageRateLimit ?? DEFAULT_MESSAGE_RATE_LIMIT;
    if (!Number.isInteger(messageRateLimit) || messageRateLimit < 1) {
      throw new Error(`messageRateLimit must be a whole number ≥ 1, got ${messageRateLimit}`);
    }

    this.data = new Data(this, 'Data', { removalPolicy });
    this.flag = new FeatureFlag(this, 'Flag', { parameterName: flagParameterName(stage) });

    const specs = Object.entries(manifest) as [FunctionName, FunctionSpec][];
    const functions = {} as Record<FunctionName, ProjectFunction>;
    for (const [name, spec] of specs) {
      functions[name] = new ProjectFunction(this, capitalize(name), {
        entry: spec.entry,
        description: spec.description,
        functionName: isAsyncTarget(name) ? functionName(stage, name) : undefined,
        // The async targets run longer than API Gateway's 29 s; the manifest says how long.
        timeout: Duration.seconds(timeoutSecondsOf(spec)),
        memorySize: memoryMbOf(spec),
        logRetention: RetentionDays.ONE_MONTH,
        logLevel: props.logLevel,
        removalPolicy,
      });
    }
    this.functions = functions;
    const lambdas = Object.fromEntries(specs.map(([name]) => [name, functions[name].function])) as Record<FunctionName, ProjectFunction['function']>;

    // The construct id of the fallback scheduler this replaced: a new one would give the named
    // schedule group a new logical id, and CloudFormation would create the new group (same name)
    // before deleting the old, which fails on a deployed stack.
    this.timers = new RequestTimers(this, 'Fallback', {
      scheduleGroupName: scheduleGroupName(stage),
      target: functions[asyncTargets.timer].function,
      removalPolicy,
    });
    for (const name of Object.values(asyncTargets)) this.timers.catchAsyncFailures(functions[name].function);

    // The site's origin goes into the HTTP API's CORS, the APIs' URLs into the site's page: bucket and
    // distribution first, the files once the APIs exist.
    this.consoleSite = props.consoleSite ? new ConsoleSite(this, 'ConsoleSite', { stage, removalPolicy }) : undefined;
    this.apis = new Apis(this, 'Apis', {
      stage,
      jwtIssuer,
      jwtAudience,
      functions: lambdas,
      throttles,
      removalPolicy,
      manageApiGatewayAccountRole: props.manageApiGatewayAccountRole,
      browserOrigins: this.consoleSite ? [this.consoleSite.origin] : undefined,
    });
    this.consoleSite?.publish({
      mode: 'aws',
      stage,
      httpApiUrl: this.apis.httpStage.url,
      wsUrl: this.apis.webSocketStage.url,
      aws: {
        region: Aws.REGION,
        flagParameterName: flagParameterName(stage),
        scheduleGroupName: scheduleGroupName(stage),
        tableName: this.data.table.tableName,
        intakeFunctionName: functions.intakeStart.function.functionName,
      },
    });

    // Grants: exactly what each manifest entry lists, nothing more.
    for (const [name, spec] of specs) {
      const fn = functions[name];
      if (spec.table) fn.bindTable(this.data.table, spec.table);
      if (spec.readsFlag) fn.bindFlag(this.flag.parameter, flagCacheTtl);
      if (spec.pushes) fn.bindPush(this.apis.webSocketStage);
      if (spec.setsTimers) fn.bindTimerSetting(this.timers, { priorityWindow, recoveryDelay, requestTtl });
      if (spec.clearsTimers) fn.bindTimerClearing(this.timers);
      if (spec.readsTimers) fn.bindTimerReading(this.timers);
      if (spec.fansOut) fn.bindFanOut(functions[asyncTargets.fanOut].function);
      if (spec.verifiesJwt) fn.bindJwt(jwtIssuer, jwtAudience);
      if (spec.limitsOpenBookings) fn.bindOpenBookingsLimit(maxOpenBookings);
    }
    for (const name of messageFunctions) functions[name].bindMessageRateLimit(messageRateLimit);

    this.alarms = new Alarms(this, 'Alarms', {
      functions: lambdas,
      asyncTargets,
    });
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: dashboardName(stage),
      // Found, not listed: an alarm added anywhere in the stack (the DLQ's lives with the queue) shows up without a second edit.
      alarms: this.node.findAll().filter((construct): construct is Alarm => construct instanceof Alarm),
      pushFailuresAlarm: this.alarms.pushFailures,
    });

    // Named in contract/naming.ts: the ops CLI reads them back (ops/target.ts).
    new CfnOutput(this, STACK_OUTPUTS.httpApiUrl, { description: 'Customer and admin HTTP API', value: this.apis.httpStage.url });
    new CfnOutput(this, STACK_OUTPUTS.webSocketUrl, {
      description: 'WebSocket API (add ?ticket=<from POST /ws/ticket>, or ?token=<JWT>)',
      value: this.apis.webSocketStage.url,
    });
    new CfnOutput(this, STACK_OUTPUTS.flagParameterName, {
      description: 'Feature flag: put-parameter --overwrite true|false',
      value: this.flag.parameter.parameterName,
    });
    new CfnOutput(this, STACK_OUTPUTS.dashboardUrl, {
      description: 'Business metrics and every alarm',
      value: `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${dashboardName(stage)}`,
    });
    new CfnOutput(this, STACK_OUTPUTS.tableName, { value: this.data.table.tableName });
    new CfnOutput(this, STACK_OUTPUTS.scheduleGroupName, { value: this.timers.group.scheduleGroupName });
    new CfnOutput(this, STACK_OUTPUTS.deadLetterQueueUrl, {
      description: 'Undeliverable timer and fan-out events',
      value: this.timers.deadLetterQueue.queueUrl,
    });
    new CfnOutput(this, STACK_OUTPUTS.logGroupNames, {
      description: "The functions' log groups, comma-separated (npx priority-dispatch tail --stage)",
      value: Fn.join(
        ',',
        specs.map(([name]) => functions[name].logGroup.logGroupName),
      ),
    });
    if (this.consoleSite) {
      new CfnOutput(this, STACK_OUTPUTS.consoleUrl, {
        description: 'The web console (customer, mechanic; ops points to the CLI)',
        value: this.consoleSite.url,
      });
    }
  }
}

function validateSeconds(name: string, value: Duration, min: number, max: number): void {
  const seconds = value.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < min || seconds > max) {
    throw new Error(`${name} must be a whole number of seconds between ${min} and ${max}, got ${value.toHumanString()}`);
  }
}

function validThrottle(name: string, throttle: Throttle): Throttle {
  const problem = throttleProblem(throttle);
  if (problem) throw new Error(`${name}: ${problem}`);
  return throttle;
}

const capitalize = (name: string): string => name.charAt(0).toUpperCase() + name.slice(1);
