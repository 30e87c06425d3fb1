/**
 * Accept: one conditional write wins, and only the booking's audience may win
 * it — the favorite inside the window, the workshop's mechanics, anyone once
 * open. Everyone else learns why not; the audience hears `request_taken`
 * (a workshop or everyone through the fan-out; a favorite who won inside
 * their window was the whole audience: nobody), never any connection of the
 * winner; the winner's other connections hear it with `by_you`, pushed by
 * the accept itself; the timer is cleared. The reference is
 * test/integration/flow.test.ts ("accept races", seed scenario 2).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { acceptRequest } from '../../../lambdas/use-cases/accept-request';
import { cancelBooking, startIntake } from '../../../lambdas/use-cases/booking';
import { onTimer } from '../../../lambdas/use-cases/request-timer';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory-ports';
import {
  addMechanic,
  at,
  booking,
  bookingLeftInRouting,
  deliverFanOut,
  newCustomerId,
  offeredBooking,
  openBooking,
  phone,
  received,
  stored,
  type TestMechanic,
} from './fixtures';

let deps: InMemoryDeps;
beforeEach(() => {
  deps = inMemoryDeps({ priorityEnabled: true });
});

const accept = (requestId: string, mechanic: TestMechanic, connectionId = phone(mechanic)) =>
  acceptRequest(deps, { requestId, mechanicId: mechanic.mechanicId, connectionId });

describe('acceptRequest: inside the priority window', () => {
  it('another mechanic gets priority_window; the favorite wins', async () => {
    // Arrange
    const favorite = await addMechanic(deps);
    const other = await addMechanic(deps);
    const { requestId } = await offeredBooking(deps, favorite);
    deps.clock.advance(60);

    // Act
    const byOther = await accept(requestId, other);
    const byFavorite = await accept(requestId, favorite);

    // Assert
    expect([byOther, byFavorite]).toEqual([false, true]);
    expect(received(deps, other)).toEqual([{ type: 'accept_result', request_id: requestId, ok: false, reason: 'priority_window' }]);
    expect(received(deps, favorite).at(-1)).toEqual({ type: 'accept_result', request_id: requestId, ok: true });
    const matched = await stored(deps, requestId);
    expect(matched).toMatchObject({ state: 'matched', routing: 'priority', mechanic_id: favorite.mechanicId });
    expect(matched.events.at(-1)).toEqual({ at: at(60), type: 'accepted', mechanic_id: favorite.mechanicId });
    expect(deps.metrics.total('OffersAccepted')).toBe(1);
  });

  it("the favorite's other connections hear request_taken by_you from the accept; the accepting one only its answer; nobody else anything, nothing through the fan-out", async () => {
    // Arrange
    const favorite = await addMechanic(deps, { connections: 3 });
    const bystander = await addMechanic(deps);
    const { requestId } = await offeredBooking(deps, favorite);

    // Act
    await accept(requestId, favorite, favorite.connectionIds[1]);

    // Assert
    const offer = expect.objectContaining({ type: 'priority_session_request', request_id: requestId });
    const byYou = { type: 'request_taken', request_id: requestId, reason: 'accepted', by_you: true };
    expect(deps.fanOut.sent).toEqual([]);
    expect(deps.pusher.sentTo(favorite.connectionIds[0]!)).toEqual([offer, byYou]);
    expect(deps.pusher.sentTo(favorite.connectionIds[1]!)).toEqual([offer, { type: 'accept_result', request_id: requestId, ok: true }]);
    expect(deps.pusher.sentTo(favorite.connectionIds[2]!)).toEqual([offer, byYou]);
    expect(received(deps, bystander)).toEqual([]);
  });

  it('clears the timer, so the window end never falls back', async () => {
    // Arrange
    const favorite = await addMechanic(deps);
    const { requestId } = await offeredBooking(deps, favorite);

    // Act
    await accept(requestId, favorite);

    // Assert
    expect(deps.timer.clears).toEqual([requestId]);
    expect(deps.timer.timer(requestId)).toBeUndefined();
  });
});

describe('acceptRequest: an open request', () => {
  it('once the window ended, anyone wins; the favorite is then already_matched', async () => {
    // Arrange
    const favorite = await addMechanic(deps);
    const other = await addMechanic(deps);
    const { requestId } = await offeredBooking(deps, favorite);
    deps.clock.advance(600);
    await onTimer(deps, { requestId, dueAt: at(600) });

    // Act
    const byOther = await accept(requestId, other);
    const byFavorite = await accept(requestId, favorite);

    // Assert
    expect([byOther, byFavorite]).toEqual([true, false]);
    expect(received(deps, favorite).at(-1)).toEqual({ type: 'accept_result', request_id: requestId, ok: false, reason: 'already_matched' });
    expect((await stored(deps, requestId)).mechanic_id).toBe(other.mechanicId);
  });

  it('request_taken (accepted) goes to everyone through the fan-out but the winner, whose other connections hear it by_you from the accept; the timer is cleared', async () => {
    // Arrange
    const winner = await addMechanic(deps, { connections: 2 });
    const bystander = await addMechanic(deps, { connections: 2 });
    const { requestId } = await openBooking(deps);
    await deliverFanOut(deps);

    // Act
    await accept(requestId, winner);

    // Assert
    const byYou = { type: 'request_taken', request_id: requestId, reason: 'accepted', by_you: true };
    expect(deps.fanOut.sent.at(-1)).toEqual({
      requestId,
      audience: { kind: 'everyone' },
      message: { type: 'request_taken', request_id: requestId, reason: 'accepted' },
      exceptMechanicId: winner.mechanicId,
    });
    expect(received(deps, winner).at(-1)).toEqual({ type: 'accept_result', request_id: requestId, ok: true });
    expect(deps.timer.timer(requestId)).toBeUndefined();
    expect(await deliverFanOut(deps)).toEqual([]);
    expect(received(deps, winner)).toEqual([expect.objectContaining({ type: 'new_request' }), { type: 'accept_result', request_id: requestId, ok: true }]);
    expect(deps.pusher.sentTo(winner.connectionIds[1]!)).toEqual([expect.objectContaining({ type: 'new_request' }), byYou]);
    for (const connectionId of bystander.connectionIds) {
      expect(deps.pusher.sentTo(connectionId)).toEqual([
        expect.objectContaining({ type: 'new_request' }),
        { type: 'request_taken', request_id: requestId, reason: 'accepted' },
      ]);
    }
  });

  it('20 concurrent accepts yield exactly one winner and 19 already_matched', async () => {
    // Arrange
    const mechanics: TestMechanic[] = [];
    for (let i = 0; i < 20; i++) mechanics.push(await addMechanic(deps));
    const { requestId } = await openBooking(deps);

    // Act
    const wins = await Promise.all(mechanics.map((m) => accept(requestId, m)));

    // Assert
    expect(wins.filter(Boolean)).toHaveLength(1);
    const results = mechanics.map((m) => received(deps, m).find((msg) => msg.type === 'accept_result'));
    expect(results.filter((r) => r && 'ok' in r && r.ok)).toHaveLength(1);
    expect(results.filter((r) => r && 'ok' in r && !r.ok && r.reason === 'already_matched')).toHaveLength(19);
    expect((await stored(deps, requestId)).mechanic_id).toBe(mechanics[wins.indexOf(true)]!.mechanicId);
    expect(deps.metrics.total('OffersAccepted')).toBe(1);
    expect(deps.fanOut.sent.filter((s) => s.message.type === 'request_taken')).toHaveLength(1);
  });

  it('an accept retried by the winner answers ok again, changes nothing stored, and finishes the ending again (request_taken, the timer cleared)', async () => {
    // Arrange
    const mechanic = await addMechanic(deps);
    const { requestId } = await openBooking(deps);
    await accept(requestId, mechanic);
    const before = { booking: await stored(deps, requestId), handedOver: deps.fanOut.sent.length, clears: deps.timer.clears.length };

    // Act
    const retried = await accept(requestId, mechanic);

    // Assert: its first accept may have died before telling the others, so the ending is repeated (never to the winner)
    expect(retried).toBe(true);
    expect(received(deps, mechanic).at(-1)).toEqual({ type: 'accept_result', request_id: requestId, ok: true });
    expect(await stored(deps, requestId)).toEqual(before.booking);
    expect(deps.fanOut.sent.slice(before.handedOver)).toEqual([
      {
        requestId,
        audience: { kind: 'everyone' },
        message: { type: 'request_taken', request_id: requestId, reason: 'accepted' },
        exceptMechanicId: mechanic.mechanicId,
      },
    ]);
    expect(deps.timer.clears.slice(before.clears)).toEqual([requestId]);
    expect(deps.metrics.total('OffersAccepted')).toBe(1);
  });

  it('a workshop request does not exist for a mechanic outside the workshop (not_found); one inside wins', async () => {
    // Arrange
    const inside = await addMechanic(deps, { workshopId: 'ws-north' });
    const outside = await addMechanic(deps, { workshopId: 'ws-south' });
    const unaffiliated = await addMechanic(deps);
    const { request_id } = await startIntake(deps, { customerId: newCustomerId(), booking: booking({ workshop_id: 'ws-north' }) });

    // Act
    const byOutside = await accept(request_id!, outside);
    const byUnaffiliated = await accept(request_id!, unaffiliated);
    const byInside = await accept(request_id!, inside);

    // Assert
    expect([byOutside, byUnaffiliated, byInside]).toEqual([false, false, true]);
    expect(received(deps, outside)).toEqual([{ type: 'accept_result', request_id, ok: false, reason: 'not_found' }]);
    expect(received(deps, inside).at(-1)).toEqual({ type: 'accept_result', request_id, ok: true });
    expect(deps.fanOut.sent.at(-1)).toMatchObject({ audience: { kind: 'workshop', workshopId: 'ws-north' }, message: { type: 'request_taken' } });
  });

  it('a request left in routing may already be won by its audience', async () => {
    // Arrange
    const mechanic = await addMechanic(deps);
    const { requestId } = await bookingLeftInRouting(deps);

    // Act
    const won = await accept(requestId, mechanic);

    // Assert
    expect(won).toBe(true);
    expect((await stored(deps, requestId)).state).toBe('matched');
  });
});

describe('acceptRequest: refusals', () => {
  it('an expired request answers expired', async () => {
    // Arrange
    const mechanic = await addMechanic(deps);
    const { requestId } = await openBooking(deps);
    deps.clock.advance(1800);
    await onTimer(deps, { requestId, dueAt: at(1800) });

    // Act
    const won = await accept(requestId, mechanic);

    // Assert
    expect(won).toBe(false);
    expect(received(deps, mechanic)).toEqual([{ type: 'accept_result', request_id: requestId, ok: false, reason: 'expired' }]);
  });

  it('a cancelled request answers cancelled; an unknown, a malformed or an unpaid one not_found', async () => {
    // Arrange
    const customerId = newCustomerId();
    const mechanic = await addMechanic(deps);
    const { requestId, sessionId } = await openBooking(deps, customerId);
    await cancelBooking(deps, { customerId, sessionId });
    const unknown = 'req-00000000-0000-4000-8000-000000000000';
    const unpaid = await startIntake(deps, { customerId, booking: booking({ plan: 'paid' }) });

    // Act
    const outcomes = [
      await accept(requestId, mechanic),
      await accept(unknown, mechanic),
      await accept('REQUEST#nope', mechanic),
      await accept(`req-${unpaid.session_id}`, mechanic),
    ];

    // Assert
    expect(outcomes).toEqual([false, false, false, false]);
    expect(received(deps, mechanic)).toEqual([
      { type: 'accept_result', request_id: requestId, ok: false, reason: 'cancelled' },
      { type: 'accept_result', request_id: unknown, ok: false, reason: 'not_found' },
      { type: 'accept_result', request_id: 'REQUEST#nope', ok: false, reason: 'not_found' },
      { type: 'accept_result', request_id: `req-${unpaid.session_id}`, ok: false, reason: 'not_found' },
    ]);
    expect(deps.metrics.total('OffersAccepted')).toBe(0);
  });

  it.each([
    ['suspended', 'suspended' as const],
    ['pending approval', 'pending' as const],
  ])('a %s mechanic gets an error event and changes nothing', async (_name, status) => {
    // Arrange
    const mechanic = await addMechanic(deps, { status });
    const { requestId } = await openBooking(deps);
    const before = await stored(deps, requestId);

    // Act
    const won = await accept(requestId, mechanic);

    // Assert
    expect(won).toBe(false);
    expect(received(deps, mechanic)).toEqual([{ type: 'error', code: 'mechanic_not_approved', message: 'Only approved mechanics can accept requests' }]);
    expect(await stored(deps, requestId)).toEqual(before);
  });

  it('an unknown mechanic gets an error event and changes nothing', async () => {
    // Arrange
    const { requestId } = await openBooking(deps);

    // Act
    const won = await acceptRequest(deps, { requestId, mechanicId: 'mech-nobody', connectionId: 'conn-nobody' });

    // Assert
    expect(won).toBe(false);
    expect(deps.pusher.sentTo('conn-nobody')).toEqual([expect.objectContaining({ type: 'error', code: 'mechanic_not_approved' })]);
    expect((await stored(deps, requestId)).state).toBe('open');
  });
});
