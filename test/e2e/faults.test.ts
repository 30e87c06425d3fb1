/**
 * Issue #4, reliability: what the flow does when an AWS dependency fails.
 * Faults are armed through the sandbox's `POST /dev/faults`, which answers in
 * AWS's own error shapes, so the real SDK clients inside the handlers react as
 * they would in AWS (retries, exception classes). Each test arms, acts, asserts
 * the customer-visible and audit-visible outcome, and the faults are cleared
 * after every test whatever happens. Polls, never fixed sleeps for outcomes.
 */
import { randomUUID } from 'node:crypto';
import { newSessionId, requestIdFor } from '../../lambdas/domain/ids';
import { GetScheduleCommand, ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FALLBACK_RETRY_POLICY } from '../../lambdas/adapters/eventbridge-scheduler';
import type { Sandbox, SandboxOptions } from '../../sandbox/index';
import { startTestSandbox } from './clients';
import {
  api,
  armFault,
  awsClientConfig,
  clearFaults,
  connectionIdsOf,
  deadLetters,
  eventually,
  faultState,
  itemsOfCustomer,
  logLines,
  MechanicClient,
  registerMechanic,
  roundTrip,
} from './clients';

/** Long enough that a schedule can still be read back right after its booking on a busy machine; short enough to wait out. */
const WINDOW_SECONDS = 5;
const FLAG_TTL_SECONDS = 1;

interface AuditEvent {
  type: string;
  [field: string]: unknown;
}
interface SessionView {
  session_id: string;
  status: string;
  request: {
    request_id: string;
    status: string;
    routing: string;
    expires_at: string | null;
    metadata: Record<string, unknown>;
    events: AuditEvent[];
  } | null;
}

// ---- harness -----------------------------------------------------------------------------------

const open: MechanicClient[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function start(options: SandboxOptions = {}): Promise<Sandbox> {
  return startTestSandbox({
    flag: 'on',
    priorityWindowSeconds: WINDOW_SECONDS,
    flagCacheTtlSeconds: FLAG_TTL_SECONDS,
    schedulerTickMs: 50,
    ...options,
  });
}

async function connected(sandbox: Sandbox): Promise<MechanicClient> {
  const client = await MechanicClient.connect(sandbox, await registerMechanic(sandbox));
  open.push(client);
  return client;
}

interface Booked {
  customer: string;
  session_id: string;
  request_id: string;
}

async function book(
  sandbox: Sandbox,
  body: Record<string, unknown> = {},
  customer = `cust-${randomUUID().slice(0, 8)}`,
  idempotencyKey?: string,
): Promise<Booked> {
  const answer = await api<{ session_id: string; request_id: string; status: string }>(sandbox, 'POST', '/intake/start', {
    token: await sandbox.token({ sub: customer }),
    headers: idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : undefined,
    body: { plan: 'free', concern: `Engine stalls ${randomUUID()}`, ...body },
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return { customer, ...answer.body };
}

/**
 * A booking whose request id is known before it is made (the session id comes from customer + Idempotency-Key),
 * so a fault aimed at its fallback is armed before the window can end, however slow the machine.
 */
function plannedBooking(): { customer: string; idempotencyKey: string; requestId: string } {
  const customer = `cust-${randomUUID().slice(0, 8)}`;
  const idempotencyKey = randomUUID();
  return { customer, idempotencyKey, requestId: requestIdFor(newSessionId(customer, idempotencyKey)) };
}

const priority = (favorite: MechanicClient) => ({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' });

async function sessionView(sandbox: Sandbox, customer: string, sessionId: string): Promise<SessionView> {
  const answer = await api<SessionView>(sandbox, 'GET', `/sessions/${sessionId}`, { token: await sandbox.token({ sub: customer }) });
  expect(answer.status).toBe(200);
  return answer.body;
}

/** Polls the session until its request's audit trail has an event of that type. */
const withEvent = (sandbox: Sandbox, booked: Booked, type: string, timeoutMs?: number): Promise<SessionView> =>
  eventually(
    async () => {
      const view = await sessionView(sandbox, booked.customer, booked.session_id);
      return view.request?.events.some((e) => e.type === type) && view;
    },
    `a ${type} event on ${booked.request_id}`,
    timeoutMs,
  );

async function schedulesOf(sandbox: Sandbox, requestId: string): Promise<string[]> {
  const client = new SchedulerClient(awsClientConfig(sandbox));
  const { Schedules = [] } = await client.send(new ListSchedulesCommand({ GroupName: sandbox.scheduleGroupName, NamePrefix: `fallback-${requestId}` }));
  client.destroy();
  return Schedules.map((s) => s.Name!);
}

const forRequest = (sandbox: Sandbox, prefix: string, requestId: string) => logLines(sandbox, prefix).filter((line) => line.request_id === requestId);
const eventsOf = (view: SessionView, type: string) => view.request!.events.filter((e) => e.type === type);

// ---- the flag parameter -------------------------------------------------------------------------

describe('the flag parameter cannot be read', () => {
  // Its own sandbox: the handlers cache the flag for FLAG_TTL_SECONDS, so a "false" read here must not leak into other tests.
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await start();
  });
  afterEach(() => clearFaults(sandbox));
  afterAll(async () => {
    console.info(`faults.test.ts (flag): ${(await faultState(sandbox)).injected} requests answered with an injected fault`);
    await sandbox.stop();
  });

  it('SSM failing with the flag ON → the priority booking is broadcast (fail safe to off) and a WARN is logged', async () => {
    // Arrange
    const favorite = await connected(sandbox);
    const other = await connected(sandbox);
    const warningsBefore = logLines(sandbox, '[Flag] Could not read the feature flag').length;
    await armFault(sandbox, { service: 'ssm', operation: 'GetParameter', error: 'InternalServerError', times: 0 });
    // A value cached before the fault would hide it: the TTL is the contract, so wait it out once.
    await new Promise((resolve) => setTimeout(resolve, FLAG_TTL_SECONDS * 1000 + 100));

    // Act
    const booked = await book(sandbox, priority(favorite));

    // Assert
    expect(await favorite.waitFor('new_request', booked.request_id)).toMatchObject({ reason: 'broadcast' });
    expect(await other.waitFor('new_request', booked.request_id)).toMatchObject({ reason: 'broadcast' });
    expect(favorite.of('priority_session_request')).toEqual([]);
    const warnings = logLines(sandbox, '[Flag] Could not read the feature flag').slice(warningsBefore);
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings[0]).toMatchObject({ level: 'WARN', parameter: sandbox.flagParameterName });
    expect(String(warnings[0]!.error)).toContain('InternalServerError');
    expect(forRequest(sandbox, '[Priority]', booked.request_id)).toEqual([]);
    expect(await schedulesOf(sandbox, booked.request_id)).toEqual([]);
    expect((await sessionView(sandbox, booked.customer, booked.session_id)).request).toMatchObject({ routing: 'broadcast', status: 'pending' });
    expect((await faultState(sandbox)).faults[0]!.hits).toBeGreaterThanOrEqual(1);
  });
});

// ---- the other services -------------------------------------------------------------------------

describe('faults in DynamoDB, the scheduler, @connections and the fallback function', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    // 2 ms doubling per attempt (capped at 60 s, far above): the app's 10 retries take ~2 s here instead of an hour.
    // Lambda's async retries after a tenth and a fifth of a second instead of one and two minutes.
    sandbox = await start({ retryBaseDelayMs: 2, asyncRetryDelaysMs: [100, 200] });
  });
  afterEach(() => clearFaults(sandbox));
  afterAll(async () => {
    console.info(`faults.test.ts (services): ${(await faultState(sandbox)).injected} requests answered with an injected fault`);
    await sandbox.stop();
  });

  describe('/dev/faults itself', () => {
    it('GET lists armed faults with their hits and the injected count; the SDK sees the AWS error class; DELETE clears', async () => {
      // Arrange
      const name = `/test/missing-${randomUUID()}`;
      const before = (await faultState(sandbox)).injected;
      const armed = await armFault(sandbox, { service: 'ssm', operation: 'GetParameter', error: 'ParameterNotFound', status: 400, times: 2, match: name });
      const ssm = new SSMClient(awsClientConfig(sandbox));

      // Act
      const failure = await ssm.send(new GetParameterCommand({ Name: name })).catch((error: Error) => error);
      const listed = await faultState(sandbox);
      await clearFaults(sandbox);
      const afterClear = await faultState(sandbox);
      ssm.destroy();

      // Assert
      expect(armed).toMatchObject({ service: 'ssm', operation: 'GetParameter', error: 'ParameterNotFound', remaining: 2, hits: 0, match: name });
      expect(failure).toMatchObject({ name: 'ParameterNotFound', $metadata: { httpStatusCode: 400 } });
      expect(listed.faults).toEqual([expect.objectContaining({ id: armed.id, remaining: 1, hits: 1 })]);
      expect(listed.injected).toBe(before + 1);
      expect(afterClear.faults).toEqual([]);
      expect(afterClear.injected).toBe(before + 1);
    });

    it.each([
      ['service', { service: 'sqs', error: 'ThrottlingException' }],
      ['error', { service: 'ssm' }],
      ['times', { service: 'ssm', error: 'ThrottlingException', times: -1 }],
      ['status', { service: 'ssm', error: 'ThrottlingException', status: 200 }],
      ['match', { service: 'ssm', error: 'ThrottlingException', match: 42 }],
    ])('a bad spec → 400 naming %s, and nothing is armed', async (field, spec) => {
      const answer = await api<{ error: { code: string; message: string } }>(sandbox, 'POST', '/dev/faults', { body: spec });

      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('invalid_request');
      expect(answer.body.error.message).toMatch(new RegExp(`^${field}\\b`));
      expect((await faultState(sandbox)).faults).toEqual([]);
    });
  });

  it('scheduler CreateSchedule failing → immediate broadcast with reason priority_failed; never pending without a schedule or broadcast', async () => {
    // Arrange
    const favorite = await connected(sandbox);
    const other = await connected(sandbox);
    // Until cleared: the SDK retries a 500 (3 attempts), so one failure alone would be absorbed.
    await armFault(sandbox, { service: 'scheduler', operation: 'CreateSchedule', error: 'InternalServerException', times: 0 });

    // Act
    const booked = await book(sandbox, priority(favorite));

    // Assert: at once, not after the window: with no schedule there is no window to end, and the reason names the immediate path
    expect(await other.waitFor('new_request', booked.request_id)).toMatchObject({ reason: 'priority_failed' });
    expect(await favorite.waitFor('new_request', booked.request_id)).toMatchObject({ reason: 'priority_failed' });
    expect(favorite.of('priority_session_request')).toEqual([]);
    expect((await faultState(sandbox)).faults[0]!.hits).toBeGreaterThanOrEqual(1);
    const view = await withEvent(sandbox, booked, 'broadcast_sent');
    expect(view.request).toMatchObject({
      status: 'pending',
      routing: 'broadcast',
      metadata: { fallback_reason: 'priority_failed', priority_mechanic_id: favorite.mechanicId },
    });
    expect(eventsOf(view, 'priority_failed')).toEqual([expect.objectContaining({ why: 'schedule_failed' })]);
    // The invariant: a pending request has either a durable fallback or has been broadcast.
    expect(await schedulesOf(sandbox, booked.request_id)).toEqual([]);
    expect(eventsOf(view, 'broadcast_sent')).toEqual([expect.objectContaining({ reason: 'priority_failed', delivered: 2 })]);
    expect(forRequest(sandbox, '[Priority] Could not schedule the fallback', booked.request_id)).toEqual([expect.objectContaining({ level: 'WARN' })]);
  });

  it('pushes failing for one connection → every other mechanic still gets new_request; broadcast_sent counts failed: 1', async () => {
    // Arrange
    const unlucky = await connected(sandbox);
    const others = [await connected(sandbox), await connected(sandbox)];
    const [unluckyConnection] = await eventually(async () => {
      const ids = await connectionIdsOf(sandbox, unlucky.mechanicId);
      return ids.length === 1 && ids;
    }, 'the connection item of the unlucky mechanic');
    await armFault(sandbox, {
      service: 'connections',
      operation: 'PostToConnection',
      error: 'InternalServerErrorException',
      times: 0,
      match: unluckyConnection,
    });

    // Act
    const booked = await book(sandbox);

    // Assert
    for (const other of others) expect(await other.waitFor('new_request', booked.request_id)).toMatchObject({ reason: 'broadcast' });
    const view = await withEvent(sandbox, booked, 'broadcast_sent');
    expect(eventsOf(view, 'broadcast_sent')).toEqual([expect.objectContaining({ delivered: 2, failed: 1 })]);
    const warnings = logLines(sandbox, 'Push to a connection failed').filter((l) => l.connection_id === unluckyConnection);
    expect(warnings).toEqual([expect.objectContaining({ level: 'WARN', mechanic_id: unlucky.mechanicId, message_type: 'new_request' })]);
    await clearFaults(sandbox);
    await roundTrip(unlucky); // anything pushed to it before has arrived now
    expect(unlucky.of('new_request', booked.request_id)).toEqual([]);
    expect(await connectionIdsOf(sandbox, unlucky.mechanicId), 'a failed push is not a gone connection: it stays').toEqual([unluckyConnection]);
  });

  it("the fallback function throwing once → Lambda's async retry runs it again and the fallback completes, once, with no dead letter", async () => {
    // Arrange
    const favorite = await connected(sandbox);
    const other = await connected(sandbox);
    const planned = plannedBooking();
    await armFault(sandbox, { service: 'lambda', operation: 'runFallback', error: 'Runtime.ExitError', times: 1, match: planned.requestId });
    const booked = await book(sandbox, priority(favorite), planned.customer, planned.idempotencyKey);
    expect(booked.request_id).toBe(planned.requestId);
    await favorite.waitFor('priority_session_request', booked.request_id);

    // Act: the window ends and the schedule fires
    const fallback = await other.waitFor('new_request', booked.request_id, (WINDOW_SECONDS + 30) * 1000);

    // Assert: the schedule's job ended with the accepted invoke; Lambda retried the failed run
    expect(fallback).toMatchObject({ reason: 'fallback' });
    expect(await favorite.waitFor('new_request', booked.request_id)).toMatchObject({ reason: 'fallback' });
    const schedule = `${sandbox.scheduleGroupName}/fallback-${booked.request_id}`;
    expect(sandbox.logs.filter((line) => line.includes(`scheduler: fired ${schedule} `))).toHaveLength(1);
    expect(sandbox.logs.some((line) => line.includes('lambda: runFallback failed (attempt 1 of 3), retried in'))).toBe(true);
    expect((await faultState(sandbox)).faults, 'the one-shot fault was used').toEqual([]);
    await eventually(async () => (await schedulesOf(sandbox, booked.request_id)).length === 0, 'the schedule to be deleted after completion');
    const view = await withEvent(sandbox, booked, 'fallback_broadcast');
    expect(eventsOf(view, 'fallback_broadcast')).toHaveLength(1);
    await roundTrip(other);
    expect(other.of('new_request', booked.request_id)).toHaveLength(1);
    expect((await deadLetters(sandbox)).dead_letters.filter((d) => JSON.stringify(d).includes(booked.request_id))).toEqual([]);
  });

  it("the fallback function throwing every time → exactly 3 runs (Lambda's 2 async retries), then one on-failure record of AWS's shape in the DLQ", async () => {
    // Arrange
    const favorite = await connected(sandbox);
    const other = await connected(sandbox);
    const planned = plannedBooking();
    await armFault(sandbox, { service: 'lambda', operation: 'runFallback', error: 'Runtime.ExitError', times: 0, match: planned.requestId });
    const booked = await book(sandbox, priority(favorite), planned.customer, planned.idempotencyKey);
    const scheduler = new SchedulerClient(awsClientConfig(sandbox));
    const { Target } = await scheduler.send(new GetScheduleCommand({ GroupName: sandbox.scheduleGroupName, Name: `fallback-${booked.request_id}` }));
    scheduler.destroy();
    expect(booked.request_id).toBe(planned.requestId);
    await favorite.waitFor('priority_session_request', booked.request_id);
    const dlqArn = Target!.DeadLetterConfig!.Arn!;

    // Act: the window ends; every run fails until Lambda gives up
    // `count` is the DLQ's depth: in AWS, the ApproximateNumberOfMessagesVisible the stack's DLQ alarm watches.
    const dead = await eventually(
      async () => {
        const letters = await deadLetters(sandbox);
        return letters.count > 0 && letters;
      },
      'a dead letter',
      60_000,
    );

    // Assert
    expect(Target!.RetryPolicy).toEqual(FALLBACK_RETRY_POLICY);
    expect(dlqArn).toMatch(/^arn:aws:sqs:[a-z0-9-]+:\d{12}:.+-fallback-dlq$/);
    expect(dead.count).toBe(1);
    expect(dead.dead_letters[0]).toMatchObject({
      destination_arn: dlqArn,
      record: {
        version: '1.0',
        requestContext: {
          functionArn: expect.stringMatching(/:function:priority-dispatch-[a-z0-9-]+-runFallback:\$LATEST$/),
          condition: 'RetriesExhausted',
          approximateInvokeCount: 3,
        },
        requestPayload: { request_id: booked.request_id },
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        responsePayload: { errorType: 'Runtime.ExitError' },
      },
    });
    expect(sandbox.logs.some((line) => line.includes('lambda: runFallback failed 3 times; event sent to') && line.includes(dlqArn))).toBe(true);
    expect(await schedulesOf(sandbox, booked.request_id), 'ActionAfterCompletion DELETE applies once the invoke was accepted').toEqual([]);
    expect((await faultState(sandbox)).faults[0]!.hits, 'the first run and two retries, no more').toBe(3);
    await roundTrip(other);
    expect(other.of('new_request', booked.request_id), 'the fault really kept the fallback from running').toEqual([]);
  });

  it('DynamoDB throttling PutItem twice → the SDK retries and the booking succeeds with one session and one request', async () => {
    // Arrange
    const listener = await connected(sandbox);
    const customer = `cust-${randomUUID().slice(0, 8)}`;
    const before = (await faultState(sandbox)).injected;
    await armFault(sandbox, { service: 'dynamodb', operation: 'PutItem', error: 'ProvisionedThroughputExceededException', times: 2 });

    // Act
    const booked = await book(sandbox, {}, customer);

    // Assert
    expect((await faultState(sandbox)).injected - before).toBe(2);
    expect(await itemsOfCustomer(sandbox, customer)).toEqual({ sessions: [`SESSION#${booked.session_id}`], requests: [`REQUEST#${booked.request_id}`] });
    expect(await listener.waitFor('new_request', booked.request_id)).toMatchObject({ reason: 'broadcast' });
  });

  it('DynamoDB failing until cleared → 500 internal_error and nothing half-written; the same Idempotency-Key after clearing completes it once', async () => {
    // Arrange
    const listener = await connected(sandbox);
    const customer = `cust-${randomUUID().slice(0, 8)}`;
    const token = await sandbox.token({ sub: customer });
    const idempotencyKey = `retry-${randomUUID()}`;
    const attempt = () =>
      api<{ session_id?: string; request_id?: string; error?: { code: string } }>(sandbox, 'POST', '/intake/start', {
        token,
        headers: { 'Idempotency-Key': idempotencyKey },
        body: { plan: 'free', concern: 'Battery dies overnight' },
      });
    await armFault(sandbox, { service: 'dynamodb', operation: 'PutItem', error: 'ProvisionedThroughputExceededException', times: 0 });

    // Act
    const failed = await attempt();
    const whileFailing = await itemsOfCustomer(sandbox, customer);
    await clearFaults(sandbox);
    const retried = await attempt();

    // Assert
    expect(failed).toEqual({ status: 500, body: { error: { code: 'internal_error', message: expect.any(String) } } });
    expect(whileFailing).toEqual({ sessions: [], requests: [] });
    expect(retried.status).toBe(201);
    expect(await itemsOfCustomer(sandbox, customer)).toEqual({
      sessions: [`SESSION#${retried.body.session_id}`],
      requests: [`REQUEST#${retried.body.request_id}`],
    });
    await listener.waitFor('new_request', retried.body.request_id);
    await roundTrip(listener);
    expect(listener.of('new_request', retried.body.request_id)).toHaveLength(1);
  });

  it('a booking that fails after its session is stored (GetItem failing) → 500; the same Idempotency-Key finishes the routing, once', async () => {
    // Arrange: intake stores the session (PutItem), then reads the request back (GetItem) before creating it
    const listener = await connected(sandbox);
    const customer = `cust-${randomUUID().slice(0, 8)}`;
    const token = await sandbox.token({ sub: customer });
    const idempotencyKey = `half-${randomUUID()}`;
    const attempt = () =>
      api<{ session_id?: string; request_id?: string }>(sandbox, 'POST', '/intake/start', {
        token,
        headers: { 'Idempotency-Key': idempotencyKey },
        body: { plan: 'free', concern: 'Steering pulls left' },
      });
    await armFault(sandbox, { service: 'dynamodb', operation: 'GetItem', error: 'InternalServerError', times: 0 });

    // Act
    const failed = await attempt();
    const whileFailing = await itemsOfCustomer(sandbox, customer);
    await clearFaults(sandbox);
    const retried = await attempt();

    // Assert: the retry re-enters the routing the first attempt never reached
    expect(failed.status).toBe(500);
    expect(whileFailing.sessions).toHaveLength(1);
    expect(whileFailing.requests).toEqual([]);
    expect(retried.status).toBe(201);
    expect(await itemsOfCustomer(sandbox, customer)).toEqual({ sessions: whileFailing.sessions, requests: [`REQUEST#${retried.body.request_id}`] });
    await listener.waitFor('new_request', retried.body.request_id);
    await roundTrip(listener);
    expect(listener.of('new_request', retried.body.request_id)).toHaveLength(1);
  });

  it('a checkout whose request write fails → 500; repeated after clearing, it creates the one request and routes it once', async () => {
    // Arrange: the paid session exists; then PutItem starts failing (the request item is the checkout's only PutItem)
    const listener = await connected(sandbox);
    const customer = `cust-${randomUUID().slice(0, 8)}`;
    const token = await sandbox.token({ sub: customer });
    const intake = await api<{ session_id: string }>(sandbox, 'POST', '/intake/start', { token, body: { plan: 'paid', concern: 'Noisy timing belt' } });
    expect(intake.status).toBe(201);
    const checkout = () => api<{ request_id?: string }>(sandbox, 'POST', `/sessions/${intake.body.session_id}/checkout/complete`, { token });
    await armFault(sandbox, { service: 'dynamodb', operation: 'PutItem', error: 'InternalServerError', times: 0 });

    // Act
    const failed = await checkout();
    const whileFailing = await itemsOfCustomer(sandbox, customer);
    await clearFaults(sandbox);
    const retried = await checkout();

    // Assert
    expect(failed.status).toBe(500);
    expect(whileFailing).toEqual({ sessions: [`SESSION#${intake.body.session_id}`], requests: [] });
    expect(retried.status).toBe(200);
    expect(await itemsOfCustomer(sandbox, customer)).toEqual({
      sessions: [`SESSION#${intake.body.session_id}`],
      requests: [`REQUEST#${retried.body.request_id}`],
    });
    await listener.waitFor('new_request', retried.body.request_id);
    await roundTrip(listener);
    expect(listener.of('new_request', retried.body.request_id)).toHaveLength(1);
  });
});
