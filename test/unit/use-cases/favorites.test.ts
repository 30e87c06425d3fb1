/**
 * Favorites in order: each favorite in turn holds the request for a whole
 * window; one who cannot take it is skipped at once; a decline or a lapsed
 * window moves to the next; after the last, the request opens to everyone,
 * leaving out whoever declined. `priority_mechanic_id` names the favorite
 * holding the window, and the audit trail records every step.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { acceptRequest } from '../../../lambdas/use-cases/accept-request';
import { startIntake } from '../../../lambdas/use-cases/booking';
import { declineRequest } from '../../../lambdas/use-cases/decline-request';
import { onTimer } from '../../../lambdas/use-cases/request-timer';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory-ports';
import { addMechanic, at, deliverFanOut, newCustomerId, phone, priorityBooking, received, stored, type TestMechanic } from './fixtures';

let deps: InMemoryDeps;
beforeEach(() => {
  deps = inMemoryDeps({ priorityEnabled: true });
});

/** A priority booking naming these favorites in order. */
async function bookFavorites(...favorites: TestMechanic[]): Promise<string> {
  const ids = favorites.map((f) => f.mechanicId);
  const answer = await startIntake(deps, {
    customerId: newCustomerId(),
    booking: priorityBooking(ids[0]!, ids.length > 1 ? { preferred_mechanic_ids: ids } : {}),
  });
  return answer.request_id!;
}

const offersTo = (mechanic: TestMechanic) => received(deps, mechanic).filter((m) => m.type === 'priority_session_request');
const fireTimer = (requestId: string) => onTimer(deps, { requestId, dueAt: deps.timer.timer(requestId)!.due });

describe('favorites in order', () => {
  it('the first favorite alone gets the window; the others hear nothing yet', async () => {
    // Arrange
    const [first, second, third] = [await addMechanic(deps), await addMechanic(deps), await addMechanic(deps)];

    // Act
    const requestId = await bookFavorites(first, second, third);

    // Assert
    expect(offersTo(first)).toEqual([expect.objectContaining({ request_id: requestId, expires_at: at(600) })]);
    expect([...received(deps, second), ...received(deps, third)]).toEqual([]);
    expect(await stored(deps, requestId)).toMatchObject({
      state: 'offered',
      audience: `mechanic#${first.mechanicId}`,
      metadata: { preferred_mechanic_id: first.mechanicId, preferred_mechanic_ids: [first.mechanicId, second.mechanicId, third.mechanicId] },
      request_metadata: { priority_mechanic_id: first.mechanicId },
    });
  });

  it('an unavailable favorite is skipped at once, and the next one gets the window (audited, named as the holder)', async () => {
    // Arrange
    const offline = await addMechanic(deps, { connections: 0 });
    const paused = await addMechanic(deps, { paused: true });
    const third = await addMechanic(deps);

    // Act
    const requestId = await bookFavorites(offline, paused, third);

    // Assert
    expect(offersTo(third)).toEqual([expect.objectContaining({ request_id: requestId, expires_at: at(600) })]);
    const booking = await stored(deps, requestId);
    expect(booking).toMatchObject({ state: 'offered', audience: `mechanic#${third.mechanicId}`, request_metadata: { priority_mechanic_id: third.mechanicId } });
    expect(booking.events.map((e) => e.type)).toEqual(['created', 'favorite_skipped', 'favorite_skipped', 'priority_offer_sent']);
    expect(booking.events[1]).toEqual({
      at: at(0),
      type: 'favorite_skipped',
      mechanic_id: offline.mechanicId,
      why: 'mechanic_offline',
      next_mechanic_id: paused.mechanicId,
    });
    expect(booking.events[2]).toEqual({
      at: at(0),
      type: 'favorite_skipped',
      mechanic_id: paused.mechanicId,
      why: 'mechanic_paused',
      next_mechanic_id: third.mechanicId,
    });
    expect(deps.fanOut.sent).toEqual([]);
  });

  it('every favorite unavailable: the request opens to everyone, priority_failed naming the last one', async () => {
    // Arrange
    const [unknown, offline] = [{ mechanicId: 'mech-nobody', connectionIds: [] }, await addMechanic(deps, { connections: 0 })];

    // Act
    const requestId = await bookFavorites(unknown, offline);

    // Assert
    const booking = await stored(deps, requestId);
    expect(booking).toMatchObject({ state: 'open', audience: 'everyone', new_request_reason: 'priority_failed' });
    expect(booking.events.map((e) => e.type)).toEqual(['created', 'favorite_skipped', 'priority_failed', 'broadcast_sent']);
    expect(booking.events[2]).toMatchObject({ type: 'priority_failed', mechanic_id: offline.mechanicId, why: 'mechanic_offline' });
    expect(deps.fanOut.sent).toEqual([
      expect.objectContaining({ audience: { kind: 'everyone' }, message: expect.objectContaining({ reason: 'priority_failed' }) }),
    ]);
  });

  it('a lapsed window moves to the next favorite, who gets a whole window of their own; the one before may no longer accept', async () => {
    // Arrange
    const [first, second] = [await addMechanic(deps), await addMechanic(deps)];
    const requestId = await bookFavorites(first, second);

    // Act
    deps.clock.advance(600);
    await fireTimer(requestId);

    // Assert
    expect(offersTo(second)).toEqual([expect.objectContaining({ request_id: requestId, expires_at: at(1200) })]);
    const booking = await stored(deps, requestId);
    expect(booking).toMatchObject({ state: 'offered', expires_at: at(1200), request_metadata: { priority_mechanic_id: second.mechanicId } });
    expect(booking.events.at(-2)).toEqual({ at: at(600), type: 'priority_window_ended', mechanic_id: first.mechanicId, next_mechanic_id: second.mechanicId });
    expect(deps.timer.timer(requestId)?.due).toBe(at(1200));
    expect(deps.metrics.total('FallbacksFired')).toBe(0);
    expect(deps.fanOut.sent).toEqual([]);

    // Act + Assert: the first favorite is too late, the second wins
    expect(await acceptRequest(deps, { requestId, mechanicId: first.mechanicId, connectionId: phone(first) })).toBe(false);
    expect(received(deps, first).at(-1)).toEqual({ type: 'accept_result', request_id: requestId, ok: false, reason: 'priority_window' });
    expect(await acceptRequest(deps, { requestId, mechanicId: second.mechanicId, connectionId: phone(second) })).toBe(true);
    expect(await stored(deps, requestId)).toMatchObject({ state: 'matched', mechanic_id: second.mechanicId });
  });

  it('a decline moves to the next favorite at once; after the last, the request opens to everyone but those who declined', async () => {
    // Arrange
    const [first, second] = [await addMechanic(deps), await addMechanic(deps)];
    const bystander = await addMechanic(deps);
    const requestId = await bookFavorites(first, second);

    // Act: the first declines, the second's window lapses
    await declineRequest(deps, { requestId, mechanicId: first.mechanicId, connectionId: phone(first) });
    const afterDecline = await stored(deps, requestId);
    deps.clock.advance(600);
    await fireTimer(requestId);
    await deliverFanOut(deps);

    // Assert
    expect(afterDecline).toMatchObject({ state: 'offered', audience: `mechanic#${second.mechanicId}`, expires_at: at(600) });
    expect(afterDecline.events.at(-2)).toEqual({ at: at(0), type: 'declined', mechanic_id: first.mechanicId, next_mechanic_id: second.mechanicId });
    const booking = await stored(deps, requestId);
    expect(booking).toMatchObject({
      state: 'open',
      new_request_reason: 'fallback',
      request_metadata: { priority_mechanic_id: second.mechanicId, fallback_reason: 'preferred_mechanic_no_response', fallback_broadcast_at: at(600) },
    });
    expect(booking.events.map((e) => e.type)).toEqual([
      'created',
      'priority_offer_sent',
      'declined',
      'priority_offer_sent',
      'fallback_started',
      'broadcast_sent',
    ]);
    expect(deps.metrics.total('FallbacksFired')).toBe(1);
    expect(received(deps, bystander).map((m) => m.type)).toEqual(['new_request']);
    expect(received(deps, second).map((m) => m.type)).toEqual(['priority_session_request', 'new_request']);
    expect(received(deps, first).map((m) => m.type)).toEqual(['priority_session_request']);
  });

  it('with the flag off, no favorite hears of it: a plain broadcast', async () => {
    // Arrange
    deps = inMemoryDeps({ priorityEnabled: false });
    const [first, second] = [await addMechanic(deps), await addMechanic(deps)];

    // Act
    const requestId = await bookFavorites(first, second);

    // Assert
    expect(await stored(deps, requestId)).toMatchObject({ state: 'open', routing: 'broadcast', new_request_reason: 'broadcast' });
    expect([...offersTo(first), ...offersTo(second)]).toEqual([]);
  });
});
