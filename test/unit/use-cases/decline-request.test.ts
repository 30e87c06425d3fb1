/**
 * Decline: the favorite's decline ends the priority window at once (the
 * fallback runs now, reason priority_declined); anyone else's changes nothing.
 * The reference is test/integration/flow.test.ts ("decline").
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { acceptRequest } from '../../../lambdas/use-cases/accept-request';
import { declineRequest } from '../../../lambdas/use-cases/decline-request';
import { runFallback } from '../../../lambdas/use-cases/run-fallback';
import { startIntake } from '../../../lambdas/use-cases/sessions';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory-ports';
import { addMechanic, newCustomerId, phone, priorityBooking, received, receivedTypes, type TestMechanic } from './fixtures';

let deps: InMemoryDeps;
beforeEach(() => {
  deps = inMemoryDeps({ priorityEnabled: true });
});

const decline = (requestId: string, mechanic: TestMechanic) =>
  declineRequest(deps, { requestId, mechanicId: mechanic.mechanicId, connectionId: phone(mechanic) });

async function offered(): Promise<{ requestId: string; favorite: TestMechanic; other: TestMechanic }> {
  const favorite = await addMechanic(deps);
  const other = await addMechanic(deps);
  const answer = await startIntake(deps, { customerId: newCustomerId(), booking: priorityBooking(favorite.mechanicId) });
  return { requestId: answer.request_id!, favorite, other };
}

describe('declineRequest', () => {
  it("the favorite's decline broadcasts now, deletes the schedule, and a later fallback does nothing", async () => {
    // Arrange
    const { requestId, favorite, other } = await offered();
    expect(deps.scheduler.schedule(`fallback-${requestId}`)).toBeDefined();
    deps.clock.advance(30);

    // Act
    await decline(requestId, favorite);

    // Assert
    expect(received(deps, other)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'priority_declined', request_id: requestId })]);
    expect(receivedTypes(deps, favorite)).toEqual(['priority_session_request', 'new_request']);
    expect((await deps.requests.get(requestId))!.metadata).toMatchObject({
      fallback_reason: 'preferred_mechanic_declined',
      fallback_broadcast_at: '2026-11-24T12:00:30.000Z',
    });
    expect(deps.scheduler.schedule(`fallback-${requestId}`)).toBeUndefined();
    expect(await runFallback(deps, { requestId, reason: 'preferred_mechanic_no_response' })).toEqual({ ran: false });
    expect(deps.metrics.total('FallbacksFired')).toBe(1);
  });

  it("someone else's decline changes nothing: no push, no fallback, the schedule stays", async () => {
    // Arrange
    const { requestId, other } = await offered();
    const before = await deps.requests.get(requestId);

    // Act
    await decline(requestId, other);

    // Assert
    expect(await deps.requests.get(requestId)).toEqual(before);
    expect(received(deps, other)).toEqual([]);
    expect(deps.scheduler.schedule(`fallback-${requestId}`)).toBeDefined();
    expect(deps.log.messages('[Decline]')).toEqual(['[Decline] Noted; the request stays open']);
  });

  it('the favorite declining after they accepted changes nothing', async () => {
    // Arrange
    const { requestId, favorite, other } = await offered();
    await acceptRequest(deps, { requestId, mechanicId: favorite.mechanicId, connectionId: phone(favorite) });
    const before = await deps.requests.get(requestId);

    // Act
    await decline(requestId, favorite);

    // Assert
    expect(await deps.requests.get(requestId)).toEqual(before);
    expect(received(deps, other)).toEqual([]);
    expect(deps.metrics.total('FallbacksFired')).toBe(0);
  });

  it('an unknown request answers not_found on that connection', async () => {
    // Arrange
    const mechanic = await addMechanic(deps);
    const unknown = 'req-00000000-0000-4000-8000-000000000000';

    // Act
    await decline(unknown, mechanic);

    // Assert
    expect(received(deps, mechanic)).toEqual([{ type: 'error', code: 'not_found', message: `request_id ${unknown} not found` }]);
  });
});
