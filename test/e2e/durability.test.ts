/**
 * End to end against started sandboxes: what survives a stop and a start on
 * the same data dir (bookings, the flag, a request's timer mid-window or one
 * whose moment came while the sandbox was down), what `inMemory` keeps
 * (nothing), the chosen ports in `endpoints.json`, and the TTL sweep.
 * Real `ws` clients, HTTP calls and AWS SDK clients; polling, never sleeping.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox, SandboxOptions } from '../../sandbox/index';
import {
  api,
  awsClientConfig,
  eventsOf,
  eventually,
  fannedOut,
  logLines,
  MechanicClient,
  type Message,
  roundTrip,
  type SessionView,
  sessionView as viewOf,
  startTestSandbox,
  timerName,
  timerSchedule,
} from './clients';

const WINDOW_SECONDS = 2;
/**
 * The request's timer is set a minute before its deadline (Scheduler's precision) and, firing, waits for it;
 * a window this long puts the timer's own moment 15 s after the offer: long enough to stop the sandbox before
 * it (on a busy machine), so what the restart must carry is the schedule itself, not an invocation under way.
 */
const RESTART_WINDOW_SECONDS = 75;
/** Two sandbox starts (each bundles the handlers and warms their containers) take a while on a busy machine. */
const RESTART_TEST_TIMEOUT_MS = 240_000;

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

const sessionView = (sandbox: Sandbox, customerId: string, sessionId: string): Promise<SessionView> => viewOf(sandbox, customerId, sessionId);

/** Polls until the fallback is recorded: the window ended (fallback_started) and the request was opened to everyone. */
const fallbackRecorded = (sandbox: Sandbox, customerId: string, sessionId: string, what: string, timeoutMs?: number): Promise<SessionView> =>
  eventually(
    async () => {
      const view = await sessionView(sandbox, customerId, sessionId);
      return view.request?.state === 'open' && eventsOf(view, 'fallback_started').length > 0 && view;
    },
    what,
    timeoutMs,
  );

/** The scheduler's own line for each firing of the request's timer. */
const firings = (sandbox: Sandbox, requestId: string): string[] =>
  sandbox.logs.filter((line) => line.includes(`scheduler: fired ${sandbox.scheduleGroupName}/${timerName(requestId)} `));

const waitUntil = (epochMs: number, what: string): Promise<true> => eventually(() => Date.now() > epochMs, what, epochMs - Date.now() + 30_000);

// ---- the request's timer across a restart ---------------------------------------------------------

describe("the request's timer across a restart", () => {
  it(
    'sandbox stopped mid-window (before its timer fired) and started again: the fallback happens once, on time, to the mechanic online now',
    async () => {
      // Arrange: the favorite gets the priority offer, then the sandbox stops inside the window, before the timer's moment.
      const dataDir = tempDir();
      const first = await start({ dataDir, flag: 'on', priorityWindowSeconds: RESTART_WINDOW_SECONDS });
      const alice = await connect(first, 'mech-alice');
      const customerId = uniqueCustomer();
      const { session_id, request_id } = await bookFavorite(first, await first.token({ sub: customerId }), 'mech-alice');
      const offer = await alice.waitFor('priority_session_request', request_id);
      const expiresAt = Date.parse(offer.expires_at as string);
      const timer = await timerSchedule(first, request_id);
      await first.stop();
      expect(timer.dueAt).toBe(expiresAt);
      expect(firings(first, request_id), 'the sandbox must stop before the timer fires for this test to mean anything').toEqual([]);

      // Act: a NEW sandbox (fresh handler containers, new ports) on the same data dir; another mechanic comes online.
      const second = await start({ dataDir });
      const bob = await connect(second, 'mech-bob');
      const fallback = await bob.waitFor('new_request', request_id, expiresAt - Date.now() + 30_000);
      const view = await fallbackRecorded(second, customerId, session_id, 'the fallback to be recorded');

      // Assert: once, never before the window ended, by the timer of the second sandbox
      expect(fallback).toMatchObject<Partial<Message>>({ type: 'new_request', request_id, session_id, reason: 'fallback' });
      expect(bob.receivedAt(fallback)).toBeGreaterThanOrEqual(expiresAt);
      await fannedOut(second, request_id, 'new_request', 1);
      await roundTrip(bob);
      expect(bob.of('new_request', request_id)).toHaveLength(1);
      expect(view.request).toMatchObject({
        status: 'pending',
        state: 'open',
        routing: 'priority',
        metadata: { fallback_reason: 'preferred_mechanic_no_response' },
      });
      expect(Date.parse(view.request!.metadata.fallback_broadcast_at as string)).toBeGreaterThanOrEqual(expiresAt);
      expect(eventsOf(view, 'fallback_started')).toHaveLength(1);
      expect(eventsOf(view, 'broadcast_sent')).toEqual([expect.objectContaining({ reason: 'fallback' })]);
      expect(firings(second, request_id)).toHaveLength(1);
      expect(logLines(first, '[Fallback]')).toEqual([]);
      expect(logLines(second, '[Fallback] Priority window over').filter((l) => l.request_id === request_id)).toHaveLength(1);
    },
    RESTART_TEST_TIMEOUT_MS,
  );

  it(
    "a timer whose moment passed while the sandbox was down fires at the next start, and the fallback follows at the window's end",
    async () => {
      // Arrange: priority offer sent, sandbox stopped before the timer's moment, and kept down past it.
      const dataDir = tempDir();
      const first = await start({ dataDir, flag: 'on', priorityWindowSeconds: RESTART_WINDOW_SECONDS });
      const alice = await connect(first, 'mech-alice');
      const customerId = uniqueCustomer();
      const { session_id, request_id } = await bookFavorite(first, await first.token({ sub: customerId }), 'mech-alice');
      const expiresAt = Date.parse((await alice.waitFor('priority_session_request', request_id)).expires_at as string);
      const timer = await timerSchedule(first, request_id);
      await first.stop();
      expect(firings(first, request_id), 'the sandbox must stop before the timer fires for this test to mean anything').toEqual([]);
      await waitUntil(timer.at + 100, "the timer's moment to pass while the sandbox is down");

      // Act
      const second = await start({ dataDir });

      // Assert: it fired in the new sandbox, at once, then waited for the window's end; one fallback.
      await eventually(() => firings(second, request_id).length > 0, 'the overdue timer to fire after the start');
      const view = await fallbackRecorded(second, customerId, session_id, 'the fallback after the start', expiresAt - Date.now() + 30_000);
      expect(view.request!.metadata.fallback_reason).toBe('preferred_mechanic_no_response');
      expect(Date.parse(eventsOf(view, 'fallback_started')[0]!.at)).toBeGreaterThanOrEqual(expiresAt);
      expect(eventsOf(view, 'fallback_started')).toHaveLength(1);
      expect(firings(second, request_id)).toHaveLength(1);
      expect(logLines(first, '[Fallback]')).toEqual([]);
      expect(logLines(second, '[Fallback] Priority window over').filter((l) => l.request_id === request_id)).toHaveLength(1);
      expect(second.deadLetters()).toEqual([]);
    },
    RESTART_TEST_TIMEOUT_MS,
  );
});

// ---- what the data dir keeps, and what inMemory does not ----------------------------------------

describe('state across restarts', () => {
  it(
    'a session and the flag value set through SSM survive a restart, and the handlers use the kept flag',
    async () => {
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
      expect(view.body).toMatchObject({
        session_id: booked.body.session_id,
        status: 'awaiting_checkout',
        concern: expect.stringMatching(/^Check engine light/),
      });
      expect(Parameter?.Value).toBe('true');
      expect(await alice.waitFor('priority_session_request', priority.request_id)).toMatchObject({ window_seconds: WINDOW_SECONDS });
    },
    RESTART_TEST_TIMEOUT_MS,
  );

  it(
    'inMemory keeps nothing across a restart and writes no files',
    async () => {
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
    },
    RESTART_TEST_TIMEOUT_MS,
  );

  it(
    'with port 0 everywhere, endpoints.json in the data dir lists the ports chosen, and they answer',
    async () => {
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
    },
    RESTART_TEST_TIMEOUT_MS,
  );
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
