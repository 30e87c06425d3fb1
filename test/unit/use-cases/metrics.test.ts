/**
 * The business metrics are counted through the Metrics port where the events
 * happen: bookings at intake, offers at routing, fallbacks at the window's end
 * (or a decline), deliveries, prunes and failures in the fan-out, acceptances
 * (the favorite's apart) with the time to match, expiries.
 * The reference is test/integration/metrics.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { acceptRequest } from '../../../lambdas/use-cases/accept-request';
import { completeCheckout, startIntake } from '../../../lambdas/use-cases/booking';
import { onTimer } from '../../../lambdas/use-cases/request-timer';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory-ports';
import { addMechanic, at, booking, deliverFanOut, newCustomerId, openBooking, phone, priorityBooking } from './fixtures';

let deps: InMemoryDeps;
beforeEach(() => {
  deps = inMemoryDeps({ priorityEnabled: true });
});

describe('business metrics', () => {
  it('count the offer, the fallback, its deliveries, the prune and the acceptance', async () => {
    // Arrange
    const favorite = await addMechanic(deps);
    const others = [await addMechanic(deps), await addMechanic(deps)];
    const stale = await addMechanic(deps);
    deps.pusher.markGone(phone(stale));

    // Act
    const answer = await startIntake(deps, { customerId: newCustomerId(), booking: priorityBooking(favorite.mechanicId) });
    deps.clock.advance(deps.priorityWindowSeconds);
    await onTimer(deps, { requestId: answer.request_id!, dueAt: at(600) });
    const failures = await deliverFanOut(deps);
    await acceptRequest(deps, { requestId: answer.request_id!, mechanicId: others[0]!.mechanicId, connectionId: phone(others[0]!) });
    await deliverFanOut(deps);

    // Assert
    expect(failures).toEqual([]);
    expect(deps.metrics.total('BookingsCreated')).toBe(1);
    expect(deps.metrics.total('OffersSent')).toBe(1);
    expect(deps.metrics.total('FallbacksFired')).toBe(1);
    expect(deps.metrics.total('BroadcastsDelivered')).toBe(3); // favorite + two others; the stale one is gone
    expect(deps.metrics.total('StaleConnectionsPruned')).toBe(1);
    expect(deps.metrics.total('OffersAccepted')).toBe(1);
    expect(deps.metrics.total('FavoriteAccepted')).toBe(0); // another mechanic won, after the window
    expect(deps.metrics.measured).toEqual([{ name: 'TimeToMatchMs', value: deps.priorityWindowSeconds * 1000 }]);
    expect(deps.metrics.total('PushFailures')).toBe(0);
    expect(deps.metrics.total('RequestsExpired')).toBe(0);
  });

  it("count a favorite's win inside the window apart, and measure its wait from the routing's start", async () => {
    // Arrange
    const favorite = await addMechanic(deps);
    const answer = await startIntake(deps, { customerId: newCustomerId(), booking: priorityBooking(favorite.mechanicId) });
    deps.clock.advance(42);

    // Act
    await acceptRequest(deps, { requestId: answer.request_id!, mechanicId: favorite.mechanicId, connectionId: phone(favorite) });

    // Assert
    expect(deps.metrics.total('OffersSent')).toBe(1);
    expect(deps.metrics.total('OffersAccepted')).toBe(1);
    expect(deps.metrics.total('FavoriteAccepted')).toBe(1);
    expect(deps.metrics.measured).toEqual([{ name: 'TimeToMatchMs', value: 42_000 }]);
  });

  it('count a paid booking once, at intake, and measure its wait from the checkout, not from the intake', async () => {
    // Arrange
    const mechanic = await addMechanic(deps);
    const customerId = newCustomerId();
    const intake = await startIntake(deps, { customerId, booking: booking({ plan: 'paid' }) });
    deps.clock.advance(300); // paying
    const checkout = await completeCheckout(deps, { customerId, sessionId: intake.session_id });
    await completeCheckout(deps, { customerId, sessionId: intake.session_id }); // the webhook, retried
    deps.clock.advance(7);

    // Act
    await acceptRequest(deps, { requestId: checkout.request_id!, mechanicId: mechanic.mechanicId, connectionId: phone(mechanic) });

    // Assert
    expect(deps.metrics.total('BookingsCreated')).toBe(1);
    expect(deps.metrics.total('FavoriteAccepted')).toBe(0);
    expect(deps.metrics.measured).toEqual([{ name: 'TimeToMatchMs', value: 7_000 }]);
  });

  it('count push failures where they happen, in the fan-out', async () => {
    // Arrange
    const broken = await addMechanic(deps);
    await addMechanic(deps);
    deps.pusher.markBroken(phone(broken));

    // Act
    await startIntake(deps, { customerId: newCustomerId(), booking: booking() });
    const failures = await deliverFanOut(deps);

    // Assert
    expect(failures).toHaveLength(1);
    expect(deps.metrics.total('PushFailures')).toBe(1);
    expect(deps.metrics.total('BroadcastsDelivered')).toBe(1);
    expect(deps.metrics.total('StaleConnectionsPruned')).toBe(0);
  });

  it('count an expiry once, however often the timer fires', async () => {
    // Arrange
    const { requestId } = await openBooking(deps);
    deps.clock.advance(deps.requestTtlSeconds);

    // Act
    await onTimer(deps, { requestId, dueAt: at(1800) });
    await onTimer(deps, { requestId, dueAt: at(1800) });

    // Assert
    expect(deps.metrics.total('RequestsExpired')).toBe(1);
    expect(deps.metrics.total('FallbacksFired')).toBe(0);
  });

  it('count only the booking for routing alone: a broadcast is counted when the fan-out delivers it', async () => {
    // Act
    await openBooking(deps);

    // Assert
    expect(deps.metrics.counted).toEqual([{ name: 'BookingsCreated', value: 1 }]);
  });
});
