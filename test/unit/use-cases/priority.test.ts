/**
 * The priority path of routing (flag on, a favorite, no workshop): the offer
 * goes to the favorite's connections alone, inline, and the request is
 * `offered` until `expires_at`, its timer set there; a favorite who cannot
 * take it means the request opens to everyone at once, reason
 * priority_failed. The reference is test/integration/flow.test.ts, seed
 * scenarios 2 and 4.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { startIntake } from '../../../lambdas/use-cases/booking';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory-ports';
import { addMechanic, at, newCustomerId, priorityBooking, received, stored, type TestMechanic } from './fixtures';

let deps: InMemoryDeps;
beforeEach(() => {
  deps = inMemoryDeps({ priorityEnabled: true });
});

describe('priority offer', () => {
  it('goes to every connection of the favorite and nobody else; the request is offered until now + window, its timer there', async () => {
    // Arrange
    const favorite = await addMechanic(deps, { connections: 2 });
    const other = await addMechanic(deps);

    // Act
    const answer = await startIntake(deps, { customerId: newCustomerId(), booking: priorityBooking(favorite.mechanicId) });

    // Assert: the offer
    const requestId = answer.request_id!;
    for (const connectionId of favorite.connectionIds) {
      expect(deps.pusher.sentTo(connectionId)).toEqual([
        {
          type: 'priority_session_request',
          request_id: requestId,
          session_id: answer.session_id,
          expires_at: at(600),
          window_seconds: 600,
          concern: 'Check engine light after a cold start',
          vehicle: { make: 'Toyota', model: 'Corolla', year: 2019 },
        },
      ]);
    }
    expect(received(deps, other)).toEqual([]);
    expect(deps.fanOut.sent).toEqual([]);
    // Assert: the booking and its timer
    const booking = await stored(deps, answer.session_id);
    expect(booking).toMatchObject({
      state: 'offered',
      routing: 'priority',
      route_to: 'favorite',
      audience: `mechanic#${favorite.mechanicId}`,
      expires_at: at(600),
      open_until: null,
      request_metadata: { priority_mechanic_id: favorite.mechanicId, priority_window_minutes: 10, priority_notified_at: at(0) },
    });
    expect(booking.request_metadata.fallback_broadcast_at).toBeUndefined();
    expect(booking.events.map((e) => e.type)).toEqual(['created', 'priority_offer_sent']);
    expect(booking.events.at(-1)).toMatchObject({ mechanic_id: favorite.mechanicId, expires_at: at(600), delivered: 2, gone: 0, failed: 0 });
    expect(deps.timer.sets.map((t) => t.due)).toEqual([at(120), at(600)]);
    expect(deps.timer.timer(requestId)?.due).toBe(at(600));
    expect(deps.metrics.total('OffersSent')).toBe(1);
  });

  it('ends the window on a whole second, never before now + window', async () => {
    // Arrange
    deps = inMemoryDeps({ priorityEnabled: true, priorityWindowSeconds: 90 });
    const favorite = await addMechanic(deps);
    deps.clock.advance(0.25);

    // Act
    const answer = await startIntake(deps, { customerId: newCustomerId(), booking: priorityBooking(favorite.mechanicId) });

    // Assert
    expect(received(deps, favorite)).toEqual([expect.objectContaining({ expires_at: at(91), window_seconds: 90 })]);
    expect(deps.timer.timer(answer.request_id!)?.due).toBe(at(91));
    expect((await stored(deps, answer.session_id)).request_metadata.priority_window_minutes).toBe(1.5);
  });

  it("still counts as offered when one of the favorite's connections is gone; that one is pruned", async () => {
    // Arrange
    const favorite = await addMechanic(deps, { connections: 2 });
    deps.pusher.markGone(favorite.connectionIds[0]!);

    // Act
    const answer = await startIntake(deps, { customerId: newCustomerId(), booking: priorityBooking(favorite.mechanicId) });

    // Assert
    expect(deps.pusher.sentTo(favorite.connectionIds[1]!)).toEqual([expect.objectContaining({ type: 'priority_session_request' })]);
    expect((await deps.connections.listByMechanic(favorite.mechanicId)).map((c) => c.connection_id)).toEqual([favorite.connectionIds[1]]);
    const booking = await stored(deps, answer.session_id);
    expect(booking.state).toBe('offered');
    expect(booking.events.at(-1)).toMatchObject({ type: 'priority_offer_sent', delivered: 1, gone: 1 });
    expect(deps.fanOut.sent).toEqual([]);
  });
});

describe('a favorite who cannot take it: open to everyone at once, reason priority_failed', () => {
  it.each([
    ['unknown', 'mechanic_unknown', async (): Promise<TestMechanic> => ({ mechanicId: 'mech-nobody', connectionIds: [] })],
    ['pending approval', 'mechanic_not_approved', () => addMechanic(deps, { status: 'pending' })],
    ['suspended', 'mechanic_not_approved', () => addMechanic(deps, { status: 'suspended' })],
    ['offline', 'mechanic_offline', () => addMechanic(deps, { connections: 0 })],
    ['paused', 'mechanic_paused', () => addMechanic(deps, { paused: true })],
  ])('%s favorite', async (_kind, why, makeFavorite) => {
    // Arrange
    const favorite = await makeFavorite();

    // Act
    const answer = await startIntake(deps, { customerId: newCustomerId(), booking: priorityBooking(favorite.mechanicId) });

    // Assert
    expect(deps.fanOut.sent).toEqual([
      {
        requestId: answer.request_id,
        audience: { kind: 'everyone' },
        message: expect.objectContaining({ type: 'new_request', reason: 'priority_failed', request_id: answer.request_id }),
      },
    ]);
    expect(deps.pusher.sent).toEqual([]);
    const booking = await stored(deps, answer.session_id);
    expect(booking).toMatchObject({
      state: 'open',
      route_to: 'everyone',
      audience: 'everyone',
      expires_at: null,
      open_until: at(1800),
      request_metadata: { priority_mechanic_id: favorite.mechanicId, fallback_reason: 'priority_failed', fallback_broadcast_at: at(0) },
    });
    expect(booking.events.map((e) => e.type)).toEqual(['created', 'priority_failed', 'broadcast_sent']);
    expect(booking.events[1]).toEqual({ at: at(0), type: 'priority_failed', mechanic_id: favorite.mechanicId, why });
    expect(deps.timer.timer(answer.request_id!)?.due).toBe(at(1800));
    expect(deps.log.lines).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        message: '[Priority] Favorite cannot take priority, broadcasting now',
        fields: expect.objectContaining({ why }),
      }),
    );
    expect(deps.metrics.total('OffersSent')).toBe(0);
  });

  it("an offer none of the favorite's connections took (all gone): open to everyone now, the connections pruned", async () => {
    // Arrange
    const favorite = await addMechanic(deps, { connections: 2 });
    for (const connectionId of favorite.connectionIds) deps.pusher.markGone(connectionId);

    // Act
    const answer = await startIntake(deps, { customerId: newCustomerId(), booking: priorityBooking(favorite.mechanicId) });

    // Assert
    expect(deps.fanOut.sent).toEqual([
      expect.objectContaining({ audience: { kind: 'everyone' }, message: expect.objectContaining({ reason: 'priority_failed' }) }),
    ]);
    expect(await deps.connections.listByMechanic(favorite.mechanicId)).toEqual([]);
    const booking = await stored(deps, answer.session_id);
    expect(booking).toMatchObject({ state: 'open', audience: 'everyone', expires_at: null });
    expect(booking.events[1]).toMatchObject({ type: 'priority_failed', why: 'offer_undelivered' });
    expect(deps.metrics.total('StaleConnectionsPruned')).toBe(2);
    expect(deps.metrics.total('OffersSent')).toBe(0);
  });

  it('an offer that fails on every connection after its retries opens the request to everyone too', async () => {
    // Arrange
    const favorite = await addMechanic(deps);
    deps.pusher.markBroken(favorite.connectionIds[0]!);

    // Act
    const answer = await startIntake(deps, { customerId: newCustomerId(), booking: priorityBooking(favorite.mechanicId) });

    // Assert
    expect(deps.fanOut.sent).toEqual([expect.objectContaining({ message: expect.objectContaining({ reason: 'priority_failed' }) })]);
    expect((await stored(deps, answer.session_id)).state).toBe('open');
    expect(deps.metrics.total('PushFailures')).toBe(1);
  });
});
