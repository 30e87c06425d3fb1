/**
 * Issue #4, reliability: what the flow does when an AWS dependency fails.
 * Faults are armed through the sandbox's `POST /dev/faults`, which answers in
 * AWS's own error shapes, so the real SDK clients inside the handlers react as
 * they would in AWS (retries, exception classes). Each test arms, acts, asserts
 * the customer-visible and audit-visible outcome, and the faults are cleared
 * after every test whatever happens. Polls, never fixed sleeps for outcomes.
 */
import { randomUUID } from 'node:crypto';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TIMER_RETRY_POLICY } from '../../lambdas/adapters/eventbridge-request-timer';
import type { LambdaDeadLetter } from '../../sandbox/lambda-async';
import type { Sandbox, SandboxOptions } from '../../sandbox/index';
import {
  api,
  armFault,
  awsClientConfig,
  bookingsOfCustomer,
  clearFaults,
  connectionIdsOf,
  deadLetters,
  eventsOf,
  eventually,
  fannedOut,
  faultState,
  logLines,
  MechanicClient,
  plannedBooking,
  registerMechanic,
  roundTrip,
  type SessionView,
  sessionView as viewOf,
  startTestSandbox,
  timerOf,
  timerName,
  timerSchedule,
} from './clients';

/** Long enough that a timer can still be read back right after its booking on a busy machine; short enough to wait out. */
const WINDOW_SECONDS = 5;
const FLAG_TTL_SECONDS = 1;
/** Lambda's waits before its two async retries (AWS: about 1 and 2 minutes). */
const ASYNC_RETRY_DELAYS_MS = [500, 500];
/** When the timer finishes a routing an invocation left undone. */
const RECOVERY_DELAY_SECONDS = 3;

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

/** Three connected mechanics, pushes to the first one's connection answered by `@connections` with this fault. */
async function unluckyAmongOthers(sandbox: Sandbox, fault: { error: string; status: number; times: number }) {
  const unlucky = await connected(sandbox);
  const others = [await connected(sandbox), await connected(sandbox)];
  const [unluckyConnection] = await eventually(async () => {
    const ids = await connectionIdsOf(sandbox, unlucky.mechanicId);
    return ids.length === 1 && ids;
  }, 'the connection item of the unlucky mechanic');
  await armFault(sandbox, { service: 'connections', operation: 'PostToConnection', ...fault, match: unluckyConnection });
  return { unlucky, unluckyConnection: unluckyConnection!, others };
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

const priority = (favorite: MechanicClient) => ({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' });

const sessionView = (sandbox: Sandbox, customer: string, sessionId: string): Promise<SessionView> => viewOf(sandbox, customer, sessionId);

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

/**
 * The `Push to a connection failed` warnings about one connection, once there are at least `count`: a container's
 * log lines reach the sandbox through its worker's stdout, which may trail the invocation's other messages.
 */
const pushWarnings = (sandbox: Sandbox, connectionId: string, count: number) =>
  eventually(() => {
    const lines = logLines(sandbox, 'Push to a connection failed').filter((l) => l.connection_id === connectionId);
    return lines.length >= count && lines;
  }, `${count} push warning(s) about ${connectionId}`);

const forRequest = (sandbox: Sandbox, prefix: string, requestId: string) => logLines(sandbox, prefix).filter((line) => line.request_id === requestId);

/** Lambda's on-failure records in the DLQ about one request. */
const lambdaDeadLettersOf = async (sandbox: Sandbox, requestId: string): Promise<LambdaDeadLetter[]> =>
  (await deadLetters(sandbox)).dead_letters.filter(
    (d): d is LambdaDeadLetter => 'record' in d && (d.record.requestPayload as { request_id?: string }).request_id === requestId,
  );

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
    const view = await sessionView(sandbox, booked.customer, booked.session_id);
    expect(view.request).toMatchObject({ routing: 'broadcast', status: 'pending', state: 'open', expires_at: null });
    // No window: its timer waits for the open request's expiry.
    expect((await timerSchedule(sandbox, booked.request_id)).input.due_at).toBe(view.request!.open_until);
    expect((await faultState(sandbox)).faults[0]!.hits).toBeGreaterThanOrEqual(1);
  });
});

// ---- the other services -------------------------------------------------------------------------

describe('faults in DynamoDB, the scheduler, Lambda, @connections and the timer function', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    // 2 ms doubling per attempt (capped at 60 s, far above): a schedule's 10 invoke retries take ~2 s here instead of an hour.
    sandbox = await start({ retryBaseDelayMs: 2, asyncRetryDelaysMs: ASYNC_RETRY_DELAYS_MS });
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

  it('scheduler CreateSchedule failing → intake answers 500 before writing anything (never a booking without its timer); the same Idempotency-Key after clearing books it once', async () => {
    // Arrange: the timer is armed before the booking is written; its CreateSchedule fails (the SDK retries a 500: until cleared)
    const listener = await connected(sandbox);
    const planned = plannedBooking();
    const token = await sandbox.token({ sub: planned.customer });
    const intake = () =>
      api<{ session_id?: string; request_id?: string; error?: { code: string } }>(sandbox, 'POST', '/intake/start', {
        token,
        headers: { 'Idempotency-Key': planned.idempotencyKey },
        body: { plan: 'free', concern: 'Timer cannot be set' },
      });
    await armFault(sandbox, { service: 'scheduler', operation: 'CreateSchedule', error: 'InternalServerException', times: 0, match: planned.requestId });

    // Act
    const failed = await intake();
    const whileFailing = await bookingsOfCustomer(sandbox, planned.customer);
    const hits = (await faultState(sandbox)).faults[0]!.hits;
    await clearFaults(sandbox);
    const retried = await intake();

    // Assert: nothing stored, nobody told, until the retry
    expect(failed).toEqual({ status: 500, body: { error: { code: 'internal_error', message: expect.any(String) } } });
    expect(hits, "the SDK's own retries of a 500").toBeGreaterThanOrEqual(1);
    expect(whileFailing).toEqual([]);
    expect(retried.status).toBe(201);
    expect(retried.body).toMatchObject({ session_id: planned.sessionId, request_id: planned.requestId, status: 'fulfilled' });
    expect(await bookingsOfCustomer(sandbox, planned.customer)).toEqual([`BOOKING#${planned.sessionId}`]);
    expect(await timerOf(sandbox, planned.requestId)).toEqual([timerName(planned.requestId)]);
    await fannedOut(sandbox, planned.requestId, 'new_request', 1);
    await roundTrip(listener);
    expect(listener.of('new_request', planned.requestId)).toHaveLength(1);
  });

  it("a push failing through its retries → that shard's fan-out invocation fails and Lambda's retry delivers it; nobody else's push is lost", async () => {
    // Arrange: API Gateway throttles the unlucky connection's three pushes of one fan-out run (429: worth retrying)
    const { unlucky, unluckyConnection, others } = await unluckyAmongOthers(sandbox, { error: 'LimitExceededException', status: 429, times: 3 });

    // Act
    const booked = await book(sandbox);

    // Assert: the others at once; the unlucky one through Lambda's retry of its shard's invocation
    for (const other of others) expect(await other.waitFor('new_request', booked.request_id)).toMatchObject({ reason: 'broadcast' });
    expect(await unlucky.waitFor('new_request', booked.request_id)).toMatchObject({ reason: 'broadcast' });
    const warnings = await pushWarnings(sandbox, unluckyConnection, 1);
    expect(warnings).toEqual([expect.objectContaining({ level: 'WARN', mechanic_id: unlucky.mechanicId, message_type: 'new_request', attempts: 3 })]);
    expect(sandbox.logs.some((line) => line.includes('lambda: fanOut failed (attempt 1 of 3), retried in'))).toBe(true);
    expect((await faultState(sandbox)).faults, 'all three refusals were used').toEqual([]);
    const failedRuns = sandbox.invocations().filter((i) => i.function === 'fanOut' && i.requestId === booked.request_id && !i.ok);
    expect(failedRuns).toHaveLength(1);
    await fannedOut(sandbox, booked.request_id, 'new_request', others.length + 1);
    await roundTrip(unlucky);
    expect(unlucky.of('new_request', booked.request_id)).toHaveLength(1);
    expect(await connectionIdsOf(sandbox, unlucky.mechanicId), 'a failed push is not a gone connection: it stays').toEqual([unluckyConnection]);
    expect(await lambdaDeadLettersOf(sandbox, booked.request_id)).toEqual([]);
    const view = await sessionView(sandbox, booked.customer, booked.session_id);
    expect(eventsOf(view, 'broadcast_sent')).toHaveLength(1);
  });

  it("a push failing every time → that shard's fan-out runs 3 times, then one dead letter; every other mechanic is told", async () => {
    // Arrange
    const { unlucky, unluckyConnection, others } = await unluckyAmongOthers(sandbox, { error: 'ForbiddenException', status: 403, times: 0 });

    // Act
    const booked = await book(sandbox);

    // Assert
    for (const other of others) expect(await other.waitFor('new_request', booked.request_id)).toMatchObject({ reason: 'broadcast' });
    const [dead] = await eventually(
      async () => {
        const letters = await lambdaDeadLettersOf(sandbox, booked.request_id);
        return letters.length > 0 && letters;
      },
      "the shard's dead letter",
      60_000,
    );
    expect(dead!.record).toMatchObject({
      requestContext: { functionArn: expect.stringMatching(/-fanOut:\$LATEST$/), condition: 'RetriesExhausted', approximateInvokeCount: 3 },
      requestPayload: { request_id: booked.request_id, audience: { kind: 'shard' }, message: { type: 'new_request', request_id: booked.request_id } },
    });
    expect(await pushWarnings(sandbox, unluckyConnection, 3)).toHaveLength(3);
    await clearFaults(sandbox);
    await roundTrip(unlucky);
    expect(unlucky.of('new_request', booked.request_id), 'the one mechanic the DLQ holds a delivery for').toEqual([]);
    expect(await connectionIdsOf(sandbox, unlucky.mechanicId)).toEqual([unluckyConnection]);
  });

  it("the timer function throwing once → Lambda's async retry runs it again and the fallback happens, once, with no dead letter", async () => {
    // Arrange
    const favorite = await connected(sandbox);
    const other = await connected(sandbox);
    const planned = plannedBooking();
    await armFault(sandbox, { service: 'lambda', operation: 'requestTimer', error: 'Runtime.ExitError', times: 1, match: planned.requestId });
    const booked = await book(sandbox, priority(favorite), planned.customer, planned.idempotencyKey);
    expect(booked.request_id).toBe(planned.requestId);
    const offer = await favorite.waitFor('priority_session_request', booked.request_id);

    // Act: the timer fires for the window's end
    const fallback = await other.waitFor('new_request', booked.request_id, (WINDOW_SECONDS + 30) * 1000);

    // Assert: Scheduler invoked once (accepted asynchronously); Lambda retried the failed run
    expect(fallback).toMatchObject({ reason: 'fallback' });
    expect(other.receivedAt(fallback)).toBeGreaterThanOrEqual(Date.parse(String(offer.expires_at)));
    expect(await favorite.waitFor('new_request', booked.request_id)).toMatchObject({ reason: 'fallback' });
    const schedule = `${sandbox.scheduleGroupName}/${timerName(booked.request_id)}`;
    expect(sandbox.logs.filter((line) => line.includes(`scheduler: fired ${schedule} `))).toHaveLength(1);
    expect(sandbox.logs.some((line) => line.includes('lambda: requestTimer failed (attempt 1 of 3), retried in'))).toBe(true);
    expect((await faultState(sandbox)).faults, 'the one-shot fault was used').toEqual([]);
    const view = await withEvent(sandbox, booked, 'broadcast_sent');
    expect(eventsOf(view, 'fallback_started')).toHaveLength(1);
    expect(eventsOf(view, 'broadcast_sent')).toEqual([expect.objectContaining({ reason: 'fallback' })]);
    await fannedOut(sandbox, booked.request_id, 'new_request', 2);
    await roundTrip(other);
    expect(other.of('new_request', booked.request_id)).toHaveLength(1);
    expect(await lambdaDeadLettersOf(sandbox, booked.request_id)).toEqual([]);
  });

  it("the timer function throwing every time → exactly 3 invocations (Lambda's 2 async retries), then one on-failure record of AWS's shape; replaying it runs the fallback", async () => {
    // Arrange
    const favorite = await connected(sandbox);
    const other = await connected(sandbox);
    const planned = plannedBooking();
    const logsBefore = sandbox.logs.length;
    await armFault(sandbox, { service: 'lambda', operation: 'requestTimer', error: 'Boom', times: 0, match: planned.requestId });
    const booked = await book(sandbox, priority(favorite), planned.customer, planned.idempotencyKey);
    expect(booked.request_id).toBe(planned.requestId);
    const offer = await favorite.waitFor('priority_session_request', booked.request_id);
    const timer = await timerSchedule(sandbox, booked.request_id);
    const dlqArn = timer.schedule.Target!.DeadLetterConfig!.Arn!;

    // Act: the window ends; every run fails until Lambda gives up
    // `count` is the DLQ's depth: in AWS, the ApproximateNumberOfMessagesVisible the stack's DLQ alarm watches.
    const [dead] = await eventually(
      async () => {
        const letters = await lambdaDeadLettersOf(sandbox, booked.request_id);
        return letters.length > 0 && letters;
      },
      'a dead letter',
      (WINDOW_SECONDS + 60) * 1000,
    );

    // Assert: three invocations, by the sandbox's own lines
    const lines = sandbox.logs.slice(logsBefore);
    expect(lines.filter((l) => l.includes('faults: lambda requestTimer answered Boom'))).toHaveLength(3);
    expect(lines.filter((l) => /lambda: requestTimer failed \(attempt [12] of 3\), retried in 500 ms/.test(l))).toHaveLength(2);
    expect(lines.filter((l) => l.includes('lambda: requestTimer failed 3 times; event sent to') && l.includes(dlqArn))).toHaveLength(1);
    expect((await faultState(sandbox)).faults[0]!.hits, 'the first run and two retries, no more').toBe(3);
    // Assert: one record of AWS's shape
    expect(timer.schedule.Target!.RetryPolicy).toEqual(TIMER_RETRY_POLICY);
    expect(dlqArn).toMatch(/^arn:aws:sqs:[a-z0-9-]+:\d{12}:.+$/);
    expect(await lambdaDeadLettersOf(sandbox, booked.request_id)).toHaveLength(1);
    expect(dead).toMatchObject({
      destination_arn: dlqArn,
      record: {
        version: '1.0',
        timestamp: expect.any(String),
        requestContext: {
          requestId: expect.any(String),
          functionArn: expect.stringMatching(/:function:priority-dispatch-[a-z0-9-]+-requestTimer:\$LATEST$/),
          condition: 'RetriesExhausted',
          approximateInvokeCount: 3,
        },
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        responsePayload: { errorType: 'Boom', errorMessage: 'Injected fault: Boom' },
      },
    });
    expect(dead!.record.requestPayload).toEqual({ request_id: booked.request_id, due_at: offer.expires_at });
    // The known gap: until the record is replayed nobody else hears of the request (it stays with the silent favorite).
    await roundTrip(other);
    expect(other.of('new_request', booked.request_id)).toEqual([]);
    expect((await sessionView(sandbox, booked.customer, booked.session_id)).request).toMatchObject({ state: 'offered', status: 'pending' });

    // Act + Assert: the runbook — replay the record's payload through Lambda's Invoke API (as `aws lambda invoke` would)
    await clearFaults(sandbox);
    const lambda = new LambdaClient(awsClientConfig(sandbox));
    const replay = await lambda.send(
      new InvokeCommand({
        FunctionName: dead!.record.requestContext.functionArn,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(dead!.record.requestPayload)),
      }),
    );
    lambda.destroy();
    expect(replay.StatusCode).toBe(202);
    expect(await other.waitFor('new_request', booked.request_id)).toMatchObject({ reason: 'fallback' });
  });

  it('DynamoDB throttling PutItem twice → the SDK retries and the booking succeeds with one booking item', async () => {
    // Arrange
    const listener = await connected(sandbox);
    const customer = `cust-${randomUUID().slice(0, 8)}`;
    const before = (await faultState(sandbox)).injected;
    await armFault(sandbox, { service: 'dynamodb', operation: 'PutItem', error: 'ProvisionedThroughputExceededException', times: 2 });

    // Act
    const booked = await book(sandbox, {}, customer);

    // Assert
    expect((await faultState(sandbox)).injected - before).toBe(2);
    expect(await bookingsOfCustomer(sandbox, customer)).toEqual([`BOOKING#${booked.session_id}`]);
    expect(await listener.waitFor('new_request', booked.request_id)).toMatchObject({ reason: 'broadcast' });
  });

  it('DynamoDB failing until cleared → 500 internal_error and no booking; the same Idempotency-Key after clearing completes it once', async () => {
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
    const whileFailing = await bookingsOfCustomer(sandbox, customer);
    await clearFaults(sandbox);
    const retried = await attempt();

    // Assert
    expect(failed).toEqual({ status: 500, body: { error: { code: 'internal_error', message: expect.any(String) } } });
    expect(whileFailing).toEqual([]);
    expect(retried.status).toBe(201);
    expect(await bookingsOfCustomer(sandbox, customer)).toEqual([`BOOKING#${retried.body.session_id}`]);
    await fannedOut(sandbox, retried.body.request_id!, 'new_request', 1);
    await roundTrip(listener);
    expect(listener.of('new_request', retried.body.request_id)).toHaveLength(1);
    const view = await sessionView(sandbox, customer, retried.body.session_id!);
    expect(eventsOf(view, 'created')).toHaveLength(1);
    expect(eventsOf(view, 'broadcast_sent')).toHaveLength(1);
  });

  it("an intake that fails after its booking is stored (the fan-out's Invoke failing) → 500; a retry at once answers 201 and the timer finishes the routing, once", async () => {
    // Arrange: its own sandbox, whose timer finishes an undone routing after a few seconds; the booking is written,
    // then handing new_request to the fan-out fails (Lambda answering 500; the SDK retries, in vain)
    const sandbox = await start({ recoveryDelaySeconds: RECOVERY_DELAY_SECONDS });
    const listener = await connected(sandbox);
    const planned = plannedBooking();
    const token = await sandbox.token({ sub: planned.customer });
    const attempt = () =>
      api<{ session_id?: string; request_id?: string }>(sandbox, 'POST', '/intake/start', {
        token,
        headers: { 'Idempotency-Key': planned.idempotencyKey },
        body: { plan: 'free', concern: 'Steering pulls left' },
      });
    await armFault(sandbox, { service: 'lambda-api', operation: 'Invoke', error: 'ServiceException', times: 0, match: planned.requestId });

    // Act
    const failed = await attempt();
    const whileFailing = await sessionView(sandbox, planned.customer, planned.sessionId);
    await clearFaults(sandbox);
    const retried = await attempt();

    // Assert: the retry, as young as the routing (its first attempt might still be at it), leaves it to the timer
    expect(failed.status).toBe(500);
    expect(whileFailing.request).toMatchObject({ state: 'routing', status: 'pending' });
    expect(retried).toEqual({ status: 201, body: { session_id: planned.sessionId, status: 'fulfilled', request_id: planned.requestId } });
    expect(listener.of('new_request', planned.requestId)).toEqual([]);
    expect(await bookingsOfCustomer(sandbox, planned.customer)).toEqual([`BOOKING#${planned.sessionId}`]);
    await fannedOut(sandbox, planned.requestId, 'new_request', 1);
    await roundTrip(listener);
    expect(listener.of('new_request', planned.requestId)).toHaveLength(1);
    const view = await sessionView(sandbox, planned.customer, planned.sessionId);
    expect(view.request).toMatchObject({ state: 'open' });
    expect(eventsOf(view, 'broadcast_sent')).toHaveLength(1);
  });

  it('a checkout whose write fails → 500 and the booking still awaits checkout; repeated after clearing, it routes once', async () => {
    // Arrange: the paid booking exists; then UpdateItem starts failing (checkout_completed is the checkout's one UpdateItem before routing)
    const listener = await connected(sandbox);
    const customer = `cust-${randomUUID().slice(0, 8)}`;
    const token = await sandbox.token({ sub: customer });
    const intake = await api<{ session_id: string }>(sandbox, 'POST', '/intake/start', { token, body: { plan: 'paid', concern: 'Noisy timing belt' } });
    expect(intake.status).toBe(201);
    const checkout = () => api<{ request_id?: string }>(sandbox, 'POST', `/sessions/${intake.body.session_id}/checkout/complete`, { token });
    await armFault(sandbox, { service: 'dynamodb', operation: 'UpdateItem', error: 'InternalServerError', times: 0 });

    // Act
    const failed = await checkout();
    await clearFaults(sandbox);
    const whileFailing = await sessionView(sandbox, customer, intake.body.session_id);
    const retried = await checkout();

    // Assert
    expect(failed.status).toBe(500);
    expect(whileFailing).toMatchObject({ status: 'awaiting_checkout', request: null });
    expect(retried.status).toBe(200);
    expect(await bookingsOfCustomer(sandbox, customer)).toEqual([`BOOKING#${intake.body.session_id}`]);
    await fannedOut(sandbox, retried.body.request_id!, 'new_request', 1);
    await roundTrip(listener);
    expect(listener.of('new_request', retried.body.request_id)).toHaveLength(1);
    const view = await sessionView(sandbox, customer, intake.body.session_id);
    expect(view).toMatchObject({ status: 'fulfilled', request: { state: 'open', routing: 'broadcast' } });
    expect(eventsOf(view, 'created')).toHaveLength(1);
  });
});
