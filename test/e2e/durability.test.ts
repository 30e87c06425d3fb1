/**
 * End to end against started sandboxes: what survives a stop and a start on
 * the same data dir (sessions, the flag, a fallback schedule mid-window or
 * one that came due while the sandbox was down), what `inMemory` keeps
 * (nothing), the chosen ports in `endpoints.json`, and the TTL sweep.
 * Real `ws` clients, HTTP calls and AWS SDK clients; polling, never sleeping.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox, SandboxOptions } from '../../sandbox/index';
import { api, awsClientConfig, eventually, logLines, MechanicClient, type Message, startTestSandbox } from './clients';

const WINDOW_SECONDS = 2;
/**
 * Windows that must outlast a stop, a start and a mechanic connecting (or a
 * booking and a stop) on a busy machine, and are then waited out.
 */
const RESTART_WINDOW_SECONDS = 20;
const STOP_WINDOW_SECONDS = 10;

interface SessionView {
  session_id: string;
  concern: string;
  request: {
    request_id: string;
    status: string;
    routing: string;
    expires_at: string | null;
    metadata: { fallback_reason?: string; fallback_broadcast_at?: string };
    events: { at: string; type: string; reason?: string }[];
  } | null;
}

// ---- harness: every sandbox, client and directory a test made is cleaned up after it ------------

const running: Sandbox[] = [];
const clients: MechanicClient[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  for (const sandbox of running.splice(0)) await sandbox.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pd-durability-'));
  dirs.push(dir);
  return dir;
}

async function start(options: SandboxOptions): Promise<Sandbox> {
  const sandbox = await startTestSandbox({
    priorityWindowSeconds: WINDOW_SECONDS,
    flagCacheTtlSeconds: 1,
    ...options,
  });
  running.push(sandbox);
  return sandbox;
}

async function connect(sandbox: Sandbox, mechanicId: string): Promise<MechanicClient> {
  const client = await MechanicClient.connect(sandbox, mechanicId);
  clients.push(client);
  return client;
}

const uniqueCustomer = (): string => `customer-${randomUUID()}`;

/** A free booking "from a favorite" (Book again → Priority notification). */
async function bookFavorite(sandbox: Sandbox, customerToken: string, favorite: string): Promise<{ session_id: string; request_id: string }> {
  const answer = await api<{ session_id: string; request_id: string }>(sandbox, 'POST', '/intake/start', {
    token: customerToken,
    body: { plan: 'free', concern: `Brakes squeal ${randomUUID()}`, preferred_mechanic_id: favorite, routing_type: 'priority_broadcast' },
  });
  expect(answer.status).toBe(201);
  return answer.body;
}

async function sessionView(sandbox: Sandbox, customerId: string, sessionId: string): Promise<SessionView> {
  const answer = await api<SessionView>(sandbox, 'GET', `/sessions/${sessionId}`, { token: await sandbox.token({ sub: customerId }) });
  expect(answer.status).toBe(200);
  return answer.body;
}

async function fallbackSchedules(sandbox: Sandbox, requestId: string): Promise<string[]> {
  const client = new SchedulerClient(awsClientConfig(sandbox));
  const { Schedules = [] } = await client.send(new ListSchedulesCommand({ GroupName: sandbox.scheduleGroupName }));
  client.destroy();
  return Schedules.map((s) => s.Name!).filter((name) => name.includes(requestId));
}

const waitUntil = (epochMs: number, what: string): Promise<true> => eventually(() => Date.now() > epochMs, what, epochMs - Date.now() + 30_000);

// ---- the fallback schedule across a restart ------------------------------------------------------

describe('the fallback schedule across a restart', () => {
  it('sandbox stopped mid-window and started again: the fallback still fires exactly once, to the mechanic online now', async () => {
    // Arrange: the favorite gets the priority offer, then the sandbox stops inside the window.
    const dataDir = tempDir();
    const first = await start({ dataDir, flag: 'on', priorityWindowSeconds: RESTART_WINDOW_SECONDS });
    const alice = await connect(first, 'mech-alice');
    const customerId = uniqueCustomer();
    const { session_id, request_id } = await bookFavorite(first, await first.token({ sub: customerId }), 'mech-alice');
    const offer = await alice.waitFor('priority_session_request', request_id);
    const expiresAt = Date.parse(offer.expires_at as string);
    await first.stop();

    // Act: a NEW sandbox (fresh handler container, new ports) on the same data dir; another mechanic comes online.
    const second = await start({ dataDir });
    const bob = await connect(second, 'mech-bob');
    expect(Date.now(), 'bob must be online before the window ends for this test to mean anything').toBeLessThan(expiresAt);
    await bob.waitFor('new_request', request_id, expiresAt - Date.now() + 30_000);
    // Once the schedule is gone and the broadcast recorded, no second firing can come.
    const view = await eventually(async () => {
      const current = await sessionView(second, customerId, session_id);
      return current.request?.events.some((e) => e.type === 'fallback_broadcast') && (await fallbackSchedules(second, request_id)).length === 0 && current;
    }, 'the fallback to be recorded and its schedule deleted');

    // Assert
    const offers = bob.of('new_request', request_id);
    expect(offers).toHaveLength(1);
    expect(offers[0]).toMatchObject<Partial<Message>>({ type: 'new_request', request_id, session_id, reason: 'fallback' });
    expect(view.request).toMatchObject({ status: 'pending', routing: 'priority', metadata: { fallback_reason: 'preferred_mechanic_no_response' } });
    expect(Date.parse(view.request!.metadata.fallback_broadcast_at!)).toBeGreaterThanOrEqual(expiresAt);
    expect(view.request!.events.filter((e) => e.type === 'fallback_broadcast')).toHaveLength(1);
    expect(logLines(first, '[Fallback]')).toEqual([]);
    expect(logLines(second, '[Fallback] Priority window over').filter((l) => l.request_id === request_id)).toHaveLength(1);
  });

  it('a schedule whose time passed while the sandbox was down fires at the next start', async () => {
    // Arrange: priority offer sent, sandbox stopped before expires_at, and kept down past it.
    const dataDir = tempDir();
    const first = await start({ dataDir, flag: 'on', priorityWindowSeconds: STOP_WINDOW_SECONDS });
    const alice = await connect(first, 'mech-alice');
    const customerId = uniqueCustomer();
    const { session_id, request_id } = await bookFavorite(first, await first.token({ sub: customerId }), 'mech-alice');
    const expiresAt = Date.parse((await alice.waitFor('priority_session_request', request_id)).expires_at as string);
    await first.stop();
    expect(Date.now()).toBeLessThan(expiresAt);
    await waitUntil(expiresAt + 100, 'the window to end while the sandbox is down');

    // Act
    const second = await start({ dataDir });

    // Assert: it fired in the new sandbox, once, and the schedule deleted itself.
    const view = await eventually(async () => {
      const current = await sessionView(second, customerId, session_id);
      return current.request?.events.some((e) => e.type === 'fallback_broadcast') && (await fallbackSchedules(second, request_id)).length === 0 && current;
    }, 'the overdue fallback to fire after the start');
    expect(view.request!.metadata.fallback_reason).toBe('preferred_mechanic_no_response');
    expect(view.request!.events.filter((e) => e.type === 'fallback_broadcast')).toHaveLength(1);
    expect(logLines(first, '[Fallback]')).toEqual([]);
    expect(logLines(second, '[Fallback] Priority window over').filter((l) => l.request_id === request_id)).toHaveLength(1);
    expect(second.deadLetters()).toEqual([]);
  });
});

// ---- what the data dir keeps, and what inMemory does not ----------------------------------------

describe('state across restarts', () => {
  it('a session and the flag value set through SSM survive a restart, and the handlers use the kept flag', async () => {
    // Arrange: a session, and the flag flipped the way ops do it (PutParameter), not through options.
    const dataDir = tempDir();
    const first = await start({ dataDir, flag: 'off' });
    const customerId = uniqueCustomer();
    const booked = await api<{ session_id: string }>(first, 'POST', '/intake/start', {
      token: await first.token({ sub: customerId }),
      body: { plan: 'paid', concern: `Check engine light ${randomUUID()}` },
    });
    expect(booked.status).toBe(201);
    const ssm = new SSMClient(awsClientConfig(first));
    await ssm.send(new PutParameterCommand({ Name: first.flagParameterName, Value: 'true', Overwrite: true }));
    ssm.destroy();
    await first.stop();

    // Act: start again without a `flag` option, so the stored value decides.
    const second = await start({ dataDir });
    const view = await api<SessionView & { status: string }>(second, 'GET', `/sessions/${booked.body.session_id}`, {
      token: await second.token({ sub: customerId }),
    });
    const ssmAfter = new SSMClient(awsClientConfig(second));
    const { Parameter } = await ssmAfter.send(new GetParameterCommand({ Name: second.flagParameterName }));
    ssmAfter.destroy();
    const alice = await connect(second, 'mech-alice');
    const priority = await bookFavorite(second, await second.token({ sub: customerId }), 'mech-alice');

    // Assert
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ session_id: booked.body.session_id, status: 'awaiting_checkout', concern: expect.stringMatching(/^Check engine light/) });
    expect(Parameter?.Value).toBe('true');
    expect(await alice.waitFor('priority_session_request', priority.request_id)).toMatchObject({ window_seconds: WINDOW_SECONDS });
  });

  it('inMemory keeps nothing across a restart and writes no files', async () => {
    // Arrange: an in-memory sandbox even though a data dir is named (in-memory wins), and a session in it.
    const dataDir = tempDir();
    const cwdSandboxExisted = existsSync(join(process.cwd(), '.sandbox'));
    const first = await start({ inMemory: true, dataDir });
    const customerId = uniqueCustomer();
    const booked = await api<{ session_id: string }>(first, 'POST', '/intake/start', {
      token: await first.token({ sub: customerId }),
      body: { plan: 'free', concern: `Flat tyre ${randomUUID()}` },
    });
    expect(booked.status).toBe(201);
    await first.stop();

    // Act
    const second = await start({ inMemory: true, dataDir });
    const view = await api(second, 'GET', `/sessions/${booked.body.session_id}`, { token: await second.token({ sub: customerId }) });

    // Assert
    expect(first.dataDir).toBeUndefined();
    expect(view.status).toBe(404);
    expect(view.body).toMatchObject({ error: { code: 'not_found' } });
    expect(readdirSync(dataDir)).toEqual([]);
    expect(existsSync(join(process.cwd(), '.sandbox'))).toBe(cwdSandboxExisted);
  });

  it('with port 0 everywhere, endpoints.json in the data dir lists the ports chosen, and they answer', async () => {
    // Arrange
    const dataDir = tempDir();

    // Act
    const sandbox = await start({ dataDir });
    const endpoints = JSON.parse(readFileSync(join(dataDir, 'endpoints.json'), 'utf8')) as Record<string, string>;

    // Assert
    expect(endpoints).toMatchObject({
      http: sandbox.httpUrl,
      websocket: sandbox.wsUrl,
      aws: sandbox.awsUrl,
      connections: sandbox.connectionsEndpoint,
      table: sandbox.tableName,
      flag_parameter: sandbox.flagParameterName,
      schedule_group: sandbox.scheduleGroupName,
    });
    for (const url of [endpoints.http!, endpoints.websocket!, endpoints.aws!]) expect(Number(new URL(url).port)).toBeGreaterThan(0);
    expect((await api(sandbox, 'GET', '/no-such-route')).body).toEqual({ message: 'Not Found' });
  });
});

// ---- TTL ---------------------------------------------------------------------------------------

describe('the TTL attribute', () => {
  it('items past expires_at_epoch are swept; future and TTL-less items stay', async () => {
    // Arrange
    const sandbox = await start({ inMemory: true, seed: false, ttlSweepMs: 100 });
    const db = new DynamoDBClient(awsClientConfig(sandbox));
    const id = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const key = (kind: string) => ({ pk: { S: `TTLTEST#${id}#${kind}` }, sk: { S: 'ITEM' } });
    const get = async (kind: string) => (await db.send(new GetItemCommand({ TableName: sandbox.tableName, Key: key(kind), ConsistentRead: true }))).Item;

    // Act: the future and TTL-less items first, so the sweep that removes the expired one has seen them too.
    await db.send(new PutItemCommand({ TableName: sandbox.tableName, Item: { ...key('future'), expires_at_epoch: { N: String(now + 3600) } } }));
    await db.send(new PutItemCommand({ TableName: sandbox.tableName, Item: { ...key('no-ttl') } }));
    await db.send(new PutItemCommand({ TableName: sandbox.tableName, Item: { ...key('expired'), expires_at_epoch: { N: String(now - 60) } } }));

    // Assert
    await eventually(async () => (await get('expired')) === undefined, 'the expired item to be swept');
    expect(await get('future')).toBeDefined();
    expect(await get('no-ttl')).toBeDefined();
    await db.send(new DeleteItemCommand({ TableName: sandbox.tableName, Key: key('future') }));
    db.destroy();
  });
});
