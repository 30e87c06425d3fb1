/**
 * What a mechanic app and a customer front end do, for the end-to-end tests:
 * a real `ws` client that records every message, HTTP calls with a bearer
 * token, and polling for async outcomes (never a fixed sleep).
 */
import { GetScheduleCommand, type GetScheduleCommandOutput, ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import { WebSocket } from 'ws';
import { newSessionId, requestIdFor } from '../../lambdas/domain/ids';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../sandbox/index';
import type { LambdaDeadLetter } from '../../sandbox/lambda-async';
import type { DeadLetter } from '../../sandbox/scheduler';
import { TEST_MAX_OPEN_BOOKINGS } from '../support/in-memory-ports';
import { splitSentAt } from '../support/server-messages';

export type Message = { type: string; [field: string]: unknown };

/**
 * A sandbox for one test file: free ports, nothing printed, in memory unless a data dir is given.
 * Schedules fire at their `at()` time (`exact`), so a test waits for a deadline, not for a random
 * moment of its minute; a test of punctuality under AWS's 60-second precision opts into `aws`.
 */
/**
 * A sandbox on free ports, in memory, quiet. API Gateway's route throttles are off unless a test sets them: the tests
 * fire bursts (50 intakes at once, storms of accepts) to check other things, and the throttling tests set limits low
 * enough to provoke on purpose.
 */
export const startTestSandbox = (options: SandboxOptions = {}): Promise<Sandbox> =>
  startSandbox({
    httpPort: 0,
    wsPort: 0,
    awsPort: 0,
    inMemory: options.dataDir === undefined,
    print: () => undefined,
    schedulerPrecision: 'exact',
    throttles: 'off',
    // Tests not about the open-bookings limit book freely for one customer; the limit's own tests set theirs.
    maxOpenBookingsPerCustomer: TEST_MAX_OPEN_BOOKINGS,
    ...options,
  });

/**
 * Polls until `check` returns a value (not undefined/false) or the deadline
 * passes. The default limit is generous on purpose: an outcome that comes
 * fast returns fast, and only a failure waits it out, so a busy machine
 * changes how long a test takes, never whether it passes.
 */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

export class MechanicClient {
  readonly messages: Message[] = [];
  closed = false;
  /** When each message arrived (epoch ms) and its `sent_at`, kept apart so messages compare equal to what the server said. */
  private readonly arrivals = new WeakMap<Message, { at: number; sentAt: string | undefined }>();

  private constructor(
    readonly mechanicId: string,
    readonly socket: WebSocket,
  ) {
    socket.on('message', (data) => {
      const { message, sentAt } = splitSentAt<Message>(data.toString());
      this.arrivals.set(message, { at: Date.now(), sentAt });
      this.messages.push(message);
    });
    socket.on('close', () => (this.closed = true));
  }

  /** Connects with a token for `mechanicId`; with `role: 'customer'`, as the customer of that id (`&role=customer`: it hears only their bookings' status). */
  static async connect(sandbox: Sandbox, mechanicId: string, options: { role?: 'customer' } = {}): Promise<MechanicClient> {
    const token = await sandbox.token({ sub: mechanicId });
    return MechanicClient.open(`${sandbox.wsUrl}?token=${encodeURIComponent(token)}${options.role ? `&role=${options.role}` : ''}`, mechanicId);
  }

  /** Connects as `id` the recommended way: a single-use ticket from `POST /ws/ticket` (the JWT only in its Authorization header). */
  static async connectWithTicket(sandbox: Sandbox, id: string, options: { role?: 'customer' | 'mechanic' } = {}): Promise<MechanicClient> {
    const token = await sandbox.token({ sub: id });
    const answer = await api<{ ticket: string }>(sandbox, 'POST', '/ws/ticket', { token, ...(options.role ? { body: { role: options.role } } : {}) });
    if (answer.status !== 201) throw new Error(`POST /ws/ticket answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    return MechanicClient.open(`${sandbox.wsUrl}?ticket=${encodeURIComponent(answer.body.ticket)}`, id);
  }

  /** Connects to a handshake URL of the test's own making (a ticket with extra query parameters, say). */
  static async open(url: string, id: string): Promise<MechanicClient> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('unexpected-response', (_req, res) => reject(new Error(`handshake refused: ${res.statusCode}`)));
      socket.once('error', reject);
    });
    return new MechanicClient(id, socket);
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  accept(requestId: string): void {
    this.send({ action: 'accept', request_id: requestId });
  }

  decline(requestId: string): void {
    this.send({ action: 'decline', request_id: requestId });
  }

  of(type: string, requestId?: string): Message[] {
    return this.messages.filter((m) => m.type === type && (requestId === undefined || m.request_id === requestId));
  }

  /** When this client received the message (epoch ms). */
  receivedAt(message: Message): number {
    return this.arrival(message).at;
  }

  /** The message's `sent_at`: the server's time as it sent it (undefined: it had none, e.g. an operator's raw POST). */
  sentAt(message: Message): string | undefined {
    return this.arrival(message).sentAt;
  }

  private arrival(message: Message): { at: number; sentAt: string | undefined } {
    const arrival = this.arrivals.get(message);
    if (arrival === undefined) throw new Error(`${this.mechanicId} never received ${JSON.stringify(message)}`);
    return arrival;
  }

  waitFor(type: string, requestId?: string, timeoutMs?: number): Promise<Message> {
    return eventually(() => this.of(type, requestId)[0], `${this.mechanicId} to receive ${type}${requestId ? ` for ${requestId}` : ''}`, timeoutMs);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

/** Refused handshakes: the HTTP status API Gateway answered. */
export function handshakeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('open', () => {
      resolve(101);
      socket.close();
    });
    socket.once('error', (error) => (error.message.includes('Unexpected server response') ? undefined : reject(error)));
  });
}

export interface ApiAnswer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export async function api<T = Record<string, unknown>>(
  sandbox: Sandbox,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiAnswer<T>> {
  const response = await fetch(`${sandbox.httpUrl}${path}`, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as T };
}

/** The handlers' JSON log lines whose message starts with the prefix. */
export const logLines = (sandbox: Sandbox, prefix: string): Record<string, unknown>[] =>
  sandbox.logs
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => typeof entry.message === 'string' && entry.message.startsWith(prefix));

/** Config for a real AWS SDK v3 client aimed at the sandbox (the operator's test key: any key is accepted but on `@connections`). */
export const awsClientConfig = (sandbox: Sandbox) => ({
  endpoint: sandbox.awsUrl,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});

/**
 * A raw HTTP call to `@connections`, SigV4-signed as API Gateway requires
 * (AWS's own signer; the operator's test key unless told otherwise).
 */
export async function signedConnectionsCall(
  url: string,
  init: {
    method?: string;
    body?: string;
    credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
    /** Sent instead of the signed `body`: a request changed on its way. */
    sentBody?: string;
  } = {},
): Promise<Response> {
  const target = new URL(url);
  const signer = new SignatureV4({
    service: 'execute-api',
    region: 'us-east-1',
    credentials: init.credentials ?? { accessKeyId: 'test', secretAccessKey: 'test' },
    sha256: Hash.bind(null, 'sha256'),
  });
  const signed = await signer.sign({
    method: init.method ?? 'GET',
    protocol: target.protocol,
    hostname: target.hostname,
    path: target.pathname,
    query: {},
    headers: { host: target.host },
    body: init.body,
  });
  // fetch sets Host itself, to the same value.
  const { host: _, ...headers } = signed.headers;
  return fetch(url, { method: signed.method, headers, body: init.sentBody ?? init.body });
}

/** The connection ids the table holds for a mechanic: a test-side Scan through the real SDK (no request path scans). */
export async function connectionIdsOf(sandbox: Sandbox, mechanicId: string): Promise<string[]> {
  const { DynamoDBClient, ScanCommand } = await import('@aws-sdk/client-dynamodb');
  const client = new DynamoDBClient(awsClientConfig(sandbox));
  const ids: string[] = [];
  let ExclusiveStartKey: Record<string, never> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: sandbox.tableName,
        FilterExpression: 'begins_with(pk, :prefix) AND mechanic_id = :mechanic',
        ExpressionAttributeValues: { ':prefix': { S: 'CONNECTION#' }, ':mechanic': { S: mechanicId } },
        ExclusiveStartKey,
      }),
    );
    ids.push(...(page.Items ?? []).map((item) => item.connection_id!.S!));
    ExclusiveStartKey = page.LastEvaluatedKey as Record<string, never> | undefined;
  } while (ExclusiveStartKey);
  client.destroy();
  return ids;
}

// ---- reliability: fault injection, dead letters, stored items, delivery barriers ------------------

/** A fault as `POST /dev/faults` takes it (sandbox/faults.ts). */
export interface FaultRequest {
  /** `lambda`: a function's run fails (operation = the function, e.g. `requestTimer`); `lambda-api`: the Invoke call itself fails. */
  service: 'dynamodb' | 'ssm' | 'scheduler' | 'connections' | 'lambda' | 'lambda-api';
  operation?: string;
  error: string;
  times?: number;
  status?: number;
  message?: string;
  match?: string;
  /** With `error: "Crash"` (service `lambda`): the AWS operation after whose first return the invocation dies. */
  after?: string;
}

export interface ArmedFault extends FaultRequest {
  id: number;
  remaining: number | null;
  hits: number;
}

/** Arms a fault; throws unless the sandbox took it (201). */
export async function armFault(sandbox: Sandbox, fault: FaultRequest): Promise<ArmedFault> {
  const answer = await api<{ fault: ArmedFault }>(sandbox, 'POST', '/dev/faults', { body: fault });
  if (answer.status !== 201) throw new Error(`POST /dev/faults answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body.fault;
}

/** `GET /dev/faults`: the faults still armed and how many requests were answered with one so far. */
export async function faultState(sandbox: Sandbox): Promise<{ faults: ArmedFault[]; injected: number }> {
  return (await api<{ faults: ArmedFault[]; injected: number }>(sandbox, 'GET', '/dev/faults')).body;
}

export async function clearFaults(sandbox: Sandbox): Promise<void> {
  const answer = await api(sandbox, 'DELETE', '/dev/faults');
  if (answer.status !== 204) throw new Error(`DELETE /dev/faults answered ${answer.status}`);
}

/** What `GET /dev/dead-letters` lists: the Scheduler's record of an invoke it gave up on, or Lambda's on-failure record. */
export type DeadLetterView = DeadLetter | LambdaDeadLetter;

/** `GET /dev/dead-letters`: what reached the dead-letter queue (its depth is `count`). */
export async function deadLetters(sandbox: Sandbox): Promise<{ count: number; dead_letters: DeadLetterView[] }> {
  return (await api<{ count: number; dead_letters: DeadLetterView[] }>(sandbox, 'GET', '/dev/dead-letters')).body;
}

/** The booking items stored for a customer (their `pk`s, `BOOKING#<session_id>`): a test-side Scan through the real SDK. */
export async function bookingsOfCustomer(sandbox: Pick<Sandbox, 'awsUrl' | 'tableName'>, customerId: string): Promise<string[]> {
  const { DynamoDBClient, ScanCommand } = await import('@aws-sdk/client-dynamodb');
  const client = new DynamoDBClient(awsClientConfig(sandbox as Sandbox));
  const pks: string[] = [];
  let ExclusiveStartKey: Record<string, never> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: sandbox.tableName,
        FilterExpression: 'customer_id = :customer',
        ExpressionAttributeValues: { ':customer': { S: customerId } },
        ExclusiveStartKey,
      }),
    );
    pks.push(...(page.Items ?? []).map((item) => item.pk!.S!));
    ExclusiveStartKey = page.LastEvaluatedKey as Record<string, never> | undefined;
  } while (ExclusiveStartKey);
  client.destroy();
  return pks;
}

/** The request's one timer schedule (`timer-<request_id>`), as Scheduler names it. */
export const timerName = (requestId: string): string => `timer-${requestId}`;

/** The names of the schedules in the sandbox's group (optionally only those starting with `prefix`), through the real SchedulerClient. */
export async function scheduleNames(sandbox: Pick<Sandbox, 'awsUrl' | 'scheduleGroupName'>, prefix?: string): Promise<string[]> {
  const client = new SchedulerClient(awsClientConfig(sandbox as Sandbox));
  const names: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(new ListSchedulesCommand({ GroupName: sandbox.scheduleGroupName, NamePrefix: prefix, NextToken }));
    names.push(...(page.Schedules ?? []).map((s) => s.Name!));
    NextToken = page.NextToken;
  } while (NextToken);
  client.destroy();
  return names;
}

/** The timer of one request, if it exists: `[timer-<request_id>]` or `[]`. */
export const timerOf = (sandbox: Pick<Sandbox, 'awsUrl' | 'scheduleGroupName'>, requestId: string): Promise<string[]> =>
  scheduleNames(sandbox, timerName(requestId));

/** The request's timer as Scheduler holds it: when it fires (`at(...)`, UTC) and the deadline it carries (`due_at`). */
export async function timerSchedule(
  sandbox: Pick<Sandbox, 'awsUrl' | 'scheduleGroupName'>,
  requestId: string,
): Promise<{ at: number; dueAt: number; input: { request_id: string; due_at: string }; schedule: GetScheduleCommandOutput }> {
  const client = new SchedulerClient(awsClientConfig(sandbox as Sandbox));
  try {
    const schedule = await client.send(new GetScheduleCommand({ GroupName: sandbox.scheduleGroupName, Name: timerName(requestId) }));
    const input = JSON.parse(schedule.Target!.Input!) as { request_id: string; due_at: string };
    const at = Date.parse(`${/^at\((.+)\)$/.exec(schedule.ScheduleExpression!)![1]}Z`);
    return { at, dueAt: Date.parse(input.due_at), input, schedule };
  } finally {
    client.destroy();
  }
}

export interface AuditEvent {
  at: string;
  type: string;
  [detail: string]: unknown;
}

/** `GET /sessions/{id}` (lambdas/use-cases/booking.ts `SessionView`). */
export interface SessionView {
  session_id: string;
  customer_id: string;
  plan: string;
  status: 'awaiting_checkout' | 'fulfilled' | 'cancelled';
  concern: string;
  /** The favorite context the customer asked for. */
  metadata: { preferred_mechanic_id?: string; preferred_mechanic_ids?: string[]; routing_type?: string };
  request: {
    request_id: string;
    status: 'pending' | 'matched' | 'cancelled' | 'expired';
    state: 'routing' | 'offered' | 'open' | 'matched' | 'cancelled' | 'expired';
    routing: 'priority' | 'broadcast' | 'workshop';
    mechanic_id: string | null;
    expires_at: string | null;
    open_until: string | null;
    metadata: Record<string, unknown>;
    events: AuditEvent[];
  } | null;
}

/** The customer's view of their booking; throws unless it answers 200. */
export async function sessionView(sandbox: Pick<Sandbox, 'httpUrl' | 'token'>, customer: string, sessionId: string): Promise<SessionView> {
  const answer = await api<SessionView>(sandbox as Sandbox, 'GET', `/sessions/${sessionId}`, { token: await sandbox.token({ sub: customer }) });
  if (answer.status !== 200) throw new Error(`GET /sessions/${sessionId} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** The request's audit events of one type. */
export const eventsOf = (view: SessionView, type: string): AuditEvent[] => view.request?.events.filter((e) => e.type === type) ?? [];

/**
 * A booking whose ids are known before it is made (the session id comes from customer + Idempotency-Key),
 * so a fault aimed at its request can be armed before anything of it runs.
 */
export function plannedBooking(): { customer: string; idempotencyKey: string; sessionId: string; requestId: string } {
  const customer = `cust-${crypto.randomUUID().slice(0, 8)}`;
  const idempotencyKey = crypto.randomUUID();
  const sessionId = newSessionId(customer, idempotencyKey);
  return { customer, idempotencyKey, sessionId, requestId: requestIdFor(sessionId) };
}

/**
 * Waits until the fan-out has pushed `messageType` for the request to at least `pushes` connections (delivered,
 * gone or failed, as its `[FanOut] Delivered` lines count them): a message for everyone goes out in one
 * asynchronous invocation per connection shard, after the call that caused it has answered. Each connection
 * lives in one shard, so once the pushes of the test's own mechanics are counted, a `roundTrip` to each makes
 * "exactly one" counts final. Returns those lines.
 */
export async function fannedOut(
  sandbox: Sandbox,
  requestId: string,
  messageType: string,
  pushes: number,
  timeoutMs?: number,
): Promise<Record<string, unknown>[]> {
  return eventually(
    () => {
      const lines = logLines(sandbox, '[FanOut] Delivered').filter((l) => l.request_id === requestId && l.message_type === messageType);
      const pushed = lines.reduce((sum, l) => sum + Number(l.delivered ?? 0) + Number(l.gone ?? 0) + Number(l.failed ?? 0), 0);
      return pushed >= pushes && lines;
    },
    `the fan-out to push ${messageType} of ${requestId} to ${pushes} connections`,
    timeoutMs,
  );
}

/**
 * A ping/pong round trip. Every push the server sent this client before the
 * ping left travels ahead of the pong on the same socket, so once this
 * resolves, "exactly one" counts are final for pushes already made.
 */
export async function roundTrip(client: MechanicClient, timeoutMs?: number): Promise<void> {
  const pongs = client.of('pong').length;
  client.send({ action: 'ping' });
  await eventually(() => client.of('pong').length > pongs, `${client.mechanicId} to get its pong`, timeoutMs);
}

/** A new mechanic, registered through the admin route (not connected). */
export async function registerMechanic(
  sandbox: Sandbox,
  options: { status?: 'approved' | 'pending' | 'suspended'; workshop_id?: string } = {},
): Promise<string> {
  const id = `mech-${crypto.randomUUID().slice(0, 8)}`;
  const admin = await sandbox.token({ sub: 'ops', scope: 'admin' });
  const answer = await api(sandbox, 'PUT', `/mechanics/${id}`, {
    token: admin,
    body: { status: options.status ?? 'approved', name: id, workshop_id: options.workshop_id },
  });
  if (answer.status !== 200) throw new Error(`PUT /mechanics/${id} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return id;
}
