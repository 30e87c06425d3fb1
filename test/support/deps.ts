/**
 * The use-case harness, on real wires: the real adapters with DynamoDB on
 * dynalite; SSM Parameter Store, EventBridge Scheduler and Lambda's Invoke API
 * served by the sandbox's emulators behind one AWS endpoint, reached by the
 * real SDK clients; Lambda's asynchronous invocation (the fan-out's queue) by
 * the sandbox's AsyncInvoker; and API Gateway's `@connections` served by the
 * sandbox's WebSocket gateway, with a real `ws` client per mechanic
 * connection, so "what was pushed" is what a mechanic's socket actually received.
 *
 * `startSandboxWires` is shared with the handler tests (handler-env.ts).
 *
 * A non-410 `@connections` failure (a 500), a failed Invoke call and a failed
 * run come from the sandbox's fault injection, answered on the wire (or by
 * the run) like any other failure.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { LambdaClient } from '@aws-sdk/client-lambda';
import {
  CreateScheduleGroupCommand,
  DeleteScheduleGroupCommand,
  GetScheduleCommand,
  type GetScheduleCommandOutput,
  ListSchedulesCommand,
  ResourceNotFoundException,
  SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { DeleteParameterCommand, ParameterNotFound, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { WebSocket } from 'ws';
import { DEFAULT_WS_TICKET_TTL_SECONDS } from '../../contract/env';
import { functions, type FunctionName, isAsyncTarget } from '../../contract/routes';
import { SignedConnectionsPusher } from '../../lambdas/adapters/signed-connections-pusher';
import { DynamoDbBookingStore } from '../../lambdas/adapters/dynamodb-booking-store';
import { DynamoDbConnectionStore } from '../../lambdas/adapters/dynamodb-connection-store';
import { DynamoDbMechanicStore } from '../../lambdas/adapters/dynamodb-mechanic-store';
import { DynamoDbOpenBookings } from '../../lambdas/adapters/dynamodb-open-bookings';
import { DynamoDbTicketStore } from '../../lambdas/adapters/dynamodb-ticket-store';
import { EventBridgeRequestTimer } from '../../lambdas/adapters/eventbridge-request-timer';
import { LambdaFanOut } from '../../lambdas/adapters/lambda-fan-out';
import { SsmFeatureFlag } from '../../lambdas/adapters/ssm-flag';
import type { Booking } from '../../lambdas/domain/booking';
import { requestIdFor, timerScheduleName } from '../../lambdas/domain/ids';
import type { MechanicStatus } from '../../lambdas/domain/mechanic';
import type { ServerMessage } from '../../lambdas/domain/messages';
import { fanOutInputSchema } from '../../lambdas/handlers/shared/schemas';
import type { Clock, FeatureFlag, LogFields, Logger } from '../../lambdas/ports';
import type { Deps } from '../../lambdas/use-cases/deps';
import { fanOut, type FanOutInput } from '../../lambdas/use-cases/fan-out';
import { connectMechanic, disconnectMechanic } from '../../lambdas/use-cases/mechanics';
import { PUSH_CONCURRENCY } from '../../lambdas/use-cases/tell-mechanics';
import { startAwsEndpoint } from '../../sandbox/aws-endpoint';
import { Faults } from '../../sandbox/faults';
import { ASYNC_ATTEMPTS, AsyncInvoker, type LambdaDeadLetter } from '../../sandbox/lambda-async';
import { lambdaApi } from '../../sandbox/lambda-api';
import { functionArn, lambdaFunctionName } from '../../sandbox/lambda-host';
import { SchedulerService } from '../../sandbox/scheduler';
import { SsmService } from '../../sandbox/ssm';
import { SandboxPrincipals } from '../../sandbox/iam';
import { startWebSocketGateway } from '../../sandbox/websocket-gateway';
import { ManualClock, RecordingMetrics, TEST_MAX_OPEN_BOOKINGS } from './in-memory-ports';
import type { TestTable } from './table';
import { requireSentAt } from './server-messages';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
/** How long a settle waits for a socket to answer its ping (or close) before the test fails loudly. */
const SETTLE_TIMEOUT_MS = 5_000;
/** How long `asyncDone` waits for the queued invocations (and their retries) to finish before the test fails loudly: the first run bundles the handlers and starts the Lambda workers (seconds on a busy machine). */
const ASYNC_TIMEOUT_MS = 90_000;
/** Lambda retries a failed asynchronous run after about one, then two minutes; here after a blink, so a test sees the retries. */
export const ASYNC_RETRY_DELAYS_MS = [50, 100] as const;

/** The stage the wires' functions are named for: `priority-dispatch-test-<function>`, as the sandbox names them. */
export const STAGE = 'test';
export const FAN_OUT_FUNCTION_NAME = lambdaFunctionName(STAGE, 'fanOut');
export const TIMER_FUNCTION_ARN = functionArn(STAGE, 'requestTimer');
export const SCHEDULER_ROLE_ARN = 'arn:aws:iam::000000000000:role/priority-dispatch-test-scheduler';
export const DEAD_LETTER_QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:priority-dispatch-test-dlq';

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

/** One `Invoke` with `InvocationType: Event` the Lambda API accepted (202), and what became of it. */
export interface AsyncInvocation {
  readonly function: FunctionName;
  /** The event as the function gets it. */
  readonly payload: unknown;
  /** Runs so far (Lambda makes at most 3). */
  runs: number;
  /** `queued` until a run succeeded (`succeeded`) or the third one failed (`failed`: sent to the on-failure destination). */
  outcome: 'queued' | 'succeeded' | 'failed';
  /** Why each failed run failed. */
  readonly errors: string[];
}

/** Runs a function once for the AsyncInvoker (and RequestResponse invokes): its result, or it throws. */
export type FunctionRunner = (name: FunctionName, payload: unknown) => Promise<unknown>;

export interface SandboxWires {
  /** The one AWS endpoint (SSM, Scheduler and Lambda) for `AWS_ENDPOINT_URL_*` or a client's `endpoint`. */
  readonly awsUrl: string;
  /** The gateway's `@connections` endpoint (CONNECTIONS_ENDPOINT). */
  readonly connectionsEndpoint: string;
  /** Whose signatures `@connections` accepts: the operator's test key (the handlers run here) and each function's role (the Lambda host's). */
  readonly principals: SandboxPrincipals;
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
  /** Every Event invocation the Lambda API accepted, in order (seen on the server side). */
  asyncInvocations(): AsyncInvocation[];
  /** What Lambda sent to the on-failure destination (a run that failed 3 times). */
  asyncDeadLetters(): LambdaDeadLetter[];
  /**
   * From now on queued invocations wait before they run (they stay queued in
   * the AsyncInvoker, as when Lambda has not picked them up yet) until `releaseAsync`.
   */
  holdAsync(): void;
  releaseAsync(): void;
  /** Waits until every queued invocation succeeded or ran out of retries (including those queued meanwhile). Not while held. */
  asyncDone(): Promise<void>;
  /** Stores the mechanic and opens their connections through the gateway's `$connect`. */
  addMechanic(options?: MechanicOptions): Promise<{ mechanicId: string; connectionIds: string[] }>;
  /**
   * Everything received so far, in arrival order, once the queued invocations
   * are done (unless held) and every open socket has received all the gateway
   * sent it before this call (see `settle`).
   */
  received(): Promise<Pushed[]>;
  /** Settles, then forgets what was received and the invocations that finished. */
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
  /**
   * The Lambda API answers `Invoke` calls whose payload contains `match` with a
   * 500 ServiceException until cleared (the SDK's retries see it too), so the
   * caller's hand-over fails.
   */
  failInvokes(match?: string): void;
  /** The next `times` runs of the function fail as if the handler had thrown (the sandbox's `lambda` fault). */
  failRuns(name: FunctionName, times: number): void;
  clearInjectedFailures(): void;
  close(): Promise<void>;
}

interface MechanicSocket {
  connectionId: string;
  socket: WebSocket;
}

/** The function a (possibly qualified) ARN of the wires' stage names, as LambdaHost.functionOfArn finds it. */
export function functionOfArn(arn: string): FunctionName | undefined {
  return (Object.keys(functions) as FunctionName[]).find((name) => arn === functionArn(STAGE, name) || arn.startsWith(`${functionArn(STAGE, name)}:`));
}

/**
 * Starts SSM, Scheduler and Lambda's Invoke API behind one AWS endpoint, the
 * AsyncInvoker behind its `Event` invocations, and a WebSocket gateway, all
 * on free ports. The scheduler's firing loop is NOT started: tests fire the
 * timer themselves, and a schedule is data they read back. `run` runs a
 * function for Lambda (the handler tests: the sandbox's LambdaHost; the
 * use-case harness: the use case on the harness's deps); it is called only
 * once an invocation arrives, so it may be bound after this returns.
 *
 * The gateway's `invoke` stands in for the Lambdas around a connection: an
 * authorizer that allows `?token=<mechanic id>` with the context the real
 * one gives (`{mechanic_id, workshop_id}`; the real authorizer has its own
 * tests, and this one lets a test seed a suspended mechanic who is still
 * connected), `$connect` → the real `connectMechanic` use case and
 * `$disconnect` → `disconnectMechanic`, on the test's table.
 */
export async function startSandboxWires(options: {
  table: TestTable;
  flagParameter: string;
  scheduleGroup: string;
  clock: Clock;
  run: FunctionRunner;
}): Promise<SandboxWires> {
  const { table, flagParameter, scheduleGroup, clock } = options;
  const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const connections = new DynamoDbConnectionStore(table.db, table.tableName);
  const mechanics = new DynamoDbMechanicStore(table.db, table.tableName);
  // Injected failures: the sandbox's own fault injection, answered on the wire (or by the run).
  const faults = new Faults();

  // ---- Lambda: the Invoke API and asynchronous invocation ----
  const invocations: AsyncInvocation[] = [];
  const invocationOf = new Map<unknown, AsyncInvocation>();
  let held: { promise: Promise<void>; release: () => void } | undefined;
  const runOnce: FunctionRunner = async (name, payload) => {
    const fault = faults.take('lambda', name, JSON.stringify(payload) ?? '');
    if (fault) throw Object.assign(new Error(fault.message ?? `Injected fault: ${fault.error}`), { errorName: fault.error });
    return options.run(name, payload);
  };
  const lambdaAsync = new AsyncInvoker({
    run: async (name, payload) => {
      const invocation = invocationOf.get(payload);
      await held?.promise;
      if (!invocation) return runOnce(name, payload);
      invocation.runs++;
      try {
        const result = await runOnce(name, payload);
        invocation.outcome = 'succeeded';
        return result;
      } catch (error) {
        invocation.errors.push((error as Error).message);
        if (invocation.runs >= ASYNC_ATTEMPTS) invocation.outcome = 'failed';
        throw error;
      }
    },
    arnOf: (name) => functionArn(STAGE, name),
    onFailureDestination: (name) => (isAsyncTarget(name) ? DEAD_LETTER_QUEUE_ARN : undefined),
    log: () => undefined,
    retryDelaysMs: ASYNC_RETRY_DELAYS_MS,
    tickMs: 10,
  });
  lambdaAsync.start();
  const lambda = lambdaApi({
    functionOfArn,
    run: runOnce,
    queue: (name, payload) => {
      const invocation: AsyncInvocation = { function: name, payload, runs: 0, outcome: 'queued', errors: [] };
      invocations.push(invocation);
      invocationOf.set(payload, invocation);
      lambdaAsync.invoke(name, payload);
    },
    configuration: (name) => {
      throw new Error(`these tests run ${name} without a LambdaHost: it has no configuration to show`);
    },
  });

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
      lambda,
    },
    faults,
  });
  const ssm = new SSMClient({ endpoint: endpoint.url, region: REGION, credentials: CREDENTIALS });
  const scheduler = new SchedulerClient({ endpoint: endpoint.url, region: REGION, credentials: CREDENTIALS });
  await scheduler.send(new CreateScheduleGroupCommand({ Name: scheduleGroup }));

  // ---- the WebSocket gateway and its stand-in Lambdas ----
  const connectionIdOfClient = new Map<string, string>();
  const lostDisconnects = new Set<string>();
  const disconnected = new Map<string, () => void>();
  const gatewayInvocations = new Set<Promise<unknown>>();
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
          { connectionId, mechanicId: authorizer!.mechanic_id!, workshopId: authorizer!.workshop_id || null, paused: false },
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
  const principals = new SandboxPrincipals();
  const gateway = await startWebSocketGateway({
    principals,
    port: 0,
    stage: 'test',
    faults,
    log: () => undefined,
    invoke: (fn, event) => {
      const invocation = invoke(fn, event);
      gatewayInvocations.add(invocation);
      void invocation.catch(() => undefined).finally(() => gatewayInvocations.delete(invocation));
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
    socket.on('message', (data) => arrivals.push({ connectionId: entry.connectionId, message: requireSentAt<ServerMessage>(data.toString()) }));
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

  /** Polls (no fixed sleep) until no accepted invocation is still queued or retrying. */
  async function asyncDone(): Promise<void> {
    if (held) throw new Error('asynchronous invocations are held: release them first');
    const deadline = Date.now() + ASYNC_TIMEOUT_MS;
    while (invocations.some((i) => i.outcome === 'queued')) {
      if (Date.now() > deadline) {
        const stuck = invocations.filter((i) => i.outcome === 'queued').map((i) => `${i.function} ${JSON.stringify(i.payload)}`);
        throw new Error(`asynchronous invocations still queued after ${ASYNC_TIMEOUT_MS} ms: ${stuck.join('; ')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  return {
    awsUrl: endpoint.url,
    connectionsEndpoint: gateway.connectionsEndpoint,
    principals,
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
      return Promise.all(names.sort().map((Name) => scheduler.send(new GetScheduleCommand({ Name, GroupName: scheduleGroup }))));
    },
    deleteScheduleCalls: () => [...deleteScheduleCalls],
    deleteScheduleGroup: async () => {
      await scheduler.send(new DeleteScheduleGroupCommand({ Name: scheduleGroup }));
    },
    asyncInvocations: () => [...invocations],
    asyncDeadLetters: () => lambdaAsync.deadLetters(),
    holdAsync: () => {
      if (held) return;
      let release = (): void => undefined;
      const promise = new Promise<void>((resolve) => (release = resolve));
      held = { promise, release };
    },
    releaseAsync: () => {
      held?.release();
      held = undefined;
    },
    asyncDone,
    addMechanic: async ({ status = 'approved', workshopId = null, connections: count = 1 } = {}) => {
      const mechanicId = `mech-${randomUUID().slice(0, 8)}`;
      await mechanics.put({ mechanic_id: mechanicId, status, name: `Mechanic ${mechanicId}`, workshop_id: workshopId, updated_at: clock.now().toISOString() });
      const connectionIds: string[] = [];
      for (let i = 0; i < count; i++) connectionIds.push(await openConnection(mechanicId, workshopId));
      return { mechanicId, connectionIds };
    },
    received: async () => {
      if (!held) await asyncDone();
      await settle();
      return [...arrivals];
    },
    clearReceived: async () => {
      if (!held) await asyncDone();
      await settle();
      arrivals.splice(0);
      // Forgets the finished ones; any still held stay tracked.
      const pending = invocations.filter((i) => i.outcome === 'queued');
      invocations.splice(0, invocations.length, ...pending);
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
    failInvokes: (match) => {
      faults.add({ service: 'lambda-api', operation: 'Invoke', error: 'ServiceException', status: 500, times: 0, ...(match ? { match } : {}) });
    },
    failRuns: (name, times) => {
      faults.add({ service: 'lambda', operation: name, error: 'Runtime.ExitError', times });
    },
    clearInjectedFailures: () => faults.clear(),
    close: async () => {
      closing = true;
      held?.release();
      held = undefined;
      await lambdaAsync.stop();
      await gateway.close();
      await Promise.allSettled([...gatewayInvocations]);
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

// ---- seeding ------------------------------------------------------------------------------

/**
 * A whole booking record as the use cases store it (a free broadcast booking
 * in `routing`, just created at `at`), with overrides: for tests that seed
 * a booking through the real store (`create`, then `transition`s).
 */
export function bookingRecord(overrides: Partial<Booking> & { at?: string } = {}): Booking {
  const { at = new Date().toISOString(), ...fields } = overrides;
  const sessionId = fields.session_id ?? randomUUID();
  return {
    session_id: sessionId,
    request_id: requestIdFor(sessionId),
    customer_id: `cust-${randomUUID().slice(0, 8)}`,
    plan: 'free',
    concern: 'Seeded booking',
    vehicle: null,
    workshop_id: null,
    metadata: {},
    intake_fingerprint: 'seeded',
    state: 'routing',
    routing: 'broadcast',
    route_to: 'everyone',
    new_request_reason: 'broadcast',
    audience: 'everyone',
    routing_since: at,
    mechanic_id: null,
    expires_at: null,
    open_until: null,
    request_metadata: {},
    events: [{ at, type: 'created', routing: fields.routing ?? 'broadcast' }],
    created_at: at,
    updated_at: at,
    ...fields,
  };
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

/** The harness's deps, with the real adapters' types so a test can reach into one (a store's method, say). */
export interface HarnessDeps extends Deps {
  readonly bookings: DynamoDbBookingStore;
  readonly connections: DynamoDbConnectionStore;
  readonly openBookings: DynamoDbOpenBookings;
  readonly tickets: DynamoDbTicketStore;
  readonly timer: EventBridgeRequestTimer;
  readonly fanOut: LambdaFanOut;
}

export interface Harness {
  deps: HarnessDeps;
  clock: ManualClock;
  /** What the use cases logged, the fan-out runs' lines included. */
  logs: LogLine[];
  /** What the use cases counted (the Metrics port), the fan-out runs' counts included. */
  metrics: RecordingMetrics;
  /** Every message the mechanics' sockets received, in arrival order, once the fan-out is done (unless held). */
  pushed: () => Promise<Pushed[]>;
  /** What that connection's socket received, in order. */
  pushedTo: (connectionId: string) => Promise<ServerMessage[]>;
  /** The schedules in the group, read back over the wire (GetSchedule). */
  schedulesCreated: () => Promise<GetScheduleCommandOutput[]>;
  /** One schedule; undefined once deleted (ResourceNotFoundException). */
  schedule: (name: string) => Promise<GetScheduleCommandOutput | undefined>;
  /** The request's timer schedule (`timer-<request id>`); undefined when there is none. */
  timer: (requestId: string) => Promise<GetScheduleCommandOutput | undefined>;
  /** The `due_at` the request's timer will hand the timer function; undefined when there is no timer. */
  timerDue: (requestId: string) => Promise<string | undefined>;
  /** Every fan-out event handed to Lambda (Event invocations, shard splits included), in order. */
  fanOuts: () => AsyncInvocation[];
  /** Fan-out events stay queued (not run) until `releaseFanOut`. */
  holdFanOut: () => void;
  releaseFanOut: () => void;
  /** Waits until every queued fan-out ran (or ran out of retries). */
  fanOutDone: () => Promise<void>;
  /** Lambda's on-failure records (a fan-out that failed all 3 runs). */
  deadLetters: () => LambdaDeadLetter[];
  /** The Lambda API answers Invoke with a 500 until `clearFailures` (for payloads containing `match`, if given). */
  failFanOutHandOver: (match?: string) => void;
  clearFailures: () => void;
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
  recoveryDelaySeconds: number;
  requestTtlSeconds: number;
  close: () => Promise<void>;
}

export async function createHarness(
  table: TestTable,
  options: {
    priorityWindowSeconds?: number;
    recoveryDelaySeconds?: number;
    requestTtlSeconds?: number;
    flagCacheTtlSeconds?: number;
    maxOpenBookingsPerCustomer?: number;
  } = {},
): Promise<Harness> {
  const clock = new ManualClock();
  const logs: LogLine[] = [];
  const metrics = new RecordingMetrics();
  const log: Logger = {
    info: (message, fields = {}) => logs.push({ level: 'INFO', message, fields }),
    warn: (message, fields = {}) => logs.push({ level: 'WARN', message, fields }),
    error: (message, fields = {}) => logs.push({ level: 'ERROR', message, fields }),
  };
  let deps: HarnessDeps | undefined;
  // Lambda runs the fan-out function: here its use case, on this harness's deps, as the handler calls it.
  const run: FunctionRunner = async (name, payload) => {
    if (name !== 'fanOut') throw new Error(`the use-case harness runs only the fan-out asynchronously, not ${name}`);
    const event = fanOutInputSchema.parse(payload);
    const input: FanOutInput = {
      requestId: event.request_id,
      audience: event.audience,
      message: event.message as ServerMessage,
      ...(event.except_connection_id ? { exceptConnectionId: event.except_connection_id } : {}),
      ...(event.except_mechanic_id ? { exceptMechanicId: event.except_mechanic_id } : {}),
    };
    // Its own invocation on the same wall clock: a backoff inside it does not move the test's clock.
    return fanOut({ ...deps!, clock: { now: () => clock.now(), sleep: async () => undefined } }, input);
  };
  const wires = await startSandboxWires({ table, flagParameter: FLAG_PARAMETER, scheduleGroup: SCHEDULE_GROUP, clock, run });
  await wires.setFlag('false');

  const schedulerClient = new SchedulerClient({ endpoint: wires.awsUrl, region: REGION, credentials: CREDENTIALS });
  const lambdaClient = new LambdaClient({ endpoint: wires.awsUrl, region: REGION, credentials: CREDENTIALS });
  const flagTtl = options.flagCacheTtlSeconds ?? 0.000001;
  const flagOver = (client: SSMClient): FeatureFlag => new SsmFeatureFlag(client, FLAG_PARAMETER, flagTtl, clock, log);
  const ssmClient = new SSMClient({ endpoint: wires.awsUrl, region: REGION, credentials: CREDENTIALS });
  const unreachableSsm = new SSMClient({ endpoint: 'http://127.0.0.1:1', region: REGION, credentials: CREDENTIALS, maxAttempts: 1 });
  let flag = flagOver(ssmClient);

  const priorityWindowSeconds = options.priorityWindowSeconds ?? 600;
  const recoveryDelaySeconds = options.recoveryDelaySeconds ?? 120;
  const requestTtlSeconds = options.requestTtlSeconds ?? 1800;
  const pusher = new SignedConnectionsPusher(wires.connectionsEndpoint, { region: REGION, credentials: async () => CREDENTIALS, maxSockets: PUSH_CONCURRENCY });
  deps = {
    bookings: new DynamoDbBookingStore(table.db, table.tableName),
    mechanics: new DynamoDbMechanicStore(table.db, table.tableName),
    connections: new DynamoDbConnectionStore(table.db, table.tableName),
    openBookings: new DynamoDbOpenBookings(table.db, table.tableName),
    tickets: new DynamoDbTicketStore(table.db, table.tableName),
    pusher,
    fanOut: new LambdaFanOut(lambdaClient, FAN_OUT_FUNCTION_NAME),
    timer: new EventBridgeRequestTimer(
      schedulerClient,
      { groupName: SCHEDULE_GROUP, functionArn: TIMER_FUNCTION_ARN, roleArn: SCHEDULER_ROLE_ARN, deadLetterQueueArn: DEAD_LETTER_QUEUE_ARN },
      clock,
    ),
    get flag() {
      return flag;
    },
    tokens: { verify: async () => Promise.reject(new Error('no tokens in use-case tests')) },
    clock,
    log,
    metrics,
    priorityWindowSeconds,
    recoveryDelaySeconds,
    requestTtlSeconds,
    messageRateLimit: 10,
    maxOpenBookingsPerCustomer: options.maxOpenBookingsPerCustomer ?? TEST_MAX_OPEN_BOOKINGS,
    ticketTtlSeconds: DEFAULT_WS_TICKET_TTL_SECONDS,
  };
  const timer = (requestId: string) => wires.schedule(timerScheduleName(requestId));

  return {
    deps,
    clock,
    logs,
    metrics,
    pushed: () => wires.received(),
    pushedTo: async (connectionId) => (await wires.received()).filter((p) => p.connectionId === connectionId).map((p) => p.message),
    schedulesCreated: () => wires.schedules(),
    schedule: (name) => wires.schedule(name),
    timer,
    timerDue: async (requestId) => {
      const schedule = await timer(requestId);
      return schedule && (JSON.parse(schedule.Target!.Input!) as { due_at: string }).due_at;
    },
    fanOuts: () => wires.asyncInvocations().filter((i) => i.function === 'fanOut'),
    holdFanOut: () => wires.holdAsync(),
    releaseFanOut: () => wires.releaseAsync(),
    fanOutDone: () => wires.asyncDone(),
    deadLetters: () => wires.asyncDeadLetters(),
    failFanOutHandOver: (match) => wires.failInvokes(match),
    clearFailures: () => wires.clearInjectedFailures(),
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
    recoveryDelaySeconds,
    requestTtlSeconds,
    close: async () => {
      await wires.close();
      pusher.close();
      for (const client of [schedulerClient, lambdaClient, ssmClient, unreachableSsm]) client.destroy();
    },
  };
}
