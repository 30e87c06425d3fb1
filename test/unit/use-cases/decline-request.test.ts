/**
 * Decline: the favorite's decline ends the priority window at once — the
 * request opens to everyone now (new_request reason priority_declined), the
 * recovery timer armed before that write; anyone else's decline changes
 * nothing but being remembered. Whoever declined is left out of every later
 * offer of the request (not of its request_taken). The reference is
 * test/integration/flow.test.ts ("decline").
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { acceptRequest } from '../../../lambdas/use-cases/accept-request';
import { cancelBooking } from '../../../lambdas/use-cases/booking';
import { declineRequest } from '../../../lambdas/use-cases/decline-request';
import { onTimer } from '../../../lambdas/use-cases/request-timer';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory-ports';
import { addMechanic, at, deliverFanOut, offeredBooking, openBooking, phone, received, receivedTypes, stored, type TestMechanic } from './fixtures';

let deps: InMemoryDeps;
let favorite: TestMechanic;
let other: TestMechanic;
beforeEach(async () => {
  deps = inMemoryDeps({ priorityEnabled: true });
  favorite = await addMechanic(deps);
  other = await addMechanic(deps);
});

const decline = (requestId: string, mechanic: TestMechanic) =>
  declineRequest(deps, { requestId, mechanicId: mechanic.mechanicId, connectionId: phone(mechanic) });

describe('declineRequest', () => {
  it("the favorite's decline opens the request to everyone now, reason priority_declined", async () => {
    // Arrange
    const { requestId, sessionId } = await offeredBooking(deps, favorite);
    deps.clock.advance(30);

    // Act
    await decline(requestId, favorite);

    // Assert
    expect(deps.fanOut.sent).toEqual([
      {
        requestId,
        audience: { kind: 'everyone' },
        message: expect.objectContaining({ type: 'new_request', reason: 'priority_declined', request_id: requestId, session_id: sessionId }),
      },
    ]);
    const booking = await stored(deps, requestId);
    expect(booking).toMatchObject({
      state: 'open',
      audience: 'everyone',
      routing_since: at(30),
      open_until: at(30 + 1800),
      request_metadata: { fallback_reason: 'preferred_mechanic_declined', fallback_broadcast_at: at(30) },
    });
    expect(booking.events.map((e) => e.type)).toEqual(['created', 'priority_offer_sent', 'declined', 'broadcast_sent']);
    expect(booking.events[2]).toEqual({ at: at(30), type: 'declined', mechanic_id: favorite.mechanicId });
    expect(deps.timer.timer(requestId)?.due).toBe(at(1830));
    expect(deps.metrics.total('FallbacksFired')).toBe(1);
  });

  it('the favorite who declined is left out of the fallback broadcast; everyone else gets it, and all of them the request_taken that ends it', async () => {
    // Arrange
    const { requestId, customerId, sessionId } = await offeredBooking(deps, favorite);

    // Act
    await decline(requestId, favorite);
    await deliverFanOut(deps);
    await cancelBooking(deps, { customerId, sessionId });
    await deliverFanOut(deps);

    // Assert
    expect([...(await deps.bookings.decliners(sessionId))]).toEqual([favorite.mechanicId]);
    expect(received(deps, other).map((m) => m.type)).toEqual(['new_request', 'request_taken']);
    expect(received(deps, favorite).map((m) => m.type)).toEqual(['priority_session_request', 'request_taken']);
  });

  it('anyone who declined an open request is left out when it is offered again (a repeated broadcast); the others get the repeat', async () => {
    // Arrange
    const { requestId, sessionId } = await openBooking(deps);
    await deliverFanOut(deps);
    await decline(requestId, other);
    const offer = deps.fanOut.sent.find((s) => s.message.type === 'new_request')!;

    // Act: the same offer handed over again (an invocation that died after handing it over, retried)
    await deps.fanOut.send(offer.requestId, offer.audience, offer.message);
    await deliverFanOut(deps);

    // Assert
    expect([...(await deps.bookings.decliners(sessionId))]).toEqual([other.mechanicId]);
    expect(received(deps, other).map((m) => m.type)).toEqual(['new_request']);
    expect(received(deps, favorite).map((m) => m.type)).toEqual(['new_request', 'new_request']);
  });

  it('a decline of a request that ended is not remembered (there is nothing left to offer)', async () => {
    // Arrange
    const { requestId, customerId, sessionId } = await openBooking(deps);
    await cancelBooking(deps, { customerId, sessionId });

    // Act
    await decline(requestId, other);

    // Assert
    expect([...(await deps.bookings.decliners(sessionId))]).toEqual([]);
  });

  it('arms the recovery timer (now + recovery delay) before the declined write', async () => {
    // Arrange
    const { requestId } = await offeredBooking(deps, favorite);
    deps.clock.advance(30);
    const setTimer = vi.spyOn(deps.timer, 'set');
    const transition = deps.bookings.transition.bind(deps.bookings);
    let timerWhenWritten: string | undefined;
    deps.bookings.transition = (sessionId, event, input) => {
      if (event === 'declined') timerWhenWritten = deps.timer.timer(requestId)?.due;
      return transition(sessionId, event, input);
    };

    // Act
    await decline(requestId, favorite);

    // Assert
    expect(timerWhenWritten).toBe(at(150));
    expect(setTimer.mock.calls[0]).toEqual([requestId, new Date(at(150)), 'existing']);
  });

  it('after the decline, another mechanic may accept, and the window-end timer finds nothing to fall back', async () => {
    // Arrange
    const { requestId } = await offeredBooking(deps, favorite);
    await decline(requestId, favorite);

    // Act
    const stale = await onTimer(deps, { requestId, dueAt: at(600) });
    const won = await acceptRequest(deps, { requestId, mechanicId: other.mechanicId, connectionId: phone(other) });

    // Assert
    expect(stale).toEqual({ did: 'nothing' });
    expect(won).toBe(true);
    expect(deps.fanOut.sent.filter((s) => s.message.type === 'new_request')).toHaveLength(1);
    expect(deps.metrics.total('FallbacksFired')).toBe(1);
  });

  it('a decline that arrives after the offer was pushed but before offer_sent was written still ends the window, and the late offer_sent is refused', async () => {
    // Arrange: the favorite's app answers the push at once, while the intake has yet to record `offer_sent`.
    const send = deps.pusher.send.bind(deps.pusher);
    let declining: Promise<void> | undefined;
    deps.pusher.send = async (connectionId, message) => {
      const result = await send(connectionId, message);
      if (message.type === 'priority_session_request' && connectionId === phone(favorite) && !declining) {
        deps.clock.advance(2);
        declining = decline(message.request_id, favorite);
        await declining;
      }
      return result;
    };

    // Act
    const { requestId } = await offeredBooking(deps, favorite);

    // Assert
    expect(declining).toBeDefined();
    const booking = await stored(deps, requestId);
    expect(booking).toMatchObject({ state: 'open', audience: 'everyone', new_request_reason: 'priority_declined', routing_since: at(2) });
    expect(booking.events.map((e) => e.type)).toEqual(['created', 'declined', 'broadcast_sent']);
    expect(deps.log.messages('[Decline]')).toEqual([]);
    expect(deps.timer.timer(requestId)?.due).toBe(at(2 + 1800));
    await deliverFanOut(deps);
    expect(receivedTypes(deps, other)).toEqual(['new_request']);
    expect(receivedTypes(deps, favorite)).toEqual(['priority_session_request']);
  });

  it("someone else's decline changes nothing: no push, no timer move, the window stays", async () => {
    // Arrange
    const { requestId } = await offeredBooking(deps, favorite);
    const before = { booking: await stored(deps, requestId), timers: [...deps.timer.sets] };

    // Act
    await decline(requestId, other);

    // Assert
    expect({ booking: await stored(deps, requestId), timers: deps.timer.sets }).toEqual(before);
    expect(received(deps, other)).toEqual([]);
    expect(deps.fanOut.sent).toEqual([]);
    expect(deps.log.messages('[Decline]')).toEqual(['[Decline] Noted; the request stays open']);
  });

  it('the favorite declining once the request is open to everyone changes nothing', async () => {
    // Arrange
    const { requestId } = await offeredBooking(deps, favorite);
    deps.clock.advance(600);
    await onTimer(deps, { requestId, dueAt: at(600) });
    const before = await stored(deps, requestId);

    // Act
    await decline(requestId, favorite);

    // Assert
    expect(await stored(deps, requestId)).toEqual(before);
    expect(deps.fanOut.sent).toHaveLength(1);
    expect(deps.metrics.total('FallbacksFired')).toBe(1);
  });

  it('the favorite declining after they accepted changes nothing', async () => {
    // Arrange
    const { requestId } = await offeredBooking(deps, favorite);
    await acceptRequest(deps, { requestId, mechanicId: favorite.mechanicId, connectionId: phone(favorite) });
    const before = await stored(deps, requestId);

    // Act
    await decline(requestId, favorite);

    // Assert
    expect(await stored(deps, requestId)).toEqual(before);
    expect(received(deps, other)).toEqual([]);
    expect(deps.fanOut.sent).toEqual([]);
    expect(deps.metrics.total('FallbacksFired')).toBe(0);
  });

  it('an unknown request answers not_found on that connection', async () => {
    // Arrange
    const unknown = 'req-00000000-0000-4000-8000-000000000000';

    // Act
    await decline(unknown, other);

    // Assert
    expect(received(deps, other)).toEqual([{ type: 'error', code: 'not_found', message: `request_id ${unknown} not found` }]);
  });
});
