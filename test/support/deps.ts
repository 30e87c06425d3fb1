/**
 * The use-case harness, on real wires: the real adapters with DynamoDB on
 * dynalite; SSM Parameter Store and EventBridge Scheduler served by the
 * sandbox's emulators behind one AWS endpoint, reached by the real SDK
 * clients; and API Gateway's `@connections` served by the sandbox's WebSocket
 * gateway, with a real `ws` client per mechanic connection, so "what was
 * pushed" is what a mechanic's socket actually received.
 *
 * `startSandboxWires` is shared with the handler tests (handler-env.ts).
 *
 * A non-410 `@connections` failure (a 500) comes from the sandbox's fault
 * injection, answered by the gateway on the wire like any other reply.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import {
  CreateScheduleGroupCommand,
  DeleteScheduleGroupCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  ResourceNotFoundException,
  SchedulerClient,
  type GetScheduleCommandOutput,
} from '@aws-sdk/client-scheduler';
import { DeleteParameterCommand, ParameterNotFound, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { WebSocket } from 'ws';
import { ApiGatewayPusher } from '../../lambdas/adapters/apigw-pusher';
import { DynamoDbConnectionStore } from '../../lambdas/adapters/dynamodb-connection-store';
import { DynamoDbMechanicStore } from '../../lambdas/adapters/dynamodb-mechanic-store';
import { DynamoDbRequestStore } from '../../lambdas/adapters/dynamodb-request-store';
import { DynamoDbSessionStore } from '../../lambdas/adapters/dynamodb-session-store';
import { EventBridgeFallbackScheduler } from '../../lambdas/adapters/eventbridge-scheduler';
import { SsmFeatureFlag } from '../../lambdas/adapters/ssm-flag';
import type { MechanicStatus } from '../../lambdas/domain/mechanic';
import type { ServerMessage } from '../../lambdas/domain/messages';
import type { Clock, FeatureFlag, Logger, LogFields } from '../../lambdas/ports';
import type { Deps } from '../../lambdas/use-cases/deps';
import { connectMechanic, disconnectMechanic } from '../../lambdas/use-cases/mechanics';
import type { FunctionName } from '../../contract/routes';
import { startAwsEndpoint } from '../../sandbox/aws-endpoint';
import { SchedulerService } from '../../sandbox/scheduler';
import { SsmService } from '../../sandbox/ssm';
import { Faults } from '../../sandbox/faults';
import { startWebSocketGateway } from '../../sandbox/websocket-gateway';
import { ManualClock, RecordingMetrics } from './in-memory-ports';
import type { TestTable } from './table';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
/** How long a settle waits for a socket to answer its ping (or close) before the test fails loudly. */
const SETTLE_TIMEOUT_MS = 5_000;

// ---- the wires, shared with handler-env.ts ------------------------------------------------------

export interface MechanicOptions {
  status?: MechanicStatus;
  workshopId?: string | null;
  /** Live WebSocket connections to open. @default 1 */
  connections?: number;
}

export interface Pushed {
  connectionId: string;
  message: ServerMessage;
}

export interface SandboxWires {
  /** The one AWS endpoint (SSM and Scheduler) for `AWS_ENDPOINT_URL_*` or a client's `endpoint`. */
  readonly awsUrl: string;
  /** The gateway's `@connections` endpoint (CONNECTIONS_ENDPOINT). */
  readonly connectionsEndpoint: string;
  /** PutParameter with Overwrite, as ops flip it. */
  setFlag(value: 'true' | 'false'): Promise<void>;
  /** DeleteParameter: a read then fails with ParameterNotFound. */
  deleteFlag(): Promise<void>;
  /** GetParameter calls for the flag that reached the endpoint. */
  flagReads(): number;
  /** GetSchedule in the group; undefined when it answers ResourceNotFoundException (deleted, or never made). */
  schedule(name: string): Promise<GetScheduleCommandOutput | undefined>;
  /** Every schedule in the group (ListSchedules, then GetSchedule for the full definition), by name. */
  schedules(): Promise<GetScheduleCommandOutput[]>;
  /** Names of the DeleteSchedule calls that reached the endpoint (seen on the server side), in order. */
  deleteScheduleCalls(): string[];
  /** DeleteScheduleGroup: CreateSchedule into it then fails with ResourceNotFoundException. */
  deleteScheduleGroup(): Promise<void>;
  /** Stores the mechanic and opens their connections through the gateway's `$connect`. */
  addMechanic(options?: MechanicOptions): Promise<{ mechanicId: string; connectionIds: string[] }>;
  /**
   * Everything received so far, in arrival order, once every open socket has
   * received all the gateway sent it before this call (see `settle`).
   */
  received(): Promise<Pushed[]>;
  /** Settles, then forgets what was received. */
  clearReceived(): Promise<void>;
  /**
   * Drops the client's socket the way a lost network does (no close frame)
   * and AWS's best-effort `$disconnect` never arrives, so the connection item
   * stays and the next push gets a real 410 GoneException.
   */
  dropConnection(connectionId: string): Promise<void>;
  /** Connections whose socket the gateway closed (DeleteConnection), once settled. */
  closedByGateway(): Promise<string[]>;
  /** From now on, the `@connections` endpoint answers that command on that connection with a 500 (the sandbox's fault injection). */
  injectFailure(kind: 'post' | 'delete', connectionId: string): void;
  clearInjectedFailures(): void;
  close(): Promise<void>;
}

interface MechanicSocket {
  connectionId: string;
  socket: WebSocket;
}

/**
 * Starts SSM and Scheduler behind one AWS endpoint and a WebSocket gateway,
 * all on free ports. The scheduler's firing loop is NOT started: tests drive
 * the fallback themselves, and a schedule is data they read back.
 *
 * The gateway's `invoke` stands in for the Lambdas around a connection: an
 * authorizer that allows `?token=<mechanic id>` with the context the real
 * one gives (`{mechanic_id, workshop_id}`; the real authorizer has its own
 * tests, and this one lets a test seed a suspended mechanic who is still
 * connected), `$connect` → the real `connectMechanic` use case and
 * `$disconnect` → `disconnectMechanic`, on the test's table.
 */
export async function startSandboxWires(options: { table: TestTable; flagParameter: string; scheduleGroup: string; clock: Clock }): Promise<SandboxWires> {
  const { table, flagParameter, scheduleGroup, clock } = options;
  const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const connections = new DynamoDbConnectionStore(table.db, table.tableName);
  const mechanics = new DynamoDbMechanicStore(table.db, table.tableName);

  // ---- SSM and Scheduler ----
  const ssmService = new SsmService({});
  const schedulerService = new SchedulerService({
    log: () => undefined,
    invoke: () => Promise.reject(new Error('the firing loop is not started in these tests')),
  });
  let flagReads = 0;
  const deleteScheduleCalls: string[] = [];
  const endpoint = await startAwsEndpoint({
    port: 0,
    services: {
      ssm: (req: IncomingMessage, res, body) => {
        // Counted on the server side: the reads that really reached the wire.
        if (req.headers['x-amz-target'] === 'AmazonSSM.GetParameter' && parseName(body) === flagParameter) flagReads++;
        return ssmService.handle(req, res, body);
      },
      scheduler: (req: IncomingMessage, res, body) => {
        const deleted = req.method === 'DELETE' ? /^\/schedules\/([^/?]+)/.exec(req.url ?? '') : null;
        if (deleted) deleteScheduleCalls.push(decodeURIComponent(deleted[1]!));
        return schedulerService.handle(req, res, body);
      },
    },
  });
  const ssm = new SSMClient({ endpoint: endpoint.url, region: REGION, credentials: CREDENTIALS });
  const scheduler = new SchedulerClient({ endpoint: endpoint.url, region: REGION, credentials: CREDENTIALS });
  await scheduler.send(new CreateScheduleGroupCommand({ Name: scheduleGroup }));

  // ---- the WebSocket gateway and its stand-in Lambdas ----
  const connectionIdOfClient = new Map<string, string>();
  const lostDisconnects = new Set<string>();
  const disconnected = new Map<string, () => void>();
  const invocations = new Set<Promise<unknown>>();
  const invoke = async (fn: FunctionName, event: unknown): Promise<unknown> => {
    const e = event as {
      queryStringParameters?: Record<string, string>;
      methodArn?: string;
      requestContext: { connectionId: string; authorizer?: { mechanic_id?: string; workshop_id?: string } };
    };
    switch (fn) {
      case 'wsAuthorizer': {
        const mechanicId = e.queryStringParameters?.token ?? '';
        return {
          principalId: mechanicId,
          policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: e.methodArn }] },
          context: { mechanic_id: mechanicId, workshop_id: e.queryStringParameters?.workshop_id ?? '' },
        };
      }
      case 'wsConnect': {
        const { connectionId, authorizer } = e.requestContext;
        await connectMechanic(
          { connections, clock, log: quiet },
          { connectionId, mechanicId: authorizer!.mechanic_id!, workshopId: authorizer!.workshop_id || null },
        );
        connectionIdOfClient.set(e.queryStringParameters!.client!, connectionId);
        return { statusCode: 200 };
      }
      case 'wsDisconnect': {
        const { connectionId } = e.requestContext;
        if (!lostDisconnects.has(connectionId)) await disconnectMechanic({ connections, log: quiet }, { connectionId });
        disconnected.get(connectionId)?.();
        return { statusCode: 200 };
      }
      default:
        // Message routes: these tests call the use cases (or handlers) themselves.
        return { statusCode: 200 };
    }
  };
  // Injected failures: the sandbox's own fault injection, answered on the wire.
  const faults = new Faults();
  const gateway = await startWebSocketGateway({
    port: 0,
    stage: 'test',
    faults,
    log: () => undefined,
    invoke: (fn, event) => {
      const invocation = invoke(fn, event);
      invocations.add(invocation);
      void invocation.catch(() => undefined).finally(() => invocations.delete(invocation));
      return invocation;
    },
  });

  // ---- the mechanics' sockets ----
  const sockets = new Map<string, MechanicSocket>();
  const arrivals: Pushed[] = [];
  const closedByGateway: string[] = [];
  const dropping = new Set<string>();
  let closing = false;

  async function openConnection(mechanicId: string, workshopId: string | null): Promise<string> {
    const client = randomUUID();
    const query = new URLSearchParams({ token: mechanicId, workshop_id: workshopId ?? '', client });
    const socket = new WebSocket(`${gateway.url}?${query}`);
    const entry: MechanicSocket = { connectionId: '', socket };
    socket.on('error', () => undefined);
    socket.on('message', (data) => arrivals.push({ connectionId: entry.connectionId, message: JSON.parse(data.toString()) as ServerMessage }));
    socket.on('close', () => {
      if (!closing && !dropping.has(entry.connectionId)) closedByGateway.push(entry.connectionId);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => {
        // `$connect` ran before the gateway completed the handshake, so its id is known by now.
        entry.connectionId = connectionIdOfClient.get(client)!;
        resolve();
      });
      socket.once('unexpected-response', (_req, res) => reject(new Error(`handshake refused: ${res.statusCode}`)));
      socket.once('error', reject);
    });
    sockets.set(entry.connectionId, entry);
    return entry.connectionId;
  }

  /**
   * The delivery barrier. Every `@connections` POST the code under test
   * awaited has already been written to its socket by the gateway, so a
   * WebSocket ping sent now is answered (pong) only after those frames on
   * the same ordered TCP stream: once each open socket has its own pong back
   * (or has closed), it holds everything pushed before the call. No sleeps.
   */
  function settleSocket({ connectionId, socket }: MechanicSocket): Promise<void> {
    if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const nonce = randomBytes(8);
      const onPong = (data: Buffer): void => {
        if (data.equals(nonce)) done();
      };
      const done = (): void => {
        clearTimeout(timer);
        socket.off('pong', onPong);
        socket.off('close', done);
        resolve();
      };
      const timer = setTimeout(() => {
        socket.off('pong', onPong);
        socket.off('close', done);
        reject(new Error(`connection ${connectionId} neither answered a ping nor closed within ${SETTLE_TIMEOUT_MS} ms`));
      }, SETTLE_TIMEOUT_MS);
      socket.on('pong', onPong);
      socket.on('close', done);
      if (socket.readyState === WebSocket.OPEN) socket.ping(nonce);
    });
  }
  // Callers that arrive while a settle is under way share the next one: its pings leave after their call.
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const settle = (): Promise<void> => {
    if (!running) {
      running = Promise.all([...sockets.values()].map(settleSocket))
        .then(() => undefined)
        .finally(() => (running = undefined));
      return running;
    }
    queued ??= running
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        return settle();
      });
    return queued;
  };

  return {
    awsUrl: endpoint.url,
    connectionsEndpoint: gateway.connectionsEndpoint,
    setFlag: async (value) => {
      await ssm.send(new PutParameterCommand({ Name: flagParameter, Value: value, Type: 'String', Overwrite: true }));
    },
    deleteFlag: async () => {
      try {
        await ssm.send(new DeleteParameterCommand({ Name: flagParameter }));
      } catch (error) {
        if (!(error instanceof ParameterNotFound)) throw error;
      }
    },
    flagReads: () => flagReads,
    schedule: async (name) => {
      try {
        return await scheduler.send(new GetScheduleCommand({ Name: name, GroupName: scheduleGroup }));
      } catch (error) {
        if (error instanceof ResourceNotFoundException) return undefined;
        throw error;
      }
    },
    schedules: async () => {
      const names: string[] = [];
      let NextToken: string | undefined;
      do {
        const page = await scheduler.send(new ListSchedulesCommand({ GroupName: scheduleGroup, NextToken }));
        names.push(...(page.Schedules ?? []).map((s) => s.Name!));
        NextToken = page.NextToken;
      } while (NextToken);
      const found = await Promise.all(names.sort().map((Name) => scheduler.send(new GetScheduleCommand({ Name, GroupName: scheduleGroup }))));
      return found;
    },
    deleteScheduleCalls: () => [...deleteScheduleCalls],
    deleteScheduleGroup: async () => {
      await scheduler.send(new DeleteScheduleGroupCommand({ Name: scheduleGroup }));
    },
    addMechanic: async ({ status = 'approved', workshopId = null, connections: count = 1 } = {}) => {
      const mechanicId = `mech-${randomUUID().slice(0, 8)}`;
      await mechanics.put({ mechanic_id: mechanicId, status, name: `Mechanic ${mechanicId}`, workshop_id: workshopId, updated_at: clock.now().toISOString() });
      const connectionIds: string[] = [];
      for (let i = 0; i < count; i++) connectionIds.push(await openConnection(mechanicId, workshopId));
      return { mechanicId, connectionIds };
    },
    received: async () => {
      await settle();
      return [...arrivals];
    },
    clearReceived: async () => {
      await settle();
      arrivals.splice(0);
    },
    dropConnection: async (connectionId) => {
      const entry = sockets.get(connectionId);
      // An id the gateway never issued is gone on the wire already.
      if (!entry || entry.socket.readyState === WebSocket.CLOSED) return;
      dropping.add(connectionId);
      lostDisconnects.add(connectionId);
      const gatewaySawIt = new Promise<void>((resolve) => disconnected.set(connectionId, resolve));
      entry.socket.terminate();
      await gatewaySawIt;
    },
    closedByGateway: async () => {
      await settle();
      return [...closedByGateway];
    },
    injectFailure: (kind, connectionId) => {
      faults.add({
        service: 'connections',
        operation: kind === 'post' ? 'PostToConnection' : 'DeleteConnection',
        match: connectionId,
        error: 'InternalServerErrorException',
        times: 0,
      });
    },
    clearInjectedFailures: () => faults.clear(),
    close: async () => {
      closing = true;
      await gateway.close();
      await Promise.allSettled([...invocations]);
      for (const { socket } of sockets.values()) socket.terminate();
      await endpoint.close();
      ssm.destroy();
      scheduler.destroy();
    },
  };
}

function parseName(body: Buffer): string | undefined {
  try {
    return (JSON.parse(body.toString('utf8')) as { Name?: string }).Name;
  } catch {
    return undefined;
  }
}

// ---- the use-case harness ---------------------------------------------------------------------

export interface LogLine {
  level: 'INFO' | 'WARN' | 'ERROR';
  message: string;
  fields: LogFields;
}

export { ManualClock };

export const FLAG_PARAMETER = '/priority-dispatch/test/ENABLE_FAVORITES_PRIORITY';
export const SCHEDULE_GROUP = 'priority-dispatch-test';
export const FALLBACK_DLQ_ARN = 'arn:aws:sqs:us-east-1:123456789012:fallback-dlq';
export const ROUTING_GUARD_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:finish-routing';

export interface Harness {
  deps: Deps;
  clock: ManualClock;
  logs: LogLine[];
  /** What the use cases counted (the Metrics port). */
  metrics: RecordingMetrics;
  /** Every message the mechanics' sockets received, in arrival order. */
  pushed: () => Promise<Pushed[]>;
  /** What that connection's socket received, in order. */
  pushedTo: (connectionId: string) => Promise<ServerMessage[]>;
  /** The schedules in the group, read back over the wire (GetSchedule). */
  schedulesCreated: () => Promise<GetScheduleCommandOutput[]>;
  /** One schedule; undefined once deleted (ResourceNotFoundException). */
  schedule: (name: string) => Promise<GetScheduleCommandOutput | undefined>;
  setFlag: (value: 'true' | 'false') => Promise<void>;
  /** Deletes the parameter: a read fails with ParameterNotFound. */
  deleteFlag: () => Promise<void>;
  /** Reads the flag through a client whose endpoint refuses connections (a real network failure). */
  makeFlagUnreachable: () => void;
  /** GetParameter calls that reached the SSM endpoint. */
  flagReads: () => number;
  /** Drops the connection's socket: the gateway answers 410 Gone for it from now on. */
  goneConnection: (connectionId: string) => Promise<void>;
  /** Makes posting to a connection fail with a 500 (the gateway's fault injection). */
  brokenConnection: (connectionId: string) => void;
  /** Deletes the schedule group, so CreateSchedule answers ResourceNotFoundException. */
  failScheduleCreation: () => Promise<void>;
  addMechanic: (options?: MechanicOptions) => Promise<{ mechanicId: string; connectionIds: string[] }>;
  priorityWindowSeconds: number;
  close: () => Promise<void>;
}

export async function createHarness(table: TestTable, options: { priorityWindowSeconds?: number; flagCacheTtlSeconds?: number } = {}): Promise<Harness> {
  const clock = new ManualClock();
  const logs: LogLine[] = [];
  const metrics = new RecordingMetrics();
  const log: Logger = {
    info: (message, fields = {}) => logs.push({ level: 'INFO', message, fields }),
    warn: (message, fields = {}) => logs.push({ level: 'WARN', message, fields }),
    error: (message, fields = {}) => logs.push({ level: 'ERROR', message, fields }),
  };
  const wires = await startSandboxWires({ table, flagParameter: FLAG_PARAMETER, scheduleGroup: SCHEDULE_GROUP, clock });
  await wires.setFlag('false');

  const connectionsClient = new ApiGatewayManagementApiClient({ endpoint: wires.connectionsEndpoint, region: REGION, credentials: CREDENTIALS });
  const schedulerClient = new SchedulerClient({ endpoint: wires.awsUrl, region: REGION, credentials: CREDENTIALS });
  const flagTtl = options.flagCacheTtlSeconds ?? 0.000001;
  const flagOver = (client: SSMClient): FeatureFlag => new SsmFeatureFlag(client, FLAG_PARAMETER, flagTtl, clock, log);
  const ssmClient = new SSMClient({ endpoint: wires.awsUrl, region: REGION, credentials: CREDENTIALS });
  const unreachableSsm = new SSMClient({ endpoint: 'http://127.0.0.1:1', region: REGION, credentials: CREDENTIALS, maxAttempts: 1 });
  let flag = flagOver(ssmClient);

  const priorityWindowSeconds = options.priorityWindowSeconds ?? 600;
  const deps: Deps = {
    sessions: new DynamoDbSessionStore(table.db, table.tableName),
    requests: new DynamoDbRequestStore(table.db, table.tableName),
    mechanics: new DynamoDbMechanicStore(table.db, table.tableName),
    connections: new DynamoDbConnectionStore(table.db, table.tableName),
    pusher: new ApiGatewayPusher(connectionsClient),
    scheduler: new EventBridgeFallbackScheduler(schedulerClient, {
      groupName: SCHEDULE_GROUP,
      functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:fallback',
      routingGuardFunctionArn: ROUTING_GUARD_FUNCTION_ARN,
      roleArn: 'arn:aws:iam::123456789012:role/scheduler',
      deadLetterQueueArn: FALLBACK_DLQ_ARN,
    }),
    get flag() {
      return flag;
    },
    tokens: { verify: async () => Promise.reject(new Error('no tokens in use-case tests')) },
    clock,
    log,
    metrics,
    priorityWindowSeconds,
    routingGuardSeconds: 120,
  };

  return {
    deps,
    clock,
    logs,
    metrics,
    pushed: () => wires.received(),
    pushedTo: async (connectionId) => (await wires.received()).filter((p) => p.connectionId === connectionId).map((p) => p.message),
    schedulesCreated: () => wires.schedules(),
    schedule: (name) => wires.schedule(name),
    setFlag: (value) => wires.setFlag(value),
    deleteFlag: () => wires.deleteFlag(),
    makeFlagUnreachable: () => {
      flag = flagOver(unreachableSsm);
    },
    flagReads: () => wires.flagReads(),
    goneConnection: (connectionId) => wires.dropConnection(connectionId),
    brokenConnection: (connectionId) => wires.injectFailure('post', connectionId),
    failScheduleCreation: () => wires.deleteScheduleGroup(),
    addMechanic: (mechanicOptions) => wires.addMechanic(mechanicOptions),
    priorityWindowSeconds,
    close: async () => {
      await wires.close();
      for (const client of [connectionsClient, schedulerClient, ssmClient, unreachableSsm]) client.destroy();
    },
  };
}
