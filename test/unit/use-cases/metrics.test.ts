/**
 * The business metrics are counted through the Metrics port where the events
 * happen. The reference is test/integration/metrics.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { acceptRequest } from '../../../lambdas/use-cases/accept-request';
import { runFallback } from '../../../lambdas/use-cases/run-fallback';
import { startIntake } from '../../../lambdas/use-cases/sessions';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory-ports';
import { addMechanic, booking, newCustomerId, phone, priorityBooking } from './fixtures';

let deps: InMemoryDeps;
beforeEach(() => {
  deps = inMemoryDeps({ priorityEnabled: true });
});

describe('business metrics', () => {
  it('count offers, fallbacks, deliveries, prunes and acceptances', async () => {
    // Arrange
    const favorite = await addMechanic(deps);
    const others = [await addMechanic(deps), await addMechanic(deps)];
    const stale = await addMechanic(deps);
    deps.pusher.markGone(phone(stale));

    // Act
    const answer = await startIntake(deps, { customerId: newCustomerId(), booking: priorityBooking(favorite.mechanicId) });
    deps.clock.advance(deps.priorityWindowSeconds);
    await runFallback(deps, { requestId: answer.request_id!, reason: 'preferred_mechanic_no_response' });
    await acceptRequest(deps, { requestId: answer.request_id!, mechanicId: others[0]!.mechanicId, connectionId: phone(others[0]!) });

    // Assert
    expect(deps.metrics.total('OffersSent')).toBe(1);
    expect(deps.metrics.total('FallbacksFired')).toBe(1);
    expect(deps.metrics.total('BroadcastsDelivered')).toBe(3); // favorite + two others; the stale one is gone
    expect(deps.metrics.total('StaleConnectionsPruned')).toBe(1);
    expect(deps.metrics.total('OffersAccepted')).toBe(1);
    expect(deps.metrics.total('PushFailures')).toBe(0);
  });

  it('count push failures where they happen', async () => {
    // Arrange
    const broken = await addMechanic(deps);
    await addMechanic(deps);
    deps.pusher.markBroken(phone(broken));

    // Act
    await startIntake(deps, { customerId: newCustomerId(), booking: booking() });

    // Assert
    expect(deps.metrics.total('PushFailures')).toBe(1);
    expect(deps.metrics.total('BroadcastsDelivered')).toBe(1);
    expect(deps.metrics.total('StaleConnectionsPruned')).toBe(0);
  });
});
