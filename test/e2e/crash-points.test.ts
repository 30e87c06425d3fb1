/**
 * A crash after every AWS call of intake, checkout, the window's end and
 * accept, each its own case: the invocation dies right after that call
 * returns (`POST /dev/faults {"error":"Crash","after":…}`), as a timeout or an
 * out-of-memory kill would. Whatever it left undone is finished by the timer
 * (after the recovery delay), by Lambda's retry of an asynchronous invocation,
 * or by the client's own retry: every mechanic who should hear of the request
 * does, its state ends where the flow says, and nothing is stored twice —
 * only messages may repeat (the same request_id; clients dedupe).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import {
  api,
  armFault,
  bookingsOfCustomer,
  clearFaults,
  eventually,
  MechanicClient,
  plannedBooking,
  registerMechanic,
  sessionView,
  startTestSandbox,
  timerSchedule,
} from './clients';

/** Long enough to act inside; short where the window's end is the subject. */
const OPEN_WINDOW_SECONDS = 300;

async function connectMechanics(sandbox: Sandbox, count: number): Promise<MechanicClient[]> {
  return Promise.all(Array.from({ length: count }, async () => MechanicClient.connect(sandbox, await registerMechanic(sandbox))));
}

async function intake(sandbox: Sandbox, planned: ReturnType<typeof plannedBooking>, body: Record<string, unknown>) {
  return api<{ request_id?: string; status?: string }>(sandbox, 'POST', '/intake/start', {
    token: await sandbox.token({ sub: planned.customer }),
    headers: { 'Idempotency-Key': planned.idempotencyKey },
    body: { concern: 'Crash test', ...body },
  });
}

async function crashAfter(sandbox: Sandbox, fn: string, call: string, match: string): Promise<void> {
  const [after, occurrence] = call.split('#') as [string, string | undefined];
  await armFault(sandbox, { service: 'lambda', operation: fn, error: 'Crash', after, ...(occurrence ? { occurrence: Number(occurrence) } : {}), match });
}

/** The fault was used: the invocation really died there (otherwise the case proves nothing). */
async function crashed(sandbox: Sandbox, fn: string, call: string): Promise<void> {
  const [after, occurrence = '1'] = call.split('#');
  await eventually(
    () => sandbox.logs.some((line) => line.includes(`faults: lambda ${fn} after ${after}#${occurrence} answered Crash`)),
    `${fn} to crash after ${call}`,
  );
}

describe('a crash after each AWS call of a broadcast intake', () => {
  let sandbox: Sandbox;
  let mechanics: MechanicClient[];
  beforeAll(async () => {
    sandbox = await startTestSandbox({ recoveryDelaySeconds: 2, asyncRetryDelaysMs: [300, 600] });
    mechanics = await connectMechanics(sandbox, 2);
  });
  afterAll(async () => {
    await Promise.all(mechanics.map((m) => m.close()));
    await sandbox.stop();
  });

  // UpdateItem: the customer's open-bookings hold (the first call); UpdateItem#2: `opened`.
  it.each(['UpdateItem', 'CreateSchedule', 'PutItem', 'Invoke', 'UpdateItem#2', 'UpdateSchedule'])(
    'after %s: every mechanic gets new_request, once stored',
    async (call) => {
      // Arrange
      const planned = plannedBooking();
      await crashAfter(sandbox, 'intakeStart', call, planned.idempotencyKey);

      // Act
      const first = await intake(sandbox, planned, { plan: 'free' });
      await crashed(sandbox, 'intakeStart', call);

      // Assert
      expect(first.status).toBe(500);
      if (call === 'UpdateItem' || call === 'CreateSchedule') {
        // Nothing was written but the hold: the customer's retry (same Idempotency-Key, so the same session, already held) books it.
        expect(await bookingsOfCustomer(sandbox, planned.customer)).toEqual([]);
        expect((await intake(sandbox, planned, { plan: 'free' })).status).toBe(201);
      }
      for (const mechanic of mechanics) await mechanic.waitFor('new_request', planned.requestId);
      const view = await eventually(async () => {
        const current = await sessionView(sandbox, planned.customer, planned.sessionId);
        return current.request?.state === 'open' && current;
      }, 'the booking to be open');
      // A crash before the timer moved: its recovery firing finds nothing due and moves it.
      await eventually(
        async () => (await timerSchedule(sandbox, planned.requestId)).dueAt === Date.parse(view.request!.open_until!),
        'the timer at open_until',
      );
      expect(await bookingsOfCustomer(sandbox, planned.customer)).toEqual([`BOOKING#${planned.sessionId}`]);
      await clearFaults(sandbox);
    },
  );
});

describe('a crash after each AWS call of a priority intake and of its accept', () => {
  let sandbox: Sandbox;
  let favorite: MechanicClient;
  let other: MechanicClient;
  beforeAll(async () => {
    sandbox = await startTestSandbox({ flag: 'on', priorityWindowSeconds: OPEN_WINDOW_SECONDS, recoveryDelaySeconds: 2, asyncRetryDelaysMs: [300, 600] });
    [favorite, other] = (await connectMechanics(sandbox, 2)) as [MechanicClient, MechanicClient];
  });
  afterAll(async () => {
    await favorite.close();
    await other.close();
    await sandbox.stop();
  });

  const priorityBooking = () => ({ plan: 'free', preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' });

  it.each(['UpdateItem', 'CreateSchedule', 'PutItem', 'GetItem', 'Query', 'PostToConnection', 'UpdateItem#2', 'UpdateSchedule'])(
    'intake, after %s: the favorite gets the offer, the request is offered with its timer at expires_at',
    async (call) => {
      // Arrange
      const planned = plannedBooking();
      await crashAfter(sandbox, 'intakeStart', call, planned.idempotencyKey);

      // Act
      const first = await intake(sandbox, planned, priorityBooking());
      await crashed(sandbox, 'intakeStart', call);

      // Assert
      expect(first.status).toBe(500);
      if (call === 'UpdateItem' || call === 'CreateSchedule') expect((await intake(sandbox, planned, priorityBooking())).status).toBe(201);
      await favorite.waitFor('priority_session_request', planned.requestId);
      const view = await eventually(async () => {
        const current = await sessionView(sandbox, planned.customer, planned.sessionId);
        return current.request?.state === 'offered' && current;
      }, 'the booking to be offered');
      await eventually(
        async () => (await timerSchedule(sandbox, planned.requestId)).dueAt === Date.parse(view.request!.expires_at!),
        'the timer at expires_at',
      );
      expect(other.of('priority_session_request', planned.requestId)).toEqual([]);
      expect(await bookingsOfCustomer(sandbox, planned.customer)).toEqual([`BOOKING#${planned.sessionId}`]);
      await clearFaults(sandbox);
    },
  );

  // UpdateItem: the win; UpdateItem#2: the customer's place freed, before anyone else is told.
  it.each(['GetItem', 'UpdateItem', 'PostToConnection', 'UpdateItem#2', 'DeleteSchedule'])(
    'accept of an open request, after %s: the winner hears ok on its retry, the other mechanic hears request_taken, the timer goes',
    async (call) => {
      // Arrange: an open request (no favorite), both mechanics told
      const planned = plannedBooking();
      expect((await intake(sandbox, planned, { plan: 'free' })).status).toBe(201);
      await favorite.waitFor('new_request', planned.requestId);
      await other.waitFor('new_request', planned.requestId);
      await crashAfter(sandbox, 'wsAccept', call, planned.requestId);

      // Act: the first accept dies; the app, hearing nothing, asks again
      favorite.accept(planned.requestId);
      await crashed(sandbox, 'wsAccept', call);
      favorite.accept(planned.requestId);

      // Assert
      await eventually(() => favorite.of('accept_result', planned.requestId).some((m) => m.ok === true), 'the winner to hear ok');
      expect(favorite.of('accept_result', planned.requestId).every((m) => m.ok === true)).toBe(true);
      expect(await other.waitFor('request_taken', planned.requestId)).toMatchObject({ reason: 'accepted' });
      const view = await sessionView(sandbox, planned.customer, planned.sessionId);
      expect(view.request).toMatchObject({ state: 'matched', mechanic_id: favorite.mechanicId });
      await eventually(
        async () =>
          (await timerSchedule(sandbox, planned.requestId).then(
            () => false,
            () => true,
          )) || undefined,
        'the timer to be gone',
      );
      await clearFaults(sandbox);
    },
  );
});

describe('a crash after each AWS call of a checkout', () => {
  let sandbox: Sandbox;
  let mechanics: MechanicClient[];
  beforeAll(async () => {
    sandbox = await startTestSandbox({ recoveryDelaySeconds: 2, asyncRetryDelaysMs: [300, 600] });
    mechanics = await connectMechanics(sandbox, 2);
  });
  afterAll(async () => {
    await Promise.all(mechanics.map((m) => m.close()));
    await sandbox.stop();
  });

  it.each(['GetItem', 'CreateSchedule', 'UpdateItem', 'Invoke', 'UpdateItem#2', 'UpdateSchedule'])(
    'after %s: every mechanic gets new_request; the booking is open',
    async (call) => {
      // Arrange: a paid booking awaiting its checkout
      const planned = plannedBooking();
      expect((await intake(sandbox, planned, { plan: 'paid' })).body).toMatchObject({ status: 'awaiting_checkout' });
      await crashAfter(sandbox, 'checkoutComplete', call, planned.sessionId);
      const token = await sandbox.token({ sub: planned.customer });

      // Act
      const first = await api(sandbox, 'POST', `/sessions/${planned.sessionId}/checkout/complete`, { token });
      await crashed(sandbox, 'checkoutComplete', call);

      // Assert: before its first write the checkout left nothing: the payment provider's retry completes it
      expect(first.status).toBe(500);
      if (call === 'GetItem' || call === 'CreateSchedule') {
        expect((await api(sandbox, 'POST', `/sessions/${planned.sessionId}/checkout/complete`, { token })).status).toBe(200);
      }
      for (const mechanic of mechanics) await mechanic.waitFor('new_request', planned.requestId);
      await eventually(async () => (await sessionView(sandbox, planned.customer, planned.sessionId)).request?.state === 'open', 'the booking to be open');
      await clearFaults(sandbox);
    },
  );
});

describe("a crash after each AWS call of the window's end", () => {
  let sandbox: Sandbox;
  let favorite: MechanicClient;
  let other: MechanicClient;
  beforeAll(async () => {
    // The recovery deadline after the window's end, so the firing at expires_at is the one that crashes.
    sandbox = await startTestSandbox({ flag: 'on', priorityWindowSeconds: 4, recoveryDelaySeconds: 10, asyncRetryDelaysMs: [300, 600] });
    [favorite, other] = (await connectMechanics(sandbox, 2)) as [MechanicClient, MechanicClient];
  });
  afterAll(async () => {
    await favorite.close();
    await other.close();
    await sandbox.stop();
  });

  it.each(['GetItem', 'UpdateSchedule', 'UpdateItem', 'Invoke', 'UpdateItem#2', 'UpdateSchedule#2'])(
    'after %s: the other mechanic gets new_request (fallback); the request is open',
    async (call) => {
      // Arrange: the favorite's offer; the crash aimed at the firing due at its expires_at (it waits for it)
      const planned = plannedBooking();
      expect((await intake(sandbox, planned, { plan: 'free', preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' })).status).toBe(
        201,
      );
      const offer = await favorite.waitFor('priority_session_request', planned.requestId);
      await crashAfter(sandbox, 'requestTimer', call, `"due_at":"${offer.expires_at as string}"`);

      // Act: the window ends
      await crashed(sandbox, 'requestTimer', call);

      // Assert
      expect(await other.waitFor('new_request', planned.requestId)).toMatchObject({ reason: 'fallback' });
      await eventually(async () => (await sessionView(sandbox, planned.customer, planned.sessionId)).request?.state === 'open', 'the booking to be open');
      await clearFaults(sandbox);
    },
  );
});
