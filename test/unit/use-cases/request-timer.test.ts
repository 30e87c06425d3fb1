/**
 * The request's one timer firing (onTimer): it waits for `due_at`, re-reads
 * the booking and does the one thing then due — end the priority window
 * (fallback to everyone), expire an open request, finish a routing an
 * invocation left undone, repeat `request_taken` for an ended one whose
 * ending died before clearing the timer (never to the winner) — or nothing,
 * keeping the timer at the booking's next deadline. The reference
 * is test/integration/flow.test.ts, seed scenario 3.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { acceptRequest } from '../../../lambdas/use-cases/accept-request';
import { cancelBooking, completeCheckout, startIntake } from '../../../lambdas/use-cases/booking';
import { MAX_TIMER_WAIT_SECONDS, onTimer } from '../../../lambdas/use-cases/request-timer';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory-ports';
import {
  addMechanic,
  at,
  booking,
  bookingLeftInRouting,
  deliverFanOut,
  newCustomerId,
  offeredBooking,
  openBooking,
  phone,
  received,
  receivedTypes,
  stored,
  type TestMechanic,
} from './fixtures';

let deps: InMemoryDeps;
let favorite: TestMechanic;
beforeEach(async () => {
  deps = inMemoryDeps({ priorityEnabled: true });
  favorite = await addMechanic(deps);
});

/** Fires the request's timer as Scheduler would: with the deadline it was last set to. */
const fire = (requestId: string, dueAt = deps.timer.timer(requestId)!.due) => onTimer(deps, { requestId, dueAt });

describe('onTimer: waiting for due_at', () => {
  it('fired early, it waits (on the clock) until due_at before doing the work', async () => {
    // Arrange
    const { requestId } = await offeredBooking(deps, favorite);
    deps.clock.advance(600 - 90);

    // Act
    const result = await fire(requestId);

    // Assert
    expect(deps.clock.now().toISOString()).toBe(at(600));
    expect(result).toEqual({ did: 'end_window' });
  });

  it('waits at most MAX_TIMER_WAIT_SECONDS; a deadline further off is nothing yet, the timer set for it again', async () => {
    // Arrange
    const { requestId } = await offeredBooking(deps, favorite);
    deps.clock.advance(300);
    const setsBefore = deps.timer.sets.length;

    // Act
    const result = await fire(requestId);

    // Assert
    expect(MAX_TIMER_WAIT_SECONDS).toBe(120);
    expect(deps.clock.now().toISOString()).toBe(at(420));
    expect(result).toEqual({ did: 'nothing' });
    expect((await stored(deps, requestId)).state).toBe('offered');
    expect(deps.timer.sets.slice(setsBefore).map((t) => t.due)).toEqual([at(600)]);
  });

  it('fired late, it does not wait', async () => {
    // Arrange
    const { requestId } = await offeredBooking(deps, favorite);
    deps.clock.advance(605);
    const sleep = vi.spyOn(deps.clock, 'sleep');

    // Act
    await fire(requestId);

    // Assert
    expect(sleep).not.toHaveBeenCalled();
    expect(deps.clock.now().toISOString()).toBe(at(605));
  });
});

describe('onTimer: the priority window ends', () => {
  it('offered and due: falls back to everyone (new_request reason fallback, via the fan-out), then open until now + TTL', async () => {
    // Arrange
    const other = await addMechanic(deps);
    const { requestId, sessionId } = await offeredBooking(deps, favorite);
    const transition = deps.bookings.transition.bind(deps.bookings);
    let timerWhenWritten: string | undefined;
    deps.bookings.transition = (id, event, input) => {
      if (event === 'window_ended') timerWhenWritten = deps.timer.timer(requestId)?.due;
      return transition(id, event, input);
    };
    deps.clock.advance(600);

    // Act
    const result = await fire(requestId);

    // Assert
    expect(result).toEqual({ did: 'end_window' });
    expect(timerWhenWritten).toBe(at(720));
    expect(deps.fanOut.sent).toEqual([
      {
        requestId,
        audience: { kind: 'everyone' },
        message: expect.objectContaining({ type: 'new_request', reason: 'fallback', request_id: requestId, session_id: sessionId }),
      },
    ]);
    expect(received(deps, other)).toEqual([]);
    const booking = await stored(deps, requestId);
    expect(booking).toMatchObject({
      state: 'open',
      routing: 'priority',
      audience: 'everyone',
      new_request_reason: 'fallback',
      routing_since: at(600),
      open_until: at(600 + 1800),
      request_metadata: { fallback_broadcast_at: at(600), fallback_reason: 'preferred_mechanic_no_response' },
    });
    expect(booking.events.map((e) => e.type)).toEqual(['created', 'priority_offer_sent', 'fallback_started', 'broadcast_sent']);
    expect(deps.timer.timer(requestId)?.due).toBe(at(2400));
    expect(deps.metrics.total('FallbacksFired')).toBe(1);
    expect(deps.log.messages('[Fallback]')).toEqual(['[Fallback] Priority window over, broadcasting to all mechanics']);
  });

  it('a duplicate firing after the fallback does nothing but keep the timer at open_until', async () => {
    // Arrange
    const { requestId } = await offeredBooking(deps, favorite);
    deps.clock.advance(600);
    await fire(requestId, at(600));
    const before = await stored(deps, requestId);
    const setsBefore = deps.timer.sets.length;

    // Act
    const result = await fire(requestId, at(600));

    // Assert
    expect(result).toEqual({ did: 'nothing' });
    expect(await stored(deps, requestId)).toEqual(before);
    expect(deps.fanOut.sent).toHaveLength(1);
    expect(deps.timer.sets.slice(setsBefore).map((t) => t.due)).toEqual([at(2400)]);
    expect(deps.metrics.total('FallbacksFired')).toBe(1);
  });

  it('after the fallback, another mechanic may accept', async () => {
    // Arrange
    const other = await addMechanic(deps);
    const { requestId } = await offeredBooking(deps, favorite);
    deps.clock.advance(600);
    await fire(requestId);

    // Act
    const won = await acceptRequest(deps, { requestId, mechanicId: other.mechanicId, connectionId: phone(other) });

    // Assert
    expect(won).toBe(true);
    expect(received(deps, other)).toEqual([{ type: 'accept_result', request_id: requestId, ok: true }]);
  });
});

describe('onTimer: an open request expires', () => {
  it('open and due: expired, request_taken reason expired to everyone via the fan-out, RequestsExpired, timer cleared', async () => {
    // Arrange
    const { requestId } = await openBooking(deps);
    deps.clock.advance(1800);

    // Act
    const result = await fire(requestId);

    // Assert
    expect(result).toEqual({ did: 'expire' });
    const booking = await stored(deps, requestId);
    expect(booking).toMatchObject({ state: 'expired', mechanic_id: null });
    expect(booking.events.at(-1)).toEqual({ at: at(1800), type: 'expired' });
    expect(deps.fanOut.sent.at(-1)).toEqual({
      requestId,
      audience: { kind: 'everyone' },
      message: { type: 'request_taken', request_id: requestId, reason: 'expired' },
    });
    expect(deps.metrics.total('RequestsExpired')).toBe(1);
    expect(deps.timer.clears).toEqual([requestId]);
    expect(deps.timer.timer(requestId)).toBeUndefined();
  });

  it('a workshop request expires to its workshop', async () => {
    // Arrange
    const answer = await startIntake(deps, { customerId: newCustomerId(), booking: booking({ workshop_id: 'ws-north' }) });
    deps.clock.advance(1800);

    // Act
    await fire(answer.request_id!);

    // Assert
    expect(deps.fanOut.sent.at(-1)).toMatchObject({
      audience: { kind: 'workshop', workshopId: 'ws-north' },
      message: { type: 'request_taken', reason: 'expired' },
    });
  });

  it('an expired request refuses a late accept with expired', async () => {
    // Arrange
    const mechanic = await addMechanic(deps);
    const { requestId } = await openBooking(deps);
    deps.clock.advance(1800);
    await fire(requestId);

    // Act
    const won = await acceptRequest(deps, { requestId, mechanicId: mechanic.mechanicId, connectionId: phone(mechanic) });

    // Assert
    expect(won).toBe(false);
    expect(received(deps, mechanic)).toEqual([{ type: 'accept_result', request_id: requestId, ok: false, reason: 'expired' }]);
  });
});

describe('onTimer: recovery of a routing left undone', () => {
  it('routing and the recovery delay passed: the routing is finished (the favorite offered), timer at the window end', async () => {
    // Arrange
    const { requestId } = await bookingLeftInRouting(deps, { favorite });
    expect(deps.timer.timer(requestId)?.due).toBe(at(120));
    deps.clock.advance(100);

    // Act
    const result = await fire(requestId);

    // Assert
    expect(result).toEqual({ did: 'finish_routing' });
    expect(received(deps, favorite)).toEqual([expect.objectContaining({ type: 'priority_session_request', request_id: requestId, expires_at: at(720) })]);
    expect(await stored(deps, requestId)).toMatchObject({ state: 'offered', expires_at: at(720) });
    expect(deps.timer.timer(requestId)?.due).toBe(at(720));
    expect(deps.log.messages('[Timer] Finishing')).toHaveLength(1);
  });

  it('a broadcast left in routing is handed to the fan-out and opened', async () => {
    // Arrange
    const { requestId } = await bookingLeftInRouting(deps);
    deps.clock.advance(120);

    // Act
    await fire(requestId);

    // Assert
    expect(deps.fanOut.sent).toEqual([expect.objectContaining({ requestId, audience: { kind: 'everyone' } })]);
    expect(await stored(deps, requestId)).toMatchObject({ state: 'open', open_until: at(120 + 1800) });
  });

  it('re-arms the recovery timer before routing again, so a second death is recovered too', async () => {
    // Arrange
    const { requestId } = await bookingLeftInRouting(deps);
    deps.clock.advance(120);
    deps.fanOut.failSends = true;

    // Act
    const firing = fire(requestId);

    // Assert
    await expect(firing).rejects.toThrow('Rate exceeded');
    expect((await stored(deps, requestId)).state).toBe('routing');
    expect(deps.timer.timer(requestId)?.due).toBe(at(240));
  });
});

describe('onTimer: nothing due, or the request ended', () => {
  it('not due yet: nothing happens but the timer set again to the next deadline', async () => {
    // Arrange
    const { requestId } = await offeredBooking(deps, favorite);
    const before = await stored(deps, requestId);
    const setsBefore = deps.timer.sets.length;

    // Act: a stale firing (the recovery deadline it was first set for)
    const result = await fire(requestId, at(120));

    // Assert
    expect(result).toEqual({ did: 'nothing' });
    expect(await stored(deps, requestId)).toEqual(before);
    expect(received(deps, favorite)).toHaveLength(1);
    expect(deps.fanOut.sent).toEqual([]);
    expect(deps.timer.sets.slice(setsBefore).map((t) => t.due)).toEqual([at(600)]);
    expect(deps.timer.clears).toEqual([]);
  });

  it('a matched request whose accept finished (its timer cleared): a firing already under way does nothing, and never falls back', async () => {
    // Arrange
    const { requestId } = await offeredBooking(deps, favorite);
    await acceptRequest(deps, { requestId, mechanicId: favorite.mechanicId, connectionId: phone(favorite) });
    deps.clock.advance(600);
    const before = { booking: await stored(deps, requestId), pushed: deps.pusher.sent.length, sets: deps.timer.sets.length, clears: deps.timer.clears.length };

    // Act: the window-end firing, under way before the accept cleared the timer
    const result = await fire(requestId, at(600));

    // Assert
    expect(result).toEqual({ did: 'nothing' });
    expect({ booking: await stored(deps, requestId), pushed: deps.pusher.sent.length, sets: deps.timer.sets.length, clears: deps.timer.clears.length }).toEqual(
      before,
    );
    expect(deps.fanOut.sent).toEqual([]);
    expect(deps.metrics.total('FallbacksFired')).toBe(0);
    expect(deps.log.messages('[Timer]')).toEqual(['[Timer] Request ended and its ending finished; nothing to do']);
  });

  it('a matched open request whose accept died before clearing the timer: request_taken (accepted) repeated to all but the winner, the timer cleared', async () => {
    // Arrange: the accept's clear fails (the ending dies before its last effect), so the timer stays set
    const winner = await addMechanic(deps, { connections: 2 });
    const { requestId } = await openBooking(deps);
    await deliverFanOut(deps);
    const clear = deps.timer.clear.bind(deps.timer);
    deps.timer.clear = () => Promise.reject(Object.assign(new Error('Task timed out'), { name: 'TimeoutError' }));
    await acceptRequest(deps, { requestId, mechanicId: winner.mechanicId, connectionId: phone(winner) });
    deps.timer.clear = clear;
    expect(deps.timer.timer(requestId)?.due).toBe(at(1800));
    deps.clock.advance(1800);

    // Act
    const result = await fire(requestId);

    // Assert
    expect(result).toEqual({ did: 'retell_end' });
    const taken = { type: 'request_taken', request_id: requestId, reason: 'accepted' };
    const byYou = { ...taken, by_you: true };
    expect(deps.fanOut.sent.slice(-2)).toEqual([
      { requestId, audience: { kind: 'everyone' }, message: taken, exceptMechanicId: winner.mechanicId },
      { requestId, audience: { kind: 'everyone' }, message: taken, exceptMechanicId: winner.mechanicId },
    ]);
    expect(await deliverFanOut(deps)).toEqual([]);
    expect(received(deps, favorite)).toEqual([expect.objectContaining({ type: 'new_request' }), taken, taken]);
    // The timer does not know which connection accepted: all of the winner's hear it was theirs.
    expect(received(deps, winner)).toEqual([
      expect.objectContaining({ type: 'new_request' }),
      { type: 'accept_result', request_id: requestId, ok: true },
      byYou,
    ]);
    expect(deps.pusher.sentTo(winner.connectionIds[1]!)).toEqual([expect.objectContaining({ type: 'new_request' }), byYou, byYou]);
    expect(deps.timer.clears).toEqual([requestId]);
    expect(deps.timer.timer(requestId)).toBeUndefined();
    expect((await stored(deps, requestId)).state).toBe('matched');
    expect(deps.log.messages('[Timer]')).toEqual(['[Timer] Request ended; repeating request_taken']);
  });

  it("a priority request the favorite won, whose accept died before clearing the timer: the repeat reaches only the favorite's devices (by_you), the timer cleared", async () => {
    // Arrange: the timer set again as the accept, dying before its clear, would have left it
    const favoriteDevices = await addMechanic(deps, { connections: 2 });
    const { requestId } = await offeredBooking(deps, favoriteDevices);
    const due = deps.timer.timer(requestId)!.due;
    await acceptRequest(deps, { requestId, mechanicId: favoriteDevices.mechanicId, connectionId: phone(favoriteDevices) });
    await deps.timer.set(requestId, new Date(due), 'existing');
    deps.clock.advance(600);
    const pushed = deps.pusher.sent.length;
    const handedOver = deps.fanOut.sent.length;

    // Act
    const result = await fire(requestId);

    // Assert
    expect(result).toEqual({ did: 'retell_end' });
    const byYou = { type: 'request_taken', request_id: requestId, reason: 'accepted', by_you: true };
    const byConnection = (a: { connectionId: string }, b: { connectionId: string }) => a.connectionId.localeCompare(b.connectionId);
    expect(deps.pusher.sent.slice(pushed).sort(byConnection)).toEqual(
      favoriteDevices.connectionIds.map((connectionId) => ({ connectionId, message: byYou })).sort(byConnection),
    );
    expect(deps.fanOut.sent).toHaveLength(handedOver);
    expect(deps.timer.timer(requestId)).toBeUndefined();
    expect((await stored(deps, requestId)).state).toBe('matched');
    expect(deps.metrics.total('FallbacksFired')).toBe(0);
  });

  it('a cancelled open request whose cancel finished: a late firing sends nothing', async () => {
    // Arrange
    const customerId = newCustomerId();
    const { requestId, sessionId } = await openBooking(deps, customerId);
    await cancelBooking(deps, { customerId, sessionId });
    const handedOver = deps.fanOut.sent.length;

    // Act
    const result = await fire(requestId, at(1800));

    // Assert
    expect(result).toEqual({ did: 'nothing' });
    expect(deps.fanOut.sent).toHaveLength(handedOver);
    expect(deps.timer.clears).toEqual([requestId]);
  });

  it('a cancelled open request whose cancel died before clearing the timer: request_taken (cancelled) repeated through the fan-out, the timer cleared', async () => {
    // Arrange: the timer set again as the cancel, dying before its clear, would have left it
    const customerId = newCustomerId();
    const { requestId, sessionId } = await openBooking(deps, customerId);
    await cancelBooking(deps, { customerId, sessionId });
    await deps.timer.set(requestId, new Date(at(1800)), 'existing');

    // Act
    const result = await fire(requestId, at(1800));

    // Assert
    expect(result).toEqual({ did: 'retell_end' });
    expect(deps.fanOut.sent.slice(-2)).toEqual([
      { requestId, audience: { kind: 'everyone' }, message: { type: 'request_taken', request_id: requestId, reason: 'cancelled' } },
      { requestId, audience: { kind: 'everyone' }, message: { type: 'request_taken', request_id: requestId, reason: 'cancelled' } },
    ]);
    expect(deps.timer.clears).toEqual([requestId, requestId]);
    expect(deps.timer.timer(requestId)).toBeUndefined();
  });

  it('a booking awaiting checkout needs no timer: nothing sent, the timer cleared', async () => {
    // Arrange
    const customerId = newCustomerId();
    const intake = await startIntake(deps, { customerId, booking: booking({ plan: 'paid' }) });
    const requestId = `req-${intake.session_id}`;

    // Act
    const result = await fire(requestId, at(120));

    // Assert
    expect(result).toEqual({ did: 'nothing' });
    expect(deps.timer.sets).toEqual([]);
    expect(deps.timer.clears).toEqual([requestId]);
    expect(deps.fanOut.sent).toEqual([]);
    await completeCheckout(deps, { customerId, sessionId: intake.session_id });
    expect((await stored(deps, requestId)).state).toBe('open');
  });

  it('a missing booking (the intake that armed the timer died before its write): nothing sent or set, the timer cleared', async () => {
    // Arrange
    const requestId = 'req-00000000-0000-4000-8000-000000000000';

    // Act
    const result = await fire(requestId, at(60));

    // Assert
    expect(result).toEqual({ did: 'nothing' });
    expect([deps.timer.sets, deps.timer.clears, deps.fanOut.sent, deps.pusher.sent]).toEqual([[], [requestId], [], []]);
    expect(receivedTypes(deps, favorite)).toEqual([]);
  });
});
