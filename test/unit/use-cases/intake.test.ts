/**
 * Intake and checkout on the in-memory ports: which plans route at once, the
 * recovery timer armed before the booking is written, the routing decision
 * as the use case applies it (flag read only when a booking asks for
 * priority; workshop first), broadcast and workshop routing handed to the
 * fan-out, and the Idempotency-Key. The priority path is priority.test.ts.
 * The reference is test/integration/flow.test.ts.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { acceptRequest } from '../../../lambdas/use-cases/accept-request';
import { cancelBooking, completeCheckout, MAX_INVOCATION_SECONDS, startIntake } from '../../../lambdas/use-cases/booking';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory-ports';
import { addMechanic, at, booking, bookingLeftInRouting, newCustomerId, phone, priorityBooking, received, stored } from './fixtures';

let deps: InMemoryDeps;
beforeEach(() => {
  deps = inMemoryDeps();
});

describe('startIntake', () => {
  it('a free plan is routed at once: broadcast to everyone through the fan-out, open until now + TTL, the timer at open_until', async () => {
    // Arrange
    const customerId = newCustomerId();

    // Act
    const answer = await startIntake(deps, { customerId, booking: booking() });

    // Assert
    const requestId = `req-${answer.session_id}`;
    expect(answer).toEqual({ session_id: answer.session_id, status: 'fulfilled', request_id: requestId });
    expect(deps.fanOut.sent).toEqual([
      {
        requestId,
        audience: { kind: 'everyone' },
        message: {
          type: 'new_request',
          request_id: requestId,
          session_id: answer.session_id,
          reason: 'broadcast',
          expires_at: at(1800),
          concern: 'Check engine light after a cold start',
          vehicle: { make: 'Toyota', model: 'Corolla', year: 2019 },
        },
      },
    ]);
    const stored_ = await stored(deps, answer.session_id);
    expect(stored_).toMatchObject({
      customer_id: customerId,
      state: 'open',
      routing: 'broadcast',
      route_to: 'everyone',
      audience: 'everyone',
      open_until: at(1800),
      expires_at: null,
      request_metadata: {},
    });
    expect(stored_.events.map((e) => e.type)).toEqual(['created', 'broadcast_sent']);
    expect(deps.timer.timers()).toEqual([{ name: `timer-${requestId}`, requestId, due: at(1800) }]);
    expect(deps.pusher.sent).toEqual([]);
  });

  it('arms the recovery timer (now + recovery delay, hint new) before the booking is written', async () => {
    // Arrange
    const setTimer = vi.spyOn(deps.timer, 'set');
    const create = deps.bookings.create.bind(deps.bookings);
    let timersWhenWritten: unknown[] | undefined;
    deps.bookings.create = (b) => {
      timersWhenWritten = [...deps.timer.sets];
      return create(b);
    };

    // Act
    const answer = await startIntake(deps, { customerId: newCustomerId(), booking: booking() });

    // Assert
    const requestId = answer.request_id!;
    expect(timersWhenWritten).toEqual([{ name: `timer-${requestId}`, requestId, due: at(120) }]);
    expect(setTimer.mock.calls[0]).toEqual([requestId, new Date(at(120)), 'new']);
  });

  it('a timer that cannot be armed fails the intake before anything is written or sent', async () => {
    // Arrange
    await addMechanic(deps);
    deps.timer.failSets = true;

    // Act
    const intake = startIntake(deps, { customerId: newCustomerId(), booking: booking() });

    // Assert
    await expect(intake).rejects.toThrow('Schedule group does not exist');
    expect(deps.bookings.all()).toEqual([]);
    expect(deps.fanOut.sent).toEqual([]);
  });

  it('a paid plan waits for checkout: awaiting_checkout, no timer, nobody told, the flag not read', async () => {
    // Arrange
    const favorite = await addMechanic(deps);
    deps.flag.enabled = true;

    // Act
    const answer = await startIntake(deps, { customerId: newCustomerId(), booking: priorityBooking(favorite.mechanicId, { plan: 'paid' }) });

    // Assert
    expect(answer).toEqual({ session_id: answer.session_id, status: 'awaiting_checkout' });
    const stored_ = await stored(deps, answer.session_id);
    expect(stored_).toMatchObject({ state: 'awaiting_checkout', plan: 'paid', routing: null, audience: null });
    expect(stored_.events.map((e) => e.type)).toEqual(['awaiting_checkout']);
    expect(deps.timer.sets).toEqual([]);
    expect(deps.fanOut.sent).toEqual([]);
    expect(deps.pusher.sent).toEqual([]);
    expect(deps.flag.reads).toBe(0);
  });

  it.each(['trial', 'credit'] as const)('a %s plan is routed at intake like a free one', async (plan) => {
    // Act
    const answer = await startIntake(deps, { customerId: newCustomerId(), booking: booking({ plan }) });

    // Assert
    expect(answer.status).toBe('fulfilled');
    expect((await stored(deps, answer.session_id)).state).toBe('open');
  });

  describe('routing', () => {
    it('a workshop booking goes to the workshop through the fan-out, ahead of priority: neither flag nor favorite is read', async () => {
      // Arrange
      const favoriteElsewhere = await addMechanic(deps);
      deps.flag.enabled = true;

      // Act
      const answer = await startIntake(deps, {
        customerId: newCustomerId(),
        booking: priorityBooking(favoriteElsewhere.mechanicId, { workshop_id: 'ws-north' }),
      });

      // Assert
      expect(deps.fanOut.sent).toEqual([
        {
          requestId: answer.request_id,
          audience: { kind: 'workshop', workshopId: 'ws-north' },
          message: expect.objectContaining({ type: 'new_request', reason: 'workshop', request_id: answer.request_id }),
        },
      ]);
      expect(received(deps, favoriteElsewhere)).toEqual([]);
      expect(deps.flag.reads).toBe(0);
      expect(deps.mechanics.gets).toEqual([]);
      const stored_ = await stored(deps, answer.session_id);
      expect(stored_).toMatchObject({ state: 'open', routing: 'workshop', audience: 'workshop#ws-north', open_until: at(1800) });
      expect(stored_.events.map((e) => e.type)).toEqual(['created', 'workshop_sent']);
      expect(deps.timer.timer(answer.request_id!)?.due).toBe(at(1800));
      expect(deps.log.messages('[Priority]')).toEqual([]);
    });

    it('flag off: a priority booking is broadcast at once; the flag is read, the favorite never looked up, no priority code runs', async () => {
      // Arrange
      const favorite = await addMechanic(deps);
      deps.flag.enabled = false;

      // Act
      const answer = await startIntake(deps, { customerId: newCustomerId(), booking: priorityBooking(favorite.mechanicId) });

      // Assert
      expect(deps.fanOut.sent).toEqual([
        { requestId: answer.request_id, audience: { kind: 'everyone' }, message: expect.objectContaining({ type: 'new_request', reason: 'broadcast' }) },
      ]);
      expect(received(deps, favorite)).toEqual([]);
      expect(deps.flag.reads).toBe(1);
      expect(deps.mechanics.gets).toEqual([]);
      expect(deps.log.messages('[Priority]')).toEqual([]);
      expect(await stored(deps, answer.session_id)).toMatchObject({
        state: 'open',
        routing: 'broadcast',
        metadata: { preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' },
        expires_at: null,
        request_metadata: {},
      });
      expect(deps.metrics.total('OffersSent')).toBe(0);
    });

    it('flag on: the same booking goes to the favorite alone', async () => {
      // Arrange
      const favorite = await addMechanic(deps);
      deps.flag.enabled = true;

      // Act
      const answer = await startIntake(deps, { customerId: newCustomerId(), booking: priorityBooking(favorite.mechanicId) });

      // Assert
      expect(received(deps, favorite)).toEqual([expect.objectContaining({ type: 'priority_session_request', request_id: answer.request_id })]);
      expect(deps.fanOut.sent).toEqual([]);
      expect(deps.flag.reads).toBe(1);
      expect(deps.mechanics.gets).toEqual([favorite.mechanicId]);
      expect((await stored(deps, answer.session_id)).state).toBe('offered');
    });

    it.each([
      ['no favorite at all', {}],
      ['routing_type broadcast with a favorite', { routing_type: 'broadcast' as const, preferred_mechanic_id: 'mech-fav' }],
      ['priority_broadcast without a favorite', { routing_type: 'priority_broadcast' as const }],
    ])('%s → broadcast, and the flag is never read', async (_name, overrides) => {
      // Arrange
      deps.flag.enabled = true;

      // Act
      await startIntake(deps, { customerId: newCustomerId(), booking: booking(overrides) });

      // Assert
      expect(deps.fanOut.sent).toEqual([
        expect.objectContaining({ audience: { kind: 'everyone' }, message: expect.objectContaining({ reason: 'broadcast' }) }),
      ]);
      expect(deps.flag.reads).toBe(0);
      expect(deps.mechanics.gets).toEqual([]);
    });
  });

  describe('Idempotency-Key', () => {
    it('a retry once routed returns the first answer and sends nothing new; another customer gets their own booking', async () => {
      // Arrange
      const [customerId, otherCustomerId] = [newCustomerId(), newCustomerId()];
      const first = await startIntake(deps, { customerId, idempotencyKey: 'key-1', booking: booking() });
      const before = await stored(deps, first.session_id);

      // Act
      const retry = await startIntake(deps, { customerId, idempotencyKey: 'key-1', booking: booking() });
      const otherCustomer = await startIntake(deps, { customerId: otherCustomerId, idempotencyKey: 'key-1', booking: booking() });

      // Assert
      expect(retry).toEqual(first);
      expect(otherCustomer.session_id).not.toBe(first.session_id);
      expect(deps.fanOut.sent.map((s) => s.requestId)).toEqual([first.request_id, otherCustomer.request_id]);
      expect(await stored(deps, first.session_id)).toEqual(before);
    });

    it('a retried priority intake sends the favorite no second offer', async () => {
      // Arrange
      deps.flag.enabled = true;
      const favorite = await addMechanic(deps);
      const customerId = newCustomerId();
      const first = await startIntake(deps, { customerId, idempotencyKey: 'key-p', booking: priorityBooking(favorite.mechanicId) });
      deps.clock.advance(30);

      // Act
      const retry = await startIntake(deps, { customerId, idempotencyKey: 'key-p', booking: priorityBooking(favorite.mechanicId) });

      // Assert
      expect(retry).toEqual(first);
      expect(received(deps, favorite)).toHaveLength(1);
      expect(deps.metrics.total('OffersSent')).toBe(1);
    });

    it('a retry once routed leaves the timer at the booking’s own deadline (the window end is not delayed)', async () => {
      // Arrange
      deps.flag.enabled = true;
      const favorite = await addMechanic(deps);
      const customerId = newCustomerId();
      const first = await startIntake(deps, { customerId, idempotencyKey: 'key-t', booking: priorityBooking(favorite.mechanicId) });
      deps.clock.advance(590);

      // Act
      await startIntake(deps, { customerId, idempotencyKey: 'key-t', booking: priorityBooking(favorite.mechanicId) });

      // Assert
      expect(deps.timer.timer(first.request_id!)?.due).toBe(at(600));
    });

    it('a retry while awaiting checkout arms no timer', async () => {
      // Arrange
      const customerId = newCustomerId();
      await startIntake(deps, { customerId, idempotencyKey: 'key-u', booking: booking({ plan: 'paid' }) });

      // Act
      await startIntake(deps, { customerId, idempotencyKey: 'key-u', booking: booking({ plan: 'paid' }) });

      // Assert
      expect(deps.timer.timers()).toEqual([]);
    });

    it('a retry after the request ended keeps the timer that repeats request_taken for an ending that died half-way', async () => {
      // Arrange: the winner's accept is written, then its fan-out hand-over fails (the invocation dies before clearing the timer)
      const customerId = newCustomerId();
      const mechanic = await addMechanic(deps);
      const first = await startIntake(deps, { customerId, idempotencyKey: 'key-e', booking: booking() });
      deps.fanOut.failSends = true;
      await expect(acceptRequest(deps, { requestId: first.request_id!, mechanicId: mechanic.mechanicId, connectionId: phone(mechanic) })).rejects.toThrow();
      deps.fanOut.failSends = false;
      expect(deps.timer.timer(first.request_id!)).toBeDefined();

      // Act
      await startIntake(deps, { customerId, idempotencyKey: 'key-e', booking: booking() });

      // Assert
      expect(deps.timer.timer(first.request_id!)).toBeDefined();
    });

    it('a retry of a booking whose first attempt left it in routing longer than any invocation runs finishes the routing', async () => {
      // Arrange
      const customerId = newCustomerId();
      const { sessionId, requestId } = await bookingLeftInRouting(deps, { customerId, idempotencyKey: 'key-r' });
      expect(deps.fanOut.sent).toEqual([]);
      deps.clock.advance(MAX_INVOCATION_SECONDS);

      // Act
      const retry = await startIntake(deps, { customerId, idempotencyKey: 'key-r', booking: booking() });

      // Assert
      expect(retry).toEqual({ session_id: sessionId, status: 'fulfilled', request_id: requestId });
      expect(deps.fanOut.sent).toEqual([expect.objectContaining({ requestId, audience: { kind: 'everyone' } })]);
      expect((await stored(deps, sessionId)).state).toBe('open');
      expect(deps.timer.timer(requestId)?.due).toBe(at(MAX_INVOCATION_SECONDS + 1800));
    });

    it('a retry racing a first attempt still routing sends nothing: that routing is the first attempt’s (or the timer’s) to finish', async () => {
      // Arrange
      const customerId = newCustomerId();
      const { sessionId, requestId } = await bookingLeftInRouting(deps, { customerId, idempotencyKey: 'key-q' });
      deps.clock.advance(MAX_INVOCATION_SECONDS - 1);

      // Act
      const retry = await startIntake(deps, { customerId, idempotencyKey: 'key-q', booking: booking() });

      // Assert
      expect(retry).toEqual({ session_id: sessionId, status: 'fulfilled', request_id: requestId });
      expect(deps.fanOut.sent).toEqual([]);
      expect((await stored(deps, sessionId)).state).toBe('routing');
      expect(deps.timer.timer(requestId)?.due).toBe(at(120));
    });

    it('a key reused for a different booking leaves the first booking’s timer alone', async () => {
      // Arrange
      const customerId = newCustomerId();
      const first = await startIntake(deps, { customerId, idempotencyKey: 'key-3', booking: booking() });
      deps.clock.advance(1700);

      // Act
      await startIntake(deps, { customerId, idempotencyKey: 'key-3', booking: booking({ concern: 'Something else' }) }).catch(() => undefined);

      // Assert
      expect(deps.timer.timer(first.request_id!)?.due).toBe(at(1800));
    });

    it('a key reused for a different booking is refused with 409 idempotency_key_reused, and the first booking stands', async () => {
      // Arrange
      const customerId = newCustomerId();
      const first = await startIntake(deps, { customerId, idempotencyKey: 'key-2', booking: booking() });
      const before = await stored(deps, first.session_id);

      // Act
      const reused = startIntake(deps, { customerId, idempotencyKey: 'key-2', booking: booking({ concern: 'Something else' }) });

      // Assert
      await expect(reused).rejects.toMatchObject({ status: 409, code: 'idempotency_key_reused' });
      expect(await stored(deps, first.session_id)).toEqual(before);
      expect(deps.fanOut.sent).toHaveLength(1);
    });

    it('a retried intake of a cancelled booking answers cancelled and tells nobody', async () => {
      // Arrange
      const customerId = newCustomerId();
      const first = await startIntake(deps, { customerId, idempotencyKey: 'key-c', booking: booking() });
      await cancelBooking(deps, { customerId, sessionId: first.session_id });
      const handedOver = deps.fanOut.sent.length;

      // Act
      const retry = await startIntake(deps, { customerId, idempotencyKey: 'key-c', booking: booking() });

      // Assert
      expect(retry).toEqual({ session_id: first.session_id, status: 'cancelled', request_id: first.request_id });
      expect(deps.fanOut.sent).toHaveLength(handedOver);
    });
  });
});

describe('completeCheckout', () => {
  it('routes a paid booking: the recovery timer armed before the write, then the favorite offered', async () => {
    // Arrange
    const customerId = newCustomerId();
    const favorite = await addMechanic(deps);
    deps.flag.enabled = true;
    const intake = await startIntake(deps, { customerId, booking: priorityBooking(favorite.mechanicId, { plan: 'paid' }) });
    deps.clock.advance(45);
    const setTimer = vi.spyOn(deps.timer, 'set');
    const transition = deps.bookings.transition.bind(deps.bookings);
    let timersWhenWritten: unknown[] | undefined;
    deps.bookings.transition = (sessionId, event, input) => {
      if (event === 'checkout_completed') timersWhenWritten = deps.timer.sets.map((t) => t.due);
      return transition(sessionId, event, input);
    };

    // Act
    const answer = await completeCheckout(deps, { customerId, sessionId: intake.session_id });

    // Assert
    expect(answer).toEqual({ session_id: intake.session_id, status: 'fulfilled', request_id: `req-${intake.session_id}` });
    expect(timersWhenWritten).toEqual([at(165)]);
    expect(setTimer.mock.calls[0]).toEqual([answer.request_id, new Date(at(165)), 'new']);
    expect(received(deps, favorite)).toEqual([expect.objectContaining({ type: 'priority_session_request', expires_at: at(645) })]);
    const stored_ = await stored(deps, intake.session_id);
    expect(stored_).toMatchObject({ state: 'offered', routing: 'priority', expires_at: at(645), routing_since: at(45) });
    expect(stored_.events.map((e) => e.type)).toEqual(['awaiting_checkout', 'created', 'priority_offer_sent']);
    expect(deps.timer.timer(answer.request_id!)?.due).toBe(at(645));
  });

  it('routes a paid broadcast booking to everyone', async () => {
    // Arrange
    const customerId = newCustomerId();
    const intake = await startIntake(deps, { customerId, booking: booking({ plan: 'paid' }) });

    // Act
    await completeCheckout(deps, { customerId, sessionId: intake.session_id });

    // Assert
    expect(deps.fanOut.sent).toEqual([expect.objectContaining({ audience: { kind: 'everyone' }, message: expect.objectContaining({ reason: 'broadcast' }) })]);
    expect((await stored(deps, intake.session_id)).state).toBe('open');
  });

  it('a repeated checkout answers the same and changes nothing', async () => {
    // Arrange
    const customerId = newCustomerId();
    const favorite = await addMechanic(deps);
    deps.flag.enabled = true;
    const intake = await startIntake(deps, { customerId, booking: priorityBooking(favorite.mechanicId, { plan: 'paid' }) });
    const first = await completeCheckout(deps, { customerId, sessionId: intake.session_id });
    const before = { booking: await stored(deps, intake.session_id), pushed: deps.pusher.sent.length, timers: deps.timer.sets.length };
    deps.clock.advance(10);

    // Act
    const again = await completeCheckout(deps, { customerId, sessionId: intake.session_id });

    // Assert
    expect(again).toEqual(first);
    expect({ booking: await stored(deps, intake.session_id), pushed: deps.pusher.sent.length, timers: deps.timer.sets.length }).toEqual(before);
  });

  it('a cancelled booking cannot be checked out: 409 session_cancelled, nothing routed', async () => {
    // Arrange
    const customerId = newCustomerId();
    const intake = await startIntake(deps, { customerId, booking: booking({ plan: 'paid' }) });
    await cancelBooking(deps, { customerId, sessionId: intake.session_id });

    // Act
    const checkout = completeCheckout(deps, { customerId, sessionId: intake.session_id });

    // Assert
    await expect(checkout).rejects.toMatchObject({ status: 409, code: 'session_cancelled' });
    expect((await stored(deps, intake.session_id)).state).toBe('cancelled');
    expect(deps.fanOut.sent).toEqual([]);
    expect(deps.timer.timers()).toEqual([]);
  });

  it('a cancel landing between the checkout’s read and its write: 409 session_cancelled, the recovery timer cleared', async () => {
    // Arrange
    const customerId = newCustomerId();
    const intake = await startIntake(deps, { customerId, booking: booking({ plan: 'paid' }) });
    const transition = deps.bookings.transition.bind(deps.bookings);
    deps.bookings.transition = async (sessionId, event, input) => {
      if (event === 'checkout_completed') await transition(sessionId, 'cancelled', { now: input.now, audit: { at: input.now, type: 'cancelled' } });
      return transition(sessionId, event, input);
    };

    // Act
    const checkout = completeCheckout(deps, { customerId, sessionId: intake.session_id });

    // Assert
    await expect(checkout).rejects.toMatchObject({ status: 409, code: 'session_cancelled' });
    expect(deps.timer.sets).toHaveLength(1);
    expect(deps.timer.timers()).toEqual([]);
    expect(deps.fanOut.sent).toEqual([]);
  });

  it("another customer's booking is not found and stays as it was", async () => {
    // Arrange
    const [customerId, intruder] = [newCustomerId(), newCustomerId()];
    const intake = await startIntake(deps, { customerId, booking: booking({ plan: 'paid' }) });

    // Act
    const checkout = completeCheckout(deps, { customerId: intruder, sessionId: intake.session_id });

    // Assert
    await expect(checkout).rejects.toMatchObject({ status: 404, code: 'not_found' });
    expect((await stored(deps, intake.session_id)).state).toBe('awaiting_checkout');
    expect(deps.timer.sets).toEqual([]);
  });
});
