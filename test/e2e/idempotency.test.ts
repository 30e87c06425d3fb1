/**
 * Issue #4, reliability: the same thing arriving more than once — a client
 * retrying with the same Idempotency-Key, a payment webhook delivered many
 * times, the request's timer invoked more than once (EventBridge Scheduler
 * delivers at least once) — must have the effect of arriving once: one
 * booking, one transition of each kind in its audit trail, one fallback.
 * Real HTTP, real `ws` clients, the real SchedulerClient; polls, never sleeps.
 */
import { randomUUID } from 'node:crypto';
import { CreateScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import {
  api,
  awsClientConfig,
  bookingsOfCustomer,
  eventsOf,
  eventually,
  fannedOut,
  logLines,
  MechanicClient,
  registerMechanic,
  roundTrip,
  scheduleNames,
  type SessionView,
  sessionView as viewOf,
  startTestSandbox,
  timerName,
  timerOf,
  timerSchedule,
} from './clients';

/** The window the fallback test waits out: long enough to read its schedule back and add duplicates on a busy machine. */
const LAPSING_WINDOW_SECONDS = 5;
/** A window that must not end during a test, however busy the machine. */
const OPEN_WINDOW_SECONDS = 300;

const open: MechanicClient[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

let sandbox: Sandbox;
/** Its windows end during the test. */
let lapsing: Sandbox;
beforeAll(async () => {
  const start = (priorityWindowSeconds: number) => startTestSandbox({ flag: 'on', priorityWindowSeconds, flagCacheTtlSeconds: 1, schedulerTickMs: 50 });
  [sandbox, lapsing] = await Promise.all([start(OPEN_WINDOW_SECONDS), start(LAPSING_WINDOW_SECONDS)]);
});
afterAll(() => Promise.all([sandbox.stop(), lapsing.stop()]));

async function connected(target = sandbox): Promise<MechanicClient> {
  const client = await MechanicClient.connect(target, await registerMechanic(target));
  open.push(client);
  return client;
}

const sessionView = (customer: string, sessionId: string, target = sandbox): Promise<SessionView> => viewOf(target, customer, sessionId);

it('the same Idempotency-Key sent 50 times at once → identical 201s, one booking, one broadcast recorded; mechanics get the same new_request', async () => {
  // Arrange
  const mechanics = await Promise.all([connected(), connected(), connected()]);
  const customer = `cust-${randomUUID().slice(0, 8)}`;
  const token = await sandbox.token({ sub: customer });
  const key = `retry-storm-${randomUUID()}`;
  const body = { plan: 'free', concern: 'Coolant leak', vehicle: { make: 'Kia', model: 'Ceed', year: 2019 } };

  // Act
  const answers = await Promise.all(
    Array.from({ length: 50 }, () =>
      api<{ session_id: string; request_id: string; status: string }>(sandbox, 'POST', '/intake/start', { token, headers: { 'Idempotency-Key': key }, body }),
    ),
  );

  // Assert: every handler invocation has answered, so every push it made has been sent
  expect(answers.map((a) => a.status)).toEqual(Array(50).fill(201));
  const first = answers[0]!.body;
  expect(answers.every((a) => JSON.stringify(a.body) === JSON.stringify(first))).toBe(true);
  expect(first).toMatchObject({ status: 'fulfilled', session_id: expect.any(String), request_id: expect.any(String) });
  expect(await bookingsOfCustomer(sandbox, customer)).toEqual([`BOOKING#${first.session_id}`]);
  await fannedOut(sandbox, first.request_id, 'new_request', mechanics.length);
  // Retries that find the booking still routing leave it to the attempt that began it (lambdas/use-cases/booking.ts
  // finishAbandonedRouting): each mechanic hears it once.
  for (const mechanic of mechanics) {
    await roundTrip(mechanic);
    const heard = mechanic.of('new_request', first.request_id);
    expect(heard).toHaveLength(1);
    expect(heard[0]).toMatchObject({ session_id: first.session_id, reason: 'broadcast', concern: body.concern, vehicle: body.vehicle });
  }
  const view = await sessionView(customer, first.session_id);
  expect(view.request).toMatchObject({ state: 'open', status: 'pending' });
  expect(eventsOf(view, 'created')).toHaveLength(1);
  expect(eventsOf(view, 'broadcast_sent')).toHaveLength(1);
  expect(await timerOf(sandbox, first.request_id)).toEqual([timerName(first.request_id)]);
});

it('checkout complete (paid plan) delivered 10 times at once → one booking, one offer recorded, one timer at its window end', async () => {
  // Arrange
  const favorite = await connected();
  const other = await connected();
  const customer = `cust-${randomUUID().slice(0, 8)}`;
  const token = await sandbox.token({ sub: customer });
  const intake = await api<{ session_id: string; status: string }>(sandbox, 'POST', '/intake/start', {
    token,
    body: { plan: 'paid', concern: 'Clutch slips', preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' },
  });
  expect(intake.body.status).toBe('awaiting_checkout');

  // Act
  const answers = await Promise.all(
    Array.from({ length: 10 }, () =>
      api<{ session_id: string; request_id: string; status: string }>(sandbox, 'POST', `/sessions/${intake.body.session_id}/checkout/complete`, { token }),
    ),
  );

  // Assert
  expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
  const requestId = answers[0]!.body.request_id;
  expect(answers.map((a) => a.body)).toEqual(Array(10).fill({ session_id: intake.body.session_id, status: 'fulfilled', request_id: requestId }));
  expect(await bookingsOfCustomer(sandbox, customer)).toEqual([`BOOKING#${intake.body.session_id}`]);
  const view = await sessionView(customer, intake.body.session_id);
  expect(view.request).toMatchObject({ status: 'pending', state: 'offered', routing: 'priority' });
  expect(eventsOf(view, 'created')).toHaveLength(1);
  expect(eventsOf(view, 'priority_offer_sent')).toHaveLength(1);
  const expiresAt = Date.parse(view.request!.expires_at!);
  // Every answer is in, so every offer pushed (inline, by the checkout invocations) has arrived after a round trip.
  // Deliveries that found the booking already routing leave it to the one that won: one offer, the window recorded.
  await roundTrip(favorite);
  const offers = favorite.of('priority_session_request', requestId);
  expect(offers).toHaveLength(1);
  expect(Date.parse(String(offers[0]!.expires_at))).toBe(expiresAt);
  // One timer, waiting for the recorded window's end.
  expect(await timerOf(sandbox, requestId)).toEqual([timerName(requestId)]);
  expect((await timerSchedule(sandbox, requestId)).input.due_at).toBe(view.request!.expires_at);
  await roundTrip(other);
  expect(other.messages.filter((m) => m.request_id === requestId)).toEqual([]);
});

it("the timer invoked three times around the window's end (its own schedule + a concurrent and a late duplicate) → one fallback", async () => {
  // Arrange
  const favorite = await connected(lapsing);
  const others = [await connected(lapsing), await connected(lapsing)];
  const customer = `cust-${randomUUID().slice(0, 8)}`;
  const booked = await api<{ session_id: string; request_id: string }>(lapsing, 'POST', '/intake/start', {
    token: await lapsing.token({ sub: customer }),
    body: { plan: 'free', concern: 'Brake pedal soft', preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' },
  });
  const requestId = booked.body.request_id;
  const offer = await favorite.waitFor('priority_session_request', requestId);
  // Duplicates aimed exactly where the app aims: its own timer's target and input, read back from the scheduler.
  const app = await timerSchedule(lapsing, requestId);
  expect(app.input).toEqual({ request_id: requestId, due_at: offer.expires_at });
  const at = (ms: number) => `at(${new Date(ms).toISOString().slice(0, 19)})`;
  const duplicates = [
    { name: `dup-now-${requestId}`, at: at(app.at) }, // fires with the app's timer: both wait for due_at and race on window_ended
    // Fires after the fallback: 5 s after the deadline leaves a loaded machine time to end the window first.
    { name: `dup-late-${requestId}`, at: at(app.dueAt + 5000) },
  ];
  const scheduler = new SchedulerClient(awsClientConfig(lapsing));
  for (const duplicate of duplicates) {
    await scheduler.send(
      new CreateScheduleCommand({
        Name: duplicate.name,
        GroupName: lapsing.scheduleGroupName,
        ScheduleExpression: duplicate.at,
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'DELETE',
        Target: { Arn: app.schedule.Target!.Arn!, RoleArn: app.schedule.Target!.RoleArn!, Input: app.schedule.Target!.Input! },
      }),
    );
  }
  scheduler.destroy();
  const names = [timerName(requestId), ...duplicates.map((d) => d.name)];
  const fired = (name: string) => lapsing.logs.some((line) => line.includes(`scheduler: fired ${lapsing.scheduleGroupName}/${name} `));

  // Act: the window ends; all three fire
  await eventually(() => names.every(fired), 'all three schedules to fire', (LAPSING_WINDOW_SECONDS + 30) * 1000);

  // Assert: one fallback; the late duplicate found nothing due
  const forRequest = (prefix: string) => logLines(lapsing, prefix).filter((l) => l.request_id === requestId);
  await eventually(() => forRequest('[Timer] Nothing due').some((l) => l.state === 'open'), 'the late duplicate to find the request open');
  expect(forRequest('[Fallback] Priority window over')).toHaveLength(1);
  await fannedOut(lapsing, requestId, 'new_request', others.length + 1);
  for (const other of others) {
    await roundTrip(other);
    expect(other.of('new_request', requestId)).toEqual([expect.objectContaining({ reason: 'fallback' })]);
  }
  const view = await sessionView(customer, booked.body.session_id, lapsing);
  expect(view.request).toMatchObject({ state: 'open', status: 'pending' });
  expect(eventsOf(view, 'fallback_started')).toHaveLength(1);
  expect(eventsOf(view, 'broadcast_sent')).toEqual([expect.objectContaining({ reason: 'fallback' })]);
  // The duplicates deleted themselves (ActionAfterCompletion DELETE); the request keeps its one timer.
  await eventually(
    async () => (await Promise.all(duplicates.map((d) => scheduleNames(lapsing, d.name)))).every((found) => found.length === 0),
    'the duplicates to delete themselves',
  );
  expect(await timerOf(lapsing, requestId)).toEqual([timerName(requestId)]);
});
