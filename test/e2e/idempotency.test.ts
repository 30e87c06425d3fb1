/**
 * Issue #4, reliability: the same thing arriving more than once — a client
 * retrying with the same Idempotency-Key, a payment webhook delivered many
 * times, a fallback schedule invoked more than once (EventBridge Scheduler
 * delivers at least once) — must have the effect of arriving once.
 * Real HTTP, real `ws` clients, the real SchedulerClient; polls, never sleeps.
 */
import { randomUUID } from 'node:crypto';
import { CreateScheduleCommand, GetScheduleCommand, ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import { api, awsClientConfig, eventually, itemsOfCustomer, logLines, MechanicClient, registerMechanic, roundTrip, startTestSandbox } from './clients';

/** The window the fallback test waits out: long enough to read its schedule back and add duplicates on a busy machine. */
const LAPSING_WINDOW_SECONDS = 5;
/** A window that must not end during a test, however busy the machine. */
const OPEN_WINDOW_SECONDS = 300;

interface SessionView {
  request: { request_id: string; status: string; routing: string; events: { type: string; [field: string]: unknown }[] } | null;
}

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

async function sessionView(customer: string, sessionId: string, target = sandbox): Promise<SessionView> {
  const answer = await api<SessionView>(target, 'GET', `/sessions/${sessionId}`, { token: await target.token({ sub: customer }) });
  expect(answer.status).toBe(200);
  return answer.body;
}

const eventsOf = (view: SessionView, type: string) => view.request!.events.filter((e) => e.type === type);

async function schedulesNamed(prefix: string, target = sandbox): Promise<string[]> {
  const client = new SchedulerClient(awsClientConfig(target));
  const { Schedules = [] } = await client.send(new ListSchedulesCommand({ GroupName: target.scheduleGroupName, NamePrefix: prefix }));
  client.destroy();
  return Schedules.map((s) => s.Name!);
}

it('the same Idempotency-Key sent 50 times at once → identical 201s, one session, one new_request per mechanic', async () => {
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
  expect(await itemsOfCustomer(sandbox, customer)).toEqual({ sessions: [`SESSION#${first.session_id}`], requests: [`REQUEST#${first.request_id}`] });
  for (const mechanic of mechanics) {
    await mechanic.waitFor('new_request', first.request_id);
    await roundTrip(mechanic);
    expect(mechanic.of('new_request', first.request_id)).toHaveLength(1);
  }
  const view = await sessionView(customer, first.session_id);
  expect(eventsOf(view, 'created')).toHaveLength(1);
  expect(eventsOf(view, 'broadcast_sent')).toHaveLength(1);
});

it('checkout complete (paid plan) delivered 10 times at once → one request, ONE priority offer, one schedule', async () => {
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
  expect(await itemsOfCustomer(sandbox, customer)).toEqual({ sessions: [`SESSION#${intake.body.session_id}`], requests: [`REQUEST#${requestId}`] });
  await favorite.waitFor('priority_session_request', requestId);
  await roundTrip(favorite);
  expect(favorite.of('priority_session_request', requestId)).toHaveLength(1);
  expect(await schedulesNamed(`fallback-${requestId}`)).toEqual([`fallback-${requestId}`]);
  const view = await sessionView(customer, intake.body.session_id);
  expect(view.request).toMatchObject({ status: 'pending', routing: 'priority' });
  expect(eventsOf(view, 'priority_offer_sent')).toHaveLength(1);
  await roundTrip(other);
  expect(other.messages.filter((m) => m.request_id === requestId)).toEqual([]);
});

it('the fallback invoked three times (the app schedule + a concurrent and a late duplicate) → one broadcast', async () => {
  // Arrange
  const favorite = await connected(lapsing);
  const others = [await connected(lapsing), await connected(lapsing)];
  const customer = `cust-${randomUUID().slice(0, 8)}`;
  const booked = await api<{ session_id: string; request_id: string }>(lapsing, 'POST', '/intake/start', {
    token: await lapsing.token({ sub: customer }),
    body: { plan: 'free', concern: 'Brake pedal soft', preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' },
  });
  const requestId = booked.body.request_id;
  await favorite.waitFor('priority_session_request', requestId);
  // Duplicates aimed exactly where the app aims: its own schedule's target, read back from the scheduler.
  const scheduler = new SchedulerClient(awsClientConfig(lapsing));
  const app = await scheduler.send(new GetScheduleCommand({ GroupName: lapsing.scheduleGroupName, Name: `fallback-${requestId}` }));
  const appDue = /^at\((.+)\)$/.exec(app.ScheduleExpression!)![1]!;
  const lateDue = new Date(Date.parse(`${appDue}Z`) + 1000).toISOString().slice(0, 19);
  const duplicates = [
    { name: `dup-now-${requestId}`, at: appDue }, // fires in the same tick as the app's schedule: a race on the claim
    { name: `dup-late-${requestId}`, at: lateDue }, // fires after the broadcast is done
  ];
  for (const duplicate of duplicates) {
    await scheduler.send(
      new CreateScheduleCommand({
        Name: duplicate.name,
        GroupName: lapsing.scheduleGroupName,
        ScheduleExpression: `at(${duplicate.at})`,
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'DELETE',
        Target: { Arn: app.Target!.Arn!, RoleArn: app.Target!.RoleArn!, Input: JSON.stringify({ request_id: requestId }) },
      }),
    );
  }
  scheduler.destroy();
  const names = [`fallback-${requestId}`, ...duplicates.map((d) => d.name)];

  // Act: the window ends; all three schedules fire
  await eventually(
    async () => {
      const left = await Promise.all(names.map((name) => schedulesNamed(name, lapsing)));
      return left.every((found) => found.length === 0);
    },
    'all three schedules to fire and delete themselves',
    (LAPSING_WINDOW_SECONDS + 30) * 1000,
  );

  // Assert
  for (const name of names) expect(lapsing.logs.some((line) => line.includes(`scheduler: fired ${lapsing.scheduleGroupName}/${name} `))).toBe(true);
  const forRequest = (prefix: string) => logLines(lapsing, prefix).filter((l) => l.request_id === requestId);
  // A schedule is done once Lambda accepted its event (an asynchronous invoke): wait for the runs themselves.
  await eventually(() => forRequest('[Fallback] Nothing to do').length === 2, 'the two duplicate invocations to do nothing');
  await eventually(() => forRequest('[Fallback] Broadcast delivered').length === 1, 'the one broadcast to finish');
  expect(forRequest('[Fallback] Priority window over')).toHaveLength(1);
  for (const other of others) {
    await roundTrip(other);
    expect(other.of('new_request', requestId)).toEqual([expect.objectContaining({ reason: 'fallback' })]);
  }
  const view = await sessionView(customer, booked.body.session_id, lapsing);
  expect(eventsOf(view, 'fallback_broadcast')).toHaveLength(1);
  expect(eventsOf(view, 'fallback_started')).toHaveLength(1);
});
