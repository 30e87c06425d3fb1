/**
 * What a handler test needs around the handler: the env the stack would set
 * (pointing DynamoDB at a fresh dynalite table), the Scheduler, SSM and
 * `@connections` wires stubbed at class level (so the clients `wiring.ts`
 * builds are stubbed too), the handlers' JSON log lines captured instead of
 * printed, and seeding of mechanics and connections through the real stores.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { CreateScheduleCommand, DeleteScheduleCommand, SchedulerClient, type CreateScheduleCommandInput } from '@aws-sdk/client-scheduler';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ScanCommand, type ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { vi } from 'vitest';
import { DynamoDbConnectionStore } from '../../lambdas/adapters/dynamodb-connection-store';
import { DynamoDbMechanicStore } from '../../lambdas/adapters/dynamodb-mechanic-store';
import { DynamoDbRequestStore } from '../../lambdas/adapters/dynamodb-request-store';
import { ENV } from '../../lambdas/config';
import type { MechanicStatus } from '../../lambdas/domain/mechanic';
import type { ServerMessage } from '../../lambdas/domain/messages';
import { JWT_AUDIENCE, JWT_ISSUER } from './handler-events';
import { createTestTable, type TestTable } from './table';

export const FLAG_PARAMETER = '/priority-dispatch/test/ENABLE_FAVORITES_PRIORITY';
export const SCHEDULE_GROUP = 'priority-dispatch-handler-tests';
export const FALLBACK_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:priority-dispatch-run-fallback';
export const SCHEDULER_ROLE_ARN = 'arn:aws:iam::123456789012:role/priority-dispatch-scheduler';
export const FALLBACK_DLQ_ARN = 'arn:aws:sqs:us-east-1:123456789012:priority-dispatch-fallback-dlq';
export const CONNECTIONS_ENDPOINT = 'https://x.execute-api.us-east-1.amazonaws.com/test';

/**
 * Creates a fresh table and sets the env the stack gives a function. Call it
 * in `beforeAll` (the table needs `inject`), then `await import()` the handler.
 */
export async function setUpHandlerEnv(overrides: Partial<Record<string, string>> = {}): Promise<TestTable> {
  const table = await createTestTable();
  const env: Record<string, string> = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: table.endpoint,
    [ENV.tableName]: table.tableName,
    [ENV.connectionsEndpoint]: CONNECTIONS_ENDPOINT,
    [ENV.scheduleGroupName]: SCHEDULE_GROUP,
    [ENV.fallbackFunctionArn]: FALLBACK_FUNCTION_ARN,
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
  return table;
}

export interface AwsWires {
  /** Restores the defaults (flag off, every push and schedule call succeeds) and clears the call history. */
  reset(): void;
  setFlag(value: 'true' | 'false'): void;
  /** Every `PostToConnection`, in order. */
  pushed(): { connectionId: string; message: ServerMessage }[];
  pushedTo(connectionId: string): ServerMessage[];
  /** Makes a connection answer 410 Gone. */
  goneConnection(connectionId: string): void;
  /** Makes every post to a connection fail with a 500. */
  failPosting(connectionId: string): void;
  /** Makes closing a connection fail with a 500. */
  failClosing(connectionId: string): void;
  connectionsClosed(): string[];
  schedulesCreated(): CreateScheduleCommandInput[];
  schedulesDeleted(): { Name?: string; GroupName?: string }[];
  flagReads(): number;
}

/** Stubs SSM, Scheduler and `@connections` for every client instance (call at the test file's top level). */
export function mockAwsWires(): AwsWires {
  const ssm = mockClient(SSMClient);
  const scheduler = mockClient(SchedulerClient);
  const connections = mockClient(ApiGatewayManagementApiClient);

  const setFlag = (value: 'true' | 'false'): void => {
    ssm.reset();
    // Only the configured parameter answers: a wrong name reads as "no value", i.e. off.
    ssm.on(GetParameterCommand, { Name: FLAG_PARAMETER }).resolves({ Parameter: { Name: FLAG_PARAMETER, Type: 'String', Value: value, Version: 1 } });
  };
  const reset = (): void => {
    setFlag('false');
    scheduler.reset();
    scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: `arn:aws:scheduler:us-east-1:123456789012:schedule/${SCHEDULE_GROUP}/x` });
    scheduler.on(DeleteScheduleCommand).resolves({});
    connections.reset();
    connections.on(PostToConnectionCommand).resolves({});
    connections.on(DeleteConnectionCommand).resolves({});
  };
  reset();

  const pushed = () =>
    connections.commandCalls(PostToConnectionCommand).map((call) => ({
      connectionId: call.args[0].input.ConnectionId!,
      message: JSON.parse(Buffer.from(call.args[0].input.Data as string | Uint8Array).toString('utf8')) as ServerMessage,
    }));

  return {
    reset,
    setFlag,
    pushed,
    pushedTo: (connectionId) => pushed().filter((p) => p.connectionId === connectionId).map((p) => p.message),
    goneConnection: (connectionId) => {
      connections.on(PostToConnectionCommand, { ConnectionId: connectionId }).rejects(new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } }));
    },
    failPosting: (connectionId) => {
      connections.on(PostToConnectionCommand, { ConnectionId: connectionId }).rejects(Object.assign(new Error('Internal server error'), { name: 'InternalServerErrorException' }));
    },
    failClosing: (connectionId) => {
      connections.on(DeleteConnectionCommand, { ConnectionId: connectionId }).rejects(Object.assign(new Error('Internal server error'), { name: 'InternalServerErrorException' }));
    },
    connectionsClosed: () => connections.commandCalls(DeleteConnectionCommand).map((call) => call.args[0].input.ConnectionId!),
    schedulesCreated: () => scheduler.commandCalls(CreateScheduleCommand).map((call) => call.args[0].input),
    schedulesDeleted: () => scheduler.commandCalls(DeleteScheduleCommand).map((call) => ({ Name: call.args[0].input.Name, GroupName: call.args[0].input.GroupName })),
    flagReads: () => ssm.commandCalls(GetParameterCommand).length,
  };
}

export interface LogLine {
  level: string;
  message: string;
  [field: string]: unknown;
}

/**
 * Captures the handlers' one-JSON-object-per-line logs from stdout (and keeps
 * them out of the test output); anything else is written through.
 */
export function captureLogs(): { lines: LogLine[]; clear(): void } {
  const lines: LogLine[] = [];
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (text.startsWith('{"timestamp"')) {
      for (const line of text.split('\n').filter(Boolean)) lines.push(JSON.parse(line) as LogLine);
      return true;
    }
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write);
  return { lines, clear: () => lines.splice(0) };
}

/** A connection id as API Gateway makes them (16 base64 characters). */
export const newConnectionId = (): string => randomBytes(11).toString('base64');

/** Seeds a mechanic and their live connections through the real stores. */
export async function addMechanic(
  table: TestTable,
  options: { status?: MechanicStatus; workshopId?: string | null; connections?: number } = {},
): Promise<{ mechanicId: string; connectionIds: string[] }> {
  const { status = 'approved', workshopId = null, connections = 1 } = options;
  const mechanicId = `mech-${randomUUID().slice(0, 8)}`;
  const at = new Date().toISOString();
  await new DynamoDbMechanicStore(table.db, table.tableName).put({ mechanic_id: mechanicId, status, name: `Mechanic ${mechanicId}`, workshop_id: workshopId, updated_at: at });
  const store = new DynamoDbConnectionStore(table.db, table.tableName);
  const connectionIds: string[] = [];
  for (let i = 0; i < connections; i++) {
    const connectionId = newConnectionId();
    await store.put({ connection_id: connectionId, mechanic_id: mechanicId, workshop_id: workshopId, connected_at: at });
    connectionIds.push(connectionId);
  }
  return { mechanicId, connectionIds };
}

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
