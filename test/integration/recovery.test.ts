/**
 * Recovery at use-case level: the request's one timer is armed (for now +
 * the recovery delay) before a booking enters `routing`, so a booking an
 * invocation left there — its hand-over to the fan-out failed, or it died
 * right after its write — is finished when the timer fires, once; and a
 * firing for a booking that needs nothing does nothing but keep the timer right.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { audienceKey } from '../../lambdas/domain/lifecycle';
import { newSessionId } from '../../lambdas/domain/ids';
import { cancelBooking, completeCheckout, startIntake } from '../../lambdas/use-cases/booking';
import { declineRequest } from '../../lambdas/use-cases/decline-request';
import { onTimer } from '../../lambdas/use-cases/request-timer';
import { booking, priorityBooking } from '../support/bookings';
import { bookingRecord, createHarness, type Harness, TIMER_FUNCTION_ARN } from '../support/deps';
import { createTestTable } from '../support/table';

let h: Harness;
beforeEach(async () => {
  h = await createHarness(await createTestTable());
});
afterEach(() => h.close());

const newRequests = async (h: Harness, connectionId: string, requestId: string) =>
  (await h.pushedTo(connectionId)).filter((m) => m.type === 'new_request' && m.request_id === requestId);

describe('a booking left in routing', () => {
  it('intake whose hand-over to the fan-out failed: the timer, armed before the write, finishes the routing once', async () => {
    // Arrange: Lambda's Invoke API fails (500) while intake runs
    const mechanic = await h.addMechanic();
    h.failFanOutHandOver();
    await expect(startIntake(h.deps, { customerId: 'cust-stuck', idempotencyKey: 'k1', booking: booking({ concern: 'Half-way' }) })).rejects.toMatchObject({
      name: 'ServiceException',
    });
    h.clearFailures();
    await startIntake(h.deps, { customerId: 'cust-other', booking: booking() }); // a normal booking alongside
    const sessionId = newSessionId('cust-stuck', 'k1');
    const requestId = `req-${sessionId}`;

    // Assert: the half-done booking waits in routing, nobody told; its timer is due at the recovery delay, set a minute early
    expect(await h.deps.bookings.get(sessionId)).toMatchObject({ state: 'routing', route_to: 'everyone', routing_since: '2026-11-24T12:00:00.000Z' });
    expect(await newRequests(h, mechanic.connectionIds[0]!, requestId)).toEqual([]);
    expect(await h.timer(requestId)).toMatchObject({
      ScheduleExpression: 'at(2026-11-24T12:01:00)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'NONE',
      Target: expect.objectContaining({ Arn: TIMER_FUNCTION_ARN, Input: JSON.stringify({ request_id: requestId, due_at: '2026-11-24T12:02:00.000Z' }) }),
    });

    // Act: the timer fires at its schedule time, a minute early, waits for due_at; then fires again (at-least-once delivery)
    h.clock.advance(60);
    const first = await onTimer(h.deps, { requestId, dueAt: '2026-11-24T12:02:00.000Z' });
    const again = await onTimer(h.deps, { requestId, dueAt: '2026-11-24T12:02:00.000Z' });

    // Assert
    expect(first).toEqual({ did: 'finish_routing' });
    expect(again).toEqual({ did: 'nothing' });
    expect(h.clock.now().toISOString()).toBe('2026-11-24T12:02:00.000Z');
    expect(await newRequests(h, mechanic.connectionIds[0]!, requestId)).toEqual([expect.objectContaining({ reason: 'broadcast', concern: 'Half-way' })]);
    const finished = (await h.deps.bookings.get(sessionId))!;
    expect(finished).toMatchObject({ state: 'open', open_until: '2026-11-24T12:32:00.000Z' });
    expect(finished.events.map((e) => e.type)).toEqual(['created', 'routing_resumed', 'broadcast_sent']);
    expect(await h.timerDue(requestId)).toBe('2026-11-24T12:32:00.000Z');
    expect(h.logs).toContainEqual(expect.objectContaining({ level: 'WARN', message: '[Timer] Finishing a routing an invocation left undone' }));
  });

  it('an invocation that died right after its write (the booking written in routing, to the favorite): the timer offers it', async () => {
    // Arrange: the booking as intake writes it, through the store, and nothing after
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    const at = h.clock.now().toISOString();
    const seeded = bookingRecord({
      at,
      routing: 'priority',
      route_to: 'favorite',
      audience: audienceKey.mechanic(favorite.mechanicId),
      new_request_reason: null,
      metadata: { preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' },
    });
    await h.deps.bookings.create(seeded);
    h.clock.advance(h.recoveryDelaySeconds);

    // Act
    const outcome = await onTimer(h.deps, { requestId: seeded.request_id, dueAt: h.clock.now().toISOString() });

    // Assert
    expect(outcome).toEqual({ did: 'finish_routing' });
    expect(await h.pushedTo(favorite.connectionIds[0]!)).toEqual([
      expect.objectContaining({ type: 'priority_session_request', request_id: seeded.request_id, expires_at: '2026-11-24T12:12:00.000Z' }),
    ]);
    expect(await h.deps.bookings.get(seeded.session_id)).toMatchObject({ state: 'offered', expires_at: '2026-11-24T12:12:00.000Z' });
    expect(await h.timerDue(seeded.request_id)).toBe('2026-11-24T12:12:00.000Z');
    expect(h.fanOuts()).toEqual([]);
  });

  it('a checkout whose hand-over failed: the timer finishes it', async () => {
    // Arrange
    const mechanic = await h.addMechanic();
    const paid = await startIntake(h.deps, { customerId: 'cust-pay', booking: booking({ plan: 'paid' }) });
    h.failFanOutHandOver();
    await expect(completeCheckout(h.deps, { customerId: 'cust-pay', sessionId: paid.session_id })).rejects.toThrow();
    h.clearFailures();
    expect(await h.deps.bookings.get(paid.session_id)).toMatchObject({ state: 'routing' });
    h.clock.advance(h.recoveryDelaySeconds);

    // Act
    const outcome = await onTimer(h.deps, { requestId: `req-${paid.session_id}`, dueAt: (await h.timerDue(`req-${paid.session_id}`))! });

    // Assert
    expect(outcome).toEqual({ did: 'finish_routing' });
    expect(await newRequests(h, mechanic.connectionIds[0]!, `req-${paid.session_id}`)).toHaveLength(1);
    expect(await h.deps.bookings.get(paid.session_id)).toMatchObject({ state: 'open' });
  });

  it('the window end whose hand-over failed stays open to everyone in routing; the re-armed timer finishes it', async () => {
    // Arrange: offered to the favorite until 12:10
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    const other = await h.addMechanic();
    const answer = await startIntake(h.deps, { customerId: 'cust-window', booking: priorityBooking(favorite.mechanicId) });
    const requestId = answer.request_id!;
    h.clock.advance(h.priorityWindowSeconds);
    h.failFanOutHandOver();

    // Act: the window-end firing fails half-way (Lambda will retry it, but say it never gets through)
    await expect(onTimer(h.deps, { requestId, dueAt: '2026-11-24T12:10:00.000Z' })).rejects.toThrow();
    h.clearFailures();

    // Assert: the window did end (the audience is everyone now), nobody was told, and the timer waits for the recovery
    expect(await h.deps.bookings.get(answer.session_id)).toMatchObject({ state: 'routing', audience: 'everyone', new_request_reason: 'fallback' });
    expect(await newRequests(h, other.connectionIds[0]!, requestId)).toEqual([]);
    expect(await h.timerDue(requestId)).toBe('2026-11-24T12:12:00.000Z');

    // Act
    h.clock.advance(h.recoveryDelaySeconds);
    const outcome = await onTimer(h.deps, { requestId, dueAt: '2026-11-24T12:12:00.000Z' });

    // Assert
    expect(outcome).toEqual({ did: 'finish_routing' });
    expect(await newRequests(h, other.connectionIds[0]!, requestId)).toEqual([expect.objectContaining({ reason: 'fallback' })]);
    expect(await newRequests(h, favorite.connectionIds[0]!, requestId)).toEqual([expect.objectContaining({ reason: 'fallback' })]);
    const stored = (await h.deps.bookings.get(answer.session_id))!;
    expect(stored.events.map((e) => e.type)).toEqual(['created', 'priority_offer_sent', 'fallback_started', 'routing_resumed', 'broadcast_sent']);
    expect(h.metrics.total('FallbacksFired')).toBe(1);
  });

  it("the favorite's decline whose hand-over failed: the timer finishes it, with the decline's reason", async () => {
    // Arrange
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    const other = await h.addMechanic();
    const answer = await startIntake(h.deps, { customerId: 'cust-decline', booking: priorityBooking(favorite.mechanicId) });
    h.failFanOutHandOver();
    await expect(
      declineRequest(h.deps, { requestId: answer.request_id!, mechanicId: favorite.mechanicId, connectionId: favorite.connectionIds[0]! }),
    ).rejects.toThrow();
    h.clearFailures();
    h.clock.advance(h.recoveryDelaySeconds);

    // Act
    const outcome = await onTimer(h.deps, { requestId: answer.request_id!, dueAt: (await h.timerDue(answer.request_id!))! });

    // Assert
    expect(outcome).toEqual({ did: 'finish_routing' });
    expect(await newRequests(h, other.connectionIds[0]!, answer.request_id!)).toEqual([expect.objectContaining({ reason: 'priority_declined' })]);
  });

  it('cancelled while left in routing: the cancel tells everyone (the routing may have reached them), and a firing then does nothing', async () => {
    // Arrange
    const mechanic = await h.addMechanic();
    h.failFanOutHandOver();
    await expect(startIntake(h.deps, { customerId: 'cust-c', idempotencyKey: 'k2', booking: booking() })).rejects.toThrow();
    h.clearFailures();
    const sessionId = newSessionId('cust-c', 'k2');

    // Act
    await cancelBooking(h.deps, { customerId: 'cust-c', sessionId });
    h.clock.advance(h.recoveryDelaySeconds);
    const outcome = await onTimer(h.deps, { requestId: `req-${sessionId}`, dueAt: h.clock.now().toISOString() });

    // Assert: the cancel told everyone once and deleted the timer; the firing (already under way) opens nothing and tells nobody again
    expect(outcome).toEqual({ did: 'nothing' });
    expect(await newRequests(h, mechanic.connectionIds[0]!, `req-${sessionId}`)).toEqual([]);
    expect((await h.pushedTo(mechanic.connectionIds[0]!)).filter((m) => m.type === 'request_taken')).toEqual([
      { type: 'request_taken', request_id: `req-${sessionId}`, reason: 'cancelled' },
    ]);
    expect(
      h
        .fanOuts()
        .map((i) => (i.payload as { audience: { kind: string } }).audience.kind)
        .filter((kind) => kind !== 'shard'),
    ).toEqual(['everyone']);
    expect(await h.deps.bookings.get(sessionId)).toMatchObject({ state: 'cancelled' });
    expect(await h.timer(`req-${sessionId}`)).toBeUndefined();
  });
});

describe('a firing with nothing due', () => {
  it('a routing not yet due (the timer fired early, or was moved): nothing, and the timer is kept at the recovery deadline', async () => {
    // Arrange
    const seeded = bookingRecord({ at: h.clock.now().toISOString() });
    await h.deps.bookings.create(seeded);

    // Act
    const outcome = await onTimer(h.deps, { requestId: seeded.request_id, dueAt: h.clock.now().toISOString() });

    // Assert
    expect(outcome).toEqual({ did: 'nothing' });
    expect(await h.timerDue(seeded.request_id)).toBe('2026-11-24T12:02:00.000Z');
    expect(await h.deps.bookings.get(seeded.session_id)).toMatchObject({ state: 'routing' });
    expect(h.fanOuts()).toEqual([]);
  });

  it('a paid booking awaiting checkout, and an unknown one: nothing, and no timer is kept', async () => {
    // Arrange
    const paid = await startIntake(h.deps, { customerId: 'cust-paid', booking: booking({ plan: 'paid' }) });

    // Act
    const forPaid = await onTimer(h.deps, { requestId: `req-${paid.session_id}`, dueAt: h.clock.now().toISOString() });
    const forUnknown = await onTimer(h.deps, { requestId: 'req-00000000-0000-4000-8000-000000000000', dueAt: h.clock.now().toISOString() });

    // Assert
    expect(forPaid).toEqual({ did: 'nothing' });
    expect(forUnknown).toEqual({ did: 'nothing' });
    expect(await h.schedulesCreated()).toEqual([]);
    expect(await h.deps.bookings.get(paid.session_id)).toMatchObject({ state: 'awaiting_checkout' });
    expect(await h.pushed()).toEqual([]);
  });

  it('a paid booking cancelled before checkout, whose checkout died after arming the timer: nobody was ever told, so nobody is told now; the timer goes', async () => {
    // Arrange: the checkout arms the timer, then dies before its write; the customer then cancels (a booking never routed: no timer to delete)
    const mechanic = await h.addMechanic();
    const paid = await startIntake(h.deps, { customerId: 'cust-never', booking: booking({ plan: 'paid' }) });
    const requestId = `req-${paid.session_id}`;
    const transition = h.deps.bookings.transition.bind(h.deps.bookings);
    h.deps.bookings.transition = (sessionId, event, input) =>
      event === 'checkout_completed'
        ? Promise.reject(Object.assign(new Error('Task timed out'), { name: 'TimeoutError' }))
        : transition(sessionId, event, input);
    await expect(completeCheckout(h.deps, { customerId: 'cust-never', sessionId: paid.session_id })).rejects.toThrow('Task timed out');
    h.deps.bookings.transition = transition;
    await cancelBooking(h.deps, { customerId: 'cust-never', sessionId: paid.session_id });
    expect(await h.deps.bookings.get(paid.session_id)).toMatchObject({ state: 'cancelled', routing: null });
    expect(await h.timer(requestId)).toBeDefined();

    // Act
    const outcome = await onTimer(h.deps, { requestId, dueAt: h.clock.now().toISOString() });

    // Assert
    expect(outcome).toEqual({ did: 'retell_end' });
    expect(await h.pushedTo(mechanic.connectionIds[0]!)).toEqual([]);
    expect(h.fanOuts()).toEqual([]);
    expect(await h.timer(requestId)).toBeUndefined();
  });
});
