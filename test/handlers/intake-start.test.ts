/**
 * POST /intake/start through the handler, with API Gateway's payload v2.0
 * event, on a dynalite table. A broadcast leaves the request path: the
 * handler answers once it has handed ONE event to the fan-out function
 * (Lambda's asynchronous invocation), which then pushes to everyone. Every
 * refusal leaves the table, the timers and the fan-out untouched.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CONNECTION_SHARDS } from '../../contract/table-schema';
import { SCHEDULER_PRECISION_SECONDS, TIMER_RETRY_POLICY } from '../../lambdas/adapters/eventbridge-request-timer';
import { lambdaContext } from '../../sandbox/lambda-context';
import { httpEvent, httpEventWithoutSub, responseOf, type HttpEventOptions } from '../support/handler-events';
import {
  type AwsWires,
  bookingKeys,
  captureLogs,
  DEAD_LETTER_QUEUE_ARN,
  newCustomerId,
  PRIORITY_WINDOW_SECONDS,
  readBooking,
  REQUEST_TTL_SECONDS,
  SCHEDULE_GROUP,
  SCHEDULER_ROLE_ARN,
  TIMER_FUNCTION_ARN,
  useHandlerEnv,
} from '../support/handler-env';
import type { TestTable } from '../support/table';
import { handler as intakeStart } from '../../lambdas/handlers/intake-start';

let wires: AwsWires;
const logs = captureLogs();
let table: TestTable;
let mechanic: { mechanicId: string; connectionIds: string[] };

useHandlerEnv(
  async (env) => {
    ({ table, wires } = env);
    mechanic = await wires.addMechanic();
  },
  { logs },
);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const intake = (sub: string | null, body: unknown, extra: Partial<HttpEventOptions> = {}) =>
  intakeStart(httpEvent({ method: 'POST', route: '/intake/start', sub, body, ...extra }));

/** The contract's error body, exactly `{"error":{"code","message"}}`. */
function expectContractError(response: { status: number; body: any; contentType: unknown }, status: number, code: string): string {
  expect(response.status).toBe(status);
  expect(response.contentType).toBe('application/json');
  expect(Object.keys(response.body)).toEqual(['error']);
  expect(Object.keys(response.body.error).sort()).toEqual(['code', 'message']);
  expect(response.body.error.code).toBe(code);
  expect(typeof response.body.error.message).toBe('string');
  expect(response.body.error.message.length).toBeGreaterThan(0);
  return response.body.error.message as string;
}

/** The Event invocations of the fan-out that carry this request's message to everyone (the hand-overs, not the shard splits). */
const handOvers = (requestId: string) =>
  wires
    .invocations()
    .filter((i) => i.function === 'fanOut' && (i.payload as { request_id: string; audience: { kind: string } }).request_id === requestId)
    .filter((i) => (i.payload as { audience: { kind: string } }).audience.kind === 'everyone');

/** The `at()` expression a timer due at `due` is stored with: a minute early, for Scheduler's 60 s precision. */
const atMinuteBefore = (due: string) => `at(${new Date(Date.parse(due) - SCHEDULER_PRECISION_SECONDS * 1000).toISOString().slice(0, 19)})`;

describe('accepted bookings', () => {
  it('free plan → 201 fulfilled, answered after handing ONE event to the fan-out, before anyone is pushed', async () => {
    // Arrange: Lambda keeps the queued event (it has not picked it up yet)
    const customer = newCustomerId();
    wires.holdAsync();

    // Act
    const response = responseOf(await intake(customer, { plan: 'free', concern: 'Brakes squeal', vehicle: { make: 'VW', model: 'Golf', year: 2012 } }));

    // Assert: the answer, with the request open and exactly one event queued for the fan-out — and nobody pushed yet
    expect(response.status).toBe(201);
    expect(response.contentType).toBe('application/json');
    expect(response.body).toEqual({ session_id: expect.stringMatching(UUID), status: 'fulfilled', request_id: `req-${response.body.session_id}` });
    const newRequest = {
      type: 'new_request',
      request_id: response.body.request_id,
      session_id: response.body.session_id,
      reason: 'broadcast',
      // Until the request expires open: the time stored, and the timer's.
      expires_at: (await readBooking(table, response.body.session_id))!.open_until,
      concern: 'Brakes squeal',
      vehicle: { make: 'VW', model: 'Golf', year: 2012 },
    };
    expect(wires.invocations()).toEqual([
      expect.objectContaining({
        function: 'fanOut',
        payload: { request_id: response.body.request_id, audience: { kind: 'everyone' }, message: newRequest },
        runs: 0,
        outcome: 'queued',
      }),
    ]);
    expect(await wires.pushed()).toEqual([]);
    const booking = await readBooking(table, response.body.session_id);
    expect(booking).toMatchObject({
      state: 'open',
      routing: 'broadcast',
      route_to: 'everyone',
      audience: 'everyone',
      customer_id: customer,
      concern: 'Brakes squeal',
      open_until: expect.any(String),
    });
    expect(logs.lines.map((l) => l.message)).toContain('[fulfillment] Broadcast routing to all mechanics');

    // Act: Lambda runs the fan-out, which splits everyone into one invocation per connection shard
    wires.releaseAsync();

    // Assert
    expect(await wires.pushedTo(mechanic.connectionIds[0]!)).toEqual([newRequest]);
    const shards = wires.invocations().filter((i) => (i.payload as { audience: { kind: string } }).audience.kind === 'shard');
    expect(shards.map((i) => (i.payload as { audience: { shard: number } }).audience.shard).sort((a, b) => a - b)).toEqual(
      Array.from({ length: CONNECTION_SHARDS }, (_, shard) => shard),
    );
    expect(shards.every((i) => i.function === 'fanOut' && i.outcome === 'succeeded')).toBe(true);
    expect(handOvers(response.body.request_id)).toHaveLength(1);
  });

  it("arms the request's one timer for its expiry, with the target the stack configured", async () => {
    // Act
    const response = responseOf(await intake(newCustomerId(), { plan: 'free', concern: 'Timer' }));

    // Assert
    const booking = (await readBooking(table, response.body.session_id))!;
    expect(Date.parse(booking.open_until!) - Date.parse(booking.events.at(-1)!.at)).toBe(REQUEST_TTL_SECONDS * 1000);
    expect(await wires.schedulesCreated()).toEqual([
      expect.objectContaining({
        Name: `timer-${response.body.request_id}`,
        GroupName: SCHEDULE_GROUP,
        State: 'ENABLED',
        ScheduleExpression: atMinuteBefore(booking.open_until!),
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'NONE',
        Target: expect.objectContaining({
          Arn: TIMER_FUNCTION_ARN,
          RoleArn: SCHEDULER_ROLE_ARN,
          DeadLetterConfig: { Arn: DEAD_LETTER_QUEUE_ARN },
          Input: JSON.stringify({ request_id: response.body.request_id, due_at: booking.open_until }),
          RetryPolicy: TIMER_RETRY_POLICY,
        }),
      }),
    ]);
  });

  it.each(['trial', 'credit'])('%s plan → 201 fulfilled', async (plan) => {
    // Act
    const response = responseOf(await intake(newCustomerId(), { plan, concern: 'Noise' }));

    // Assert
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ status: 'fulfilled', request_id: `req-${response.body.session_id}` });
    expect(handOvers(response.body.request_id)).toHaveLength(1);
  });

  it('paid plan → 201 awaiting_checkout: one booking item, no timer, nothing handed over or pushed', async () => {
    // Arrange
    const before = await bookingKeys(table);

    // Act
    const response = responseOf(await intake(newCustomerId(), { plan: 'paid', concern: 'Gearbox' }));

    // Assert
    expect(response.status).toBe(201);
    expect(response.body).toEqual({ session_id: expect.stringMatching(UUID), status: 'awaiting_checkout' });
    expect(await bookingKeys(table)).toEqual([...before, `BOOKING#${response.body.session_id}`].sort());
    expect(await readBooking(table, response.body.session_id)).toMatchObject({ state: 'awaiting_checkout', routing: null, audience: null });
    expect(await wires.schedulesCreated()).toEqual([]);
    expect(wires.invocations()).toEqual([]);
    expect(await wires.pushed()).toEqual([]);
  });

  it('a base64-encoded body works', async () => {
    // Act
    const response = responseOf(await intake(newCustomerId(), { plan: 'free', concern: 'Ölwechsel – base64' }, { base64: true }));

    // Assert
    expect(response.status).toBe(201);
    expect((await readBooking(table, response.body.session_id))?.concern).toBe('Ölwechsel – base64');
  });

  it('keeps the favorite context in the session and ignores unknown extra fields', async () => {
    // Arrange
    const customer = newCustomerId();

    // Act
    const response = responseOf(
      await intake(customer, { plan: 'free', concern: 'x', preferred_mechanic_id: mechanic.mechanicId, routing_type: 'broadcast', client_build: 812 }),
    );

    // Assert
    expect(response.status).toBe(201);
    const { handler: getSession } = await import('../../lambdas/handlers/get-session');
    const view = responseOf(await getSession(httpEvent({ method: 'GET', route: '/sessions/{id}', id: response.body.session_id, sub: customer })));
    expect(view.body.metadata).toEqual({ preferred_mechanic_id: mechanic.mechanicId, routing_type: 'broadcast' });
    expect(view.body).not.toHaveProperty('client_build');
  });
});

describe('the favorite and the flag', () => {
  it('flag off: a priority booking is handed to the fan-out for everyone at once, with no [Priority] line', async () => {
    // Arrange
    await wires.setFlag('false');
    const favorite = await wires.addMechanic();

    // Act
    const response = responseOf(
      await intake(newCustomerId(), { plan: 'free', concern: 'Flag off', preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' }),
    );

    // Assert
    expect(response.status).toBe(201);
    expect(handOvers(response.body.request_id)).toHaveLength(1);
    expect(await wires.pushedTo(favorite.connectionIds[0]!)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'broadcast' })]);
    expect(await wires.pushedTo(mechanic.connectionIds[0]!)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'broadcast' })]);
    expect(logs.lines.filter((l) => l.message.startsWith('[Priority]'))).toEqual([]);
    expect(await readBooking(table, response.body.session_id)).toMatchObject({ state: 'open', routing: 'broadcast', expires_at: null });
  });

  it('flag on: the favorite alone gets the offer, pushed inline (no fan-out), and the timer is due at the end of the window', async () => {
    // Arrange
    await wires.setFlag('true');
    const favorite = await wires.addMechanic();

    // Act
    const response = responseOf(
      await intake(newCustomerId(), { plan: 'free', concern: 'Flag on', preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' }),
    );

    // Assert
    expect(response.status).toBe(201);
    expect(wires.invocations()).toEqual([]);
    const [offer, ...more] = await wires.pushedTo(favorite.connectionIds[0]!);
    expect(more).toEqual([]);
    expect(offer).toMatchObject({ type: 'priority_session_request', request_id: response.body.request_id, window_seconds: PRIORITY_WINDOW_SECONDS });
    expect(await wires.pushedTo(mechanic.connectionIds[0]!)).toEqual([]);
    const expiresAt = offer?.type === 'priority_session_request' ? offer.expires_at : '';
    expect(await readBooking(table, response.body.session_id)).toMatchObject({
      state: 'offered',
      routing: 'priority',
      audience: `mechanic#${favorite.mechanicId}`,
      expires_at: expiresAt,
    });
    expect(await wires.schedulesCreated()).toEqual([
      expect.objectContaining({
        Name: `timer-${response.body.request_id}`,
        ScheduleExpression: atMinuteBefore(expiresAt),
        Target: expect.objectContaining({ Arn: TIMER_FUNCTION_ARN, Input: JSON.stringify({ request_id: response.body.request_id, due_at: expiresAt }) }),
      }),
    ]);
    expect(logs.lines.map((l) => l.message)).toContain('[Priority] Priority offer sent');
  });

  it('flag on, the favorite offline: handed to the fan-out for everyone with reason priority_failed', async () => {
    // Arrange
    await wires.setFlag('true');
    const offline = await wires.addMechanic({ connections: 0 });

    // Act
    const response = responseOf(
      await intake(newCustomerId(), { plan: 'free', concern: 'Offline', preferred_mechanic_id: offline.mechanicId, routing_type: 'priority_broadcast' }),
    );

    // Assert
    expect(response.status).toBe(201);
    expect(handOvers(response.body.request_id)).toEqual([
      expect.objectContaining({ payload: expect.objectContaining({ message: expect.objectContaining({ reason: 'priority_failed' }) }) }),
    ]);
    expect(await wires.pushedTo(mechanic.connectionIds[0]!)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'priority_failed' })]);
    expect(await readBooking(table, response.body.session_id)).toMatchObject({
      state: 'open',
      routing: 'priority',
      audience: 'everyone',
      request_metadata: expect.objectContaining({ fallback_reason: 'priority_failed' }),
    });
  });
});

describe('Idempotency-Key', () => {
  it('the same key twice → the same answer, one booking, one hand-over, one push', async () => {
    // Arrange
    const customer = newCustomerId();
    const key = `idem-${randomUUID()}`;
    const body = { plan: 'free', concern: 'Retry me' };

    // Act
    const first = responseOf(await intake(customer, body, { headers: { 'Idempotency-Key': key } }));
    const second = responseOf(await intake(customer, body, { headers: { 'Idempotency-Key': key } }));

    // Assert
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect((await bookingKeys(table)).filter((k) => k.includes(first.body.session_id))).toEqual([`BOOKING#${first.body.session_id}`]);
    expect(handOvers(first.body.request_id)).toHaveLength(1);
    expect((await wires.pushedTo(mechanic.connectionIds[0]!)).filter((m) => 'request_id' in m && m.request_id === first.body.request_id)).toHaveLength(1);
  });

  it('the same booking with its fields reordered and an unknown extra field is the same booking, not a 409', async () => {
    // Arrange
    const customer = newCustomerId();
    const key = `idem-${randomUUID()}`;
    const first = responseOf(
      await intake(customer, { plan: 'paid', concern: 'Same', vehicle: { make: 'VW', model: 'Golf', year: 2012 } }, { headers: { 'Idempotency-Key': key } }),
    );

    // Act: a newer client version retries with another field order and an extra field
    const retry = responseOf(
      await intake(
        customer,
        { vehicle: { year: 2012, model: 'Golf', make: 'VW' }, concern: 'Same', plan: 'paid', app_version: '2.0' },
        { headers: { 'Idempotency-Key': key } },
      ),
    );

    // Assert
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
  });

  it('two concurrent retries with the same key make one booking, opened once; the mechanic hears of it once', async () => {
    // Arrange
    const customer = newCustomerId();
    const key = `idem-${randomUUID()}`;
    const body = { plan: 'free', concern: 'Double tap' };

    // Act
    const [a, b] = (await Promise.all([0, 1].map(() => intake(customer, body, { headers: { 'Idempotency-Key': key } })))).map(responseOf);

    // Assert: the retry finding the booking routing leaves it to the attempt that began it
    expect(a!.status).toBe(201);
    expect(b!.body).toEqual(a!.body);
    const booking = (await readBooking(table, a!.body.session_id))!;
    expect(booking.state).toBe('open');
    expect(booking.events.filter((e) => e.type === 'created')).toHaveLength(1);
    expect(booking.events.filter((e) => e.type === 'broadcast_sent')).toHaveLength(1);
    const heard = (await wires.pushedTo(mechanic.connectionIds[0]!)).filter((m) => 'request_id' in m && m.request_id === a!.body.request_id);
    expect(heard.map((m) => m.type)).toEqual(['new_request']);
  });

  it('the same key from another customer is another session', async () => {
    // Arrange
    const key = `idem-${randomUUID()}`;
    const body = { plan: 'paid', concern: 'Shared key' };

    // Act
    const a = responseOf(await intake(newCustomerId(), body, { headers: { 'idempotency-key': key } }));
    const b = responseOf(await intake(newCustomerId(), body, { headers: { 'idempotency-key': key } }));

    // Assert
    expect(a.body.session_id).not.toBe(b.body.session_id);
  });

  it('the same key with a different body → 409 idempotency_key_reused, and the first booking is untouched (and left without a timer)', async () => {
    // Arrange
    const customer = newCustomerId();
    const key = `idem-${randomUUID()}`;
    const first = responseOf(await intake(customer, { plan: 'paid', concern: 'Original' }, { headers: { 'Idempotency-Key': key } }));
    const before = await bookingKeys(table);

    // Act
    const second = responseOf(await intake(customer, { plan: 'free', concern: 'Different' }, { headers: { 'Idempotency-Key': key } }));

    // Assert
    expectContractError(second, 409, 'idempotency_key_reused');
    expect(await bookingKeys(table)).toEqual(before);
    const { handler: getSession } = await import('../../lambdas/handlers/get-session');
    const view = responseOf(await getSession(httpEvent({ method: 'GET', route: '/sessions/{id}', id: first.body.session_id, sub: customer })));
    expect(view.body).toMatchObject({ plan: 'paid', concern: 'Original', status: 'awaiting_checkout', request: null });
    // The refused retry armed a recovery timer before it learned the booking exists; a booking awaiting checkout needs none.
    expect(await wires.timer(`req-${first.body.session_id}`)).toBeUndefined();
    expect(wires.invocations()).toEqual([]);
    expect(await wires.pushed()).toEqual([]);
  });
});

describe('refused requests write nothing, set no timer, hand nothing over', () => {
  const big = 'x'.repeat(16 * 1024 + 1);
  const cases: { name: string; event: () => Parameters<typeof intakeStart>[0]; status: number; code: string; names?: string[] }[] = [
    {
      name: 'malformed JSON',
      event: () => httpEvent({ method: 'POST', route: '/intake/start', sub: newCustomerId(), body: '{"plan": "free", "concern": ' }),
      status: 400,
      code: 'invalid_json',
    },
    { name: 'no body', event: () => httpEvent({ method: 'POST', route: '/intake/start', sub: newCustomerId() }), status: 400, code: 'invalid_json' },
    {
      name: 'malformed base64-encoded JSON',
      event: () => httpEvent({ method: 'POST', route: '/intake/start', sub: newCustomerId(), body: 'not json', base64: true }),
      status: 400,
      code: 'invalid_json',
    },
    {
      name: 'missing concern',
      event: () => httpEvent({ method: 'POST', route: '/intake/start', sub: newCustomerId(), body: { plan: 'free' } }),
      status: 400,
      code: 'invalid_request',
      names: ['concern'],
    },
    {
      name: 'unknown plan',
      event: () => httpEvent({ method: 'POST', route: '/intake/start', sub: newCustomerId(), body: { plan: 'platinum', concern: 'x' } }),
      status: 400,
      code: 'invalid_request',
      names: ['plan', 'free', 'trial', 'credit', 'paid'],
    },
    {
      name: 'unknown routing_type',
      event: () => httpEvent({ method: 'POST', route: '/intake/start', sub: newCustomerId(), body: { plan: 'free', concern: 'x', routing_type: 'vip' } }),
      status: 400,
      code: 'invalid_request',
      names: ['routing_type', 'broadcast', 'priority_broadcast'],
    },
    {
      name: 'vehicle.year as a string',
      event: () =>
        httpEvent({
          method: 'POST',
          route: '/intake/start',
          sub: newCustomerId(),
          body: { plan: 'free', concern: 'x', vehicle: { make: 'VW', model: 'Golf', year: '2012' } },
        }),
      status: 400,
      code: 'invalid_request',
      names: ['vehicle.year', 'expected number'],
    },
    {
      name: 'a JSON array body',
      event: () => httpEvent({ method: 'POST', route: '/intake/start', sub: newCustomerId(), body: '[{"plan":"free","concern":"x"}]' }),
      status: 400,
      code: 'invalid_request',
      names: ['body', 'expected object'],
    },
    {
      name: 'an Idempotency-Key with a space',
      event: () =>
        httpEvent({
          method: 'POST',
          route: '/intake/start',
          sub: newCustomerId(),
          body: { plan: 'free', concern: 'x' },
          headers: { 'Idempotency-Key': 'a b' },
        }),
      status: 400,
      code: 'invalid_request',
      names: ['Idempotency-Key'],
    },
    {
      name: 'a body over 16 KiB',
      event: () => httpEvent({ method: 'POST', route: '/intake/start', sub: newCustomerId(), body: { plan: 'free', concern: big } }),
      status: 413,
      code: 'payload_too_large',
    },
    {
      name: 'a base64 body over 16 KiB once decoded',
      event: () => httpEvent({ method: 'POST', route: '/intake/start', sub: newCustomerId(), body: { plan: 'free', concern: big }, base64: true }),
      status: 413,
      code: 'payload_too_large',
    },
    {
      name: 'no JWT authorizer context',
      event: () => httpEvent({ method: 'POST', route: '/intake/start', sub: null, body: { plan: 'free', concern: 'x' } }),
      status: 401,
      code: 'unauthorized',
    },
    {
      name: 'JWT claims without sub',
      event: () => httpEventWithoutSub({ method: 'POST', route: '/intake/start', body: { plan: 'free', concern: 'x' } }),
      status: 401,
      code: 'unauthorized',
    },
  ];

  it.each(cases)('$name → $status $code', async ({ event, status, code, names }) => {
    // Arrange
    const before = await bookingKeys(table);

    // Act
    const response = responseOf(await intakeStart(event()));

    // Assert
    const message = expectContractError(response, status, code);
    for (const name of names ?? []) expect(message).toContain(name);
    expect(await bookingKeys(table)).toEqual(before);
    expect(await wires.pushed()).toEqual([]);
    expect(await wires.schedulesCreated()).toEqual([]);
    expect(wires.invocations()).toEqual([]);
  });

  it('a body of exactly 16 KiB is still accepted', async () => {
    // Arrange: pad the concern so the JSON is exactly 16384 bytes (the concern limit is 2000, so pad an ignored field)
    const base = { plan: 'paid', concern: 'Exactly at the limit', padding: '' };
    base.padding = 'p'.repeat(16 * 1024 - Buffer.byteLength(JSON.stringify(base)));
    expect(Buffer.byteLength(JSON.stringify(base))).toBe(16 * 1024);

    // Act
    const response = responseOf(await intake(newCustomerId(), base));

    // Assert
    expect(response.status).toBe(201);
  });
});

describe('log lines of one booking', () => {
  const FUNCTION_NAME = 'priority-dispatch-test-intakeStart';
  const context = (awsRequestId: string) =>
    lambdaContext({ functionName: FUNCTION_NAME, functionArn: `arn:aws:lambda:us-east-1:000000000000:function:${FUNCTION_NAME}`, awsRequestId });

  it("carry the client's X-Correlation-Id and the Lambda context on every line, else API Gateway's request id", async () => {
    // Arrange
    const customer = newCustomerId();
    const withHeader = httpEvent({
      method: 'POST',
      route: '/intake/start',
      sub: customer,
      body: { plan: 'free', concern: 'Rattle' },
      headers: { 'X-Correlation-Id': 'support-ticket-4711' },
    });
    // A header that is not a sane token (here: a space in it) is ignored, as if none had been sent.
    const withoutHeader = httpEvent({
      method: 'POST',
      route: '/intake/start',
      sub: customer,
      body: { plan: 'free', concern: 'Hum' },
      headers: { 'X-Correlation-Id': 'not a token' },
    });

    // Act
    expect(responseOf(await intakeStart(withHeader, context('lambda-req-1'))).status).toBe(201);
    const firstLines = logs.lines.splice(0);
    expect(responseOf(await intakeStart(withoutHeader, context('lambda-req-2'))).status).toBe(201);
    const secondLines = logs.lines.splice(0);

    // Assert: the booking's lines (intake, routing) all name the same work
    expect(firstLines.map((l) => l.message)).toEqual(expect.arrayContaining(['[intake] Booking received', '[fulfillment] Broadcast routing to all mechanics']));
    for (const line of firstLines) {
      expect(line).toMatchObject({
        correlation_id: 'support-ticket-4711',
        function_request_id: 'lambda-req-1',
        function_name: 'priority-dispatch-test-intakeStart',
      });
    }
    expect(secondLines.length).toBeGreaterThan(0);
    for (const line of secondLines) expect(line).toMatchObject({ correlation_id: withoutHeader.requestContext.requestId, function_request_id: 'lambda-req-2' });
  });

  it("the fan-out's own lines, in its own invocations, name the request they deliver", async () => {
    // Act
    const response = responseOf(await intake(newCustomerId(), { plan: 'free', concern: 'Which request?' }));
    await wires.asyncDone();

    // Assert: each of its invocations (the split, then one per shard) runs in a container of its own, so every line carries its own context
    const fanOutLines = wires.asyncLogs().filter((l) => l.message.startsWith('[FanOut]'));
    expect(fanOutLines.map((l) => l.message)).toEqual(expect.arrayContaining(['[FanOut] Split across connection shards', '[FanOut] Delivered']));
    for (const line of fanOutLines) {
      expect(line).toMatchObject({
        correlation_id: response.body.request_id,
        function_name: 'priority-dispatch-test-fanOut',
        function_request_id: expect.any(String),
        request_id: response.body.request_id,
      });
    }
    expect(new Set(fanOutLines.map((l) => l.function_request_id)).size).toBe(fanOutLines.length);
  });
});
