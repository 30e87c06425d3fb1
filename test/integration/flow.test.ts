/**
 * The flow end to end through the use cases, with the real adapters on real
 * wires: DynamoDB on dynalite (real conditional writes), SSM and Scheduler on
 * the sandbox's emulators (timers are read back with GetSchedule), the
 * fan-out handed to the sandbox's Lambda API and run by its AsyncInvoker
 * (the fan-out use case on these same deps), and `@connections` on the
 * sandbox's WebSocket gateway, where every mechanic is a real `ws` client and
 * "pushed" means "received". The clock is manual and the scheduler's firing
 * loop is off: the tests fire the request's timer (`onTimer`) themselves.
 */
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { TIMER_RETRY_POLICY } from '../../lambdas/adapters/eventbridge-request-timer';
import { newSessionId } from '../../lambdas/domain/ids';
import { acceptRequest } from '../../lambdas/use-cases/accept-request';
import { cancelBooking, completeCheckout, getSessionView, startIntake } from '../../lambdas/use-cases/booking';
import { declineRequest } from '../../lambdas/use-cases/decline-request';
import { onTimer } from '../../lambdas/use-cases/request-timer';
import { booking, priorityBooking } from '../support/bookings';
import { createHarness, DEAD_LETTER_QUEUE_ARN, type Harness, SCHEDULE_GROUP, SCHEDULER_ROLE_ARN, TIMER_FUNCTION_ARN } from '../support/deps';
import { createTestTable } from '../support/table';

const priorityLines = (h: Harness) => h.logs.filter((l) => l.message.startsWith('[Priority]'));
const types = async (h: Harness, connectionId: string) => (await h.pushedTo(connectionId)).map((m) => m.type);
/** The fan-out's hand-overs for a request (not its shard splits), as `type:reason` of their message and whom to. */
const handOvers = (h: Harness, requestId: string) =>
  h
    .fanOuts()
    .map((i) => i.payload as { request_id: string; audience: { kind: string }; message: { type: string; reason?: string } })
    .filter((p) => p.request_id === requestId && p.audience.kind !== 'shard')
    .map((p) => `${p.message.type}:${p.message.reason} → ${p.audience.kind}`);

let h: Harness;
beforeEach(async () => {
  h = await createHarness(await createTestTable());
});
afterEach(async () => {
  await h.close();
});

describe('seed scenario 1: flag off', () => {
  it('hands a priority booking to the fan-out for everyone at once, runs no priority code, and arms the expiry', async () => {
    // Arrange
    const favorite = await h.addMechanic();
    const other = await h.addMechanic();
    await h.setFlag('false');

    // Act
    const answer = await startIntake(h.deps, { customerId: 'cust-1', booking: priorityBooking(favorite.mechanicId) });

    // Assert
    expect(answer).toEqual({ session_id: answer.session_id, status: 'fulfilled', request_id: `req-${answer.session_id}` });
    expect(handOvers(h, answer.request_id!)).toEqual(['new_request:broadcast → everyone']);
    expect(await h.pushedTo(favorite.connectionIds[0]!)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'broadcast' })]);
    expect(await h.pushedTo(other.connectionIds[0]!)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'broadcast' })]);
    expect(priorityLines(h)).toEqual([]);
    expect(h.logs.map((l) => l.message)).toContain('[fulfillment] Broadcast routing to all mechanics');
    expect(await h.timerDue(answer.request_id!)).toBe('2026-11-24T12:30:00.000Z');
    const view = await getSessionView(h.deps, { customerId: 'cust-1', sessionId: answer.session_id });
    expect(view.metadata).toEqual({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' });
    expect(view.request).toMatchObject({ status: 'pending', state: 'open', routing: 'broadcast', expires_at: null, open_until: '2026-11-24T12:30:00.000Z' });
  });
});

describe('seed scenario 2: priority accepted in the window', () => {
  it('offers only the favorite, with one durable timer at the window end, and the favorite wins', async () => {
    // Arrange
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    const other = await h.addMechanic();

    // Act
    const answer = await startIntake(h.deps, { customerId: 'cust-2', booking: priorityBooking(favorite.mechanicId) });

    // Assert: the offer, pushed inline (nothing handed to the fan-out)
    const offer = (await h.pushedTo(favorite.connectionIds[0]!))[0];
    expect(offer).toMatchObject({ type: 'priority_session_request', request_id: answer.request_id, window_seconds: 600 });
    expect(offer && 'expires_at' in offer && offer.expires_at).toBe('2026-11-24T12:10:00.000Z');
    expect(await h.pushedTo(other.connectionIds[0]!)).toEqual([]);
    expect(h.fanOuts()).toEqual([]);
    // Assert: the timer as the Scheduler API stores it — set a minute early, for Scheduler's 60 s precision
    const schedules = await h.schedulesCreated();
    expect(schedules).toEqual([
      expect.objectContaining({
        Name: `timer-${answer.request_id}`,
        GroupName: SCHEDULE_GROUP,
        State: 'ENABLED',
        ScheduleExpression: 'at(2026-11-24T12:09:00)',
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'NONE',
        Target: expect.objectContaining({
          Arn: TIMER_FUNCTION_ARN,
          RoleArn: SCHEDULER_ROLE_ARN,
          Input: JSON.stringify({ request_id: answer.request_id, due_at: '2026-11-24T12:10:00.000Z' }),
          RetryPolicy: TIMER_RETRY_POLICY,
          DeadLetterConfig: { Arn: DEAD_LETTER_QUEUE_ARN },
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
    expect(await h.timer(answer.request_id!)).toBeUndefined();
    const view = await getSessionView(h.deps, { customerId: 'cust-2', sessionId: answer.session_id });
    expect(view.request).toMatchObject({ status: 'matched', state: 'matched', routing: 'priority', mechanic_id: favorite.mechanicId });
    expect(view.request!.metadata).toMatchObject({
      priority_mechanic_id: favorite.mechanicId,
      priority_window_minutes: 10,
      priority_notified_at: '2026-11-24T12:00:00.000Z',
    });
    expect(view.request!.metadata.fallback_broadcast_at).toBeUndefined();
    expect(view.request!.events.map((e) => e.type)).toEqual(['created', 'priority_offer_sent', 'accepted']);

    // Act: the timer fires late anyway (its deletion raced its firing); it waits (bounded) for its due_at first
    const pushedBefore = (await h.pushed()).length;
    const late = await onTimer(h.deps, { requestId: answer.request_id!, dueAt: '2026-11-24T12:10:00.000Z' });

    // Assert: the accept finished (it deleted the timer), so the firing does nothing: it never opens it, and tells nobody
    expect(late).toEqual({ did: 'nothing' });
    expect(h.clock.now().toISOString()).toBe('2026-11-24T12:03:00.000Z');
    expect(await h.pushed()).toHaveLength(pushedBefore);
    expect(h.fanOuts()).toEqual([]);
    expect(await h.timer(answer.request_id!)).toBeUndefined();
    expect((await h.deps.bookings.get(answer.session_id))!.state).toBe('matched');
  });
});

describe('seed scenario 3: the window expires', () => {
  it('the timer opens the request to everyone once (reason fallback), records why, and a duplicate firing does nothing', async () => {
    // Arrange
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    const other = await h.addMechanic();
    const answer = await startIntake(h.deps, { customerId: 'cust-3', booking: priorityBooking(favorite.mechanicId) });
    h.clock.advance(600);

    // Act: the timer fires, then fires again (at-least-once delivery)
    const first = await onTimer(h.deps, { requestId: answer.request_id!, dueAt: '2026-11-24T12:10:00.000Z' });
    const second = await onTimer(h.deps, { requestId: answer.request_id!, dueAt: '2026-11-24T12:10:00.000Z' });

    // Assert
    expect(first).toEqual({ did: 'end_window' });
    expect(second).toEqual({ did: 'nothing' });
    expect(handOvers(h, answer.request_id!)).toEqual(['new_request:fallback → everyone']);
    expect(await h.pushedTo(other.connectionIds[0]!)).toEqual([
      expect.objectContaining({ type: 'new_request', reason: 'fallback', request_id: answer.request_id }),
    ]);
    expect(await types(h, favorite.connectionIds[0]!)).toEqual(['priority_session_request', 'new_request']);
    const view = await getSessionView(h.deps, { customerId: 'cust-3', sessionId: answer.session_id });
    expect(view.request).toMatchObject({ status: 'pending', state: 'open', open_until: '2026-11-24T12:40:00.000Z' });
    expect(view.request!.metadata).toMatchObject({ fallback_broadcast_at: '2026-11-24T12:10:00.000Z', fallback_reason: 'preferred_mechanic_no_response' });
    expect(view.request!.events.map((e) => e.type)).toEqual(['created', 'priority_offer_sent', 'fallback_started', 'broadcast_sent']);
    expect(h.logs.map((l) => l.message)).toContain('[Fallback] Priority window over, broadcasting to all mechanics');
    expect(await h.timerDue(answer.request_id!)).toBe('2026-11-24T12:40:00.000Z');

    // Act: now anyone may accept
    await acceptRequest(h.deps, { requestId: answer.request_id!, mechanicId: other.mechanicId, connectionId: other.connectionIds[0]! });

    // Assert: the winner hears its answer and no request_taken; everyone else (the favorite too) hears request_taken
    expect((await h.pushedTo(other.connectionIds[0]!)).at(-1)).toEqual({ type: 'accept_result', request_id: answer.request_id, ok: true });
    expect((await h.pushedTo(other.connectionIds[0]!)).filter((m) => m.type === 'request_taken')).toEqual([]);
    expect((await h.pushedTo(favorite.connectionIds[0]!)).at(-1)).toEqual({ type: 'request_taken', request_id: answer.request_id, reason: 'accepted' });
    expect(handOvers(h, answer.request_id!).at(-1)).toBe('request_taken:accepted → everyone');
    expect(h.fanOuts().at(-1)?.payload).toMatchObject({ message: { type: 'request_taken' }, except_mechanic_id: other.mechanicId });
  });

  it('an open request nobody takes expires when its timer fires: everyone hears request_taken (expired), and the timer goes', async () => {
    // Arrange
    const mechanic = await h.addMechanic();
    const answer = await startIntake(h.deps, { customerId: 'cust-3c', booking: booking() });
    await h.fanOutDone();
    h.clock.advance(h.requestTtlSeconds);

    // Act
    const outcome = await onTimer(h.deps, { requestId: answer.request_id!, dueAt: '2026-11-24T12:30:00.000Z' });

    // Assert
    expect(outcome).toEqual({ did: 'expire' });
    expect(await h.pushedTo(mechanic.connectionIds[0]!)).toEqual([
      expect.objectContaining({ type: 'new_request' }),
      { type: 'request_taken', request_id: answer.request_id, reason: 'expired' },
    ]);
    expect(await h.timer(answer.request_id!)).toBeUndefined();
    const view = await getSessionView(h.deps, { customerId: 'cust-3c', sessionId: answer.session_id });
    expect(view).toMatchObject({ status: 'fulfilled', request: { status: 'expired', state: 'expired', mechanic_id: null } });
    await acceptRequest(h.deps, { requestId: answer.request_id!, mechanicId: mechanic.mechanicId, connectionId: mechanic.connectionIds[0]! });
    expect((await h.pushedTo(mechanic.connectionIds[0]!)).at(-1)).toEqual({
      type: 'accept_result',
      request_id: answer.request_id,
      ok: false,
      reason: 'expired',
    });
    await expect(cancelBooking(h.deps, { customerId: 'cust-3c', sessionId: answer.session_id })).rejects.toMatchObject({
      status: 409,
      code: 'request_expired',
    });
  });
});

describe('seed scenario 4: unknown or unapproved favorite', () => {
  it.each([
    ['unknown', async () => ({ mechanicId: 'mech-does-not-exist', connectionIds: [] as string[] })],
    ['pending', async () => h.addMechanic({ status: 'pending' })],
    ['suspended', async () => h.addMechanic({ status: 'suspended' })],
    ['offline', async () => h.addMechanic({ connections: 0 })],
  ])('%s favorite → handed to the fan-out for everyone at once, reason priority_failed', async (_kind, makeFavorite) => {
    // Arrange
    await h.setFlag('true');
    const favorite = await makeFavorite();
    const other = await h.addMechanic();

    // Act
    const answer = await startIntake(h.deps, { customerId: 'cust-4', booking: priorityBooking(favorite.mechanicId) });

    // Assert
    expect(handOvers(h, answer.request_id!)).toEqual(['new_request:priority_failed → everyone']);
    expect(await h.pushedTo(other.connectionIds[0]!)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'priority_failed' })]);
    expect(await h.timerDue(answer.request_id!)).toBe('2026-11-24T12:30:00.000Z');
    const view = await getSessionView(h.deps, { customerId: 'cust-4', sessionId: answer.session_id });
    expect(view.request).toMatchObject({ status: 'pending', state: 'open', routing: 'priority', expires_at: null });
    expect(view.request!.metadata).toMatchObject({ fallback_reason: 'priority_failed', priority_mechanic_id: favorite.mechanicId });
    expect(view.request!.events.map((e) => e.type)).toEqual(['created', 'priority_failed', 'broadcast_sent']);
    expect(h.logs.some((l) => l.level === 'WARN' && l.message.startsWith('[Priority]'))).toBe(true);
  });

  it('an offer no connection takes (all gone) → everyone at once, the gone connections pruned', async () => {
    // Arrange
    await h.setFlag('true');
    const favorite = await h.addMechanic({ connections: 2 });
    const other = await h.addMechanic();
    for (const id of favorite.connectionIds) await h.goneConnection(id);

    // Act
    const answer = await startIntake(h.deps, { customerId: 'cust-4c', booking: priorityBooking(favorite.mechanicId) });

    // Assert
    expect(await h.pushedTo(other.connectionIds[0]!)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'priority_failed' })]);
    expect(await h.deps.connections.listByMechanic(favorite.mechanicId)).toEqual([]);
    const stored = await h.deps.bookings.get(answer.session_id);
    expect(stored!.request_metadata.fallback_reason).toBe('priority_failed');
    expect(stored!.events[1]).toMatchObject({ type: 'priority_failed', why: 'offer_undelivered' });
    expect(stored!.state).toBe('open');
  });

  it('a timer that cannot be armed (its group is gone: ResourceNotFoundException) fails the intake before anything is written or sent', async () => {
    // Arrange
    const mechanic = await h.addMechanic();
    await h.failScheduleCreation();

    // Act + Assert: the client sees a failure and may retry; there is no booking nobody would ever route
    await expect(startIntake(h.deps, { customerId: 'cust-4b', idempotencyKey: 'k-4b', booking: booking() })).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect(await h.deps.bookings.get(newSessionId('cust-4b', 'k-4b'))).toBeUndefined();
    expect(h.fanOuts()).toEqual([]);
    expect(await h.pushedTo(mechanic.connectionIds[0]!)).toEqual([]);
  });
});

describe('seed scenario 5: no favorite', () => {
  it.each([
    ['no favorite at all', {}],
    ['routing_type broadcast', { routing_type: 'broadcast' as const }],
    ['priority_broadcast without a favorite', { routing_type: 'priority_broadcast' as const }],
  ])('%s → everyone, flag never read', async (_name, overrides) => {
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
  it('goes only to the workshop (through the fan-out) and takes precedence over priority', async () => {
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
    expect(handOvers(h, answer.request_id!)).toEqual(['new_request:workshop → workshop']);
    expect(await h.pushedTo(inWorkshop.connectionIds[0]!)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'workshop' })]);
    expect(await h.pushedTo(favoriteElsewhere.connectionIds[0]!)).toEqual([
      { type: 'accept_result', request_id: answer.request_id, ok: false, reason: 'not_found' },
    ]);
    expect(priorityLines(h)).toEqual([]);
    expect((await h.deps.bookings.get(answer.session_id))!.events.at(-1)).toMatchObject({ type: 'workshop_sent', reason: 'workshop' });

    // Act: the workshop's mechanic takes it; the workshop (but the winner) hears it is gone
    const colleague = await h.addMechanic({ workshopId: 'ws-north' });
    await acceptRequest(h.deps, { requestId: answer.request_id!, mechanicId: inWorkshop.mechanicId, connectionId: inWorkshop.connectionIds[0]! });

    // Assert
    expect((await h.pushedTo(inWorkshop.connectionIds[0]!)).at(-1)).toEqual({ type: 'accept_result', request_id: answer.request_id, ok: true });
    expect((await h.pushedTo(inWorkshop.connectionIds[0]!)).filter((m) => m.type === 'request_taken')).toEqual([]);
    expect(await h.pushedTo(colleague.connectionIds[0]!)).toEqual([{ type: 'request_taken', request_id: answer.request_id, reason: 'accepted' }]);
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
    await startIntake(h.deps, { customerId: 'cust-7', booking: priorityBooking(favorite.mechanicId) });

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
    onTestFinished(() => cached.close());
    const favorite = await cached.addMechanic();
    await cached.setFlag('false');
    await startIntake(cached.deps, { customerId: 'cust-8', booking: priorityBooking(favorite.mechanicId) });
    await cached.fanOutDone();

    // Act: ops flip it on; within the TTL the cached value holds, after it the new one applies
    await cached.setFlag('true');
    advance(5);
    await startIntake(cached.deps, { customerId: 'cust-8', booking: priorityBooking(favorite.mechanicId) });
    await cached.fanOutDone();
    advance(6);
    await startIntake(cached.deps, { customerId: 'cust-8', booking: priorityBooking(favorite.mechanicId) });

    // Assert: and only two reads reached SSM
    expect(await types(cached, favorite.connectionIds[0]!)).toEqual(['new_request', 'new_request', 'priority_session_request']);
    expect(cached.flagReads()).toBe(2);
  });
});

describe('decline', () => {
  it("the favorite's decline ends the window at once; the timer moves to the expiry, and its old due time finds nothing to do", async () => {
    // Arrange
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    const other = await h.addMechanic();
    const answer = await startIntake(h.deps, { customerId: 'cust-9', booking: priorityBooking(favorite.mechanicId) });
    expect(await h.timerDue(answer.request_id!)).toBe('2026-11-24T12:10:00.000Z');
    h.clock.advance(30);

    // Act
    await declineRequest(h.deps, { requestId: answer.request_id!, mechanicId: favorite.mechanicId, connectionId: favorite.connectionIds[0]! });

    // Assert
    expect(await h.pushedTo(other.connectionIds[0]!)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'priority_declined' })]);
    const stored = (await h.deps.bookings.get(answer.session_id))!;
    expect(stored).toMatchObject({ state: 'open', audience: 'everyone', open_until: '2026-11-24T12:30:30.000Z' });
    expect(stored.request_metadata).toMatchObject({ fallback_reason: 'preferred_mechanic_declined', fallback_broadcast_at: '2026-11-24T12:00:30.000Z' });
    expect(await h.timerDue(answer.request_id!)).toBe('2026-11-24T12:30:30.000Z');

    // Act: a firing for the old window end (already under way when the timer moved)
    h.clock.advance(570);
    const late = await onTimer(h.deps, { requestId: answer.request_id!, dueAt: '2026-11-24T12:10:00.000Z' });

    // Assert
    expect(late).toEqual({ did: 'nothing' });
    expect(handOvers(h, answer.request_id!)).toEqual(['new_request:priority_declined → everyone']);
    expect(await h.timerDue(answer.request_id!)).toBe('2026-11-24T12:30:30.000Z');
  });

  it("the favorite's decline answering the push before the intake records offer_sent still ends the window; the late offer_sent write is refused", async () => {
    // Arrange: the favorite's app declines as soon as the offer is delivered, before the intake writes `offer_sent`.
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    const other = await h.addMechanic();
    const pusher = h.deps.pusher;
    let declined = false;
    vi.spyOn(pusher, 'send').mockImplementation(async function (this: typeof pusher, connectionId, message) {
      const result = await Object.getPrototypeOf(pusher).send.call(pusher, connectionId, message);
      if (message.type === 'priority_session_request' && !declined) {
        declined = true;
        h.clock.advance(2);
        await declineRequest(h.deps, { requestId: message.request_id, mechanicId: favorite.mechanicId, connectionId: favorite.connectionIds[0]! });
      }
      return result;
    });

    // Act
    const answer = await startIntake(h.deps, { customerId: 'cust-9c', booking: priorityBooking(favorite.mechanicId) });

    // Assert
    expect(declined).toBe(true);
    const stored = (await h.deps.bookings.get(answer.session_id))!;
    expect(stored).toMatchObject({ state: 'open', audience: 'everyone', new_request_reason: 'priority_declined', routing_since: '2026-11-24T12:00:02.000Z' });
    expect(stored.events.map((e) => e.type)).toEqual(['created', 'declined', 'broadcast_sent']);
    expect(await h.pushedTo(other.connectionIds[0]!)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'priority_declined' })]);
    expect(await h.timerDue(answer.request_id!)).toBe('2026-11-24T12:30:02.000Z');
  });

  it("someone else's decline changes nothing", async () => {
    // Arrange
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    const other = await h.addMechanic();
    const answer = await startIntake(h.deps, { customerId: 'cust-9b', booking: priorityBooking(favorite.mechanicId) });
    const before = await h.deps.bookings.get(answer.session_id);

    // Act
    await declineRequest(h.deps, { requestId: answer.request_id!, mechanicId: other.mechanicId, connectionId: other.connectionIds[0]! });

    // Assert
    expect(await h.deps.bookings.get(answer.session_id)).toEqual(before);
    expect(await h.pushedTo(other.connectionIds[0]!)).toEqual([]);
    expect(await h.timerDue(answer.request_id!)).toBe('2026-11-24T12:10:00.000Z');
  });
});

describe('cancel', () => {
  it('cancels an offered priority request: timer deleted, the favorite told, and a late firing does nothing (never opens it)', async () => {
    // Arrange
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    const other = await h.addMechanic();
    const answer = await startIntake(h.deps, { customerId: 'cust-10', booking: priorityBooking(favorite.mechanicId) });
    expect(await h.timer(answer.request_id!)).toBeDefined();

    // Act
    const result = await cancelBooking(h.deps, { customerId: 'cust-10', sessionId: answer.session_id });

    // Assert
    expect(result).toEqual({ session_id: answer.session_id, status: 'cancelled' });
    expect((await h.pushedTo(favorite.connectionIds[0]!)).at(-1)).toEqual({ type: 'request_taken', request_id: answer.request_id, reason: 'cancelled' });
    expect(await h.pushedTo(other.connectionIds[0]!)).toEqual([]);
    expect(await h.timer(answer.request_id!)).toBeUndefined();
    h.clock.advance(600);
    const pushedBefore = (await h.pushed()).length;
    expect(await onTimer(h.deps, { requestId: answer.request_id!, dueAt: '2026-11-24T12:10:00.000Z' })).toEqual({ did: 'nothing' });
    expect(await h.pushed()).toHaveLength(pushedBefore);
    expect(await h.pushedTo(other.connectionIds[0]!)).toEqual([]);
    expect(h.fanOuts()).toEqual([]);
    expect((await h.deps.bookings.get(answer.session_id))!.state).toBe('cancelled');
    await acceptRequest(h.deps, { requestId: answer.request_id!, mechanicId: favorite.mechanicId, connectionId: favorite.connectionIds[0]! });
    expect((await h.pushedTo(favorite.connectionIds[0]!)).at(-1)).toEqual({
      type: 'accept_result',
      request_id: answer.request_id,
      ok: false,
      reason: 'cancelled',
    });
  });

  it('refuses to cancel a matched request and leaves the booking as it was', async () => {
    // Arrange
    const mechanic = await h.addMechanic();
    const answer = await startIntake(h.deps, { customerId: 'cust-11', booking: booking() });
    await acceptRequest(h.deps, { requestId: answer.request_id!, mechanicId: mechanic.mechanicId, connectionId: mechanic.connectionIds[0]! });
    const matched = await h.deps.bookings.get(answer.session_id);

    // Act + Assert
    await expect(cancelBooking(h.deps, { customerId: 'cust-11', sessionId: answer.session_id })).rejects.toMatchObject({
      status: 409,
      code: 'already_matched',
    });
    expect(await h.deps.bookings.get(answer.session_id)).toEqual(matched);
  });

  it('a paid session cancelled before checkout cannot be routed afterwards, and never had a timer', async () => {
    // Arrange
    const answer = await startIntake(h.deps, { customerId: 'cust-12', booking: booking({ plan: 'paid' }) });

    // Act
    await cancelBooking(h.deps, { customerId: 'cust-12', sessionId: answer.session_id });

    // Assert
    await expect(completeCheckout(h.deps, { customerId: 'cust-12', sessionId: answer.session_id })).rejects.toMatchObject({
      status: 409,
      code: 'session_cancelled',
    });
    expect(await h.deps.bookings.get(answer.session_id)).toMatchObject({ state: 'cancelled', routing: null });
    expect(await h.schedulesCreated()).toEqual([]);
    const view = await getSessionView(h.deps, { customerId: 'cust-12', sessionId: answer.session_id });
    expect(view).toMatchObject({ status: 'cancelled', request: null });
  });
});

describe('paid plans and idempotency', () => {
  it('a paid session waits for checkout; a repeated checkout sends one offer and keeps one timer', async () => {
    // Arrange
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    const answer = await startIntake(h.deps, { customerId: 'cust-13', booking: priorityBooking(favorite.mechanicId, { plan: 'paid' }) });
    expect(answer).toEqual({ session_id: answer.session_id, status: 'awaiting_checkout' });
    expect(await h.pushed()).toEqual([]);
    expect(await h.schedulesCreated()).toEqual([]);

    // Act
    const first = await completeCheckout(h.deps, { customerId: 'cust-13', sessionId: answer.session_id });
    const again = await completeCheckout(h.deps, { customerId: 'cust-13', sessionId: answer.session_id });

    // Assert
    expect(first).toEqual({ session_id: answer.session_id, status: 'fulfilled', request_id: `req-${answer.session_id}` });
    expect(again).toEqual(first);
    expect(await types(h, favorite.connectionIds[0]!)).toEqual(['priority_session_request']);
    expect((await h.schedulesCreated()).map((s) => s.Name)).toEqual([`timer-${first.request_id}`]);
    expect((await h.deps.bookings.get(answer.session_id))!.events.map((e) => e.type)).toEqual(['awaiting_checkout', 'created', 'priority_offer_sent']);
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

  it("a retried intake (same Idempotency-Key) never moves the booking's timer past its deadline", async () => {
    // Arrange: the favorite's window ends at 12:10; the client retries at 12:09:10, when the recovery delay reaches past it
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    const first = await startIntake(h.deps, { customerId: 'cust-14b', idempotencyKey: 'key-2', booking: priorityBooking(favorite.mechanicId) });
    h.clock.advance(550);

    // Act
    const retry = await startIntake(h.deps, { customerId: 'cust-14b', idempotencyKey: 'key-2', booking: priorityBooking(favorite.mechanicId) });

    // Assert
    expect(retry).toEqual(first);
    expect(await h.timerDue(first.request_id!)).toBe('2026-11-24T12:10:00.000Z');
    expect(await types(h, favorite.connectionIds[0]!)).toEqual(['priority_session_request']);
  });

  it('a retried intake of a request that already ended keeps the timer it armed: its firing repeats request_taken once', async () => {
    // Arrange
    const mechanic = await h.addMechanic();
    const first = await startIntake(h.deps, { customerId: 'cust-14c', idempotencyKey: 'key-3', booking: booking() });
    await acceptRequest(h.deps, { requestId: first.request_id!, mechanicId: mechanic.mechanicId, connectionId: mechanic.connectionIds[0]! });
    expect(await h.timer(first.request_id!)).toBeUndefined();

    // Act: the ending may have died before telling everyone; the retry cannot know, so the timer stays to repeat it.
    const retry = await startIntake(h.deps, { customerId: 'cust-14c', idempotencyKey: 'key-3', booking: booking() });

    // Assert
    expect(retry).toEqual(first);
    expect(await h.timer(first.request_id!)).toBeDefined();
  });

  it("another customer's session is not found", async () => {
    const answer = await startIntake(h.deps, { customerId: 'cust-16', booking: booking() });
    await expect(getSessionView(h.deps, { customerId: 'intruder', sessionId: answer.session_id })).rejects.toMatchObject({ status: 404 });
    await expect(cancelBooking(h.deps, { customerId: 'intruder', sessionId: answer.session_id })).rejects.toMatchObject({ status: 404 });
    expect((await h.deps.bookings.get(answer.session_id))!.state).toBe('open');
  });
});

describe('accept races', () => {
  it("20 concurrent accepts on an open request yield exactly one winner; the others also hear request_taken, the winner's other device hears it by_you", async () => {
    // Arrange
    const mechanics = await Promise.all(Array.from({ length: 20 }, () => h.addMechanic({ connections: 2 })));
    const answer = await startIntake(h.deps, { customerId: 'cust-17', booking: booking() });

    // Act
    const wins = await Promise.all(
      mechanics.map((m) => acceptRequest(h.deps, { requestId: answer.request_id!, mechanicId: m.mechanicId, connectionId: m.connectionIds[0]! })),
    );

    // Assert
    expect(wins.filter(Boolean)).toHaveLength(1);
    const winner = mechanics[wins.indexOf(true)]!;
    const results = await Promise.all(mechanics.map(async (m) => (await h.pushedTo(m.connectionIds[0]!)).find((msg) => msg.type === 'accept_result')));
    expect(results.filter((r) => r && 'ok' in r && r.ok)).toHaveLength(1);
    expect(results.filter((r) => r && 'ok' in r && !r.ok && r.reason === 'already_matched')).toHaveLength(19);
    for (const connectionId of mechanics.filter((x) => x !== winner).flatMap((m) => m.connectionIds)) {
      expect(await h.pushedTo(connectionId)).toContainEqual({ type: 'request_taken', request_id: answer.request_id, reason: 'accepted' });
    }
    expect((await h.pushedTo(winner.connectionIds[0]!)).filter((msg) => msg.type === 'request_taken')).toEqual([]);
    expect((await h.pushedTo(winner.connectionIds[1]!)).filter((msg) => msg.type === 'request_taken')).toEqual([
      { type: 'request_taken', request_id: answer.request_id, reason: 'accepted', by_you: true },
    ]);
    const stored = await h.deps.bookings.get(answer.session_id);
    expect(stored).toMatchObject({ state: 'matched', mechanic_id: winner.mechanicId });
    expect(stored!.events.filter((e) => e.type === 'accepted')).toHaveLength(1);
    expect(handOvers(h, answer.request_id!).filter((x) => x.startsWith('request_taken'))).toEqual(['request_taken:accepted → everyone']);
  });

  it('an accept retried by the winner answers ok again and changes nothing', async () => {
    const mechanic = await h.addMechanic();
    const answer = await startIntake(h.deps, { customerId: 'cust-18', booking: booking() });
    const input = { requestId: answer.request_id!, mechanicId: mechanic.mechanicId, connectionId: mechanic.connectionIds[0]! };

    expect(await acceptRequest(h.deps, input)).toBe(true);
    expect(await acceptRequest(h.deps, input)).toBe(true);
    expect((await h.deps.bookings.get(answer.session_id))!.events.filter((e) => e.type === 'accepted')).toHaveLength(1);
  });

  it('a suspended mechanic cannot accept', async () => {
    const mechanic = await h.addMechanic({ status: 'suspended' });
    const answer = await startIntake(h.deps, { customerId: 'cust-19', booking: booking() });

    expect(await acceptRequest(h.deps, { requestId: answer.request_id!, mechanicId: mechanic.mechanicId, connectionId: mechanic.connectionIds[0]! })).toBe(
      false,
    );
    // (the fan-out's new_request, to every live connection, may land before or after the answer)
    expect(await h.pushedTo(mechanic.connectionIds[0]!)).toContainEqual(expect.objectContaining({ type: 'error', code: 'mechanic_not_approved' }));
    expect((await h.deps.bookings.get(answer.session_id))!.state).toBe('open');
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

describe('fan-out delivery', () => {
  it('a 410 prunes that connection only; a push still failing fails its shard run, which Lambda retries, and never stops the rest', async () => {
    // Arrange
    const healthy = await Promise.all(Array.from({ length: 5 }, () => h.addMechanic()));
    const gone = await h.addMechanic();
    const broken = await h.addMechanic();
    await h.goneConnection(gone.connectionIds[0]!);
    // The gateway answers this connection with a 500 (fault injection).
    h.brokenConnection(broken.connectionIds[0]!);

    // Act
    const answer = await startIntake(h.deps, { customerId: 'cust-20', booking: booking() });
    await h.fanOutDone();

    // Assert: everyone healthy heard of it (again on each run of a shard it shares with the broken one: same request id)
    for (const m of healthy) {
      const heard = await types(h, m.connectionIds[0]!);
      expect(heard.length).toBeGreaterThanOrEqual(1);
      expect(new Set(heard)).toEqual(new Set(['new_request']));
    }
    expect(await h.deps.connections.listByMechanic(gone.mechanicId)).toEqual([]);
    expect(await h.deps.connections.listByMechanic(broken.mechanicId)).toHaveLength(1);
    const failed = h.fanOuts().filter((i) => i.outcome === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.runs).toBe(3);
    expect(h.deadLetters()).toEqual([expect.objectContaining({ destination_arn: DEAD_LETTER_QUEUE_ARN })]);
    expect(h.metrics.total('PushFailures')).toBe(3);
    expect(h.metrics.total('StaleConnectionsPruned')).toBe(1);
    expect((await h.deps.bookings.get(answer.session_id))!.state).toBe('open');
  });
});
