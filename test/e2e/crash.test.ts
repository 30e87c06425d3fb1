/**
 * Issue #4, reliability: the sandbox process killed with SIGKILL in the middle
 * of a priority window — no `stop()`, no `$disconnect`, nothing flushed on
 * purpose. The real CLI runs as a child process; a second one started on the
 * same data dir must run each fallback exactly once and lose no booking.
 * With `--scheduler-precision exact` each request's timer fires at once (it is
 * set a minute before a window shorter than that) and waits inside its
 * invocation for the window's end: the kill lands while those invocations
 * wait, so what the restart must carry is Lambda's queue of async events.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import { api, connectionIdsOf, eventually, MechanicClient, roundTrip } from './clients';

/**
 * Longer than the other files' windows: a restarted CLI bundles the handlers
 * and starts in a few seconds idle (far more with both cores busy) before a
 * mechanic can connect, and that mechanic must be online before the windows
 * end for "the fallback reached him" to mean anything.
 */
const WINDOW_SECONDS = 45;
const REPO_ROOT = resolve(import.meta.dirname, '../..');

interface Child {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const children: Child[] = [];
const clients: MechanicClient[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const client of clients.splice(0)) client.socket.terminate();
  for (const child of children.splice(0)) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** `npm start` as ops run it, on free ports and a private data dir. */
function spawnCli(dataDir: string): Child {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'sandbox/cli.ts',
      '--http-port',
      '0',
      '--ws-port',
      '0',
      '--aws-port',
      '0',
      '--data-dir',
      dataDir,
      '--flag',
      'on',
      '--priority-window',
      String(WINDOW_SECONDS),
      // Schedules fire at their at() time, not at a random moment of its minute: the windows end on time.
      '--scheduler-precision',
      'exact',
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const started = { process: child, output: () => output, exited };
  children.push(started);
  return started;
}

/** What `api` and `MechanicClient.connect` need of a sandbox, reached over the wire from the endpoints file. */
type Remote = Pick<Sandbox, 'httpUrl' | 'wsUrl' | 'awsUrl' | 'tableName' | 'token'>;

async function endpointsOf(dataDir: string, child: Child): Promise<Remote> {
  const file = join(dataDir, 'endpoints.json');
  await eventually(() => existsSync(file) || (child.process.exitCode !== null && Promise.reject(new Error(child.output()))), `${file} to appear`, 60_000);
  const endpoints = JSON.parse(readFileSync(file, 'utf8')) as { http: string; websocket: string; aws: string; table: string };
  return {
    httpUrl: endpoints.http,
    wsUrl: endpoints.websocket,
    awsUrl: endpoints.aws,
    tableName: endpoints.table,
    token: async (request) => {
      const answer = await fetch(`${endpoints.http}/dev/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(request),
      });
      return ((await answer.json()) as { token: string }).token;
    },
  };
}

// `api` and `MechanicClient.connect` use only the members a Remote has.
const asSandbox = (remote: Remote): Sandbox => remote as Sandbox;

async function connect(remote: Remote, mechanicId: string): Promise<MechanicClient> {
  const client = await MechanicClient.connect(asSandbox(remote), mechanicId);
  clients.push(client);
  return client;
}

interface SessionView {
  request: {
    request_id: string;
    status: string;
    state: string;
    routing: string;
    metadata: Record<string, unknown>;
    events: { type: string; [field: string]: unknown }[];
  } | null;
}

/**
 * The child's readable `[FanOut] Delivered` lines for a request's new_request, until they count `pushes` pushes:
 * the fan-out runs after the timer handed it over, so "exactly one" counts wait for it.
 */
function fannedOutRemote(lines: () => string[], requestId: string, pushes: number): Promise<true> {
  return eventually(() => {
    const pushed = lines()
      .filter((line) => line.includes('[FanOut] Delivered') && line.includes(` request_id=${requestId} `) && line.includes(' message_type=new_request '))
      .reduce((sum, line) => sum + Number(/ delivered=(\d+)/.exec(line)?.[1] ?? 0) + Number(/ gone=(\d+)/.exec(line)?.[1] ?? 0), 0);
    return pushed >= pushes;
  }, `the fan-out of ${requestId}`);
}

it('SIGKILL mid-window, then a restart on the same data dir → each fallback fires exactly once and no booking is lost', async () => {
  // Arrange: the favorite online, three priority bookings made three ways, offers received
  const dataDir = mkdtempSync(join(tmpdir(), 'pd-crash-'));
  dirs.push(dataDir);
  const first = spawnCli(dataDir);
  const before = await endpointsOf(dataDir, first);
  const alice = await connect(before, 'mech-alice');
  const customer = `cust-${randomUUID().slice(0, 8)}`;
  const token = await before.token({ sub: customer });
  const favorite = { preferred_mechanic_id: 'mech-alice', routing_type: 'priority_broadcast' };
  const idempotencyKey = `crash-${randomUUID()}`;
  const keyed = { plan: 'free', concern: 'Keyed booking', ...favorite };

  const free = await api<{ session_id: string; request_id: string }>(asSandbox(before), 'POST', '/intake/start', {
    token,
    body: { plan: 'free', concern: 'Free booking', ...favorite },
  });
  const paid = await api<{ session_id: string }>(asSandbox(before), 'POST', '/intake/start', {
    token,
    body: { plan: 'paid', concern: 'Paid booking', ...favorite },
  });
  const checkout = await api<{ request_id: string }>(asSandbox(before), 'POST', `/sessions/${paid.body.session_id}/checkout/complete`, { token });
  const withKey = await api<{ session_id: string; request_id: string }>(asSandbox(before), 'POST', '/intake/start', {
    token,
    headers: { 'Idempotency-Key': idempotencyKey },
    body: keyed,
  });
  expect([free.status, paid.status, checkout.status, withKey.status]).toEqual([201, 201, 200, 201]);
  const bookings = [
    { session_id: free.body.session_id, request_id: free.body.request_id },
    { session_id: paid.body.session_id, request_id: checkout.body.request_id },
    { session_id: withKey.body.session_id, request_id: withKey.body.request_id },
  ];
  const offers = await Promise.all(bookings.map((b) => alice.waitFor('priority_session_request', b.request_id)));
  const firstExpiry = Math.min(...offers.map((o) => Date.parse(String(o.expires_at))));
  const lastExpiry = Math.max(...offers.map((o) => Date.parse(String(o.expires_at))));

  // Act: kill it hard inside the window, start a second CLI on the same data dir, another mechanic comes online
  expect(Date.now(), 'the kill must land inside the window').toBeLessThan(firstExpiry);
  first.process.kill('SIGKILL');
  expect(await first.exited).toBeNull();
  rmSync(join(dataDir, 'endpoints.json'));
  const second = spawnCli(dataDir);
  const after = await endpointsOf(dataDir, second);
  const bob = await connect(after, 'mech-bob');
  expect(Date.now(), 'bob must be online before the windows end for this test to mean anything').toBeLessThan(firstExpiry);

  // Assert: each request reaches bob once, with reason fallback, never before its window ended
  for (const [i, { request_id }] of bookings.entries()) {
    const fallback = await bob.waitFor('new_request', request_id, lastExpiry - Date.now() + 30_000);
    expect(fallback).toMatchObject({ reason: 'fallback' });
    expect(bob.receivedAt(fallback)).toBeGreaterThanOrEqual(Date.parse(String(offers[i]!.expires_at)));
  }
  const views = await Promise.all(
    bookings.map((b) =>
      eventually(async () => {
        const answer = await api<SessionView>(asSandbox(after), 'GET', `/sessions/${b.session_id}`, { token: await after.token({ sub: customer }) });
        return answer.status === 200 && answer.body.request?.state === 'open' && answer.body;
      }, `the fallback of ${b.request_id} to be recorded`),
    ),
  );
  const lines = () => second.output().split('\n');
  for (const { request_id } of bookings) await fannedOutRemote(lines, request_id, 1);
  await roundTrip(bob);
  for (const [i, { request_id }] of bookings.entries()) {
    expect(bob.of('new_request', request_id)).toHaveLength(1);
    expect(views[i]!.request).toMatchObject({
      request_id,
      status: 'pending',
      state: 'open',
      routing: 'priority',
      metadata: { fallback_reason: 'preferred_mechanic_no_response' },
    });
    expect(views[i]!.request!.events.filter((e) => e.type === 'fallback_started')).toHaveLength(1);
    expect(views[i]!.request!.events.filter((e) => e.type === 'broadcast_sent')).toEqual([expect.objectContaining({ reason: 'fallback' })]);
    expect(lines().filter((line) => line.includes('[Fallback] Priority window over') && line.includes(` request_id=${request_id} `))).toHaveLength(1);
  }
  // alice's connection item outlived the killed gateway (no $disconnect ran): a fallback's push found it gone and pruned it
  await eventually(async () => (await connectionIdsOf(asSandbox(after), 'mech-alice')).length === 0, "alice's stale connection to be pruned");
  expect(lines().some((line) => line.includes('Pruned a gone connection') && line.includes('mechanic_id=mech-alice'))).toBe(true);
  // the keyed booking retried after the crash is the same booking, not a new one
  const retried = await api<{ session_id: string; request_id: string }>(asSandbox(after), 'POST', '/intake/start', {
    token,
    headers: { 'Idempotency-Key': idempotencyKey },
    body: keyed,
  });
  expect(retried).toEqual({ status: 201, body: { session_id: withKey.body.session_id, status: 'fulfilled', request_id: withKey.body.request_id } });
  await roundTrip(bob);
  expect(bob.of('new_request', withKey.body.request_id)).toHaveLength(1);

  // Act + Assert: a clean stop
  second.process.kill('SIGINT');
  expect(await second.exited).toBe(0);
  expect(second.output()).toContain('Stopped. Nothing lost.');
}, 240_000);
