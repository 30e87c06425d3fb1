/**
 * Recovery: the timer is armed before a booking enters `routing`, so an
 * invocation that dies half-way through telling mechanics (after the booking
 * was written) leaves a routing the timer finishes `recoveryDelaySeconds`
 * later — no client retry needed, every mechanic still told (duplicates at
 * most, never nothing). Deaths come from `POST /dev/faults`: a `Crash` kills
 * the function's invocation right after one of its AWS calls returns (as a
 * timeout or out-of-memory kill would), other faults answer in AWS's shapes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import {
  api,
  armFault,
  clearFaults,
  eventsOf,
  eventually,
  faultState,
  fannedOut,
  logLines,
  MechanicClient,
  plannedBooking,
  registerMechanic,
  roundTrip,
  type SessionView,
  sessionView,
  startTestSandbox,
  timerSchedule,
} from './clients';

/** Long enough that a half-done booking can be read back before the timer finishes it, on a busy machine. */
const RECOVERY_SECONDS = 5;
/** A window no test waits out: an offer sent by the recovery stays the favorite's. */
const WINDOW_SECONDS = 600;
let sandbox: Sandbox;
const open: MechanicClient[] = [];

beforeAll(async () => {
  sandbox = await startTestSandbox({
    flag: 'on',
    priorityWindowSeconds: WINDOW_SECONDS,
    recoveryDelaySeconds: RECOVERY_SECONDS,
    schedulerTickMs: 50,
    asyncRetryDelaysMs: [100, 200],
  });
});
afterAll(() => sandbox.stop());
afterEach(async () => {
  await clearFaults(sandbox);
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function listeners(count: number): Promise<MechanicClient[]> {
  const clients = await Promise.all(Array.from({ length: count }, async () => MechanicClient.connect(sandbox, await registerMechanic(sandbox))));
  open.push(...clients);
  return clients;
}

type Planned = ReturnType<typeof plannedBooking>;

async function intake(planned: Planned, body: Record<string, unknown>) {
  return api<{ session_id?: string; request_id?: string; status?: string; error?: { code: string }; message?: string }>(sandbox, 'POST', '/intake/start', {
    token: await sandbox.token({ sub: planned.customer }),
    headers: { 'Idempotency-Key': planned.idempotencyKey },
    body,
  });
}

const finishing = (requestId: string) => logLines(sandbox, '[Timer] Finishing a routing an invocation left undone').filter((l) => l.request_id === requestId);

/** Polls the customer's view until the request is in `state`. */
const inState = (planned: Planned, state: string, timeoutMs = (RECOVERY_SECONDS + 30) * 1000): Promise<SessionView> =>
  eventually(
    async () => {
      const view = await sessionView(sandbox, planned.customer, planned.sessionId);
      return view.request?.state === state && view;
    },
    `${planned.requestId} to be ${state}`,
    timeoutMs,
  );

/** The timer moves on to the open request's expiry once the routing is done. */
const timerWaitsFor = (requestId: string, dueAt: string | null) =>
  eventually(async () => (await timerSchedule(sandbox, requestId)).input.due_at === dueAt, `the timer of ${requestId} to wait for ${dueAt}`);

describe('an invocation that dies half-way through a routing', () => {
  it('intake crashes right after writing the booking → 500 from the gateway; recoveryDelaySeconds later the timer tells every mechanic, once, with no client retry', async () => {
    // Arrange: the intake's invocation is killed as its PutItem (the booking) returns: nobody is told
    const mechanics = await listeners(3);
    const planned = plannedBooking();
    await armFault(sandbox, { service: 'lambda', operation: 'intakeStart', error: 'Crash', after: 'PutItem', match: planned.idempotencyKey });

    // Act
    const failed = await intake(planned, { plan: 'free', concern: 'Dies half-way' });
    const halfDone = await sessionView(sandbox, planned.customer, planned.sessionId);

    // Assert: API Gateway's own 500; the booking stored in `routing`, nobody told yet
    expect(failed).toEqual({ status: 500, body: { message: 'Internal Server Error' } });
    expect((await faultState(sandbox)).faults, 'the crash happened').toEqual([]);
    expect(halfDone.request).toMatchObject({ request_id: planned.requestId, state: 'routing', status: 'pending', routing: 'broadcast', open_until: null });
    const created = Date.parse(eventsOf(halfDone, 'created')[0]!.at);

    // Assert: the timer finishes the routing: every mechanic gets the request once, and not before the recovery deadline
    const offers = await Promise.all(mechanics.map((m) => m.waitFor('new_request', planned.requestId, (RECOVERY_SECONDS + 30) * 1000)));
    for (const [i, m] of mechanics.entries()) {
      expect(offers[i]).toMatchObject({ reason: 'broadcast', concern: 'Dies half-way', session_id: planned.sessionId });
      expect(m.receivedAt(offers[i]!), 'told by the timer, at its recovery deadline').toBeGreaterThanOrEqual(created + RECOVERY_SECONDS * 1000);
    }
    await fannedOut(sandbox, planned.requestId, 'new_request', mechanics.length);
    for (const m of mechanics) {
      await roundTrip(m);
      expect(m.of('new_request', planned.requestId)).toHaveLength(1);
    }
    expect(finishing(planned.requestId)).toEqual([expect.objectContaining({ level: 'WARN', state: 'routing', work: 'finish_routing' })]);
    const view = await inState(planned, 'open');
    expect(eventsOf(view, 'broadcast_sent')).toEqual([expect.objectContaining({ reason: 'broadcast', open_until: view.request!.open_until })]);
    await timerWaitsFor(planned.requestId, view.request!.open_until);
  });

  it('intake dies at the fan-out (its Lambda Invoke refused) after writing the booking → 500; the timer tells every mechanic, once', async () => {
    // Arrange: handing new_request to the fan-out fails once, with an error the SDK does not retry
    const mechanics = await listeners(2);
    const planned = plannedBooking();
    await armFault(sandbox, { service: 'lambda-api', operation: 'Invoke', error: 'ResourceNotFoundException', times: 1, match: planned.requestId });

    // Act
    const failed = await intake(planned, { plan: 'free', concern: 'Fan-out refused' });
    const halfDone = await sessionView(sandbox, planned.customer, planned.sessionId);

    // Assert
    expect(failed).toEqual({ status: 500, body: { error: { code: 'internal_error', message: expect.any(String) } } });
    expect((await faultState(sandbox)).faults).toEqual([]);
    expect(halfDone.request).toMatchObject({ state: 'routing' });
    for (const m of mechanics) expect(await m.waitFor('new_request', planned.requestId, (RECOVERY_SECONDS + 30) * 1000)).toMatchObject({ reason: 'broadcast' });
    await fannedOut(sandbox, planned.requestId, 'new_request', mechanics.length);
    for (const m of mechanics) {
      await roundTrip(m);
      expect(m.of('new_request', planned.requestId)).toHaveLength(1);
    }
    expect(finishing(planned.requestId)).toHaveLength(1);
    const view = await inState(planned, 'open');
    await timerWaitsFor(planned.requestId, view.request!.open_until);
  });

  it('intake crashes right after handing new_request to the fan-out, before recording it → everyone told anyway; the timer records it open, telling them again at most', async () => {
    // Arrange: the fan-out's Invoke is accepted (202), then the invocation dies before the `opened` write
    const mechanics = await listeners(2);
    const planned = plannedBooking();
    await armFault(sandbox, { service: 'lambda', operation: 'intakeStart', error: 'Crash', after: 'Invoke', match: planned.idempotencyKey });

    // Act
    const failed = await intake(planned, { plan: 'free', concern: 'Told but not recorded' });

    // Assert: a 500; the mechanics were told by the queued fan-out
    expect(failed.status).toBe(500);
    expect((await faultState(sandbox)).faults).toEqual([]);
    for (const m of mechanics) expect(await m.waitFor('new_request', planned.requestId)).toMatchObject({ reason: 'broadcast' });

    // Assert: the timer finishes the routing the invocation left in `routing`: state open, expiry armed
    const view = await inState(planned, 'open');
    expect(finishing(planned.requestId)).toHaveLength(1);
    expect(eventsOf(view, 'broadcast_sent')).toHaveLength(1);
    await timerWaitsFor(planned.requestId, view.request!.open_until);
    // Told twice at most: by the fan-out the dead invocation queued, and by the timer that finished it (same request_id; clients dedupe).
    await fannedOut(sandbox, planned.requestId, 'new_request', 2 * mechanics.length);
    for (const m of mechanics) {
      await roundTrip(m);
      expect(m.of('new_request', planned.requestId)).toHaveLength(2);
    }
  });

  it('checkout crashes right after its write (paid plan, a favorite) → the timer sends the favorite its priority offer; nobody else hears of it', async () => {
    // Arrange: a paid priority booking awaiting checkout; the checkout's invocation dies as checkout_completed (its UpdateItem) returns
    const [favorite, other] = await listeners(2);
    const planned = plannedBooking();
    const booked = await intake(planned, {
      plan: 'paid',
      concern: 'Paid, then crashed',
      preferred_mechanic_id: favorite!.mechanicId,
      routing_type: 'priority_broadcast',
    });
    expect(booked.body.status).toBe('awaiting_checkout');
    await armFault(sandbox, { service: 'lambda', operation: 'checkoutComplete', error: 'Crash', after: 'UpdateItem', match: planned.sessionId });

    // Act
    const failed = await api(sandbox, 'POST', `/sessions/${planned.sessionId}/checkout/complete`, { token: await sandbox.token({ sub: planned.customer }) });
    const halfDone = await sessionView(sandbox, planned.customer, planned.sessionId);

    // Assert: paid and `routing` to the favorite, who has heard nothing yet
    expect(failed).toEqual({ status: 500, body: { message: 'Internal Server Error' } });
    expect(halfDone).toMatchObject({ status: 'fulfilled', request: { state: 'routing', routing: 'priority', expires_at: null } });
    const offer = await favorite!.waitFor('priority_session_request', planned.requestId, (RECOVERY_SECONDS + 30) * 1000);
    expect(offer).toMatchObject({ session_id: planned.sessionId, window_seconds: WINDOW_SECONDS });
    const view = await inState(planned, 'offered');
    expect(view.request!.expires_at).toBe(offer.expires_at);
    expect(finishing(planned.requestId)).toHaveLength(1);
    // The timer now waits for the window's end; the favorite has the request alone.
    await timerWaitsFor(planned.requestId, view.request!.expires_at);
    await roundTrip(other!);
    expect(other!.messages.filter((m) => m.request_id === planned.requestId)).toEqual([]);
  });

  it("a routing that completes moves its timer from the recovery deadline to the request's expiry before answering", async () => {
    // Arrange
    const [mechanic] = await listeners(1);
    const planned = plannedBooking();

    // Act
    const booked = await intake(planned, { plan: 'free', concern: 'All fine' });
    const timer = await timerSchedule(sandbox, planned.requestId);

    // Assert: told by the intake itself; the timer now waits for the expiry (set a minute early: Scheduler's precision)
    expect(booked.status).toBe(201);
    const view = await sessionView(sandbox, planned.customer, planned.sessionId);
    expect(view.request).toMatchObject({ state: 'open', status: 'pending' });
    expect(timer.input).toEqual({ request_id: planned.requestId, due_at: view.request!.open_until });
    expect(timer.at).toBe(Math.floor((Date.parse(view.request!.open_until!) - 60_000) / 1000) * 1000);
    await mechanic!.waitFor('new_request', planned.requestId);
    await fannedOut(sandbox, planned.requestId, 'new_request', 1);
    await roundTrip(mechanic!);
    expect(mechanic!.of('new_request', planned.requestId)).toHaveLength(1);
    expect(finishing(planned.requestId)).toEqual([]);
  });
});
