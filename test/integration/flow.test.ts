/**
 * The flow end to end through the use cases, with the real adapters on real
 * wires: DynamoDB on dynalite (real conditional writes), SSM and Scheduler on
 * the sandbox's emulators (schedules are read back with GetSchedule), and
 * `@connections` on the sandbox's WebSocket gateway, where every mechanic is
 * a real `ws` client and "pushed" means "received". The clock is manual and
 * the scheduler's firing loop is off: the tests run the fallback themselves.
 */
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { FALLBACK_RETRY_POLICY } from '../../lambdas/adapters/eventbridge-scheduler';
import { acceptRequest } from '../../lambdas/use-cases/accept-request';
import { declineRequest } from '../../lambdas/use-cases/decline-request';
import { runFallback } from '../../lambdas/use-cases/run-fallback';
import { cancelSession, completeCheckout, getSessionView, startIntake } from '../../lambdas/use-cases/sessions';
import { createHarness, FALLBACK_DLQ_ARN, SCHEDULE_GROUP, type Harness } from '../support/deps';
import { booking } from '../support/bookings';
import { createTestTable } from '../support/table';

const priorityLines = (h: Harness) => h.logs.filter((l) => l.message.startsWith('[Priority]'));
const types = async (h: Harness, connectionId: string) => (await h.pushedTo(connectionId)).map((m) => m.type);

let h: Harness;
beforeEach(async () => {
  h = await createHarness(await createTestTable());
});
afterEach(async () => {
  await h.close();
});

describe('seed scenario 1: flag off', () => {
  it('broadcasts at once even for a priority booking, and runs no priority code', async () => {
    // Arrange
    const favorite = await h.addMechanic();
    const other = await h.addMechanic();
    await h.setFlag('false');

    // Act
    const answer = await startIntake(h.deps, {
      customerId: 'cust-1',
      booking: booking({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' }),
    });

    // Assert
    expect(answer.status).toBe('fulfilled');
    expect(await h.pushedTo(favorite.connectionIds[0]!)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'broadcast' })]);
    expect(await h.pushedTo(other.connectionIds[0]!)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'broadcast' })]);
    expect(priorityLines(h)).toEqual([]);
    expect(h.logs.map((l) => l.message)).toContain('[fulfillment] Broadcast routing to all mechanics');
    expect(await h.schedulesCreated()).toEqual([]);
    const view = await getSessionView(h.deps, { customerId: 'cust-1', sessionId: answer.session_id });
    expect(view.metadata).toEqual({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' });
    expect(view.request).toMatchObject({ status: 'pending', routing: 'broadcast', expires_at: null });
  });
});

describe('seed scenario 2: priority accepted in the window', () => {
  it('offers only the favorite, with a durable schedule, and the favorite wins', async () => {
    // Arrange
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    const other = await h.addMechanic();

    // Act
    const answer = await startIntake(h.deps, {
      customerId: 'cust-2',
      booking: booking({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' }),
    });

    // Assert: the offer
    const offer = (await h.pushedTo(favorite.connectionIds[0]!))[0];
    expect(offer).toMatchObject({ type: 'priority_session_request', request_id: answer.request_id, window_seconds: 600 });
    expect(offer && 'expires_at' in offer && offer.expires_at).toBe('2026-11-24T12:10:00.000Z');
    expect(await h.pushedTo(other.connectionIds[0]!)).toEqual([]);
    // Assert: the schedule as the Scheduler API stores it, per DESIGN §1.4 and the issue
    const schedules = await h.schedulesCreated();
    expect(schedules).toEqual([
      expect.objectContaining({
        Name: `fallback-${answer.request_id}`,
        GroupName: SCHEDULE_GROUP,
        State: 'ENABLED',
        ScheduleExpression: 'at(2026-11-24T12:10:00)',
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'DELETE',
        Target: expect.objectContaining({
          Input: JSON.stringify({ request_id: answer.request_id }),
          RetryPolicy: FALLBACK_RETRY_POLICY,
          DeadLetterConfig: { Arn: FALLBACK_DLQ_ARN },
        }),
      }),
    ]);
    expect(schedules[0]!.Name!.length).toBeLessThanOrEqual(64);

    // Act: another mechanic tries inside the window, then the favorite accepts
    h.clock.advance(60);
    await acceptRequest(h.deps, { requestId: answer.request_id!, mechanicId: other.mechanicId, connectionId: other.connectionIds[0]! });
    await acceptRequest(h.deps, { requestId: answer.request_id!, mechanicId: favorite.mechanicId, connectionId: favorite.connectionIds[0]! });

    // Assert
    expect(await h.pushedTo(other.connectionIds[0]!)).toEqual([{ type: 'accept_result', request_id: answer.request_id, ok: false, reason: 'priority_window' }]);
    expect((await h.pushedTo(favorite.connectionIds[0]!)).at(-1)).toEqual({ type: 'accept_result', request_id: answer.request_id, ok: true });
    expect(await h.schedule(`fallback-${answer.request_id}`)).toBeUndefined();
    const view = await getSessionView(h.deps, { customerId: 'cust-2', sessionId: answer.session_id });
    expect(view.request).toMatchObject({ status: 'matched', routing: 'priority', mechanic_id: favorite.mechanicId });
    expect(view.request!.metadata).toMatchObject({
      priority_mechanic_id: favorite.mechanicId,
      priority_window_minutes: 10,
      priority_notified_at: '2026-11-24T12:00:00.000Z',
    });
    expect(view.request!.metadata.fallback_broadcast_at).toBeUndefined();
    expect(view.request!.events.map((e) => e.type)).toEqual(['created', 'fallback_scheduled', 'priority_offer_sent', 'accepted']);

    // Act: the schedule fires late anyway (deletion is best effort)
    const late = await runFallback(h.deps, { requestId: answer.request_id!, reason: 'preferred_mechanic_no_response' });
    expect(late.ran).toBe(false);
    expect((await h.pushedTo(other.connectionIds[0]!)).filter((m) => m.type === 'new_request')).toEqual([]);
  });
});

describe('seed scenario 3: the window expires', () => {
  it('the fallback broadcasts once, records why, and a duplicate invocation does nothing', async () => {
    // Arrange
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    const other = await h.addMechanic();
    const answer = await startIntake(h.deps, {
      customerId: 'cust-3',
      booking: booking({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' }),
    });
    h.clock.advance(600);

    // Act: the scheduler fires, then fires again (at-least-once delivery)
    const first = await runFallback(h.deps, { requestId: answer.request_id!, reason: 'preferred_mechanic_no_response' });
    const second = await runFallback(h.deps, { requestId: answer.request_id!, reason: 'preferred_mechanic_no_response' });

    // Assert
    expect(first.ran).toBe(true);
    expect(second.ran).toBe(false);
    expect(await h.pushedTo(other.connectionIds[0]!)).toEqual([
      expect.objectContaining({ type: 'new_request', reason: 'fallback', request_id: answer.request_id }),
    ]);
    expect(await types(h, favorite.connectionIds[0]!)).toEqual(['priority_session_request', 'new_request']);
    const view = await getSessionView(h.deps, { customerId: 'cust-3', sessionId: answer.session_id });
    expect(view.request!.metadata).toMatchObject({ fallback_broadcast_at: '2026-11-24T12:10:00.000Z', fallback_reason: 'preferred_mechanic_no_response' });
    expect(h.logs.filter((l) => l.message.startsWith('[Fallback]')).map((l) => l.message)).toEqual([
      '[Fallback] Priority window over, broadcasting to all mechanics',
      '[Fallback] Broadcast delivered',
      '[Fallback] Nothing to do: the request was already matched, cancelled or broadcast',
    ]);

    // Act: now anyone may accept
    await acceptRequest(h.deps, { requestId: answer.request_id!, mechanicId: other.mechanicId, connectionId: other.connectionIds[0]! });
    expect((await h.pushedTo(other.connectionIds[0]!)).at(-1)).toEqual({ type: 'accept_result', request_id: answer.request_id, ok: true });
    expect((await h.pushedTo(favorite.connectionIds[0]!)).at(-1)).toEqual({ type: 'request_taken', request_id: answer.request_id });
  });

  it('a broadcast that throws gives the claim back so the scheduler retry completes it', async () => {
    // Arrange
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    const answer = await startIntake(h.deps, {
      customerId: 'cust-3b',
      booking: booking({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' }),
    });
    const listAll = h.deps.connections.listAll.bind(h.deps.connections);
    let outage = true;
    h.deps.connections.listAll = () => {
      if (outage) throw Object.assign(new Error('Throughput exceeded'), { name: 'ProvisionedThroughputExceededException' });
      return listAll();
    };

    // Act + Assert: the first invocation fails and releases
    await expect(runFallback(h.deps, { requestId: answer.request_id!, reason: 'preferred_mechanic_no_response' })).rejects.toThrow('Throughput exceeded');
    const afterFailure = await h.deps.requests.get(answer.request_id!);
    expect(afterFailure!.metadata.fallback_broadcast_at).toBeUndefined();

    // Act + Assert: the retry goes through
    outage = false;
    const retry = await runFallback(h.deps, { requestId: answer.request_id!, reason: 'preferred_mechanic_no_response' });
    expect(retry.ran).toBe(true);
    expect(await types(h, favorite.connectionIds[0]!)).toEqual(['priority_session_request', 'new_request']);
    const events = (await h.deps.requests.get(answer.request_id!))!.events.map((e) => e.type);
    expect(events).toEqual([
      'created',
      'fallback_scheduled',
      'priority_offer_sent',
      'fallback_started',
      'fallback_failed',
      'fallback_started',
      'fallback_broadcast',
    ]);
  });
});

describe('seed scenario 4: unknown or unapproved favorite', () => {
  it.each([
    ['unknown', async () => ({ mechanicId: 'mech-does-not-exist', connectionIds: [] as string[] })],
    ['pending', async () => h.addMechanic({ status: 'pending' })],
    ['suspended', async () => h.addMechanic({ status: 'suspended' })],
    ['offline', async () => h.addMechanic({ connections: 0 })],
  ])('%s favorite → immediate broadcast with reason priority_failed', async (_kind, makeFavorite) => {
    // Arrange
    await h.setFlag('true');
    const favorite = await makeFavorite();
    const other = await h.addMechanic();

    // Act
    const answer = await startIntake(h.deps, {
      customerId: 'cust-4',
      booking: booking({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' }),
    });

    // Assert
    expect(await h.pushedTo(other.connectionIds[0]!)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'priority_failed' })]);
    expect(await h.schedulesCreated()).toEqual([]);
    const view = await getSessionView(h.deps, { customerId: 'cust-4', sessionId: answer.session_id });
    expect(view.request).toMatchObject({ status: 'pending', routing: 'broadcast' });
    expect(view.request!.metadata).toMatchObject({ fallback_reason: 'priority_failed', priority_mechanic_id: favorite.mechanicId });
    expect(h.logs.some((l) => l.level === 'WARN' && l.message.startsWith('[Priority]'))).toBe(true);
  });

  it('a failing CreateSchedule (its group is gone: ResourceNotFoundException) → immediate broadcast, never a stuck request', async () => {
    // Arrange
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    await h.failScheduleCreation();

    // Act
    const answer = await startIntake(h.deps, {
      customerId: 'cust-4b',
      booking: booking({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' }),
    });

    // Assert
    expect(await types(h, favorite.connectionIds[0]!)).toEqual(['new_request']);
    expect((await h.pushedTo(favorite.connectionIds[0]!))[0]).toMatchObject({ reason: 'priority_failed' });
    const request = await h.deps.requests.get(answer.request_id!);
    expect(request).toMatchObject({ routing: 'broadcast', status: 'pending' });
    expect(request!.events[0]).toMatchObject({ type: 'priority_failed', why: 'schedule_failed' });
    expect(h.logs).toContainEqual(
      expect.objectContaining({ level: 'WARN', fields: expect.objectContaining({ error: expect.stringContaining('ResourceNotFoundException') }) }),
    );
  });

  it('an offer no connection takes (all gone) → fallback now, gone connections pruned', async () => {
    // Arrange
    await h.setFlag('true');
    const favorite = await h.addMechanic({ connections: 2 });
    const other = await h.addMechanic();
    for (const id of favorite.connectionIds) await h.goneConnection(id);

    // Act
    const answer = await startIntake(h.deps, {
      customerId: 'cust-4c',
      booking: booking({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' }),
    });

    // Assert
    expect(await h.pushedTo(other.connectionIds[0]!)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'priority_failed' })]);
    expect(await h.deps.connections.listByMechanic(favorite.mechanicId)).toEqual([]);
    const request = await h.deps.requests.get(answer.request_id!);
    expect(request!.metadata.fallback_reason).toBe('priority_failed');
    // It was scheduled, then deleted once the fallback had run.
    expect(request!.events.map((e) => e.type)).toContain('fallback_scheduled');
    expect(await h.schedule(`fallback-${answer.request_id}`)).toBeUndefined();
  });
});

describe('seed scenario 5: no favorite', () => {
  it.each([
    ['no favorite at all', {}],
    ['routing_type broadcast', { routing_type: 'broadcast' as const }],
    ['priority_broadcast without a favorite', { routing_type: 'priority_broadcast' as const }],
  ])('%s → broadcast, flag never read', async (_name, overrides) => {
    // Arrange: no parameter at all, so a read would also log a [Flag] warning
    await h.deleteFlag();
    const mechanic = await h.addMechanic();

    // Act
    await startIntake(h.deps, { customerId: 'cust-5', booking: booking(overrides) });

    // Assert
    expect(await h.pushedTo(mechanic.connectionIds[0]!)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'broadcast' })]);
    expect(h.logs.filter((l) => l.message.startsWith('[Flag]'))).toEqual([]);
    expect(h.flagReads()).toBe(0);
    expect(priorityLines(h)).toEqual([]);
  });
});

describe('workshop routing', () => {
  it('goes only to the workshop and takes precedence over priority', async () => {
    // Arrange
    await h.setFlag('true');
    const inWorkshop = await h.addMechanic({ workshopId: 'ws-north' });
    const favoriteElsewhere = await h.addMechanic();

    // Act
    const answer = await startIntake(h.deps, {
      customerId: 'cust-6',
      booking: booking({ workshop_id: 'ws-north', preferred_mechanic_id: favoriteElsewhere.mechanicId, routing_type: 'priority_broadcast' }),
    });
    await acceptRequest(h.deps, { requestId: answer.request_id!, mechanicId: favoriteElsewhere.mechanicId, connectionId: favoriteElsewhere.connectionIds[0]! });

    // Assert
    expect(await h.pushedTo(inWorkshop.connectionIds[0]!)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'workshop' })]);
    expect(await h.pushedTo(favoriteElsewhere.connectionIds[0]!)).toEqual([
      { type: 'accept_result', request_id: answer.request_id, ok: false, reason: 'not_found' },
    ]);
    expect(priorityLines(h)).toEqual([]);
  });
});

describe('flag', () => {
  it.each([
    // A real network failure: nothing listens on the port.
    ['SSM unreachable (connection refused)', (harness: Harness) => harness.makeFlagUnreachable(), /ECONNREFUSED/],
    ['the parameter missing (ParameterNotFound)', (harness: Harness) => harness.deleteFlag(), /ParameterNotFound/],
  ])('an unreadable flag counts as off, with a warning: %s', async (_name, breakFlag, why) => {
    // Arrange
    await breakFlag(h);
    const favorite = await h.addMechanic();

    // Act
    await startIntake(h.deps, { customerId: 'cust-7', booking: booking({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' }) });

    // Assert
    expect(await types(h, favorite.connectionIds[0]!)).toEqual(['new_request']);
    expect(h.logs).toContainEqual(expect.objectContaining({ level: 'WARN', message: '[Flag] Could not read the feature flag; treating priority as off' }));
    const warning = h.logs.find((l) => l.message.startsWith('[Flag]'))!;
    expect(String(warning.fields.error)).toMatch(why);
  });

  it('a flip takes effect once the cache TTL has passed, not before', async () => {
    // Arrange: Powertools Parameters keeps its cache by the system clock (Date), so this test moves
    // the system clock itself, together with the harness clock, and fakes nothing else.
    vi.useFakeTimers({ toFake: ['Date'], now: new Date() });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const advance = (seconds: number) => {
      cached.clock.advance(seconds);
      vi.setSystemTime(Date.now() + seconds * 1000);
    };
    const cached = await createHarness(await createTestTable(), { flagCacheTtlSeconds: 10 });
    const favorite = await cached.addMechanic();
    const priorityBooking = booking({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' });
    await cached.setFlag('false');
    await startIntake(cached.deps, { customerId: 'cust-8', booking: priorityBooking });

    // Act: ops flip it on; within the TTL the cached value holds, after it the new one applies
    await cached.setFlag('true');
    advance(5);
    await startIntake(cached.deps, { customerId: 'cust-8', booking: priorityBooking });
    advance(6);
    await startIntake(cached.deps, { customerId: 'cust-8', booking: priorityBooking });

    // Assert: and only two reads reached SSM
    expect(await types(cached, favorite.connectionIds[0]!)).toEqual(['new_request', 'new_request', 'priority_session_request']);
    expect(cached.flagReads()).toBe(2);
    await cached.close();
  });
});

describe('decline', () => {
  it("the favorite's decline ends the window at once and a later fallback does nothing", async () => {
    // Arrange
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    const other = await h.addMechanic();
    const answer = await startIntake(h.deps, {
      customerId: 'cust-9',
      booking: booking({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' }),
    });
    expect(await h.schedule(`fallback-${answer.request_id}`)).toBeDefined();
    h.clock.advance(30);

    // Act
    await declineRequest(h.deps, { requestId: answer.request_id!, mechanicId: favorite.mechanicId, connectionId: favorite.connectionIds[0]! });

    // Assert
    expect(await h.pushedTo(other.connectionIds[0]!)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'priority_declined' })]);
    const request = await h.deps.requests.get(answer.request_id!);
    expect(request!.metadata).toMatchObject({ fallback_reason: 'preferred_mechanic_declined', fallback_broadcast_at: '2026-11-24T12:00:30.000Z' });
    expect(await h.schedule(`fallback-${answer.request_id}`)).toBeUndefined();
    expect((await runFallback(h.deps, { requestId: answer.request_id!, reason: 'preferred_mechanic_no_response' })).ran).toBe(false);
  });

  it("someone else's decline changes nothing", async () => {
    // Arrange
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    const other = await h.addMechanic();
    const answer = await startIntake(h.deps, {
      customerId: 'cust-9b',
      booking: booking({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' }),
    });

    // Act
    await declineRequest(h.deps, { requestId: answer.request_id!, mechanicId: other.mechanicId, connectionId: other.connectionIds[0]! });

    // Assert
    const request = await h.deps.requests.get(answer.request_id!);
    expect(request!.metadata.fallback_broadcast_at).toBeUndefined();
    expect(await h.pushedTo(other.connectionIds[0]!)).toEqual([]);
    expect(await h.schedule(`fallback-${answer.request_id}`)).toBeDefined();
  });
});

describe('cancel', () => {
  it('cancels a pending priority request: schedule deleted, the offered favorite told, no fallback later', async () => {
    // Arrange
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    const other = await h.addMechanic();
    const answer = await startIntake(h.deps, {
      customerId: 'cust-10',
      booking: booking({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' }),
    });
    expect(await h.schedule(`fallback-${answer.request_id}`)).toBeDefined();

    // Act
    const result = await cancelSession(h.deps, { customerId: 'cust-10', sessionId: answer.session_id });

    // Assert
    expect(result).toEqual({ session_id: answer.session_id, status: 'cancelled' });
    expect((await h.pushedTo(favorite.connectionIds[0]!)).at(-1)).toEqual({ type: 'request_taken', request_id: answer.request_id });
    expect(await h.pushedTo(other.connectionIds[0]!)).toEqual([]);
    expect(await h.schedule(`fallback-${answer.request_id}`)).toBeUndefined();
    expect((await runFallback(h.deps, { requestId: answer.request_id!, reason: 'preferred_mechanic_no_response' })).ran).toBe(false);
    await acceptRequest(h.deps, { requestId: answer.request_id!, mechanicId: favorite.mechanicId, connectionId: favorite.connectionIds[0]! });
    expect((await h.pushedTo(favorite.connectionIds[0]!)).at(-1)).toEqual({
      type: 'accept_result',
      request_id: answer.request_id,
      ok: false,
      reason: 'cancelled',
    });
  });

  it('refuses to cancel a matched request and leaves the session as it was', async () => {
    // Arrange
    const mechanic = await h.addMechanic();
    const answer = await startIntake(h.deps, { customerId: 'cust-11', booking: booking() });
    await acceptRequest(h.deps, { requestId: answer.request_id!, mechanicId: mechanic.mechanicId, connectionId: mechanic.connectionIds[0]! });

    // Act + Assert
    await expect(cancelSession(h.deps, { customerId: 'cust-11', sessionId: answer.session_id })).rejects.toMatchObject({
      status: 409,
      code: 'already_matched',
    });
    expect((await h.deps.sessions.get(answer.session_id))!.status).toBe('fulfilled');
  });

  it('a paid session cancelled before checkout cannot be fulfilled afterwards', async () => {
    // Arrange
    const answer = await startIntake(h.deps, { customerId: 'cust-12', booking: booking({ plan: 'paid' }) });

    // Act
    await cancelSession(h.deps, { customerId: 'cust-12', sessionId: answer.session_id });

    // Assert
    await expect(completeCheckout(h.deps, { customerId: 'cust-12', sessionId: answer.session_id })).rejects.toMatchObject({
      status: 409,
      code: 'session_cancelled',
    });
    expect(await h.deps.requests.get(`req-${answer.session_id}`)).toBeUndefined();
  });
});

describe('paid plans and idempotency', () => {
  it('a paid session waits for checkout; a repeated checkout sends one offer and keeps one request', async () => {
    // Arrange
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    const answer = await startIntake(h.deps, {
      customerId: 'cust-13',
      booking: booking({ plan: 'paid', preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' }),
    });
    expect(answer).toEqual({ session_id: answer.session_id, status: 'awaiting_checkout' });
    expect(await h.pushed()).toEqual([]);

    // Act
    const first = await completeCheckout(h.deps, { customerId: 'cust-13', sessionId: answer.session_id });
    const again = await completeCheckout(h.deps, { customerId: 'cust-13', sessionId: answer.session_id });

    // Assert
    expect(again).toEqual(first);
    expect(await types(h, favorite.connectionIds[0]!)).toEqual(['priority_session_request']);
    expect(await h.schedulesCreated()).toHaveLength(1);
  });

  it('the same Idempotency-Key returns the first answer; with another body it is refused', async () => {
    // Arrange
    const mechanic = await h.addMechanic();

    // Act
    const first = await startIntake(h.deps, { customerId: 'cust-14', idempotencyKey: 'key-1', booking: booking() });
    const retry = await startIntake(h.deps, { customerId: 'cust-14', idempotencyKey: 'key-1', booking: booking() });
    const otherCustomer = await startIntake(h.deps, { customerId: 'cust-15', idempotencyKey: 'key-1', booking: booking() });

    // Assert
    expect(retry).toEqual(first);
    expect(otherCustomer.session_id).not.toBe(first.session_id);
    expect(await types(h, mechanic.connectionIds[0]!)).toEqual(['new_request', 'new_request']);
    await expect(
      startIntake(h.deps, { customerId: 'cust-14', idempotencyKey: 'key-1', booking: booking({ concern: 'Something else' }) }),
    ).rejects.toMatchObject({
      status: 409,
      code: 'idempotency_key_reused',
    });
  });

  it("another customer's session is not found", async () => {
    const answer = await startIntake(h.deps, { customerId: 'cust-16', booking: booking() });
    await expect(getSessionView(h.deps, { customerId: 'intruder', sessionId: answer.session_id })).rejects.toMatchObject({ status: 404 });
    await expect(cancelSession(h.deps, { customerId: 'intruder', sessionId: answer.session_id })).rejects.toMatchObject({ status: 404 });
    expect((await h.deps.sessions.get(answer.session_id))!.status).toBe('fulfilled');
  });
});

describe('accept races', () => {
  it('20 concurrent accepts on a broadcast request yield exactly one winner', async () => {
    // Arrange
    const mechanics = await Promise.all(Array.from({ length: 20 }, () => h.addMechanic()));
    const answer = await startIntake(h.deps, { customerId: 'cust-17', booking: booking() });

    // Act
    const wins = await Promise.all(
      mechanics.map((m) => acceptRequest(h.deps, { requestId: answer.request_id!, mechanicId: m.mechanicId, connectionId: m.connectionIds[0]! })),
    );

    // Assert
    expect(wins.filter(Boolean)).toHaveLength(1);
    const results = await Promise.all(mechanics.map(async (m) => (await h.pushedTo(m.connectionIds[0]!)).find((msg) => msg.type === 'accept_result')));
    expect(results.filter((r) => r && 'ok' in r && r.ok)).toHaveLength(1);
    expect(results.filter((r) => r && 'ok' in r && !r.ok && r.reason === 'already_matched')).toHaveLength(19);
    const winner = mechanics[wins.indexOf(true)]!;
    const request = await h.deps.requests.get(answer.request_id!);
    expect(request).toMatchObject({ status: 'matched', mechanic_id: winner.mechanicId });
    expect(request!.events.filter((e) => e.type === 'accepted')).toHaveLength(1);
  });

  it('an accept retried by the winner answers ok again and changes nothing', async () => {
    const mechanic = await h.addMechanic();
    const answer = await startIntake(h.deps, { customerId: 'cust-18', booking: booking() });
    const input = { requestId: answer.request_id!, mechanicId: mechanic.mechanicId, connectionId: mechanic.connectionIds[0]! };

    expect(await acceptRequest(h.deps, input)).toBe(true);
    expect(await acceptRequest(h.deps, input)).toBe(true);
    expect((await h.deps.requests.get(answer.request_id!))!.events.filter((e) => e.type === 'accepted')).toHaveLength(1);
  });

  it('a suspended mechanic cannot accept', async () => {
    const mechanic = await h.addMechanic({ status: 'suspended' });
    const answer = await startIntake(h.deps, { customerId: 'cust-19', booking: booking() });

    expect(await acceptRequest(h.deps, { requestId: answer.request_id!, mechanicId: mechanic.mechanicId, connectionId: mechanic.connectionIds[0]! })).toBe(
      false,
    );
    expect((await h.pushedTo(mechanic.connectionIds[0]!)).at(-1)).toMatchObject({ type: 'error', code: 'mechanic_not_approved' });
    expect((await h.deps.requests.get(answer.request_id!))!.status).toBe('pending');
  });

  it('an unknown request is not found', async () => {
    const mechanic = await h.addMechanic();
    await acceptRequest(h.deps, {
      requestId: 'req-00000000-0000-4000-8000-000000000000',
      mechanicId: mechanic.mechanicId,
      connectionId: mechanic.connectionIds[0]!,
    });
    expect(await h.pushedTo(mechanic.connectionIds[0]!)).toEqual([
      { type: 'accept_result', request_id: 'req-00000000-0000-4000-8000-000000000000', ok: false, reason: 'not_found' },
    ]);
  });
});

describe('broadcast delivery', () => {
  it('a 410 prunes that connection only; other push errors are counted and never stop the rest', async () => {
    // Arrange
    const healthy = await Promise.all(Array.from({ length: 5 }, () => h.addMechanic()));
    const gone = await h.addMechanic();
    const broken = await h.addMechanic();
    await h.goneConnection(gone.connectionIds[0]!);
    // The gateway answers this connection with a 500 (fault injection).
    h.brokenConnection(broken.connectionIds[0]!);

    // Act
    const answer = await startIntake(h.deps, { customerId: 'cust-20', booking: booking() });

    // Assert
    for (const m of healthy) expect(await types(h, m.connectionIds[0]!)).toEqual(['new_request']);
    expect(await h.deps.connections.listByMechanic(gone.mechanicId)).toEqual([]);
    expect(await h.deps.connections.listByMechanic(broken.mechanicId)).toHaveLength(1);
    const request = await h.deps.requests.get(answer.request_id!);
    expect(request!.events.at(-1)).toMatchObject({ type: 'broadcast_sent', delivered: 5, gone: 1, failed: 1 });
  });
});
