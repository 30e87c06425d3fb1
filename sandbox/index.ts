/**
 * `startSandbox()`: the whole stack offline on one machine — the same handler
 * files (from contract/routes.ts), the same table (from contract/table-schema.ts), and
 * AWS's wire protocols around them so the real SDK and CLI work unchanged.
 * The only difference from AWS is the env it injects (endpoints, names).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  DEFAULT_FLAG_CACHE_TTL_SECONDS,
  DEFAULT_MESSAGE_RATE_LIMIT,
  DEFAULT_MAX_OPEN_BOOKINGS_PER_CUSTOMER,
  DEFAULT_PRIORITY_WINDOW_SECONDS,
  DEFAULT_RECOVERY_DELAY_SECONDS,
  DEFAULT_REQUEST_TTL_SECONDS,
  ENV,
} from '../contract/env';
import { flagParameterName, SANDBOX_DEFAULTS, sandboxTableName, scheduleGroupName } from '../contract/naming';
import { startAwsEndpoint } from './aws-endpoint';
import { CloudWatchService } from './cloudwatch';
import { consoleSite } from './console-site';
import { CONSOLE_PATH } from '../contract/console';
import { DEV_AUDIENCE, DevAuth, type TokenRequest } from './dev-auth';
import { devRoutes } from './dev-routes';
import { Faults } from './faults';
import { DynamoDbService } from './dynamodb';
import { startHttpGateway } from './http-gateway';
import { lambdaApi } from './lambda-api';
import { functionArn, type InvocationRecord, lambdaFunctionName, LambdaHost } from './lambda-host';
import { SANDBOX_ACCOUNT, SANDBOX_REGION } from './account';
import { asyncTargets, type FunctionName, isAsyncTarget } from '../contract/routes';
import { readable, sandboxLine } from './log-lines';
import { AsyncInvoker, type LambdaDeadLetter } from './lambda-async';
import { type DeadLetter, SchedulerService } from './scheduler';
import { seedDemoData, type DemoData } from './seed';
import { SsmService } from './ssm';
import { startWebSocketGatewayThread } from './websocket-gateway-thread';
import { SandboxPrincipals } from './iam';
import { DEFAULT_THROTTLES, httpStageThrottles, type Throttles, webSocketStageThrottles } from '../contract/throttles';
import { ConflictException, CreateScheduleGroupCommand, SchedulerClient } from '@aws-sdk/client-scheduler';

export interface SandboxOptions {
  /** @default 3000 (0 picks a free port) */
  httpPort?: number;
  /** @default 3001 */
  wsPort?: number;
  /** @default 4566 */
  awsPort?: number;
  /** Keep nothing on disk. @default false */
  inMemory?: boolean;
  /** @default `.sandbox` in the current directory */
  dataDir?: string;
  /** @default 600 */
  priorityWindowSeconds?: number;
  /** How long before the timer finishes a routing an invocation left undone (the routing guard). @default 120 */
  recoveryDelaySeconds?: number;
  /** How long an open request waits for a mechanic before it expires. @default 1800 */
  requestTtlSeconds?: number;
  /** The most open bookings one customer may hold at once. @default 3 */
  maxOpenBookingsPerCustomer?: number;
  /** How long a WebSocket connect ticket stays valid (tests shorten it; the stack keeps the default). @default 60 */
  wsTicketTtlSeconds?: number;
  /** Worker threads per pool (request path, asynchronous targets) running Lambda containers. @default the number of cores */
  lambdaConcurrency?: number;
  /** Sets the flag parameter at start; omitted keeps what is stored (`false` on first start). */
  flag?: 'on' | 'off';
  /** @default 10 */
  flagCacheTtlSeconds?: number;
  /** @default 'local' */
  stage?: string;
  /** Seed the demo customer and mechanics on first start. @default true */
  seed?: boolean;
  /** Where readable lines go. @default stdout */
  print?: (line: string) => void;
  /** Scheduler tuning for tests. */
  schedulerTickMs?: number;
  retryBaseDelayMs?: number;
  idleTimeoutMs?: number;
  maxConnectionMs?: number;
  /** How often items past their TTL attribute are swept (dynalite has no TTL). @default 30000 */
  ttlSweepMs?: number;
  /** Lambda's waits before the two retries of a failed asynchronous invocation (schedule targets). @default [60000, 120000] */
  asyncRetryDelaysMs?: readonly number[];
  /** When an `at(T)` schedule fires: `aws` at a random moment in T's minute, as AWS does; `exact` at T (see scheduler.ts). @default 'aws' */
  schedulerPrecision?: 'aws' | 'exact';
  /**
   * Both stages' route throttles, as the stack sets them (contract/throttles.ts): any given here replace the stack's
   * defaults; `'off'` throttles no route. @default the stack's defaults
   */
  throttles?: Partial<Throttles> | 'off';
  /** Messages one WebSocket connection may send per second before the rest of that second is ignored. @default 10 */
  messageRateLimit?: number;
}

export interface Sandbox {
  readonly httpUrl: string;
  /** The web console (a static site on the HTTP port). */
  readonly consoleUrl: string;
  readonly wsUrl: string;
  readonly awsUrl: string;
  readonly connectionsEndpoint: string;
  readonly dataDir: string | undefined;
  readonly stage: string;
  readonly tableName: string;
  readonly flagParameterName: string;
  readonly scheduleGroupName: string;
  readonly demo: DemoData;
  /** Every handler log line (raw JSON) and sandbox line, in order. */
  readonly logs: string[];
  token(request: TokenRequest): Promise<string>;
  /** The latest finished Lambda invocations (function, ok, duration, AWS calls by operation), oldest first. */
  invocations(): readonly InvocationRecord[];
  /** How many containers each function has now. */
  containers(): Partial<Record<FunctionName, number>>;
  /** What reached the dead-letter queue: the Scheduler's (a failed invoke) and Lambda's on-failure records (a function that failed 3 times). */
  deadLetters(): (DeadLetter | LambdaDeadLetter)[];
  stop(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const stage = options.stage ?? SANDBOX_DEFAULTS.stage;
  const dataDir = options.inMemory ? undefined : resolve(options.dataDir ?? '.sandbox');
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const logs: string[] = [];
  const say = (message: string): void => {
    const line = sandboxLine(message);
    logs.push(line);
    print(line);
  };
  const names = {
    table: sandboxTableName(stage),
    flag: flagParameterName(stage),
    group: scheduleGroupName(stage),
  };

  // Handlers are reached through the host, created once every port is known.
  let host: LambdaHost | undefined;
  const invoke = (fn: Parameters<LambdaHost['invoke']>[0], event: unknown) => host!.invoke(fn, event);

  const faults = new Faults(say);
  const principals = new SandboxPrincipals();
  const auth = await DevAuth.create({ dataDir, issuer: 'https://auth.sandbox.priority-dispatch.local' });
  const dynamodb = new DynamoDbService(dataDir);
  await dynamodb.open();
  const ssm = new SsmService({ dataDir });
  const deadLetterQueueArn = `arn:aws:sqs:${SANDBOX_REGION}:${SANDBOX_ACCOUNT}:priority-dispatch-${stage}-fallback-dlq`;
  // The stack sends a schedule target's exhausted async invocations to the fallback DLQ (lib/constructs/fallback-scheduler.ts).
  const lambdaAsync = new AsyncInvoker({
    dataDir,
    run: (fn, payload) => host!.invoke(fn, payload),
    arnOf: (fn) => functionArn(stage, fn),
    onFailureDestination: (fn) => (isAsyncTarget(fn) ? deadLetterQueueArn : undefined),
    log: say,
    retryDelaysMs: options.asyncRetryDelaysMs,
    tickMs: options.schedulerTickMs,
  });
  const scheduler = new SchedulerService({
    dataDir,
    log: say,
    tickMs: options.schedulerTickMs,
    retryBaseDelayMs: options.retryBaseDelayMs,
    precision: options.schedulerPrecision,
    // Scheduler invokes Lambda asynchronously: the invoke succeeds once the event is queued; a function that
    // fails is retried by Lambda, and the schedule's RetryPolicy covers only an invoke that fails.
    invoke: async (arn, input) => {
      const fn = host?.functionOfArn(arn);
      if (!fn) throw new Error(`ResourceNotFoundException: Function not found: ${arn}`);
      lambdaAsync.invoke(fn, JSON.parse(input));
    },
  });
  /** One dead-letter queue in the stack takes both. */
  const deadLetters = () => [...scheduler.deadLetters(), ...lambdaAsync.deadLetters()];
  // The business metrics, extracted from the functions' output as CloudWatch Logs extracts them in AWS.
  const cloudwatch = new CloudWatchService();
  const aws = await startAwsEndpoint({
    port: options.awsPort ?? 4566,
    services: {
      dynamodb: dynamodb.handle,
      ssm: ssm.handle,
      scheduler: scheduler.handle,
      monitoring: cloudwatch.handle,
      lambda: lambdaApi({
        functionOfArn: (arn) => host?.functionOfArn(arn),
        run: invoke,
        queue: (fn, payload) => lambdaAsync.invoke(fn, payload),
        configuration: (fn) => host!.configuration(fn),
      }),
    },
    faults,
  });

  const throttles = options.throttles === 'off' ? undefined : { ...DEFAULT_THROTTLES, ...options.throttles };

  // The console learns the WebSocket API's address, known once that gateway listens (below).
  let wsUrl = '';
  const consoleAws = {
    endpoint: aws.url,
    region: SANDBOX_REGION,
    flagParameterName: names.flag,
    scheduleGroupName: names.group,
    tableName: names.table,
    intakeFunctionName: lambdaFunctionName(stage, 'intakeStart'),
  };
  const http = await startHttpGateway({
    port: options.httpPort ?? 3000,
    auth,
    invoke,
    log: say,
    // The page calls the HTTP API on its own origin (an empty base), whichever host name the browser used.
    staticSite: consoleSite(() => ({ mode: 'sandbox', stage, httpApiUrl: '', wsUrl, aws: consoleAws })),
    throttles: throttles && httpStageThrottles(throttles),
    devRoutes: devRoutes({
      auth,
      faults,
      deadLetters,
      removeDeadLetter: (messageId) => scheduler.removeDeadLetter(messageId) || lambdaAsync.removeDeadLetter(messageId),
      logs,
    }),
  });
  const ws = await startWebSocketGatewayThread({
    port: options.wsPort ?? 3001,
    stage,
    invoke,
    log: say,
    idleTimeoutMs: options.idleTimeoutMs,
    maxConnectionMs: options.maxConnectionMs,
    faults,
    principals,
    throttles: throttles && webSocketStageThrottles(throttles),
  });
  wsUrl = ws.url;

  const env: Record<string, string> = {
    AWS_REGION: SANDBOX_REGION,
    AWS_DEFAULT_REGION: SANDBOX_REGION,
    AWS_ENDPOINT_URL_DYNAMODB: aws.url,
    AWS_ENDPOINT_URL_SSM: aws.url,
    AWS_ENDPOINT_URL_SCHEDULER: aws.url,
    AWS_ENDPOINT_URL_LAMBDA: aws.url,
    // As the Lambda runtime sets it in an on-demand execution environment (Powertools counts cold starts by it).
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    [ENV.logLevel]: process.env[ENV.logLevel] ?? 'INFO',
    [ENV.tableName]: names.table,
    [ENV.flagParameterName]: names.flag,
    [ENV.flagCacheTtlSeconds]: String(options.flagCacheTtlSeconds ?? DEFAULT_FLAG_CACHE_TTL_SECONDS),
    [ENV.priorityWindowSeconds]: String(options.priorityWindowSeconds ?? DEFAULT_PRIORITY_WINDOW_SECONDS),
    [ENV.connectionsEndpoint]: ws.connectionsEndpoint,
    [ENV.scheduleGroupName]: names.group,
    [ENV.timerFunctionArn]: functionArn(stage, asyncTargets.timer),
    [ENV.fanOutFunctionName]: lambdaFunctionName(stage, asyncTargets.fanOut),
    [ENV.recoveryDelaySeconds]: String(options.recoveryDelaySeconds ?? DEFAULT_RECOVERY_DELAY_SECONDS),
    [ENV.requestTtlSeconds]: String(options.requestTtlSeconds ?? DEFAULT_REQUEST_TTL_SECONDS),
    [ENV.messageRateLimit]: String(options.messageRateLimit ?? DEFAULT_MESSAGE_RATE_LIMIT),
    [ENV.maxOpenBookingsPerCustomer]: String(options.maxOpenBookingsPerCustomer ?? DEFAULT_MAX_OPEN_BOOKINGS_PER_CUSTOMER),
    ...(options.wsTicketTtlSeconds === undefined ? {} : { [ENV.wsTicketTtlSeconds]: String(options.wsTicketTtlSeconds) }),
    [ENV.schedulerRoleArn]: `arn:aws:iam::${SANDBOX_ACCOUNT}:role/priority-dispatch-${stage}-scheduler`,
    [ENV.deadLetterQueueArn]: deadLetterQueueArn,
    [ENV.jwtIssuer]: auth.issuer,
    [ENV.jwtAudience]: DEV_AUDIENCE,
    [ENV.jwksUrl]: `${http.url}/dev/.well-known/jwks.json`,
  };
  host = await LambdaHost.start({
    stage,
    env,
    roleCredentials: principals.roleCredentials(),
    faults,
    concurrency: options.lambdaConcurrency,
    onLogLine: (line) => {
      logs.push(line);
      print(readable(line));
      const invalid = cloudwatch.ingest(line);
      if (invalid) say(`cloudwatch: an EMF line gave no metric (${invalid})`);
    },
  });

  await dynamodb.ensureTable(aws.url, names.table, options.ttlSweepMs);
  if (options.flag) ssm.put(names.flag, options.flag === 'on' ? 'true' : 'false');
  else if (ssm.get(names.flag) === undefined) ssm.put(names.flag, 'false');
  await ensureScheduleGroup(aws.url, names.group);
  await host.warm();
  scheduler.start();
  lambdaAsync.start();

  const demo = await seedDemoData({ httpUrl: http.url, token: (r) => auth.issue(r), dataDir, skip: options.seed === false });

  const endpoints = {
    http: http.url,
    websocket: ws.url,
    aws: aws.url,
    connections: ws.connectionsEndpoint,
    stage,
    table: names.table,
    flag_parameter: names.flag,
    schedule_group: names.group,
  };
  if (dataDir) writeFileSync(join(dataDir, 'endpoints.json'), JSON.stringify(endpoints, null, 2));

  let stopped = false;
  return {
    httpUrl: http.url,
    consoleUrl: `${http.url}${CONSOLE_PATH}`,
    wsUrl: ws.url,
    awsUrl: aws.url,
    connectionsEndpoint: ws.connectionsEndpoint,
    dataDir,
    stage,
    tableName: names.table,
    flagParameterName: names.flag,
    scheduleGroupName: names.group,
    demo,
    logs,
    token: (request) => auth.issue(request),
    invocations: () => [...host!.finished],
    containers: () => host!.containerCounts(),
    deadLetters,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await dynamodb.stopSweeping();
      await scheduler.stop();
      lambdaAsync.stop();
      await ws.close();
      await http.close();
      await host!.stop();
      await aws.close();
      await dynamodb.close();
    },
  };
}

/** The stack creates the schedule group; here the sandbox does, through its own Scheduler API. */
async function ensureScheduleGroup(endpoint: string, name: string): Promise<void> {
  const client = new SchedulerClient({ endpoint, region: SANDBOX_REGION, credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' } });
  try {
    await client.send(new CreateScheduleGroupCommand({ Name: name }));
  } catch (error) {
    if (!(error instanceof ConflictException)) throw error;
  }
}
