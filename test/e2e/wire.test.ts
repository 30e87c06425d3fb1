/**
 * End to end against a started sandbox, at the wire: the HTTP API's gateway
 * answers (routes, JWT authorizer, payload limit, payload v2.0), the
 * WebSocket API's (`$connect` authorizer, route selection, limits), the
 * `@connections` endpoint, the AWS SDK's own error classes from the emulated
 * services, the real AWS CLI, and a gone connection pruned by a broadcast.
 * Real `ws` clients, HTTP calls and SDK clients; polling, never sleeping.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ConflictException, CreateScheduleCommand, DeleteScheduleCommand, SchedulerClient, type CreateScheduleCommandInput } from '@aws-sdk/client-scheduler';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { LambdaHost, lambdaFunctionName } from '../../sandbox/lambda-host';
import type { Sandbox, SandboxOptions } from '../../sandbox/index';
import { awsClis, type AwsCli } from '../support/aws-cli';
import {
  api,
  awsClientConfig,
  connectionIdsOf,
  eventually,
  handshakeStatus,
  logLines,
  MechanicClient,
  signedConnectionsCall,
  startTestSandbox,
} from './clients';

/** The AWS CLIs on this machine (v1 on PATH, v2 at /usr/bin/aws), found once before any sandbox runs. */
const clis = awsClis();
const awsCliAvailable = clis.length > 0;

// ---- one sandbox for the file (each test uses its own ids); clients are closed after each test ---

let sandbox: Sandbox;
let dataDir: string;
let admin: string;
const clients: MechanicClient[] = [];
const extraSandboxes: Sandbox[] = [];

const sandboxOptions = (options: SandboxOptions = {}): SandboxOptions => ({
  priorityWindowSeconds: 2,
  flagCacheTtlSeconds: 1,
  flag: 'off',
  ...options,
});

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'pd-wire-'));
  sandbox = await startTestSandbox(sandboxOptions({ dataDir }));
  admin = await sandbox.token({ sub: `admin-${randomUUID()}`, scope: 'admin' });
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  for (const extra of extraSandboxes.splice(0)) await extra.stop();
  vi.restoreAllMocks();
});

afterAll(async () => {
  await sandbox?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function connect(mechanicId: string, on: Sandbox = sandbox): Promise<MechanicClient> {
  const client = await MechanicClient.connect(on, mechanicId);
  clients.push(client);
  return client;
}

/** A mechanic of this test only, created through the admin route. */
async function newMechanic(status: 'approved' | 'pending' = 'approved'): Promise<string> {
  const mechanicId = `mech-${randomUUID()}`;
  const answer = await api(sandbox, 'PUT', `/mechanics/${mechanicId}`, { token: admin, body: { status, name: 'Test mechanic' } });
  expect(answer.status).toBe(200);
  return mechanicId;
}

/** A connected mechanic of this test only, with the connection id the gateway gave it. */
async function connectedMechanic(): Promise<{ mechanicId: string; client: MechanicClient; connectionId: string }> {
  const mechanicId = await newMechanic();
  const client = await connect(mechanicId);
  const [connectionId] = await eventually(async () => {
    const ids = await connectionIdsOf(sandbox, mechanicId);
    return ids.length === 1 && ids;
  }, `the connection item of ${mechanicId}`);
  return { mechanicId, client, connectionId: connectionId! };
}

const closed = (client: MechanicClient): Promise<true> => eventually(() => client.closed, `${client.mechanicId}'s socket to close`);

/** The @connections URL of a connection, with or without the `/{stage}` prefix. */
const connectionUrl = (connectionId: string, withStage: boolean): string =>
  `${withStage ? sandbox.connectionsEndpoint : new URL(sandbox.connectionsEndpoint).origin}/@connections/${encodeURIComponent(connectionId)}`;

/** A token signed with the sandbox's own dev key, with claims of our choosing. */
async function signedToken(claims: JWTPayload, header: { kid?: string } = {}): Promise<string> {
  const { privateJwk } = JSON.parse(readFileSync(join(dataDir, 'dev-auth-key.json'), 'utf8')) as { privateJwk: JWK };
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    sub: `customer-${randomUUID()}`,
    iss: 'https://auth.sandbox.priority-dispatch.local',
    aud: 'priority-dispatch',
    iat: now,
    exp: now + 600,
    ...claims,
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: header.kid ?? 'sandbox-dev-key' })
    .sign(await importJWK(privateJwk, 'RS256'));
}

const booking = (concern: string) => ({ plan: 'free', concern: `${concern} ${randomUUID()}` });

// ---- pruning -------------------------------------------------------------------------------------

describe('a gone connection', () => {
  it('is pruned by the next broadcast, and the other mechanics still get the request', async () => {
    // Arrange: a mechanic whose socket is destroyed abruptly. The gateway runs $disconnect at once
    // (the item goes), so to model a $disconnect that never ran, the same item is put back:
    // a connection id the table holds and no socket has.
    const stale = await connectedMechanic();
    const db = new DynamoDBClient(awsClientConfig(sandbox));
    const key = { pk: { S: `CONNECTION#${stale.connectionId}` }, sk: { S: 'CONNECTION' } };
    const { Item: staleItem } = await db.send(new GetItemCommand({ TableName: sandbox.tableName, Key: key, ConsistentRead: true }));
    stale.client.socket.terminate();
    await eventually(async () => (await connectionIdsOf(sandbox, stale.mechanicId)).length === 0, '$disconnect to remove the terminated connection');
    await db.send(new PutItemCommand({ TableName: sandbox.tableName, Item: staleItem! }));
    const live = await connectedMechanic();

    // Act: flag off, so the booking is broadcast to everyone connected.
    const answer = await api<{ request_id: string }>(sandbox, 'POST', '/intake/start', {
      token: await sandbox.token({ sub: `customer-${randomUUID()}` }),
      body: booking('Noisy gearbox'),
    });

    // Assert
    expect(answer.status).toBe(201);
    expect(await live.client.waitFor('new_request', answer.body.request_id)).toMatchObject({ reason: 'broadcast' });
    await eventually(
      async () => (await db.send(new GetItemCommand({ TableName: sandbox.tableName, Key: key, ConsistentRead: true }))).Item === undefined,
      'the stale connection item to be pruned',
    );
    // The fan-out logs the pruning once the item is gone.
    await eventually(() => logLines(sandbox, 'Pruned a gone connection').some((l) => l.connection_id === stale.connectionId), 'the pruning to be logged');
    expect(logLines(sandbox, 'Pruned a gone connection').filter((l) => l.connection_id === stale.connectionId)).toHaveLength(1);
    expect(await connectionIdsOf(sandbox, live.mechanicId)).toEqual([live.connectionId]);
    db.destroy();
  });
});

// ---- the SDK's error classes ---------------------------------------------------------------------

describe("the AWS SDK's error classes from the emulated services", () => {
  it('GoneException from PostToConnection on a connection nobody has', async () => {
    // Arrange
    const client = new ApiGatewayManagementApiClient({ ...awsClientConfig(sandbox), endpoint: sandbox.connectionsEndpoint });

    // Act
    const error = await client.send(new PostToConnectionCommand({ ConnectionId: `gone-${randomUUID()}`, Data: '{}' })).catch((e: unknown) => e);

    // Assert
    expect(error).toBeInstanceOf(GoneException);
    expect((error as GoneException).$metadata.httpStatusCode).toBe(410);
    client.destroy();
  });

  it('ConflictException from CreateSchedule twice with one name', async () => {
    // Arrange
    const client = new SchedulerClient(awsClientConfig(sandbox));
    const input: CreateScheduleCommandInput = {
      Name: `wire-test-${randomUUID()}`,
      GroupName: sandbox.scheduleGroupName,
      ScheduleExpression: 'at(2099-01-01T00:00:00)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: 'arn:aws:lambda:us-east-1:000000000000:function:nothing', RoleArn: 'arn:aws:iam::000000000000:role/nothing' },
    };
    await client.send(new CreateScheduleCommand(input));

    // Act
    const error = await client.send(new CreateScheduleCommand(input)).catch((e: unknown) => e);

    // Assert
    expect(error).toBeInstanceOf(ConflictException);
    expect((error as ConflictException).$metadata.httpStatusCode).toBe(409);
    await client.send(new DeleteScheduleCommand({ Name: input.Name, GroupName: input.GroupName }));
    client.destroy();
  });

  it('ParameterNotFound from GetParameter on a missing name', async () => {
    // Arrange
    const client = new SSMClient(awsClientConfig(sandbox));

    // Act
    const error = await client.send(new GetParameterCommand({ Name: `/priority-dispatch/missing/${randomUUID()}` })).catch((e: unknown) => e);

    // Assert
    expect(error).toBeInstanceOf(ParameterNotFound);
    expect((error as ParameterNotFound).$metadata.httpStatusCode).toBe(400);
    client.destroy();
  });
});

// ---- @connections --------------------------------------------------------------------------------

describe('@connections on the WebSocket port', () => {
  it("PostToConnection past 128 KB is PayloadTooLargeException, GetConnection answers AWS's shape, DeleteConnection closes the socket, then the connection is gone (SDK, with the stage)", async () => {
    // Arrange
    const { client, connectionId } = await connectedMechanic();
    const management = new ApiGatewayManagementApiClient({ ...awsClientConfig(sandbox), endpoint: sandbox.connectionsEndpoint });
    const before = Date.now();

    // Act
    const tooLarge = await management
      .send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'x'.repeat(128 * 1024 + 1) }))
      .catch((e: unknown) => e);
    const connection = await management.send(new GetConnectionCommand({ ConnectionId: connectionId }));
    await management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    await closed(client);
    const afterDelete = await management.send(new GetConnectionCommand({ ConnectionId: connectionId })).catch((e: unknown) => e);
    const postAfterDelete = await management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: '{}' })).catch((e: unknown) => e);

    // Assert
    expect(tooLarge).toBeInstanceOf(PayloadTooLargeException);
    expect(connection.ConnectedAt).toBeInstanceOf(Date);
    expect(connection.LastActiveAt).toBeInstanceOf(Date);
    expect(connection.ConnectedAt!.getTime()).toBeLessThanOrEqual(before);
    expect(connection.LastActiveAt!.getTime()).toBeGreaterThanOrEqual(connection.ConnectedAt!.getTime());
    expect(connection.Identity?.SourceIp).toBe('127.0.0.1');
    expect(afterDelete).toBeInstanceOf(GoneException);
    expect(postAfterDelete).toBeInstanceOf(GoneException);
    management.destroy();
  });

  it('the same paths work without the /{stage} prefix (raw HTTP, signed): POST delivers, GET describes, DELETE closes, then 410 GoneException', async () => {
    // Arrange
    const { client, connectionId } = await connectedMechanic();
    const url = connectionUrl(connectionId, false);
    const nonce = randomUUID();

    // Act
    const posted = await signedConnectionsCall(url, { method: 'POST', body: JSON.stringify({ type: 'hello', nonce }) });
    const described = await signedConnectionsCall(url);
    const description = (await described.json()) as Record<string, unknown>;
    const deleted = await signedConnectionsCall(url, { method: 'DELETE' });
    await closed(client);
    const gone = await signedConnectionsCall(url);
    const goneWithStage = await signedConnectionsCall(connectionUrl(connectionId, true), { method: 'POST', body: '{}' });

    // Assert
    expect(posted.status).toBe(200);
    await eventually(() => client.messages.find((m) => m.nonce === nonce), 'the posted message to arrive');
    expect(described.status).toBe(200);
    expect(description).toEqual({
      connectedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      lastActiveAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      identity: expect.objectContaining({ sourceIp: '127.0.0.1' }),
    });
    expect(deleted.status).toBe(204);
    for (const answer of [gone, goneWithStage]) {
      expect(answer.status).toBe(410);
      expect(answer.headers.get('x-amzn-errortype')).toBe('GoneException');
    }
  });
});

// ---- HTTP API gateway ----------------------------------------------------------------------------

describe('the HTTP API gateway', () => {
  it('answers an unknown route or method with 404 {"message":"Not Found"}, before any authorizer', async () => {
    // Act
    const unknownPath = await api(sandbox, 'GET', `/nothing-here/${randomUUID()}`);
    const unknownMethod = await api(sandbox, 'DELETE', `/sessions/${randomUUID()}`, { token: await sandbox.token({ sub: 'customer-x' }) });

    // Assert
    for (const answer of [unknownPath, unknownMethod]) expect(answer).toEqual({ status: 404, body: { message: 'Not Found' } });
  });

  it('refuses a missing, tampered, expired, not-yet-valid, future-issued, wrong-issuer, wrong-audience or unknown-key token with 401', async () => {
    // Arrange
    const valid = await sandbox.token({ sub: `customer-${randomUUID()}` });
    const [head, payload, signature] = valid.split('.');
    const tampered = `${head}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: 'someone-else' })).toString('base64url')}.${signature}`;
    const now = Math.floor(Date.now() / 1000);
    const refused = {
      missing: undefined,
      garbage: 'not-a-jwt',
      tampered,
      expired: await sandbox.token({ sub: `customer-${randomUUID()}`, expires_in: -10 }),
      notYetValid: await signedToken({ nbf: now + 3600 }),
      issuedInFuture: await signedToken({ iat: now + 3600 }),
      wrongIssuer: await signedToken({ iss: 'https://someone-else.example' }),
      wrongAudience: await signedToken({ aud: 'another-api' }),
      unknownKey: await signedToken({}, { kid: 'not-in-the-jwks' }),
    };
    const session = `/sessions/${randomUUID()}`;

    // Act
    const answers = Object.fromEntries(
      await Promise.all(Object.entries(refused).map(async ([name, token]) => [name, await api(sandbox, 'GET', session, { token })] as const)),
    );
    const control = await api(sandbox, 'GET', session, { token: await signedToken({}) });

    // Assert: the same key and claims otherwise pass the authorizer (404 is the handler's: no such session).
    expect(control.status).toBe(404);
    for (const [name, answer] of Object.entries(answers)) expect({ name, ...answer }).toEqual({ name, status: 401, body: { message: 'Unauthorized' } });
  });

  it('demands the admin scope on PUT /mechanics/{id}: a customer gets 403 {"message":"Forbidden"}, an admin 200', async () => {
    // Arrange
    const mechanicId = `mech-${randomUUID()}`;
    const body = { status: 'approved', name: 'Scoped' };

    // Act
    const asCustomer = await api(sandbox, 'PUT', `/mechanics/${mechanicId}`, { token: await sandbox.token({ sub: `customer-${randomUUID()}` }), body });
    const asAdmin = await api(sandbox, 'PUT', `/mechanics/${mechanicId}`, {
      token: await sandbox.token({ sub: `admin-${randomUUID()}`, scope: 'admin' }),
      body,
    });

    // Assert
    expect(asCustomer).toEqual({ status: 403, body: { message: 'Forbidden' } });
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body).toMatchObject({ mechanic_id: mechanicId, status: 'approved' });
  });

  it('answers a body over 10 MB with 413 before the handler runs', async () => {
    // Arrange
    const token = await sandbox.token({ sub: `customer-${randomUUID()}` });
    const huge = JSON.stringify({ plan: 'free', concern: 'x'.repeat(10 * 1024 * 1024) });

    // Act
    const answer = await api(sandbox, 'POST', '/intake/start', { token, body: huge });

    // Assert: API Gateway's own answer, not the handler's error shape.
    expect(answer).toEqual({ status: 413, body: { message: 'Request Entity Too Large' } });
  });

  it('hands the handler a payload v2.0 event: lower-cased headers (Idempotency-Key in any case), path parameters, JWT claims', async () => {
    // Arrange
    const customerId = `customer-${randomUUID()}`;
    const token = await sandbox.token({ sub: customerId });
    const key = `key-${randomUUID()}`;
    const body = booking('Idempotent brakes');

    // Act
    const first = await api<{ session_id: string }>(sandbox, 'POST', '/intake/start', { token, body, headers: { 'Idempotency-Key': key } });
    const retried = await api<{ session_id: string }>(sandbox, 'POST', '/intake/start', { token, body, headers: { 'IDEMPOTENCY-KEY': key } });
    const other = await api<{ session_id: string }>(sandbox, 'POST', '/intake/start', { token, body, headers: { 'idempotency-key': `${key}-2` } });
    const view = await api(sandbox, 'GET', `/sessions/${first.body.session_id}`, { token });

    // Assert
    expect(first.status).toBe(201);
    expect(retried).toEqual(first);
    expect(other.body.session_id).not.toBe(first.body.session_id);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ session_id: first.body.session_id, customer_id: customerId });
  });
});

// ---- WebSocket gateway ---------------------------------------------------------------------------

describe('the WebSocket gateway', () => {
  it('refuses a handshake without a token or ticket with 401: the authorizer runs (it names no identity source) and says so; $connect never runs', async () => {
    // Arrange
    const invoke = vi.spyOn(LambdaHost.prototype, 'invoke');

    // Act
    const withoutToken = await handshakeStatus(sandbox.wsUrl);
    const withEmptyToken = await handshakeStatus(`${sandbox.wsUrl}?token=`);
    const withEmptyTicket = await handshakeStatus(`${sandbox.wsUrl}?ticket=`);

    // Assert
    // (Only the handshake's functions count: a previous test's socket may still be running its $disconnect.)
    expect([withoutToken, withEmptyToken, withEmptyTicket]).toEqual([401, 401, 401]);
    expect(invoke.mock.calls.map(([fn]) => fn).filter((fn) => fn === 'wsAuthorizer' || fn === 'wsConnect')).toEqual([
      'wsAuthorizer',
      'wsAuthorizer',
      'wsAuthorizer',
    ]);
  });

  it('refuses a bad token with 401 (the authorizer ran) and a pending mechanic with 403', async () => {
    // Arrange
    const invoke = vi.spyOn(LambdaHost.prototype, 'invoke');
    const dave = await sandbox.token({ sub: 'mech-dave' });
    const logsBefore = sandbox.logs.length;

    // Act
    const badToken = await handshakeStatus(`${sandbox.wsUrl}?token=not-a-jwt`);
    const pending = await handshakeStatus(`${sandbox.wsUrl}?token=${encodeURIComponent(dave)}`);

    // Assert
    expect(badToken).toBe(401);
    expect(pending).toBe(403);
    expect(invoke.mock.calls.map(([fn]) => fn).filter((fn) => fn === 'wsAuthorizer' || fn === 'wsConnect')).toEqual(['wsAuthorizer', 'wsAuthorizer']);
    expect(logLines(sandbox, '[connect] Handshake refused').map((l) => l.message)).toEqual(
      expect.arrayContaining(['[connect] Handshake refused: invalid token', '[connect] Handshake refused: not an approved mechanic']),
    );
    expect(sandbox.logs.slice(logsBefore).filter((line) => line.includes('Handshake refused'))).toHaveLength(2);
    expect(await connectionIdsOf(sandbox, 'mech-dave')).toEqual([]);
  });

  it('answers a non-JSON frame, an unknown action and a missing action with an error event and keeps the socket open', async () => {
    // Arrange
    const { client } = await connectedMechanic();

    // Act
    client.send('this is not json');
    const invalidJson = await client.waitFor('error');
    client.send({ action: 'teleport' });
    const unknownAction = await eventually(() => client.of('error')[1], 'the second error event');
    client.send({ action: '$disconnect' });
    const routeKeyAsAction = await eventually(() => client.of('error')[2], 'the third error event');
    client.send({ hello: 'world' });
    const missingAction = await eventually(() => client.of('error')[3], 'the fourth error event');
    client.send({ action: 'ping' });
    await client.waitFor('pong');

    // Assert
    expect(invalidJson).toMatchObject({ code: 'invalid_json' });
    expect(unknownAction).toMatchObject({ code: 'unknown_action', message: expect.stringContaining('teleport') });
    expect(routeKeyAsAction).toMatchObject({ code: 'unknown_action' });
    expect(missingAction).toMatchObject({ code: 'invalid_request' });
    expect(client.closed).toBe(false);
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('closes a socket idle past idleTimeoutMs and any socket past maxConnectionMs, running $disconnect', async () => {
    // Arrange: a sandbox of its own with short limits; one client stays silent, one keeps pinging.
    const limited = await startTestSandbox(sandboxOptions({ inMemory: true, idleTimeoutMs: 500, maxConnectionMs: 2_000 }));
    extraSandboxes.push(limited);
    const silent = await connect('mech-bob', limited);
    const chatty = await connect('mech-carol', limited);
    const pinging = setInterval(() => chatty.closed || chatty.send({ action: 'ping' }), 150);

    try {
      // Act
      await closed(silent);
      const chattyOpenWhenSilentClosed = !chatty.closed;
      await closed(chatty);

      // Assert
      expect(chattyOpenWhenSilentClosed).toBe(true);
      expect(chatty.of('pong').length).toBeGreaterThan(3);
      await eventually(
        async () => (await connectionIdsOf(limited, 'mech-bob')).length === 0 && (await connectionIdsOf(limited, 'mech-carol')).length === 0,
        '$disconnect to remove both connections',
      );
    } finally {
      clearInterval(pinging);
    }
  });

  it.skipIf(!awsCliAvailable)('the real AWS CLI works against the AWS endpoint (ssm, scheduler, dynamodb, lambda invoke)', async () => {
    // Arrange: every installed CLI, run asynchronously since the sandbox answers from this very process.
    const cli = async (aws: AwsCli, ...args: string[]) => {
      const answer = await aws.run(sandbox.awsUrl, args);
      if (answer.code !== 0) throw new Error(`${aws.label} ${args.join(' ')} failed: ${answer.stderr}`);
      return JSON.parse(answer.stdout) as Record<string, unknown>;
    };
    // The timer function for a request that does not exist: it finds nothing due (a payload file works with CLI v1 and v2 alike).
    const files = mkdtempSync(join(tmpdir(), 'pd-wire-cli-'));
    const payload = join(files, 'payload.json');
    writeFileSync(payload, JSON.stringify({ request_id: `req-${randomUUID()}`, due_at: new Date(Date.now() - 1000).toISOString() }));
    const timerFunction = lambdaFunctionName(sandbox.stage, 'requestTimer');

    // Act
    const answers = await Promise.all(
      clis.map(async (aws, i) => ({
        bin: aws.label,
        parameter: await cli(aws, 'ssm', 'get-parameter', '--name', sandbox.flagParameterName),
        schedules: await cli(aws, 'scheduler', 'list-schedules', '--group-name', sandbox.scheduleGroupName),
        scan: await cli(aws, 'dynamodb', 'scan', '--table-name', sandbox.tableName, '--max-items', '5'),
        invoke: await cli(aws, 'lambda', 'invoke', '--function-name', timerFunction, '--payload', `fileb://${payload}`, join(files, `out-${i}.json`)),
        result: JSON.parse(readFileSync(join(files, `out-${i}.json`), 'utf8')) as unknown,
      })),
    );
    rmSync(files, { recursive: true, force: true });

    // Assert
    for (const { bin, parameter, schedules, scan, invoke, result } of answers) {
      expect(parameter, bin).toMatchObject({ Parameter: { Name: sandbox.flagParameterName, Value: 'false', Type: 'String' } });
      expect(schedules, bin).toMatchObject({ Schedules: expect.any(Array) });
      expect((scan.Items as unknown[]).length, bin).toBeGreaterThan(0);
      expect(invoke, bin).toMatchObject({ StatusCode: 200, ExecutedVersion: '$LATEST' });
      expect(invoke.FunctionError, bin).toBeUndefined();
      expect(result, bin).toEqual({ did: 'nothing' });
    }
  });
});
