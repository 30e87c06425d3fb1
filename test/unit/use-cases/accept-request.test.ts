/**
 * Accept: the first conditional write wins; everyone else learns why not, and
 * every connection the request was offered to hears it is taken. The
 * reference is test/integration/flow.test.ts ("accept races", seed scenario 2).
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

const accept = (requestId: string, mechanic: TestMechanic, connectionId = phone(mechanic)) =>
  acceptRequest(deps, { requestId, mechanicId: mechanic.mechanicId, connectionId });

describe('acceptRequest', () => {
  it('on a broadcast the first accept wins; later ones get already_matched; the rest are told it is taken', async () => {
    // Arrange
    const winner = await addMechanic(deps, { connections: 2 });
    const late = await addMechanic(deps);
    const bystander = await addMechanic(deps);
    const { request_id } = await startIntake(deps, { customerId: newCustomerId(), booking: booking() });
    const requestId = request_id!;
    deps.clock.advance(30);

    // Act
    const first = await accept(requestId, winner);
    const second = await accept(requestId, late);

    // Assert
    expect([first, second]).toEqual([true, false]);
    expect(received(deps, winner)).toEqual([expect.objectContaining({ type: 'new_request' }), { type: 'accept_result', request_id: requestId, ok: true }]);
    expect(deps.pusher.sentTo(winner.connectionIds[1]!).at(-1)).toEqual({ type: 'request_taken', request_id: requestId });
    expect(received(deps, late)).toEqual([
      expect.objectContaining({ type: 'new_request' }),
      { type: 'request_taken', request_id: requestId },
      { type: 'accept_result', request_id: requestId, ok: false, reason: 'already_matched' },
    ]);
    expect(receivedTypes(deps, bystander)).toEqual(['new_request', 'request_taken']);
    const request = await deps.requests.get(requestId);
    expect(request).toMatchObject({ status: 'matched', mechanic_id: winner.mechanicId });
    expect(request!.events.at(-1)).toEqual({ at: '2026-11-24T12:00:30.000Z', type: 'accepted', mechanic_id: winner.mechanicId });
    expect(deps.metrics.total('OffersAccepted')).toBe(1);
    expect(deps.scheduler.deleteCalls.filter((name) => name.startsWith('fallback-'))).toEqual([]);
  });

  it('20 concurrent accepts yield exactly one winner and 19 already_matched', async () => {
    // Arrange
    const mechanics: TestMechanic[] = [];
    for (let i = 0; i < 20; i++) mechanics.push(await addMechanic(deps));
    const { request_id } = await startIntake(deps, { customerId: newCustomerId(), booking: booking() });

    // Act
    const wins = await Promise.all(mechanics.map((m) => accept(request_id!, m)));

    // Assert
    expect(wins.filter(Boolean)).toHaveLength(1);
    const results = mechanics.map((m) => received(deps, m).find((msg) => msg.type === 'accept_result'));
    expect(results.filter((r) => r && 'ok' in r && r.ok)).toHaveLength(1);
    expect(results.filter((r) => r && 'ok' in r && !r.ok && r.reason === 'already_matched')).toHaveLength(19);
    expect((await deps.requests.get(request_id!))!.mechanic_id).toBe(mechanics[wins.indexOf(true)]!.mechanicId);
    expect(deps.metrics.total('OffersAccepted')).toBe(1);
  });

  it('inside the priority window: another mechanic gets priority_window; the favorite wins and the schedule goes', async () => {
    // Arrange
    const favorite = await addMechanic(deps, { connections: 2 });
    const other = await addMechanic(deps);
    const { request_id } = await startIntake(deps, { customerId: newCustomerId(), booking: priorityBooking(favorite.mechanicId) });
    const requestId = request_id!;
    deps.clock.advance(60);

    // Act
    const byOther = await accept(requestId, other);
    const byFavorite = await accept(requestId, favorite);

    // Assert
    expect([byOther, byFavorite]).toEqual([false, true]);
    expect(received(deps, other)).toEqual([{ type: 'accept_result', request_id: requestId, ok: false, reason: 'priority_window' }]);
    expect(received(deps, favorite).at(-1)).toEqual({ type: 'accept_result', request_id: requestId, ok: true });
    // Offered to the favorite alone: only their other connection is told it is taken.
    expect(deps.pusher.sentTo(favorite.connectionIds[1]!).at(-1)).toEqual({ type: 'request_taken', request_id: requestId });
    expect(deps.scheduler.schedule(`fallback-${requestId}`)).toBeUndefined();
    expect(await deps.requests.get(requestId)).toMatchObject({ status: 'matched', routing: 'priority', mechanic_id: favorite.mechanicId });
    // The schedule fires late anyway (deletion is best effort): nothing happens.
    expect(await runFallback(deps, { requestId, reason: 'preferred_mechanic_no_response' })).toEqual({ ran: false });
    expect(received(deps, other)).toHaveLength(1);
  });

  it('a workshop request does not exist for a mechanic outside the workshop (not_found); one inside wins', async () => {
    // Arrange
    const inside = await addMechanic(deps, { workshopId: 'ws-north' });
    const outside = await addMechanic(deps, { workshopId: 'ws-south' });
    const { request_id } = await startIntake(deps, { customerId: newCustomerId(), booking: booking({ workshop_id: 'ws-north' }) });

    // Act
    const byOutside = await accept(request_id!, outside);
    const byInside = await accept(request_id!, inside);

    // Assert
    expect([byOutside, byInside]).toEqual([false, true]);
    expect(received(deps, outside)).toEqual([{ type: 'accept_result', request_id: request_id, ok: false, reason: 'not_found' }]);
    expect(received(deps, inside).at(-1)).toEqual({ type: 'accept_result', request_id: request_id, ok: true });
  });

  it('a cancelled request answers cancelled; an unknown one not_found', async () => {
    // Arrange
    const customerId = newCustomerId();
    const mechanic = await addMechanic(deps);
    const answer = await startIntake(deps, { customerId, booking: booking() });
    await cancelSession(deps, { customerId, sessionId: answer.session_id });
    const unknown = 'req-00000000-0000-4000-8000-000000000000';

    // Act
    const onCancelled = await accept(answer.request_id!, mechanic);
    const onUnknown = await accept(unknown, mechanic);

    // Assert
    expect([onCancelled, onUnknown]).toEqual([false, false]);
    expect(received(deps, mechanic).slice(-2)).toEqual([
      { type: 'accept_result', request_id: answer.request_id, ok: false, reason: 'cancelled' },
      { type: 'accept_result', request_id: unknown, ok: false, reason: 'not_found' },
    ]);
    expect(deps.metrics.total('OffersAccepted')).toBe(0);
  });

  it('a mechanic who is not approved gets an error and changes nothing', async () => {
    // Arrange
    const suspended = await addMechanic(deps, { status: 'suspended' });
    const { request_id } = await startIntake(deps, { customerId: newCustomerId(), booking: booking() });

    // Act
    const won = await accept(request_id!, suspended);

    // Assert
    expect(won).toBe(false);
    expect(received(deps, suspended).at(-1)).toMatchObject({ type: 'error', code: 'mechanic_not_approved' });
    expect((await deps.requests.get(request_id!))!.status).toBe('pending');
  });

  it('an accept retried by the winner answers ok again and changes nothing', async () => {
    // Arrange
    const mechanic = await addMechanic(deps);
    const { request_id } = await startIntake(deps, { customerId: newCustomerId(), booking: booking() });
    await accept(request_id!, mechanic);

    // Act
    const retried = await accept(request_id!, mechanic);

    // Assert
    expect(retried).toBe(true);
    expect(received(deps, mechanic).at(-1)).toEqual({ type: 'accept_result', request_id: request_id, ok: true });
    expect((await deps.requests.get(request_id!))!.events.filter((e) => e.type === 'accepted')).toHaveLength(1);
    expect(deps.metrics.total('OffersAccepted')).toBe(1);
  });
});
