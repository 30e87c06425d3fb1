/**
 * What a handler test needs around the handler: the env the stack would set,
 * pointing DynamoDB at a fresh dynalite table and SSM, Scheduler, Lambda and
 * `@connections` at the sandbox's emulators on real wires (the clients
 * `lambdas/wiring/` builds are the real ones, reaching them through
 * `AWS_ENDPOINT_URL_SSM`, `AWS_ENDPOINT_URL_SCHEDULER`,
 * `AWS_ENDPOINT_URL_LAMBDA` and `CONNECTIONS_ENDPOINT`), mechanics as real
 * `ws` clients of the gateway, the handlers' JSON log lines captured instead
 * of printed, and seeding through the real stores.
 *
 * Lambda is the sandbox's, wired as sandbox/index.ts wires it: the Invoke API
 * on the AWS endpoint, `Event` invocations queued by the AsyncInvoker (retried
 * twice, then the on-failure destination), and each run in the sandbox's
 * LambdaHost — the function's bundle in its own container on a worker thread,
 * with the same env and the grants of contract/routes.ts. So a fan-out handed
 * over by the handler under test really runs, and its pushes reach the
 * mechanics' sockets; its log lines are kept apart (`asyncLogs`).
 *
 * A 500 from `@connections` (post or close), a failed Invoke and a failed run
 * come from the sandbox's fault injection.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { GetScheduleCommandOutput } from '@aws-sdk/client-scheduler';
import { ScanCommand, type ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, vi } from 'vitest';
import { ENV } from '../../contract/env';
import type { FunctionName } from '../../contract/routes';
import { DynamoDbBookingStore } from '../../lambdas/adapters/dynamodb-booking-store';
import { systemClock } from '../../lambdas/adapters/system-clock';
import type { Booking } from '../../lambdas/domain/booking';
import { sessionIdOf, timerScheduleName } from '../../lambdas/domain/ids';
import type { ServerMessage } from '../../lambdas/domain/messages';
import type { LambdaDeadLetter } from '../../sandbox/lambda-async';
import { LambdaHost } from '../../sandbox/lambda-host';
import {
  type AsyncInvocation,
  bookingRecord,
  DEAD_LETTER_QUEUE_ARN,
  FAN_OUT_FUNCTION_NAME,
  type MechanicOptions,
  type Pushed,
  SCHEDULER_ROLE_ARN,
  STAGE,
  startSandboxWires,
  TIMER_FUNCTION_ARN,
} from './deps';
import { JWT_AUDIENCE, JWT_ISSUER } from './handler-events';
import { TEST_MAX_OPEN_BOOKINGS } from './in-memory-ports';
import { createTestTable, type TestTable } from './table';

export { DEAD_LETTER_QUEUE_ARN, FAN_OUT_FUNCTION_NAME, SCHEDULER_ROLE_ARN, TIMER_FUNCTION_ARN };
export { bookingRecord };
export type { AsyncInvocation };

export const FLAG_PARAMETER = '/priority-dispatch/test/ENABLE_FAVORITES_PRIORITY';
export const SCHEDULE_GROUP = 'priority-dispatch-handler-tests';
/** The env's windows, as the stack's defaults (a file may override them through `useHandlerEnv`'s `env`). */
export const PRIORITY_WINDOW_SECONDS = 600;
export const RECOVERY_DELAY_SECONDS = 120;
export const REQUEST_TTL_SECONDS = 1800;

export interface LogLine {
  level: string;
  message: string;
  [field: string]: unknown;
}

export interface AwsWires {
  /** Back to the defaults between tests: flag off, async runs done and released, nothing received, no injected failure, schedules counted from now. */
  reset(): Promise<void>;
  /** PutParameter (Overwrite) on the flag. */
  setFlag(value: 'true' | 'false'): Promise<void>;
  /** Every message the mechanics' sockets received since the last reset, in arrival order, once the queued invocations are done (unless held). */
  pushed(): Promise<Pushed[]>;
  /** What that connection's socket received since the last reset. */
  pushedTo(connectionId: string): Promise<ServerMessage[]>;
  /** Drops the connection's socket without a `$disconnect`: the gateway answers 410 Gone for it. */
  goneConnection(connectionId: string): Promise<void>;
  /** Makes every post to a connection fail with a 500 (injected). */
  failPosting(connectionId: string): void;
  /** Makes closing a connection fail with a 500 (injected). */
  failClosing(connectionId: string): void;
  /** The Lambda API answers `Invoke` (for payloads containing `match`, if given) with a 500 until the next reset. */
  failInvokes(match?: string): void;
  /** The next `times` runs of the function fail as if the handler had thrown. */
  failRuns(name: FunctionName, times: number): void;
  /** Takes back every injected failure (a reset does too). */
  clearFailures(): void;
  /** Connections whose socket the gateway closed (DeleteConnection) since the last reset. */
  connectionsClosed(): Promise<string[]>;
  /** Schedules in the group that were not there at the last reset, read back with GetSchedule. */
  schedulesCreated(): Promise<GetScheduleCommandOutput[]>;
  /** DeleteSchedule calls that reached the Scheduler endpoint since the last reset (names). */
  deleteScheduleCalls(): string[];
  /** GetSchedule in the group; undefined once deleted (ResourceNotFoundException). */
  schedule(name: string): Promise<GetScheduleCommandOutput | undefined>;
  /** The request's one timer schedule (`timer-<request id>`); undefined when there is none. */
  timer(requestId: string): Promise<GetScheduleCommandOutput | undefined>;
  /** Event invocations the Lambda API accepted since the last reset, in order (the handler's hand-overs and the fan-out's own shard splits). */
  invocations(): AsyncInvocation[];
  /** Queued invocations wait (stay queued) until `releaseAsync`. */
  holdAsync(): void;
  releaseAsync(): void;
  /** Waits until every queued invocation ran (or ran out of its retries). */
  asyncDone(): Promise<void>;
  /** Lambda's on-failure records (a run that failed 3 times), ever. */
  deadLetters(): LambdaDeadLetter[];
  /** The log lines of the runs Lambda made (the worker's handlers) since the last reset. */
  asyncLogs(): LogLine[];
  /** Stores a mechanic and opens their live connections through the gateway. */
  addMechanic(options?: MechanicOptions): Promise<{ mechanicId: string; connectionIds: string[] }>;
  /** Stops the emulators and the Lambda worker; call in `afterAll`. */
  close(): Promise<void>;
}

/**
 * Creates a fresh table, starts the wires and sets the env the stack gives a
 * function. Call it in `beforeAll` (the table needs `inject`), then
 * `await import()` the handler.
 */
export async function setUpHandlerEnv(overrides: Partial<Record<string, string>> = {}): Promise<{ table: TestTable; wires: AwsWires }> {
  const table = await createTestTable();
  const asyncLogs: LogLine[] = [];
  // Lambda's host (bundles, workers) starts on the first run Lambda makes: files that never fan out never pay for it.
  let host: Promise<LambdaHost> | undefined;
  let env: Record<string, string> = {};
  const hostOf = (): Promise<LambdaHost> => {
    host ??= LambdaHost.start({
      stage: STAGE,
      env,
      roleCredentials: core.principals.roleCredentials(),
      // Two workers and two containers per function are plenty for a test's handful of invocations (a split into
      // shards queues for them): every container is a cold start, and the cores are the test runner's too.
      concurrency: 2,
      maxContainersPerFunction: 2,
      onLogLine: (line) => {
        if (line.startsWith('{"')) {
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (!('_aws' in entry)) asyncLogs.push(entry as LogLine);
        }
      },
    });
    return host;
  };
  const core = await startSandboxWires({
    table,
    flagParameter: FLAG_PARAMETER,
    scheduleGroup: SCHEDULE_GROUP,
    clock: systemClock,
    run: async (name, payload) => (await hostOf()).invoke(name, payload),
  });
  env = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: table.endpoint,
    AWS_ENDPOINT_URL_SSM: core.awsUrl,
    AWS_ENDPOINT_URL_SCHEDULER: core.awsUrl,
    AWS_ENDPOINT_URL_LAMBDA: core.awsUrl,
    [ENV.tableName]: table.tableName,
    [ENV.connectionsEndpoint]: core.connectionsEndpoint,
    [ENV.scheduleGroupName]: SCHEDULE_GROUP,
    [ENV.timerFunctionArn]: TIMER_FUNCTION_ARN,
    [ENV.fanOutFunctionName]: FAN_OUT_FUNCTION_NAME,
    [ENV.schedulerRoleArn]: SCHEDULER_ROLE_ARN,
    [ENV.deadLetterQueueArn]: DEAD_LETTER_QUEUE_ARN,
    [ENV.flagParameterName]: FLAG_PARAMETER,
    // A millisecond: each test's flag setting is read fresh.
    [ENV.flagCacheTtlSeconds]: '0.001',
    [ENV.priorityWindowSeconds]: String(PRIORITY_WINDOW_SECONDS),
    [ENV.recoveryDelaySeconds]: String(RECOVERY_DELAY_SECONDS),
    [ENV.requestTtlSeconds]: String(REQUEST_TTL_SECONDS),
    // Tests not about the open-bookings limit book freely for one customer; the limit's own tests set theirs.
    [ENV.maxOpenBookingsPerCustomer]: String(TEST_MAX_OPEN_BOOKINGS),
    [ENV.jwtIssuer]: JWT_ISSUER,
    [ENV.jwtAudience]: JWT_AUDIENCE,
    [ENV.jwksUrl]: 'http://127.0.0.1:9/.well-known/jwks.json',
    ...(Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined)) as Record<string, string>),
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);

  let scheduledBefore = new Set<string>();
  let closedBefore = 0;
  let deletesBefore = 0;
  const wires: AwsWires = {
    reset: async () => {
      core.releaseAsync();
      await core.asyncDone();
      core.clearInjectedFailures();
      await core.setFlag('false');
      await core.clearReceived();
      asyncLogs.splice(0);
      scheduledBefore = new Set((await core.schedules()).map((s) => s.Name!));
      closedBefore = (await core.closedByGateway()).length;
      deletesBefore = core.deleteScheduleCalls().length;
    },
    setFlag: (value) => core.setFlag(value),
    pushed: () => core.received(),
    pushedTo: async (connectionId) => (await core.received()).filter((p) => p.connectionId === connectionId).map((p) => p.message),
    goneConnection: (connectionId) => core.dropConnection(connectionId),
    failPosting: (connectionId) => core.injectFailure('post', connectionId),
    failClosing: (connectionId) => core.injectFailure('delete', connectionId),
    failInvokes: (match) => core.failInvokes(match),
    failRuns: (name, times) => core.failRuns(name, times),
    clearFailures: () => core.clearInjectedFailures(),
    connectionsClosed: async () => (await core.closedByGateway()).slice(closedBefore),
    schedulesCreated: async () => (await core.schedules()).filter((s) => !scheduledBefore.has(s.Name!)),
    deleteScheduleCalls: () => core.deleteScheduleCalls().slice(deletesBefore),
    schedule: (name) => core.schedule(name),
    timer: (requestId) => core.schedule(timerScheduleName(requestId)),
    invocations: () => core.asyncInvocations(),
    holdAsync: () => core.holdAsync(),
    releaseAsync: () => core.releaseAsync(),
    asyncDone: () => core.asyncDone(),
    deadLetters: () => core.asyncDeadLetters(),
    asyncLogs: () => [...asyncLogs],
    addMechanic: (options) => core.addMechanic(options),
    close: async () => {
      await core.close();
      await (await host)?.stop();
    },
  };
  await wires.reset();
  return { table, wires };
}

/**
 * Captures the handlers' one-JSON-object-per-line logs (Powertools writes INFO
 * to stdout, WARN and ERROR to stderr) and keeps them out of the test output;
 * metrics (EMF) lines go to `metrics`, anything else is written through.
 * Lines of the runs Lambda makes in its worker are not here (`asyncLogs`).
 */
export function captureLogs(): { lines: LogLine[]; metrics: Record<string, unknown>[]; clear(): void } {
  const lines: LogLine[] = [];
  const metrics: Record<string, unknown>[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    vi.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      if (!text.startsWith('{"')) return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
      for (const line of text.split('\n').filter(Boolean)) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if ('_aws' in entry) metrics.push(entry);
        else lines.push(entry as LogLine);
      }
      return true;
    }) as typeof stream.write);
  }
  return {
    lines,
    metrics,
    clear: () => {
      lines.splice(0);
      metrics.splice(0);
    },
  };
}

/** A connection id as API Gateway makes them (16 base64 characters). */
export const newConnectionId = (): string => randomBytes(11).toString('base64');

/** The real booking store on the test's table: to read a booking back, or to seed one the way the use cases write it. */
export const bookingStore = (table: TestTable): DynamoDbBookingStore => new DynamoDbBookingStore(table.db, table.tableName);

/** Reads a booking back through the real store (the test's view of the table). */
export const readBooking = (table: TestTable, sessionId: string): Promise<Booking | undefined> => bookingStore(table).get(sessionId);

/** Reads the booking of a request id (`req-<session id>`). */
export const readBookingOfRequest = (table: TestTable, requestId: string): Promise<Booking | undefined> => readBooking(table, sessionIdOf(requestId));

/** Every item's `pk` of the given prefixes (a Scan: fine in a test, never on a request path). */
export async function keysWithPrefix(table: TestTable, ...prefixes: string[]): Promise<string[]> {
  const keys: string[] = [];
  let ExclusiveStartKey: ScanCommandOutput['LastEvaluatedKey'];
  do {
    const page = await table.db.send(new ScanCommand({ TableName: table.tableName, ConsistentRead: true, ExclusiveStartKey }));
    for (const item of page.Items ?? []) if (prefixes.some((p) => String(item.pk).startsWith(p))) keys.push(String(item.pk));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return keys.sort();
}

/** The BOOKING# items, to show a refused request wrote nothing. */
export const bookingKeys = (table: TestTable) => keysWithPrefix(table, 'BOOKING#');

/** A unique customer id per test. */
export const newCustomerId = (): string => `cust-${randomUUID().slice(0, 8)}`;

/**
 * The hooks every handler test file needs: a fresh env (table, wires, the
 * stack's env vars) before all tests, wires reset and logs cleared before
 * each, everything closed after. `ready` receives the table and wires once
 * they exist; `env` overrides the stack's env for the file. Handlers may be
 * imported statically: the wiring reads the env only on first use.
 */
export function useHandlerEnv(
  ready: (env: { table: TestTable; wires: AwsWires }) => unknown,
  options: { logs?: { clear(): void }; env?: Partial<Record<string, string>> } = {},
): void {
  let wires: AwsWires | undefined;
  beforeAll(async () => {
    const env = await setUpHandlerEnv(options.env);
    wires = env.wires;
    await ready(env);
  });
  afterAll(async () => {
    await wires?.close();
    vi.unstubAllEnvs();
  });
  beforeEach(async () => {
    await wires!.reset();
    options.logs?.clear();
  });
}
