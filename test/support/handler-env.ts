/**
 * What a handler test needs around the handler: the env the stack would set,
 * pointing DynamoDB at a fresh dynalite table and SSM, Scheduler and
 * `@connections` at the sandbox's emulators on real wires (the clients
 * `wiring.ts` builds are the real ones, reaching them through
 * `AWS_ENDPOINT_URL_SSM`, `AWS_ENDPOINT_URL_SCHEDULER` and
 * `CONNECTIONS_ENDPOINT`), mechanics as real `ws` clients of the gateway, the
 * handlers' JSON log lines captured instead of printed, and seeding through
 * the real stores.
 *
 * A 500 from `@connections` (post or close) comes from the gateway's fault
 * injection, on the wire.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { GetScheduleCommandOutput } from '@aws-sdk/client-scheduler';
import { ScanCommand, type ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, vi } from 'vitest';
import { DynamoDbRequestStore } from '../../lambdas/adapters/dynamodb-request-store';
import { systemClock } from '../../lambdas/adapters/system-clock';
import { ENV } from '../../contract/env';
import type { ServerMessage } from '../../lambdas/domain/messages';
import { startSandboxWires, type MechanicOptions, type Pushed } from './deps';
import { JWT_AUDIENCE, JWT_ISSUER } from './handler-events';
import { createTestTable, type TestTable } from './table';

export const FLAG_PARAMETER = '/priority-dispatch/test/ENABLE_FAVORITES_PRIORITY';
export const SCHEDULE_GROUP = 'priority-dispatch-handler-tests';
export const FALLBACK_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:priority-dispatch-run-fallback';
export const SCHEDULER_ROLE_ARN = 'arn:aws:iam::123456789012:role/priority-dispatch-scheduler';
export const ROUTING_GUARD_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:priority-dispatch-finish-routing';
export const FALLBACK_DLQ_ARN = 'arn:aws:sqs:us-east-1:123456789012:priority-dispatch-fallback-dlq';

export interface AwsWires {
  /** Back to the defaults between tests: flag off, nothing received, no injected failure, schedules counted from now. */
  reset(): Promise<void>;
  /** PutParameter (Overwrite) on the flag. */
  setFlag(value: 'true' | 'false'): Promise<void>;
  /** Every message the mechanics' sockets received since the last reset, in arrival order. */
  pushed(): Promise<Pushed[]>;
  /** What that connection's socket received since the last reset. */
  pushedTo(connectionId: string): Promise<ServerMessage[]>;
  /** Drops the connection's socket without a `$disconnect`: the gateway answers 410 Gone for it. */
  goneConnection(connectionId: string): Promise<void>;
  /** Makes every post to a connection fail with a 500 (injected). */
  failPosting(connectionId: string): void;
  /** Makes closing a connection fail with a 500 (injected). */
  failClosing(connectionId: string): void;
  /** Connections whose socket the gateway closed (DeleteConnection) since the last reset. */
  connectionsClosed(): Promise<string[]>;
  /** Schedules in the group that were not there at the last reset, read back with GetSchedule. */
  schedulesCreated(): Promise<GetScheduleCommandOutput[]>;
  /** DeleteSchedule calls that reached the Scheduler endpoint since the last reset (names). */
  deleteScheduleCalls(): string[];
  /** GetSchedule in the group; undefined once deleted (ResourceNotFoundException). */
  schedule(name: string): Promise<GetScheduleCommandOutput | undefined>;
  /** Stores a mechanic and opens their live connections through the gateway. */
  addMechanic(options?: MechanicOptions): Promise<{ mechanicId: string; connectionIds: string[] }>;
  /** Stops the emulators; call in `afterAll`. */
  close(): Promise<void>;
}

/**
 * Creates a fresh table, starts the wires and sets the env the stack gives a
 * function. Call it in `beforeAll` (the table needs `inject`), then
 * `await import()` the handler.
 */
export async function setUpHandlerEnv(overrides: Partial<Record<string, string>> = {}): Promise<{ table: TestTable; wires: AwsWires }> {
  const table = await createTestTable();
  const core = await startSandboxWires({ table, flagParameter: FLAG_PARAMETER, scheduleGroup: SCHEDULE_GROUP, clock: systemClock });
  const env: Record<string, string> = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: table.endpoint,
    AWS_ENDPOINT_URL_SSM: core.awsUrl,
    AWS_ENDPOINT_URL_SCHEDULER: core.awsUrl,
    [ENV.tableName]: table.tableName,
    [ENV.connectionsEndpoint]: core.connectionsEndpoint,
    [ENV.scheduleGroupName]: SCHEDULE_GROUP,
    [ENV.fallbackFunctionArn]: FALLBACK_FUNCTION_ARN,
    [ENV.routingGuardFunctionArn]: ROUTING_GUARD_FUNCTION_ARN,
    [ENV.schedulerRoleArn]: SCHEDULER_ROLE_ARN,
    [ENV.fallbackDeadLetterQueueArn]: FALLBACK_DLQ_ARN,
    [ENV.flagParameterName]: FLAG_PARAMETER,
    // A millisecond: each test's flag setting is read fresh.
    [ENV.flagCacheTtlSeconds]: '0.001',
    [ENV.priorityWindowSeconds]: '600',
    [ENV.jwtIssuer]: JWT_ISSUER,
    [ENV.jwtAudience]: JWT_AUDIENCE,
    [ENV.jwksUrl]: 'http://127.0.0.1:9/.well-known/jwks.json',
    ...overrides,
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);

  let scheduledBefore = new Set<string>();
  let closedBefore = 0;
  let deletesBefore = 0;
  const wires: AwsWires = {
    reset: async () => {
      core.clearInjectedFailures();
      await core.setFlag('false');
      await core.clearReceived();
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
    connectionsClosed: async () => (await core.closedByGateway()).slice(closedBefore),
    schedulesCreated: async () => (await core.schedules()).filter((s) => !scheduledBefore.has(s.Name!)),
    deleteScheduleCalls: () => core.deleteScheduleCalls().slice(deletesBefore),
    schedule: (name) => core.schedule(name),
    addMechanic: (options) => core.addMechanic(options),
    close: () => core.close(),
  };
  await wires.reset();
  return { table, wires };
}

export interface LogLine {
  level: string;
  message: string;
  [field: string]: unknown;
}

/**
 * Captures the handlers' one-JSON-object-per-line logs (Powertools writes INFO
 * to stdout, WARN and ERROR to stderr) and keeps them out of the test output;
 * metrics (EMF) lines go to `metrics`, anything else is written through.
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

/** Reads a request back through the real store (the test's view of the table). */
export const readRequest = (table: TestTable, requestId: string) => new DynamoDbRequestStore(table.db, table.tableName).get(requestId);

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

/** The SESSION# and REQUEST# items, to show a refused request wrote nothing. */
export const sessionAndRequestKeys = (table: TestTable) => keysWithPrefix(table, 'SESSION#', 'REQUEST#');

/** A unique customer id per test. */
export const newCustomerId = (): string => `cust-${randomUUID().slice(0, 8)}`;

/**
 * The hooks every handler test file needs: a fresh env (table, wires, the
 * stack's env vars) before all tests, wires reset and logs cleared before
 * each, everything closed after. `ready` receives the table and wires once
 * they exist. Handlers may be imported statically: wiring.ts reads the env
 * only on first use.
 */
export function useHandlerEnv(ready: (env: { table: TestTable; wires: AwsWires }) => unknown, options: { logs?: { clear(): void } } = {}): void {
  let wires: AwsWires | undefined;
  beforeAll(async () => {
    const env = await setUpHandlerEnv();
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
