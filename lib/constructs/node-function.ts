/**
 * The one project Lambda function: runtime, architecture, log group, bundling
 * and a role of its own. What flows through here: a handler file from the
 * manifest (contract/routes.ts) goes in; a function whose every permission was
 * added by one `bind*` call comes out. Each `bind*` sets the environment
 * variables the handler's wiring reads (names from `ENV`) AND the matching
 * least-privilege grant, so the two can never disagree.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, type IFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IStringParameter } from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { ENV, type EnvName } from '../../contract/env';
import type { TableAction } from '../../contract/routes';
import { tableSchema } from '../../contract/table-schema';
import type { RequestTimers } from './request-timers';
import { acknowledgeWildcardResource } from './nag';

/** Repository root: handler entries in the manifest are relative to it. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The newest Node.js runtime this aws-cdk-lib knows (cdk-nag L1 flags older
 * ones). Bump it together with aws-cdk-lib.
 */
export const FUNCTION_RUNTIME = Runtime.NODEJS_24_X;

/**
 * How every function is bundled (README "Design choices", figures from
 * `node --import tsx bench/bundle-import.ts`, which builds the same):
 * - CommonJS output: an ES module's `import … from 'node:http'` makes Node
 *   build the built-in's whole namespace, which loads undici, http2,
 *   worker_threads … (30–50 ms of CPU per cold start); `require` does not.
 * - Minified, with an external source map shipped in the asset but not
 *   loaded: `--enable-source-maps` parses the whole map at the first stack
 *   trace a container prints (0.2–0.4 s here), so it is off; set
 *   `NODE_OPTIONS=--enable-source-maps` on a function to turn it on.
 * - The AWS SDK bundled too: the versions in package-lock.json are the ones
 *   that run, not whatever the Lambda runtime happens to ship.
 */
export const FUNCTION_BUNDLING: BundlingOptions = {
  format: OutputFormat.CJS,
  mainFields: ['module', 'main'],
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  externalModules: [],
  // The local esbuild only: there is no Docker here or in CI.
  forceDockerBundling: false,
};

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** What the functions that set timers need to compute deadlines (whole seconds; the stack validates them). */
export interface TimerSettings {
  readonly priorityWindow: Duration;
  readonly recoveryDelay: Duration;
  readonly requestTtl: Duration;
}

export interface ProjectFunctionProps {
  /** Handler file relative to the repository root; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  /**
   * A fixed physical name. A function whose own environment or policy names
   * itself (the timer sets its own timers, the fan-out invokes itself) needs
   * one: a CloudFormation resource cannot reference its own attributes.
   * @default a name CloudFormation generates
   */
  readonly functionName?: string;
  /**
   * API Gateway gives up on an integration after 29–30 s, so API handlers
   * cannot usefully run longer.
   * @default Duration.seconds(29)
   */
  readonly timeout?: Duration;
  /**
   * Memory in MB; Lambda CPU scales with it (one full vCPU at 1,769 MB).
   * @default 256
   */
  readonly memorySize?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Powertools Logger's level (`POWERTOOLS_LOG_LEVEL`). @default 'INFO' */
  readonly logLevel?: LogLevel;
  /** Applies to the log group. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

export class ProjectFunction extends Construct {
  readonly function: NodejsFunction;
  /** The function's own role: it starts with nothing but writing to its own log group. */
  readonly role: Role;
  readonly logGroup: LogGroup;
  /** The fixed physical name, when one was given. */
  readonly physicalName?: string;

  constructor(scope: Construct, id: string, props: ProjectFunctionProps) {
    super(scope, id);
    this.physicalName = props.functionName;

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });

    // A role per function instead of AWSLambdaBasicExecutionRole (cdk-nag IAM4):
    // the log group exists already, so the function only needs to write to it.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.entry}`,
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(REPO_ROOT, props.entry),
      handler: 'handler',
      functionName: props.functionName,
      description: props.description,
      runtime: FUNCTION_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(29),
      role: this.role,
      logGroup: this.logGroup,
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      environment: { [ENV.logLevel]: props.logLevel ?? 'INFO' },
      bundling: FUNCTION_BUNDLING,
    });
  }

  /** The environment variable and the grant live together; this is the only env setter. */
  private setEnv(name: EnvName, value: string): void {
    this.function.addEnvironment(name, value);
  }

  /**
   * `TABLE_NAME` + exactly `dynamodb:<action>` on the table. `Query` also gets
   * each GSI by name (from contract/table-schema.ts) rather than `index/*`.
   */
  bindTable(table: ITableV2, actions: readonly TableAction[]): void {
    if (actions.length === 0) return;
    this.setEnv(ENV.tableName, table.tableName);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [...new Set(actions)].map((action) => `dynamodb:${action}`),
        resources: [table.tableArn],
      }),
    );
    if (actions.includes('Query')) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['dynamodb:Query'],
          resources: tableSchema.globalSecondaryIndexes.map((index) => `${table.tableArn}/index/${index.indexName}`),
        }),
      );
    }
  }

  /** `FLAG_PARAMETER_NAME`, `FLAG_CACHE_TTL_SECONDS` + `ssm:GetParameter` on that one parameter. */
  bindFlag(parameter: IStringParameter, cacheTtl: Duration): void {
    this.setEnv(ENV.flagParameterName, parameter.parameterName);
    this.setEnv(ENV.flagCacheTtlSeconds, String(cacheTtl.toSeconds()));
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['ssm:GetParameter'], resources: [parameter.parameterArn] }));
  }

  /**
   * `CONNECTIONS_ENDPOINT` (the stage's `@connections` callback URL) +
   * `execute-api:ManageConnections` on that stage's connections.
   */
  bindPush(stage: WebSocketStage): void {
    this.setEnv(ENV.connectionsEndpoint, stage.callbackUrl);
    stage.grantManagementApiAccess(this.role);
    const connections = `${Stack.of(stage).formatArn({ service: 'execute-api', resource: stage.api.apiId })}/${stage.stageName}/*/@connections/*`;
    acknowledgeWildcardResource(
      this.role,
      connections,
      'Connection ids are minted by API Gateway at run time, so @connections/* of this one API stage is the narrowest ARN; the method segment is * because a push needs POST (send), GET and DELETE (drop a gone or suspended connection).',
    );
  }

  /**
   * Everything a handler needs to set a request's timer: the schedule's
   * target, role and DLQ, the durations deadlines are computed from,
   * `scheduler:CreateSchedule` and `scheduler:UpdateSchedule` in the project's
   * group and `iam:PassRole` of the scheduler's role, to the Scheduler service only.
   */
  bindTimerSetting(timers: RequestTimers, settings: TimerSettings): void {
    this.setEnv(ENV.scheduleGroupName, timers.group.scheduleGroupName);
    this.setEnv(ENV.timerFunctionArn, this.referenceTo(timers.target).arn);
    this.setEnv(ENV.schedulerRoleArn, timers.role.roleArn);
    this.setEnv(ENV.deadLetterQueueArn, timers.deadLetterQueue.queueArn);
    this.setEnv(ENV.priorityWindowSeconds, String(settings.priorityWindow.toSeconds()));
    this.setEnv(ENV.recoveryDelaySeconds, String(settings.recoveryDelay.toSeconds()));
    this.setEnv(ENV.requestTtlSeconds, String(settings.requestTtl.toSeconds()));
    this.addScheduleStatement(['scheduler:CreateSchedule', 'scheduler:UpdateSchedule'], timers);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['iam:PassRole'],
        resources: [timers.role.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
  }

  /** `SCHEDULE_GROUP_NAME` + `scheduler:DeleteSchedule` in the project's group. */
  bindTimerClearing(timers: RequestTimers): void {
    this.setEnv(ENV.scheduleGroupName, timers.group.scheduleGroupName);
    this.addScheduleStatement(['scheduler:DeleteSchedule'], timers);
  }

  /** `scheduler:GetSchedule` on the group's schedules: is a request's timer still set? */
  bindTimerReading(timers: RequestTimers): void {
    this.setEnv(ENV.scheduleGroupName, timers.group.scheduleGroupName);
    this.addScheduleStatement(['scheduler:GetSchedule'], timers);
  }

  /**
   * `FAN_OUT_FUNCTION_NAME` + `lambda:InvokeFunction` on that one function
   * (unqualified: the handlers invoke it by name, never a version or alias).
   */
  bindFanOut(fanOut: IFunction): void {
    const target = this.referenceTo(fanOut);
    this.setEnv(ENV.fanOutFunctionName, target.name);
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [target.arn] }));
  }

  /** `MAX_OPEN_BOOKINGS_PER_CUSTOMER`: the intake holds each customer to it (its table grants come with `bindTable`). */
  bindOpenBookingsLimit(max: number): void {
    this.setEnv(ENV.maxOpenBookingsPerCustomer, String(max));
  }

  /** `JWT_ISSUER`, `JWT_AUDIENCE`: the function verifies tokens itself (no AWS permission involved). */
  bindJwt(issuer: string, audience: string): void {
    this.setEnv(ENV.jwtIssuer, issuer);
    this.setEnv(ENV.jwtAudience, audience);
  }

  /** `MESSAGE_RATE_LIMIT`: a WebSocket message route's per-connection limit (its count is an UpdateItem its table actions grant). */
  bindMessageRateLimit(messagesPerSecond: number): void {
    this.setEnv(ENV.messageRateLimit, String(messagesPerSecond));
  }

  /**
   * Another function's name and ARN as tokens (CloudFormation then creates it
   * first); this function's own from its fixed physical name, because a
   * reference to itself would be a circular dependency.
   */
  private referenceTo(fn: IFunction): { name: string; arn: string } {
    if (fn !== this.function) return { name: fn.functionName, arn: fn.functionArn };
    if (!this.physicalName) throw new Error(`${this.node.path} names itself in its environment or policy: give it a fixed functionName`);
    const arn = Stack.of(this).formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: this.physicalName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    return { name: this.physicalName, arn };
  }

  private addScheduleStatement(actions: string[], timers: RequestTimers): void {
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions, resources: [timers.scheduleArnPattern] }));
    acknowledgeWildcardResource(
      this.role,
      timers.scheduleArnPattern,
      'Schedule names are derived from request ids at run time; the wildcard is confined to the schedules of this stage’s own schedule group.',
    );
  }
}
