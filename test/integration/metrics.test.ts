/**
 * The operability metrics (offers sent, offers accepted, fallbacks fired,
 * broadcasts delivered, stale connections pruned, push failures) are counted
 * through the Metrics port where the events happen. How Powertools turns them
 * into CloudWatch Embedded Metric Format is pinned in test/unit/powertools.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acceptRequest } from '../../lambdas/use-cases/accept-request';
import { runFallback } from '../../lambdas/use-cases/run-fallback';
import { startIntake } from '../../lambdas/use-cases/sessions';
import { createHarness, type Harness } from '../support/deps';
import { createTestTable } from '../support/table';

let h: Harness;
beforeEach(async () => {
  h = await createHarness(await createTestTable());
});
afterEach(() => h.close());

describe('business metrics', () => {
  it('count offers, fallbacks, deliveries, prunes and acceptances', async () => {
    // Arrange
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    const others = [await h.addMechanic(), await h.addMechanic()];
    const stale = await h.addMechanic();
    await h.goneConnection(stale.connectionIds[0]!);
    const booking = {
      plan: 'free' as const,
      concern: 'Squeak',
      vehicle: null,
      preferred_mechanic_id: favorite.mechanicId,
      routing_type: 'priority_broadcast' as const,
      workshop_id: null,
    };

    // Act
    const answer = await startIntake(h.deps, { customerId: 'cust-metrics', booking });
    h.clock.advance(h.priorityWindowSeconds);
    await runFallback(h.deps, { requestId: answer.request_id!, reason: 'preferred_mechanic_no_response' });
    await acceptRequest(h.deps, { requestId: answer.request_id!, mechanicId: others[0]!.mechanicId, connectionId: others[0]!.connectionIds[0]! });

    // Assert
    expect(h.metrics.total('OffersSent')).toBe(1);
    expect(h.metrics.total('FallbacksFired')).toBe(1);
    expect(h.metrics.total('BroadcastsDelivered')).toBe(3); // favorite + two others; the stale one is gone
    expect(h.metrics.total('StaleConnectionsPruned')).toBe(1);
    expect(h.metrics.total('OffersAccepted')).toBe(1);
    expect(h.metrics.total('PushFailures')).toBe(0);
  });

  it('count push failures where they happen', async () => {
    const broken = await h.addMechanic();
    await h.addMechanic();
    h.brokenConnection(broken.connectionIds[0]!);

    await startIntake(h.deps, {
      customerId: 'cust-metrics-2',
      booking: { plan: 'free', concern: 'Knock', vehicle: null, preferred_mechanic_id: null, routing_type: null, workshop_id: null },
    });

    expect(h.metrics.total('PushFailures')).toBe(1);
    expect(h.metrics.total('BroadcastsDelivered')).toBe(1);
  });
});
