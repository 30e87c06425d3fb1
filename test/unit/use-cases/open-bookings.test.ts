/**
 * The per-customer limit on open bookings (lambdas/domain/open-bookings.ts)
 * on the in-memory ports: the intake at the limit is refused with 429 before
 * anything is armed or written; every ending frees a place (matched,
 * cancelled — before or after the checkout — expired); an Idempotency-Key
 * retry is never refused; stale places (an ending that died before releasing,
 * an intake that died before writing) are freed at the next refusal. The same
 * on dynalite, concurrently: test/integration/open-bookings.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { isStaleHold } from '../../../lambdas/domain/open-bookings';
import { acceptRequest } from '../../../lambdas/use-cases/accept-request';
import { cancelBooking, completeCheckout, MAX_INVOCATION_SECONDS, startIntake } from '../../../lambdas/use-cases/booking';
import { onTimer } from '../../../lambdas/use-cases/request-timer';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory-ports';
import { addMechanic, booking, newCustomerId, openBooking, phone } from './fixtures';

const LIMIT = 2;
let deps: InMemoryDeps;
beforeEach(() => {
  deps = inMemoryDeps({ maxOpenBookingsPerCustomer: LIMIT });
});

/** The customer's bookings up to the limit, each open to everyone. */
async function atTheLimit(customerId = newCustomerId()): Promise<{ customerId: string; sessionIds: string[] }> {
  const sessionIds: string[] = [];
  for (let i = 0; i < LIMIT; i++) sessionIds.push((await openBooking(deps, customerId)).sessionId);
  return { customerId, sessionIds };
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe('the limit', () => {
  it('the intake past the limit gets 429 too_many_open_bookings naming the limit, and nothing is armed, written or sent', async () => {
    // Arrange
    const { customerId } = await atTheLimit();
    const before = { bookings: deps.bookings.all().length, timers: deps.timer.sets.length, fanOuts: deps.fanOut.sent.length, pushes: deps.pusher.sent.length };

    // Act
    const error = await refusal(startIntake(deps, { customerId, booking: booking() }));

    // Assert
    expect(error).toMatchObject({ status: 429, code: 'too_many_open_bookings', message: expect.stringContaining(`at most ${LIMIT} open bookings`) });
    expect({ bookings: deps.bookings.all().length, timers: deps.timer.sets.length, fanOuts: deps.fanOut.sent.length, pushes: deps.pusher.sent.length }).toEqual(
      before,
    );
  });

  it('a paid booking awaiting its checkout counts as open', async () => {
    // Arrange
    const customerId = newCustomerId();
    for (let i = 0; i < LIMIT; i++) await startIntake(deps, { customerId, booking: booking({ plan: 'paid' }) });

    // Act
    const error = await refusal(startIntake(deps, { customerId, booking: booking() }));

    // Assert
    expect(error).toMatchObject({ code: 'too_many_open_bookings' });
  });

  it('one customer at the limit never affects another', async () => {
    // Arrange
    await atTheLimit();

    // Act
    const other = await startIntake(deps, { customerId: newCustomerId(), booking: booking() });

    // Assert
    expect(other.status).toBe('fulfilled');
  });

  it('an Idempotency-Key retry of an existing booking is answered as before at the limit, whether it is open or ended', async () => {
    // Arrange: the keyed booking open, and the customer at the limit
    const customerId = newCustomerId();
    const first = await startIntake(deps, { customerId, idempotencyKey: 'key-1', booking: booking() });
    const second = await openBooking(deps, customerId);

    // Act: retried while open; then, once it ended and another booking took its place, retried again
    const whileOpen = await startIntake(deps, { customerId, idempotencyKey: 'key-1', booking: booking() });
    await cancelBooking(deps, { customerId, sessionId: first.session_id });
    const third = await openBooking(deps, customerId);
    const onceEnded = await startIntake(deps, { customerId, idempotencyKey: 'key-1', booking: booking() });

    // Assert
    expect(whileOpen).toEqual(first);
    expect(onceEnded).toEqual({ ...first, status: 'cancelled' });
    expect(deps.bookings.all().filter((b) => b.customer_id === customerId)).toHaveLength(3);
    expect((await deps.openBookings.read(customerId)).sessionIds.sort()).toEqual([second.sessionId, third.sessionId].sort());
  });

  it('an Idempotency-Key retry of an ended booking frees the place it held again, so the next intake has room', async () => {
    // Arrange
    const customerId = newCustomerId();
    const first = await startIntake(deps, { customerId, idempotencyKey: 'key-1', booking: booking() });
    await cancelBooking(deps, { customerId, sessionId: first.session_id });

    // Act
    await startIntake(deps, { customerId, idempotencyKey: 'key-1', booking: booking() });
    const held = await deps.openBookings.read(customerId);

    // Assert
    expect(held.sessionIds).toEqual([]);
  });
});

describe('every ending frees a place', () => {
  it('cancelled (open request)', async () => {
    // Arrange
    const { customerId, sessionIds } = await atTheLimit();

    // Act
    await cancelBooking(deps, { customerId, sessionId: sessionIds[0]! });
    const next = await startIntake(deps, { customerId, booking: booking() });

    // Assert
    expect(next.status).toBe('fulfilled');
  });

  it('cancelled before its checkout', async () => {
    // Arrange
    const customerId = newCustomerId();
    const paid = await startIntake(deps, { customerId, booking: booking({ plan: 'paid' }) });
    await openBooking(deps, customerId);

    // Act
    await cancelBooking(deps, { customerId, sessionId: paid.session_id });
    const next = await startIntake(deps, { customerId, booking: booking() });

    // Assert
    expect(next.status).toBe('fulfilled');
  });

  it('a checkout keeps it open (no place freed)', async () => {
    // Arrange
    const customerId = newCustomerId();
    const paid = await startIntake(deps, { customerId, booking: booking({ plan: 'paid' }) });
    await openBooking(deps, customerId);

    // Act
    await completeCheckout(deps, { customerId, sessionId: paid.session_id });
    const error = await refusal(startIntake(deps, { customerId, booking: booking() }));

    // Assert
    expect(error).toMatchObject({ code: 'too_many_open_bookings' });
  });

  it('matched', async () => {
    // Arrange
    const { customerId, sessionIds } = await atTheLimit();
    const mechanic = await addMechanic(deps);

    // Act
    await acceptRequest(deps, { requestId: `req-${sessionIds[0]}`, mechanicId: mechanic.mechanicId, connectionId: phone(mechanic) });
    const held = await deps.openBookings.read(customerId);

    // Assert
    expect(held.sessionIds).toEqual([sessionIds[1]]);
  });

  it('expired', async () => {
    // Arrange
    const { customerId, sessionIds } = await atTheLimit();
    deps.clock.advance(deps.requestTtlSeconds);

    // Act
    await onTimer(deps, { requestId: `req-${sessionIds[0]}`, dueAt: deps.clock.now().toISOString() });
    const held = await deps.openBookings.read(customerId);

    // Assert
    expect(held.sessionIds).not.toContain(sessionIds[0]);
  });

  it("an ending that died before its release is finished by the timer's repeat (retell_end), which frees the place", async () => {
    // Arrange: the cancel's release throws (its invocation dies there); its timer is still set
    const { customerId, sessionIds } = await atTheLimit();
    const release = deps.openBookings.release;
    deps.openBookings.release = () => Promise.reject(new Error('Task timed out'));
    await refusal(cancelBooking(deps, { customerId, sessionId: sessionIds[0]! }));
    deps.openBookings.release = release;
    expect((await deps.openBookings.read(customerId)).sessionIds).toContain(sessionIds[0]);

    // Act
    await onTimer(deps, { requestId: `req-${sessionIds[0]}`, dueAt: deps.clock.now().toISOString() });

    // Assert
    expect((await deps.openBookings.read(customerId)).sessionIds).not.toContain(sessionIds[0]);
  });
});

describe('stale places are freed at the next refusal', () => {
  it('a booking that ended without releasing its place (a lost release) does not lock the customer out', async () => {
    // Arrange: the release is lost for good (no timer repeats a cancel before checkout)
    const customerId = newCustomerId();
    const paid = await startIntake(deps, { customerId, booking: booking({ plan: 'paid' }) });
    await openBooking(deps, customerId);
    deps.openBookings.release = async () => undefined;
    await cancelBooking(deps, { customerId, sessionId: paid.session_id });

    // Act
    const next = await startIntake(deps, { customerId, booking: booking() });

    // Assert
    expect(next.status).toBe('fulfilled');
  });

  it('a place held by an intake that died before writing its booking is freed once no intake can still be running', async () => {
    // Arrange: one booking open, and a place held by an intake that then died before its write
    const customerId = newCustomerId();
    await openBooking(deps, customerId);
    await deps.openBookings.hold(customerId, 'never-written', LIMIT, deps.clock.now().toISOString());

    // Act: within an intake's lifetime the unwritten one still counts (it may be between its hold and its write); after, it does not
    const tooSoon = await refusal(startIntake(deps, { customerId, booking: booking() }));
    deps.clock.advance(MAX_INVOCATION_SECONDS);
    const later = await startIntake(deps, { customerId, booking: booking() });

    // Assert
    expect(tooSoon).toMatchObject({ code: 'too_many_open_bookings' });
    expect(later.status).toBe('fulfilled');
    expect((await deps.openBookings.read(customerId)).sessionIds).not.toContain('never-written');
  });
});

describe('isStaleHold', () => {
  const now = new Date('2026-11-24T12:00:30.000Z');
  it.each([
    ['an ended booking', { state: 'matched' as const }, '2026-11-24T12:00:29.000Z', true],
    ['an open booking', { state: 'open' as const }, '2026-11-24T11:00:00.000Z', false],
    ['no booking, the newest hold younger than an intake', undefined, '2026-11-24T12:00:01.000Z', false],
    ['no booking, the newest hold as old as an intake', undefined, '2026-11-24T12:00:00.000Z', true],
  ])('%s → %s', (_, booking, lastHeldAt, stale) => {
    expect(isStaleHold(booking, lastHeldAt, now, 30)).toBe(stale);
  });
});
