/**
 * The priority path of fulfillment (flag on, a favorite, no workshop): the
 * offer goes to the favorite alone with a durable fallback at the window's
 * end; a favorite who cannot take it means a broadcast at once, reason
 * priority_failed. The reference is test/integration/flow.test.ts, seed
 * scenarios 2 and 4.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { startIntake } from '../../../lambdas/use-cases/sessions';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory-ports';
import { addMechanic, newCustomerId, priorityBooking, received, receivedTypes, type TestMechanic } from './fixtures';

let deps: InMemoryDeps;
beforeEach(() => {
  deps = inMemoryDeps({ priorityEnabled: true });
});

describe('priority offer', () => {
  it('goes to every connection of the favorite and nobody else, with the fallback scheduled at now + window', async () => {
    // Arrange
    const customerId = newCustomerId();
    const favorite = await addMechanic(deps, { connections: 2 });
    const other = await addMechanic(deps);

    // Act
    const answer = await startIntake(deps, { customerId, booking: priorityBooking(favorite.mechanicId) });

    // Assert: the offer
    const requestId = answer.request_id!;
    for (const connectionId of favorite.connectionIds) {
      expect(deps.pusher.sentTo(connectionId)).toEqual([
        {
          type: 'priority_session_request',
          request_id: requestId,
          session_id: answer.session_id,
          expires_at: '2026-11-24T12:10:00.000Z',
          window_seconds: 600,
          concern: 'Check engine light after a cold start',
          vehicle: { make: 'Toyota', model: 'Corolla', year: 2019 },
        },
      ]);
    }
    expect(received(deps, other)).toEqual([]);
    // Assert: the durable fallback, and the routing guard released
    expect(deps.scheduler.schedules()).toEqual([{ name: `fallback-${requestId}`, at: '2026-11-24T12:10:00.000Z', input: { request_id: requestId } }]);
    // Assert: the request
    const request = await deps.requests.get(requestId);
    expect(request).toMatchObject({
      status: 'pending',
      routing: 'priority',
      preferred_mechanic_id: favorite.mechanicId,
      expires_at: '2026-11-24T12:10:00.000Z',
      metadata: { priority_mechanic_id: favorite.mechanicId, priority_window_minutes: 10, priority_notified_at: '2026-11-24T12:00:00.000Z' },
    });
    expect(request!.metadata.fallback_broadcast_at).toBeUndefined();
    expect(request!.events.map((e) => e.type)).toEqual(['created', 'fallback_scheduled', 'priority_offer_sent']);
    expect(request!.events.at(-1)).toMatchObject({ delivered: 2, gone: 0, failed: 0 });
    expect(deps.metrics.total('OffersSent')).toBe(1);
    expect(deps.metrics.total('BroadcastsDelivered')).toBe(0);
  });

  it('ends the window on a whole second, never before now + window', async () => {
    // Arrange
    deps = inMemoryDeps({ priorityEnabled: true, priorityWindowSeconds: 90 });
    const customerId = newCustomerId();
    const favorite = await addMechanic(deps);
    deps.clock.advance(0.25);

    // Act
    const answer = await startIntake(deps, { customerId, booking: priorityBooking(favorite.mechanicId) });

    // Assert
    expect(received(deps, favorite)).toEqual([expect.objectContaining({ expires_at: '2026-11-24T12:01:31.000Z', window_seconds: 90 })]);
    expect(deps.scheduler.schedule(`fallback-${answer.request_id}`)?.at).toBe('2026-11-24T12:01:31.000Z');
    expect((await deps.requests.get(answer.request_id!))!.metadata.priority_window_minutes).toBe(1.5);
  });

  it('still counts as offered when one of the favorite’s connections is gone; that one is pruned', async () => {
    // Arrange
    const customerId = newCustomerId();
    const favorite = await addMechanic(deps, { connections: 2 });
    const other = await addMechanic(deps);
    deps.pusher.markGone(favorite.connectionIds[0]!);

    // Act
    const answer = await startIntake(deps, { customerId, booking: priorityBooking(favorite.mechanicId) });

    // Assert
    expect(deps.pusher.sentTo(favorite.connectionIds[1]!)).toEqual([expect.objectContaining({ type: 'priority_session_request' })]);
    expect(received(deps, other)).toEqual([]);
    expect((await deps.connections.listByMechanic(favorite.mechanicId)).map((c) => c.connection_id)).toEqual([favorite.connectionIds[1]]);
    expect((await deps.requests.get(answer.request_id!))!.metadata.fallback_broadcast_at).toBeUndefined();
    expect(deps.scheduler.schedule(`fallback-${answer.request_id}`)).toBeDefined();
  });
});

describe('a favorite who cannot take it: broadcast at once, reason priority_failed', () => {
  it.each([
    ['unknown', 'mechanic_unknown', async (): Promise<TestMechanic> => ({ mechanicId: 'mech-nobody', connectionIds: [] })],
    ['pending approval', 'mechanic_not_approved', () => addMechanic(deps, { status: 'pending' })],
    ['suspended (paused)', 'mechanic_not_approved', () => addMechanic(deps, { status: 'suspended' })],
    ['offline', 'mechanic_offline', () => addMechanic(deps, { connections: 0 })],
  ])('%s favorite', async (_kind, why, makeFavorite) => {
    // Arrange
    const customerId = newCustomerId();
    const favorite = await makeFavorite();
    const other = await addMechanic(deps);

    // Act
    const answer = await startIntake(deps, { customerId, booking: priorityBooking(favorite.mechanicId) });

    // Assert
    expect(received(deps, other)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'priority_failed', request_id: answer.request_id })]);
    for (const connectionId of favorite.connectionIds) expect(deps.pusher.sentTo(connectionId)).toEqual([expect.objectContaining({ type: 'new_request' })]);
    expect(deps.scheduler.created.filter((s) => s.name.startsWith('fallback-'))).toEqual([]);
    const request = await deps.requests.get(answer.request_id!);
    expect(request).toMatchObject({
      status: 'pending',
      routing: 'broadcast',
      expires_at: null,
      metadata: { priority_mechanic_id: favorite.mechanicId, fallback_reason: 'priority_failed', fallback_broadcast_at: '2026-11-24T12:00:00.000Z' },
    });
    expect(request!.events[0]).toEqual({ at: '2026-11-24T12:00:00.000Z', type: 'priority_failed', mechanic_id: favorite.mechanicId, why });
    expect(deps.log.lines).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        message: '[Priority] Favorite cannot take priority, broadcasting now',
        fields: expect.objectContaining({ why }),
      }),
    );
    expect(deps.metrics.total('OffersSent')).toBe(0);
  });

  it('a fallback that cannot be scheduled: broadcast at once, never a request stuck in its window', async () => {
    // Arrange
    const customerId = newCustomerId();
    const favorite = await addMechanic(deps);
    deps.scheduler.failCreates = true;

    // Act
    const answer = await startIntake(deps, { customerId, booking: priorityBooking(favorite.mechanicId) });

    // Assert
    expect(received(deps, favorite)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'priority_failed' })]);
    const request = await deps.requests.get(answer.request_id!);
    expect(request).toMatchObject({ routing: 'broadcast', status: 'pending' });
    expect(request!.events[0]).toMatchObject({ type: 'priority_failed', why: 'schedule_failed' });
    expect(deps.log.lines).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        fields: expect.objectContaining({ why: 'schedule_failed', error: expect.stringContaining('ResourceNotFoundException') }),
      }),
    );
  });

  it("an offer none of the favorite's connections took (all gone): fallback now, connections pruned, schedule deleted", async () => {
    // Arrange
    const customerId = newCustomerId();
    const favorite = await addMechanic(deps, { connections: 2 });
    const other = await addMechanic(deps);
    for (const connectionId of favorite.connectionIds) deps.pusher.markGone(connectionId);

    // Act
    const answer = await startIntake(deps, { customerId, booking: priorityBooking(favorite.mechanicId) });

    // Assert
    expect(receivedTypes(deps, other)).toEqual(['new_request']);
    expect(received(deps, other)[0]).toMatchObject({ reason: 'priority_failed' });
    expect(await deps.connections.listByMechanic(favorite.mechanicId)).toEqual([]);
    const request = await deps.requests.get(answer.request_id!);
    expect(request).toMatchObject({ routing: 'priority', status: 'pending', metadata: { fallback_reason: 'priority_failed' } });
    expect(request!.events.map((e) => e.type)).toEqual(['created', 'fallback_scheduled', 'fallback_started', 'fallback_broadcast']);
    expect(deps.scheduler.created.map((s) => s.name)).toContain(`fallback-${answer.request_id}`);
    expect(deps.scheduler.schedules()).toEqual([]);
    expect(deps.metrics.total('StaleConnectionsPruned')).toBe(2);
    expect(deps.metrics.total('OffersSent')).toBe(0);
    expect(deps.metrics.total('FallbacksFired')).toBe(1);
  });
});
