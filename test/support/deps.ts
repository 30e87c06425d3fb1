/**
 * Real adapters for the use-case tests: DynamoDB stores on dynalite, and the
 * real Scheduler, SSM and API Gateway management SDK clients whose wire is
 * stubbed with aws-sdk-client-mock (until the sandbox gives the real wire).
 */
import { randomUUID } from 'node:crypto';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { CreateScheduleCommand, DeleteScheduleCommand, SchedulerClient, type CreateScheduleCommandInput } from '@aws-sdk/client-scheduler';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { ApiGatewayPusher } from '../../lambdas/adapters/apigw-pusher';
import { DynamoDbConnectionStore } from '../../lambdas/adapters/dynamodb-connection-store';
import { DynamoDbMechanicStore } from '../../lambdas/adapters/dynamodb-mechanic-store';
import { DynamoDbRequestStore } from '../../lambdas/adapters/dynamodb-request-store';
import { DynamoDbSessionStore } from '../../lambdas/adapters/dynamodb-session-store';
import { EventBridgeFallbackScheduler } from '../../lambdas/adapters/eventbridge-scheduler';
import { SsmFeatureFlag } from '../../lambdas/adapters/ssm-flag';
import type { ServerMessage } from '../../lambdas/domain/messages';
import type { MechanicStatus } from '../../lambdas/domain/mechanic';
import type { Logger, LogFields } from '../../lambdas/ports';
import type { Deps } from '../../lambdas/use-cases/deps';
import type { TestTable } from './table';

export interface LogLine {
  level: 'INFO' | 'WARN' | 'ERROR';
  message: string;
  fields: LogFields;
}

export class ManualClock {
  constructor(private current = new Date('2026-11-24T12:00:00.000Z')) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(seconds: number): void {
    this.current = new Date(this.current.getTime() + seconds * 1000);
  }
}

export interface Harness {
  deps: Deps;
  clock: ManualClock;
  logs: LogLine[];
  /** Every message pushed, in order, with the connection it went to. */
  pushed: () => { connectionId: string; message: ServerMessage }[];
  pushedTo: (connectionId: string) => ServerMessage[];
  schedulesCreated: () => CreateScheduleCommandInput[];
  schedulesDeleted: () => string[];
  setFlag: (value: 'true' | 'false' | Error) => void;
  /** Makes a connection answer 410 Gone from now on. */
  goneConnection: (connectionId: string) => void;
  /** Makes a connection fail with a 500 from now on. */
  brokenConnection: (connectionId: string) => void;
  failScheduleCreation: () => void;
  addMechanic: (options?: { status?: MechanicStatus; workshopId?: string | null; connections?: number }) => Promise<{ mechanicId: string; connectionIds: string[] }>;
  priorityWindowSeconds: number;
}

export function createHarness(table: TestTable, options: { priorityWindowSeconds?: number; flagCacheTtlSeconds?: number } = {}): Harness {
  const clock = new ManualClock();
  const logs: LogLine[] = [];
  const log: Logger = {
    info: (message, fields = {}) => logs.push({ level: 'INFO', message, fields }),
    warn: (message, fields = {}) => logs.push({ level: 'WARN', message, fields }),
    error: (message, fields = {}) => logs.push({ level: 'ERROR', message, fields }),
  };
  const region = 'us-east-1';
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

  const connectionsClient = new ApiGatewayManagementApiClient({ endpoint: 'https://example.execute-api.us-east-1.amazonaws.com/test', region, credentials });
  const connectionsWire = mockClient(connectionsClient);
  connectionsWire.on(PostToConnectionCommand).resolves({});
  connectionsWire.on(DeleteConnectionCommand).resolves({});

  const schedulerClient = new SchedulerClient({ region, credentials });
  const schedulerWire = mockClient(schedulerClient);
  schedulerWire.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn:aws:scheduler:us-east-1:123456789012:schedule/test/x' });
  schedulerWire.on(DeleteScheduleCommand).resolves({});

  const ssmClient = new SSMClient({ region, credentials });
  const ssmWire = mockClient(ssmClient);
  const setFlag = (value: 'true' | 'false' | Error): void => {
    ssmWire.reset();
    if (value instanceof Error) ssmWire.on(GetParameterCommand).rejects(value);
    else ssmWire.on(GetParameterCommand).resolves({ Parameter: { Name: '/priority-dispatch/test/ENABLE_FAVORITES_PRIORITY', Value: value } });
  };
  setFlag('false');

  const priorityWindowSeconds = options.priorityWindowSeconds ?? 600;
  const deps: Deps = {
    sessions: new DynamoDbSessionStore(table.db, table.tableName),
    requests: new DynamoDbRequestStore(table.db, table.tableName),
    mechanics: new DynamoDbMechanicStore(table.db, table.tableName),
    connections: new DynamoDbConnectionStore(table.db, table.tableName),
    pusher: new ApiGatewayPusher(connectionsClient),
    scheduler: new EventBridgeFallbackScheduler(schedulerClient, {
      groupName: 'priority-dispatch-test',
      functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:fallback',
      roleArn: 'arn:aws:iam::123456789012:role/scheduler',
      deadLetterQueueArn: 'arn:aws:sqs:us-east-1:123456789012:fallback-dlq',
    }),
    flag: new SsmFeatureFlag(ssmClient, '/priority-dispatch/test/ENABLE_FAVORITES_PRIORITY', options.flagCacheTtlSeconds ?? 0.000001, clock, log),
    tokens: { verify: async () => Promise.reject(new Error('no tokens in use-case tests')) },
    clock,
    log,
    priorityWindowSeconds,
  };

  const pushed = () =>
    connectionsWire.commandCalls(PostToConnectionCommand).map((call) => ({
      connectionId: call.args[0].input.ConnectionId!,
      message: JSON.parse(String(call.args[0].input.Data)) as ServerMessage,
    }));

  return {
    deps,
    clock,
    logs,
    pushed,
    pushedTo: (connectionId) => pushed().filter((p) => p.connectionId === connectionId).map((p) => p.message),
    schedulesCreated: () => schedulerWire.commandCalls(CreateScheduleCommand).map((call) => call.args[0].input),
    schedulesDeleted: () => schedulerWire.commandCalls(DeleteScheduleCommand).map((call) => call.args[0].input.Name!),
    setFlag,
    goneConnection: (connectionId) => {
      connectionsWire
        .on(PostToConnectionCommand, { ConnectionId: connectionId })
        .rejects(new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } }));
    },
    brokenConnection: (connectionId) => {
      connectionsWire.on(PostToConnectionCommand, { ConnectionId: connectionId }).rejects(Object.assign(new Error('Internal server error'), { name: 'InternalServerErrorException' }));
    },
    failScheduleCreation: () => {
      schedulerWire.on(CreateScheduleCommand).rejects(Object.assign(new Error('Scheduler is down'), { name: 'InternalServerException' }));
    },
    addMechanic: async ({ status = 'approved', workshopId = null, connections = 1 } = {}) => {
      const mechanicId = `mech-${randomUUID().slice(0, 8)}`;
      await deps.mechanics.put({ mechanic_id: mechanicId, status, name: `Mechanic ${mechanicId}`, workshop_id: workshopId, updated_at: clock.now().toISOString() });
      const connectionIds: string[] = [];
      for (let i = 0; i < connections; i++) {
        const connectionId = `conn-${randomUUID()}`;
        await deps.connections.put({ connection_id: connectionId, mechanic_id: mechanicId, workshop_id: workshopId, connected_at: clock.now().toISOString() });
        connectionIds.push(connectionId);
      }
      return { mechanicId, connectionIds };
    },
    priorityWindowSeconds,
  };
}
