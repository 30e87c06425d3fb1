/**
 * Cancel: one conditional write from awaiting_checkout, routing, offered or
 * open (a match or an expiry that got there first wins: 409); then the
 * audience hears `request_taken` (reason cancelled) and the timer is
 * cleared. The reference is test/integration/flow.test.ts ("cancel").
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { acceptRequest } from '../../../lambdas/use-cases/accept-request';
import { cancelBooking, startIntake } from '../../../lambdas/use-cases/booking';
import { onTimer } from '../../../lambdas/use-cases/request-timer';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory-ports';
import {
  addMechanic,
  at,
  booking,
  bookingLeftInRouting,
  newCustomerId,
  offeredBooking,
  openBooking,
  phone,
  received,
  stored,
  type TestMechanic,
} from './fixtures';

let deps: InMemoryDeps;
let favorite: TestMechanic;
beforeEach(async () => {
  deps = inMemoryDeps({ priorityEnabled: true });
  favorite = await addMechanic(deps);
});

const cancelled = (requestId: string) => ({ type: 'request_taken', request_id: requestId, reason: 'cancelled' });

describe('cancelBooking', () => {
  it('from awaiting_checkout: cancelled, nobody told, no timer', async () => {
    // Arrange
    const customerId = newCustomerId();
    const intake = await startIntake(deps, { customerId, booking: booking({ plan: 'paid' }) });

    // Act
    const result = await cancelBooking(deps, { customerId, sessionId: intake.session_id });

    // Assert
    expect(result).toEqual({ session_id: intake.session_id, status: 'cancelled' });
    expect((await stored(deps, intake.session_id)).state).toBe('cancelled');
    expect(deps.fanOut.sent).toEqual([]);
    expect(deps.pusher.sent).toEqual([]);
    expect(deps.timer.timers()).toEqual([]);
  });

  it('from offered: the favorite alone is told inline, the timer cleared, and a later accept answers cancelled', async () => {
    // Arrange
    const other = await addMechanic(deps);
    const { customerId, sessionId, requestId } = await offeredBooking(deps, favorite);
    deps.clock.advance(90);

    // Act
    const result = await cancelBooking(deps, { customerId, sessionId });

    // Assert
    expect(result).toEqual({ session_id: sessionId, status: 'cancelled' });
    const booking = await stored(deps, sessionId);
    expect(booking).toMatchObject({ state: 'cancelled', updated_at: at(90) });
    expect(booking.events.at(-1)).toEqual({ at: at(90), type: 'cancelled' });
    expect(received(deps, favorite).at(-1)).toEqual(cancelled(requestId));
    expect(received(deps, other)).toEqual([]);
    expect(deps.fanOut.sent).toEqual([]);
    expect(deps.timer.clears).toEqual([requestId]);
    expect(deps.timer.timer(requestId)).toBeUndefined();
    await acceptRequest(deps, { requestId, mechanicId: favorite.mechanicId, connectionId: phone(favorite) });
    expect(received(deps, favorite).at(-1)).toEqual({ type: 'accept_result', request_id: requestId, ok: false, reason: 'cancelled' });
  });

  it('from open: everyone is told through the fan-out and the timer cleared', async () => {
    // Arrange
    const { customerId, sessionId, requestId } = await openBooking(deps);

    // Act
    await cancelBooking(deps, { customerId, sessionId });

    // Assert
    expect((await stored(deps, sessionId)).state).toBe('cancelled');
    expect(deps.fanOut.sent.at(-1)).toEqual({ requestId, audience: { kind: 'everyone' }, message: cancelled(requestId) });
    expect(deps.timer.timer(requestId)).toBeUndefined();
  });

  it('from open to a workshop: the workshop is told', async () => {
    // Arrange
    const customerId = newCustomerId();
    const { session_id, request_id } = await startIntake(deps, { customerId, booking: booking({ workshop_id: 'ws-north' }) });

    // Act
    await cancelBooking(deps, { customerId, sessionId: session_id });

    // Assert
    expect(deps.fanOut.sent.at(-1)).toEqual({ requestId: request_id, audience: { kind: 'workshop', workshopId: 'ws-north' }, message: cancelled(request_id!) });
  });

  it('from routing (an intake that died half-way): whoever it was being routed to is told, the recovery timer cleared', async () => {
    // Arrange
    const { customerId, sessionId, requestId } = await bookingLeftInRouting(deps, { favorite });
    expect(deps.timer.timer(requestId)).toBeDefined();

    // Act
    await cancelBooking(deps, { customerId, sessionId });

    // Assert
    expect((await stored(deps, sessionId)).state).toBe('cancelled');
    expect(received(deps, favorite)).toEqual([cancelled(requestId)]);
    expect(deps.timer.timer(requestId)).toBeUndefined();
  });

  it('cancelling twice answers the same and tells nobody again', async () => {
    // Arrange
    const { customerId, sessionId } = await openBooking(deps);
    const first = await cancelBooking(deps, { customerId, sessionId });
    const handedOver = deps.fanOut.sent.length;

    // Act
    const again = await cancelBooking(deps, { customerId, sessionId });

    // Assert
    expect(again).toEqual(first);
    expect(deps.fanOut.sent).toHaveLength(handedOver);
    expect((await stored(deps, sessionId)).events.filter((e) => e.type === 'cancelled')).toHaveLength(1);
  });

  it('cancelling again after a first cancel that died before clearing the timer tells the mechanics, then clears it', async () => {
    // Arrange: the first cancel wrote, then died before telling anyone (the hand-over failed) — its timer is still set
    const { customerId, sessionId, requestId } = await openBooking(deps);
    const handedOver = deps.fanOut.sent.length;
    deps.fanOut.failSends = true;
    await expect(cancelBooking(deps, { customerId, sessionId })).rejects.toThrow();
    deps.fanOut.failSends = false;
    expect(deps.timer.timer(requestId)).toBeDefined();

    // Act
    const again = await cancelBooking(deps, { customerId, sessionId });

    // Assert
    expect(again).toEqual({ session_id: sessionId, status: 'cancelled' });
    expect(deps.fanOut.sent.slice(handedOver)).toEqual([
      expect.objectContaining({ requestId, audience: { kind: 'everyone' }, message: { type: 'request_taken', request_id: requestId, reason: 'cancelled' } }),
    ]);
    expect(deps.timer.timer(requestId)).toBeUndefined();
  });

  it('a matched request cannot be cancelled: 409 already_matched, nothing changes', async () => {
    // Arrange
    const { customerId, sessionId, requestId } = await offeredBooking(deps, favorite);
    await acceptRequest(deps, { requestId, mechanicId: favorite.mechanicId, connectionId: phone(favorite) });
    const before = { booking: await stored(deps, sessionId), pushed: deps.pusher.sent.length };

    // Act
    const cancelling = cancelBooking(deps, { customerId, sessionId });

    // Assert
    await expect(cancelling).rejects.toMatchObject({ status: 409, code: 'already_matched' });
    expect({ booking: await stored(deps, sessionId), pushed: deps.pusher.sent.length }).toEqual(before);
  });

  it('an expired request cannot be cancelled: 409 request_expired', async () => {
    // Arrange
    const { customerId, sessionId, requestId } = await openBooking(deps);
    deps.clock.advance(1800);
    await onTimer(deps, { requestId, dueAt: at(1800) });
    const handedOver = deps.fanOut.sent.length;

    // Act
    const cancelling = cancelBooking(deps, { customerId, sessionId });

    // Assert
    await expect(cancelling).rejects.toMatchObject({ status: 409, code: 'request_expired' });
    expect((await stored(deps, sessionId)).state).toBe('expired');
    expect(deps.fanOut.sent).toHaveLength(handedOver);
  });

  it("another customer's booking is not found and stays as it was", async () => {
    // Arrange
    const { sessionId } = await openBooking(deps);
    const before = await stored(deps, sessionId);

    // Act
    const cancelling = cancelBooking(deps, { customerId: newCustomerId(), sessionId });

    // Assert
    await expect(cancelling).rejects.toMatchObject({ status: 404, code: 'not_found' });
    expect(await stored(deps, sessionId)).toEqual(before);
  });
});
