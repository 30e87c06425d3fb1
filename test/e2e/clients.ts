/**
 * What a mechanic app and a customer front end do, for the end-to-end tests:
 * a real `ws` client that records every message, HTTP calls with a bearer
 * token, and polling for async outcomes (never a fixed sleep).
 */
import { WebSocket } from 'ws';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../sandbox/index';
import type { LambdaDeadLetter } from '../../sandbox/lambda-async';
import type { DeadLetter } from '../../sandbox/scheduler';

export type Message = { type: string; [field: string]: unknown };

/** A sandbox for one test file: free ports, nothing printed, in memory unless a data dir is given. */
export const startTestSandbox = (options: SandboxOptions = {}): Promise<Sandbox> =>
  startSandbox({ httpPort: 0, wsPort: 0, awsPort: 0, inMemory: options.dataDir === undefined, print: () => undefined, ...options });

/**
 * Polls until `check` returns a value (not undefined/false) or the deadline
 * passes. The default limit is generous on purpose: an outcome that comes
 * fast returns fast, and only a failure waits it out, so a busy machine
 * changes how long a test takes, never whether it passes.
 */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
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

  private constructor(
    readonly mechanicId: string,
    readonly socket: WebSocket,
  ) {
    socket.on('message', (data) => this.messages.push(JSON.parse(data.toString()) as Message));
    socket.on('close', () => (this.closed = true));
  }

  static async connect(sandbox: Sandbox, mechanicId: string): Promise<MechanicClient> {
    const token = await sandbox.token({ sub: mechanicId });
    const socket = new WebSocket(`${sandbox.wsUrl}?token=${encodeURIComponent(token)}`);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('unexpected-response', (_req, res) => reject(new Error(`handshake refused: ${res.statusCode}`)));
      socket.once('error', reject);
    });
    return new MechanicClient(mechanicId, socket);
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

/** Config for a real AWS SDK v3 client aimed at the sandbox's one AWS endpoint (any credentials are accepted). */
export const awsClientConfig = (sandbox: Sandbox) => ({
  endpoint: sandbox.awsUrl,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});

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
  service: 'dynamodb' | 'ssm' | 'scheduler' | 'connections' | 'lambda';
  operation?: string;
  error: string;
  times?: number;
  status?: number;
  message?: string;
  match?: string;
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

/** The session and request items stored for a customer (their `pk`s): a test-side Scan through the real SDK. */
export async function itemsOfCustomer(sandbox: Pick<Sandbox, 'awsUrl' | 'tableName'>, customerId: string): Promise<{ sessions: string[]; requests: string[] }> {
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
  return { sessions: pks.filter((pk) => pk.startsWith('SESSION#')), requests: pks.filter((pk) => pk.startsWith('REQUEST#')) };
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
