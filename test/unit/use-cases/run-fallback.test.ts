/**
 * The fallback: one conditional claim decides, so it broadcasts once however
 * often the scheduler fires, and a broadcast that fails gives the claim back
 * for the retry. The reference is test/integration/flow.test.ts, seed scenario 3.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { acceptRequest } from '../../../lambdas/use-cases/accept-request';
import { runFallback } from '../../../lambdas/use-cases/run-fallback';
import { cancelSession, startIntake } from '../../../lambdas/use-cases/sessions';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory-ports';
import { addMechanic, booking, newCustomerId, phone, priorityBooking, received, receivedTypes, type TestMechanic } from './fixtures';

let deps: InMemoryDeps;
beforeEach(() => {
  deps = inMemoryDeps({ priorityEnabled: true });
});

/** A pending priority request offered to a new favorite, with another mechanic online. */
async function offered(): Promise<{ customerId: string; sessionId: string; requestId: string; favorite: TestMechanic; other: TestMechanic }> {
  const customerId = newCustomerId();
  const favorite = await addMechanic(deps);
  const other = await addMechanic(deps);
  const answer = await startIntake(deps, { customerId, booking: priorityBooking(favorite.mechanicId) });
  return { customerId, sessionId: answer.session_id, requestId: answer.request_id!, favorite, other };
}

describe('runFallback', () => {
  it('broadcasts once when the window ends; a duplicate invocation does nothing', async () => {
    // Arrange
    const { requestId, favorite, other } = await offered();
    deps.clock.advance(600);

    // Act: the scheduler fires, then fires again (at-least-once delivery)
    const first = await runFallback(deps, { requestId, reason: 'preferred_mechanic_no_response' });
    const second = await runFallback(deps, { requestId, reason: 'preferred_mechanic_no_response' });

    // Assert
    expect(first).toEqual({ ran: true, delivery: { delivered: 2, gone: 0, failed: 0 } });
    expect(second).toEqual({ ran: false });
    expect(received(deps, other)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'fallback', request_id: requestId })]);
    expect(receivedTypes(deps, favorite)).toEqual(['priority_session_request', 'new_request']);
    const request = await deps.requests.get(requestId);
    expect(request!.metadata).toMatchObject({ fallback_broadcast_at: '2026-11-24T12:10:00.000Z', fallback_reason: 'preferred_mechanic_no_response' });
    expect(request!.events.map((e) => e.type)).toEqual(['created', 'fallback_scheduled', 'priority_offer_sent', 'fallback_started', 'fallback_broadcast']);
    expect(deps.log.messages('[Fallback]')).toEqual([
      '[Fallback] Priority window over, broadcasting to all mechanics',
      '[Fallback] Broadcast delivered',
      '[Fallback] Nothing to do: the request was already matched, cancelled or broadcast',
    ]);
    expect(deps.metrics.total('FallbacksFired')).toBe(1);
    expect(deps.metrics.total('BroadcastsDelivered')).toBe(2);
  });

  it('opens the request to everyone: another mechanic may now accept it', async () => {
    // Arrange
    const { requestId, favorite, other } = await offered();
    deps.clock.advance(600);
    await runFallback(deps, { requestId, reason: 'preferred_mechanic_no_response' });

    // Act
    const won = await acceptRequest(deps, { requestId, mechanicId: other.mechanicId, connectionId: phone(other) });

    // Assert
    expect(won).toBe(true);
    expect(received(deps, other).at(-1)).toEqual({ type: 'accept_result', request_id: requestId, ok: true });
    expect(received(deps, favorite).at(-1)).toEqual({ type: 'request_taken', request_id: requestId });
  });

  it('a broadcast that throws releases the claim and rethrows, so the scheduler retry completes it', async () => {
    // Arrange
    const { requestId, favorite } = await offered();
    const listAll = deps.connections.listAll.bind(deps.connections);
    let outage = true;
    deps.connections.listAll = () => {
      if (outage) throw Object.assign(new Error('Throughput exceeded'), { name: 'ProvisionedThroughputExceededException' });
      return listAll();
    };

    // Act + Assert: the first invocation fails and gives the claim back
    await expect(runFallback(deps, { requestId, reason: 'preferred_mechanic_no_response' })).rejects.toThrow('Throughput exceeded');
    const afterFailure = await deps.requests.get(requestId);
    expect(afterFailure!.metadata.fallback_broadcast_at).toBeUndefined();
    expect(afterFailure!.metadata.fallback_reason).toBeUndefined();
    expect(afterFailure!.events.at(-1)).toMatchObject({ type: 'fallback_failed', error: 'ProvisionedThroughputExceededException: Throughput exceeded' });
    expect(deps.log.lines).toContainEqual(expect.objectContaining({ level: 'ERROR', message: '[Fallback] Broadcast failed; claim released for a retry' }));
    expect(deps.metrics.total('FallbacksFired')).toBe(0);

    // Act + Assert: the retry goes through
    outage = false;
    const retry = await runFallback(deps, { requestId, reason: 'preferred_mechanic_no_response' });
    expect(retry.ran).toBe(true);
    expect(receivedTypes(deps, favorite)).toEqual(['priority_session_request', 'new_request']);
    expect((await deps.requests.get(requestId))!.events.map((e) => e.type)).toEqual([
      'created',
      'fallback_scheduled',
      'priority_offer_sent',
      'fallback_started',
      'fallback_failed',
      'fallback_started',
      'fallback_broadcast',
    ]);
  });

  it('does nothing for a matched, a cancelled, a broadcast or an unknown request', async () => {
    // Arrange
    const matched = await offered();
    await acceptRequest(deps, { requestId: matched.requestId, mechanicId: matched.favorite.mechanicId, connectionId: phone(matched.favorite) });
    const cancelled = await offered();
    await cancelSession(deps, { customerId: cancelled.customerId, sessionId: cancelled.sessionId });
    const broadcast = await startIntake(deps, { customerId: newCustomerId(), booking: booking() });
    const pushedBefore = deps.pusher.sent.length;

    // Act
    const outcomes = await Promise.all(
      [matched.requestId, cancelled.requestId, broadcast.request_id!, 'req-00000000-0000-4000-8000-000000000000'].map((requestId) =>
        runFallback(deps, { requestId, reason: 'preferred_mechanic_no_response' }),
      ),
    );

    // Assert
    expect(outcomes).toEqual([{ ran: false }, { ran: false }, { ran: false }, { ran: false }]);
    expect(deps.pusher.sent.length).toBe(pushedBefore);
    expect(deps.metrics.total('FallbacksFired')).toBe(0);
  });
});
