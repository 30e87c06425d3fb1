/**
 * GET /sessions/{id} as the use case builds it: the session's fields as
 * before; `request` null until routing began, then its state, status
 * (pending|matched|cancelled|expired), deadlines and audit trail.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { acceptRequest } from '../../../lambdas/use-cases/accept-request';
import { cancelBooking, getSessionView, startIntake } from '../../../lambdas/use-cases/booking';
import { onTimer } from '../../../lambdas/use-cases/request-timer';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory-ports';
import { addMechanic, at, booking, newCustomerId, offeredBooking, openBooking, phone } from './fixtures';

let deps: InMemoryDeps;
beforeEach(() => {
  deps = inMemoryDeps({ priorityEnabled: true });
});

describe('getSessionView', () => {
  it('a booking awaiting checkout has no request yet', async () => {
    // Arrange
    const customerId = newCustomerId();
    const intake = await startIntake(deps, { customerId, booking: booking({ plan: 'paid', workshop_id: 'ws-north' }) });

    // Act
    const view = await getSessionView(deps, { customerId, sessionId: intake.session_id });

    // Assert
    expect(view).toEqual({
      session_id: intake.session_id,
      customer_id: customerId,
      plan: 'paid',
      status: 'awaiting_checkout',
      concern: 'Check engine light after a cold start',
      vehicle: { make: 'Toyota', model: 'Corolla', year: 2019 },
      workshop_id: 'ws-north',
      metadata: {},
      created_at: at(0),
      request: null,
    });
  });

  it('a booking cancelled before checkout is cancelled, still with no request', async () => {
    // Arrange
    const customerId = newCustomerId();
    const intake = await startIntake(deps, { customerId, booking: booking({ plan: 'paid' }) });
    await cancelBooking(deps, { customerId, sessionId: intake.session_id });

    // Act
    const view = await getSessionView(deps, { customerId, sessionId: intake.session_id });

    // Assert
    expect(view).toMatchObject({ status: 'cancelled', request: null });
  });

  it('an offered priority request: fulfilled session, pending request in state offered with its window end', async () => {
    // Arrange
    const favorite = await addMechanic(deps);
    const { customerId, sessionId, requestId } = await offeredBooking(deps, favorite);

    // Act
    const view = await getSessionView(deps, { customerId, sessionId });

    // Assert
    expect(view.status).toBe('fulfilled');
    expect(view.metadata).toEqual({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' });
    expect(view.request).toMatchObject({
      request_id: requestId,
      status: 'pending',
      state: 'offered',
      routing: 'priority',
      mechanic_id: null,
      expires_at: at(600),
      open_until: null,
      metadata: { priority_mechanic_id: favorite.mechanicId },
    });
    expect(view.request!.events.map((e) => e.type)).toEqual(['created', 'priority_offer_sent']);
  });

  it('an open request shows open_until; matched, cancelled and expired show as request statuses', async () => {
    // Arrange
    const mechanic = await addMechanic(deps);
    const open = await openBooking(deps);
    const matched = await openBooking(deps);
    await acceptRequest(deps, { requestId: matched.requestId, mechanicId: mechanic.mechanicId, connectionId: phone(mechanic) });
    const cancelled = await openBooking(deps);
    await cancelBooking(deps, { customerId: cancelled.customerId, sessionId: cancelled.sessionId });
    deps.clock.advance(1800);
    const expired = await openBooking(deps);
    deps.clock.advance(1800);
    await onTimer(deps, { requestId: expired.requestId, dueAt: at(3600) });

    // Act
    const views = await Promise.all([open, matched, cancelled, expired].map((b) => getSessionView(deps, b)));

    // Assert
    expect(views.map((v) => [v.status, v.request?.status, v.request?.state])).toEqual([
      ['fulfilled', 'pending', 'open'],
      ['fulfilled', 'matched', 'matched'],
      ['cancelled', 'cancelled', 'cancelled'],
      ['fulfilled', 'expired', 'expired'],
    ]);
    expect(views[0]!.request).toMatchObject({ routing: 'broadcast', open_until: at(1800), expires_at: null });
    expect(views[1]!.request!.mechanic_id).toBe(mechanic.mechanicId);
  });

  it("another customer's booking and a malformed id are not found", async () => {
    // Arrange
    const { sessionId } = await openBooking(deps);

    // Act
    const intruder = getSessionView(deps, { customerId: newCustomerId(), sessionId });
    const malformed = getSessionView(deps, { customerId: newCustomerId(), sessionId: 'BOOKING#x' });

    // Assert
    await expect(intruder).rejects.toMatchObject({ status: 404, code: 'not_found' });
    await expect(malformed).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });
});
