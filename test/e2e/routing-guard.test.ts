/**
 * The routing guard: a fulfillment writes the session before its request, and
 * two DynamoDB items are not written atomically here. If the invocation dies
 * in between, a one-shot schedule created BEFORE the session finishes the
 * routing on its own — no client retry needed, nothing lost.
 */
import { randomUUID } from 'node:crypto';
import { ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import {
  api,
  armFault,
  awsClientConfig,
  clearFaults,
  eventually,
  itemsOfCustomer,
  logLines,
  registerMechanic,
  roundTrip,
  MechanicClient,
  startTestSandbox,
} from './clients';

const GUARD_SECONDS = 2;
let sandbox: Sandbox;
const open: MechanicClient[] = [];

beforeAll(async () => {
  sandbox = await startTestSandbox({ flag: 'off', recoveryDelaySeconds: GUARD_SECONDS, schedulerTickMs: 50 });
});
afterAll(() => sandbox.stop());
afterEach(async () => {
  await clearFaults(sandbox);
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function listener(): Promise<MechanicClient> {
  const client = await MechanicClient.connect(sandbox, await registerMechanic(sandbox));
  open.push(client);
  return client;
}

async function routingGuards(): Promise<string[]> {
  const { Schedules } = await new SchedulerClient(awsClientConfig(sandbox)).send(
    new ListSchedulesCommand({ GroupName: sandbox.scheduleGroupName, NamePrefix: 'route-' }),
  );
  return (Schedules ?? []).map((s) => s.Name!);
}

describe('routing guard', () => {
  it('an intake that dies after storing its session is routed by the guard, with no client retry', async () => {
    // Arrange: intake stores the session, then its first read of the request fails (a non-retryable error: the invocation ends in a 500)
    const mechanic = await listener();
    const customer = `cust-${randomUUID().slice(0, 8)}`;
    await armFault(sandbox, { service: 'dynamodb', operation: 'GetItem', error: 'ValidationException', times: 1 });

    // Act
    const failed = await api(sandbox, 'POST', '/intake/start', {
      token: await sandbox.token({ sub: customer }),
      body: { plan: 'free', concern: 'Dies half-way' },
    });
    const halfWritten = await itemsOfCustomer(sandbox, customer);
    const guards = await routingGuards();

    // Assert: a 500, a session without its request, and the guard waiting
    expect(failed.status).toBe(500);
    expect(halfWritten.sessions).toHaveLength(1);
    expect(halfWritten.requests).toEqual([]);
    const sessionId = halfWritten.sessions[0]!.replace(/^SESSION#/, '');
    expect(guards).toEqual([`route-${sessionId}`]);

    // Assert: the guard fires and the mechanic gets the request, once; the guard is gone
    const offer = await mechanic.waitFor('new_request', `req-${sessionId}`, (GUARD_SECONDS + 30) * 1000);
    expect(offer).toMatchObject({ reason: 'broadcast', concern: 'Dies half-way' });
    await roundTrip(mechanic);
    expect(mechanic.of('new_request', `req-${sessionId}`)).toHaveLength(1);
    expect((await itemsOfCustomer(sandbox, customer)).requests).toEqual([`REQUEST#req-${sessionId}`]);
    // ActionAfterCompletion DELETE runs once Lambda accepted the guard's event (an asynchronous invoke).
    await eventually(async () => (await routingGuards()).length === 0, 'the fired guard to delete itself');
    expect(logLines(sandbox, '[fulfillment] Routing guard: finishing').filter((l) => l.session_id === sessionId)).toHaveLength(1);
  });

  it('a booking that completes releases its guard at once, so nothing fires later', async () => {
    const mechanic = await listener();
    const customer = `cust-${randomUUID().slice(0, 8)}`;

    const booked = await api<{ request_id: string }>(sandbox, 'POST', '/intake/start', {
      token: await sandbox.token({ sub: customer }),
      body: { plan: 'free', concern: 'All fine' },
    });

    expect(booked.status).toBe(201);
    await mechanic.waitFor('new_request', booked.body.request_id);
    expect(await routingGuards()).toEqual([]);
  });
});
