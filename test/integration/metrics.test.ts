/**
 * The operability metrics (bookings created, offers sent, offers accepted and
 * those the favorite won, the time to match, fallbacks fired, broadcasts
 * delivered, stale connections pruned, push failures, requests expired) are counted through the Metrics port where the events happen —
 * deliveries in the fan-out's own runs. How Powertools turns them into
 * CloudWatch Embedded Metric Format is pinned in test/unit/powertools.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectionIndex } from '../../lambdas/adapters/dynamodb-keys';
import { acceptRequest } from '../../lambdas/use-cases/accept-request';
import { startIntake } from '../../lambdas/use-cases/booking';
import { onTimer } from '../../lambdas/use-cases/request-timer';
import { booking, priorityBooking } from '../support/bookings';
import { createHarness, type Harness } from '../support/deps';
import { createTestTable } from '../support/table';

let h: Harness;
beforeEach(async () => {
  h = await createHarness(await createTestTable());
});
afterEach(() => h.close());

describe('business metrics', () => {
  it('count offers, fallbacks, deliveries, prunes, acceptances and expiries', async () => {
    // Arrange
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    const others = [await h.addMechanic(), await h.addMechanic()];
    const stale = await h.addMechanic();
    await h.goneConnection(stale.connectionIds[0]!);

    // Act: offered, the window ends, someone takes it
    const answer = await startIntake(h.deps, { customerId: 'cust-metrics', booking: priorityBooking(favorite.mechanicId) });
    h.clock.advance(h.priorityWindowSeconds);
    await onTimer(h.deps, { requestId: answer.request_id!, dueAt: h.clock.now().toISOString() });
    await h.fanOutDone();
    await acceptRequest(h.deps, { requestId: answer.request_id!, mechanicId: others[0]!.mechanicId, connectionId: others[0]!.connectionIds[0]! });
    // Act: another request nobody takes
    const unwanted = await startIntake(h.deps, { customerId: 'cust-metrics', booking: booking({ concern: 'Nobody' }) });
    await h.fanOutDone();
    h.clock.advance(h.requestTtlSeconds);
    await onTimer(h.deps, { requestId: unwanted.request_id!, dueAt: h.clock.now().toISOString() });
    await h.fanOutDone();

    // Assert: new_request reached the favorite and the two others twice (fallback, then the second request); the stale one is gone
    expect(h.metrics.total('BookingsCreated')).toBe(2);
    expect(h.metrics.total('OffersSent')).toBe(1);
    expect(h.metrics.total('FallbacksFired')).toBe(1);
    expect(h.metrics.total('BroadcastsDelivered')).toBe(6);
    expect(h.metrics.total('StaleConnectionsPruned')).toBe(1);
    expect(h.metrics.total('OffersAccepted')).toBe(1);
    expect(h.metrics.total('FavoriteAccepted')).toBe(0);
    expect(h.metrics.measured).toEqual([{ name: 'TimeToMatchMs', value: h.priorityWindowSeconds * 1000 }]);
    expect(h.metrics.total('RequestsExpired')).toBe(1);
    expect(h.metrics.total('PushFailures')).toBe(0);
  });

  it('count push failures where they happen: once per run of the failing shard, which Lambda makes 3 times', async () => {
    // Arrange
    const broken = await h.addMechanic();
    const healthy = await h.addMechanic();
    h.brokenConnection(broken.connectionIds[0]!);
    const sameShard = connectionIndex.shardOf(broken.connectionIds[0]!) === connectionIndex.shardOf(healthy.connectionIds[0]!);

    // Act
    await startIntake(h.deps, { customerId: 'cust-metrics-2', booking: booking({ concern: 'Knock' }) });
    await h.fanOutDone();

    // Assert
    expect(h.metrics.total('PushFailures')).toBe(3);
    expect(h.metrics.total('BroadcastsDelivered')).toBe(sameShard ? 3 : 1);
  });
});
