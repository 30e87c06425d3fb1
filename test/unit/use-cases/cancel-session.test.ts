/**
 * Cancel: the request first (a match that got there before wins), then the
 * session; whoever the request was offered to is told it is taken. The
 * reference is test/integration/flow.test.ts ("cancel").
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { acceptRequest } from '../../../lambdas/use-cases/accept-request';
import { runFallback } from '../../../lambdas/use-cases/run-fallback';
import { cancelSession, completeCheckout, startIntake } from '../../../lambdas/use-cases/sessions';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory-ports';
import { addMechanic, booking, newCustomerId, phone, priorityBooking, received, receivedTypes } from './fixtures';

let deps: InMemoryDeps;
beforeEach(() => {
  deps = inMemoryDeps({ priorityEnabled: true });
});

describe('cancelSession', () => {
  it('cancels a pending priority request: schedule deleted, only the favorite told, no fallback or accept later', async () => {
    // Arrange
    const customerId = newCustomerId();
    const favorite = await addMechanic(deps);
    const other = await addMechanic(deps);
    const answer = await startIntake(deps, { customerId, booking: priorityBooking(favorite.mechanicId) });
    const requestId = answer.request_id!;
    deps.clock.advance(90);

    // Act
    const result = await cancelSession(deps, { customerId, sessionId: answer.session_id });

    // Assert
    expect(result).toEqual({ session_id: answer.session_id, status: 'cancelled' });
    expect(await deps.sessions.get(answer.session_id)).toMatchObject({ status: 'cancelled', updated_at: '2026-11-24T12:01:30.000Z' });
    expect(await deps.requests.get(requestId)).toMatchObject({ status: 'cancelled' });
    expect(received(deps, favorite).at(-1)).toEqual({ type: 'request_taken', request_id: requestId });
    expect(received(deps, other)).toEqual([]);
    expect(deps.scheduler.schedule(`fallback-${requestId}`)).toBeUndefined();
    expect(await runFallback(deps, { requestId, reason: 'preferred_mechanic_no_response' })).toEqual({ ran: false });
    await acceptRequest(deps, { requestId, mechanicId: favorite.mechanicId, connectionId: phone(favorite) });
    expect(received(deps, favorite).at(-1)).toEqual({ type: 'accept_result', request_id: requestId, ok: false, reason: 'cancelled' });
  });

  it('cancels a broadcast: everyone is told, once, however often the customer cancels', async () => {
    // Arrange
    const customerId = newCustomerId();
    const mechanics = [await addMechanic(deps), await addMechanic(deps)];
    const answer = await startIntake(deps, { customerId, booking: booking() });

    // Act
    const first = await cancelSession(deps, { customerId, sessionId: answer.session_id });
    const again = await cancelSession(deps, { customerId, sessionId: answer.session_id });

    // Assert
    expect(again).toEqual(first);
    for (const m of mechanics) expect(receivedTypes(deps, m)).toEqual(['new_request', 'request_taken']);
  });

  it('refuses to cancel a matched request and leaves the session as it was', async () => {
    // Arrange
    const customerId = newCustomerId();
    const mechanic = await addMechanic(deps);
    const answer = await startIntake(deps, { customerId, booking: booking() });
    await acceptRequest(deps, { requestId: answer.request_id!, mechanicId: mechanic.mechanicId, connectionId: phone(mechanic) });
    const pushedBefore = deps.pusher.sent.length;

    // Act
    const cancelling = cancelSession(deps, { customerId, sessionId: answer.session_id });

    // Assert
    await expect(cancelling).rejects.toMatchObject({ status: 409, code: 'already_matched' });
    expect((await deps.sessions.get(answer.session_id))!.status).toBe('fulfilled');
    expect((await deps.requests.get(answer.request_id!))!.status).toBe('matched');
    expect(deps.pusher.sent.length).toBe(pushedBefore);
  });

  it('a paid session cancelled before checkout cannot be fulfilled afterwards', async () => {
    // Arrange
    const customerId = newCustomerId();
    const answer = await startIntake(deps, { customerId, booking: booking({ plan: 'paid' }) });

    // Act
    await cancelSession(deps, { customerId, sessionId: answer.session_id });

    // Assert
    expect((await deps.sessions.get(answer.session_id))!.status).toBe('cancelled');
    await expect(completeCheckout(deps, { customerId, sessionId: answer.session_id })).rejects.toMatchObject({ status: 409, code: 'session_cancelled' });
    expect(await deps.requests.get(`req-${answer.session_id}`)).toBeUndefined();
  });

  it("another customer's session is not found and stays as it was", async () => {
    // Arrange
    const [customerId, intruder] = [newCustomerId(), newCustomerId()];
    const answer = await startIntake(deps, { customerId, booking: booking() });

    // Act
    const cancelling = cancelSession(deps, { customerId: intruder, sessionId: answer.session_id });

    // Assert
    await expect(cancelling).rejects.toMatchObject({ status: 404 });
    expect((await deps.sessions.get(answer.session_id))!.status).toBe('fulfilled');
    expect((await deps.requests.get(answer.request_id!))!.status).toBe('pending');
  });
});
