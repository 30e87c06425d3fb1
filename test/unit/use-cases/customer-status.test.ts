/**
 * What a customer hears about their bookings: `session_status` on each of
 * their connections at every change they care about (awaiting checkout,
 * offered with the favorite and the window's end, open with its expiry, and
 * how it ended: matched with the winner, cancelled, expired), never `routing`,
 * never another customer's booking, never on a mechanic's connection; and the
 * `sessions` answer to their `sync`. Telling them never fails the booking's flow.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { customerStatus } from '../../../lambdas/domain/customer';
import type { ServerMessage } from '../../../lambdas/domain/messages';
import { acceptRequest } from '../../../lambdas/use-cases/accept-request';
import { cancelBooking, completeCheckout, startIntake } from '../../../lambdas/use-cases/booking';
import { connectCustomer, SYNC_BOOKINGS_LIMIT, syncCustomer } from '../../../lambdas/use-cases/customers';
import { declineRequest } from '../../../lambdas/use-cases/decline-request';
import { onTimer } from '../../../lambdas/use-cases/request-timer';
import { tellCustomer } from '../../../lambdas/use-cases/tell-customer';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory-ports';
import { addMechanic, at, booking, deliverFanOut, newCustomerId, phone, priorityBooking, received, stored } from './fixtures';

let deps: InMemoryDeps;
beforeEach(() => {
  deps = inMemoryDeps({ priorityEnabled: true });
});

/** A customer with one live connection (`role=customer`), as `$connect` indexes it. */
async function addCustomer(customerId = newCustomerId()): Promise<{ customerId: string; connectionId: string }> {
  const connectionId = `conn-${randomUUID().slice(0, 12)}`;
  await connectCustomer(deps, { connectionId, customerId });
  return { customerId, connectionId };
}

const statuses = (connectionId: string): ServerMessage[] => deps.pusher.sentTo(connectionId).filter((m) => m.type === 'session_status');

describe('session_status at each change', () => {
  it('a priority booking: offered (the favorite, the window’s end) → open after the favorite declines (its expiry) → matched (the winner)', async () => {
    // Arrange
    const customer = await addCustomer();
    const favorite = await addMechanic(deps);
    const winner = await addMechanic(deps);

    // Act
    const { session_id, request_id } = await startIntake(deps, { customerId: customer.customerId, booking: priorityBooking(favorite.mechanicId) });
    await declineRequest(deps, { requestId: request_id!, mechanicId: favorite.mechanicId, connectionId: phone(favorite) });
    const openUntil = (await stored(deps, session_id)).open_until!;
    await acceptRequest(deps, { requestId: request_id!, mechanicId: winner.mechanicId, connectionId: phone(winner) });

    // Assert
    expect(deps.pusher.sentTo(customer.connectionId)).toEqual([
      { type: 'session_status', session_id, state: 'offered', mechanic_id: favorite.mechanicId, expires_at: at(600) },
      { type: 'session_status', session_id, state: 'open', expires_at: openUntil },
      { type: 'session_status', session_id, state: 'matched', mechanic_id: winner.mechanicId },
    ]);
  });

  it('a paid booking: awaiting_checkout at intake, then open after the checkout (never routing)', async () => {
    // Arrange
    const customer = await addCustomer();

    // Act
    const { session_id } = await startIntake(deps, { customerId: customer.customerId, booking: booking({ plan: 'paid' }) });
    const beforeCheckout = statuses(customer.connectionId);
    await completeCheckout(deps, { customerId: customer.customerId, sessionId: session_id });

    // Assert
    expect(beforeCheckout).toEqual([{ type: 'session_status', session_id, state: 'awaiting_checkout' }]);
    expect(statuses(customer.connectionId)).toEqual([
      { type: 'session_status', session_id, state: 'awaiting_checkout' },
      { type: 'session_status', session_id, state: 'open', expires_at: at(1800) },
    ]);
  });

  it('cancelled: an open booking, and one still awaiting its checkout (never offered to anyone)', async () => {
    // Arrange
    const customer = await addCustomer();
    const open = await startIntake(deps, { customerId: customer.customerId, booking: booking() });
    const unpaid = await startIntake(deps, { customerId: customer.customerId, booking: booking({ plan: 'paid', concern: 'Unpaid' }) });

    // Act
    await cancelBooking(deps, { customerId: customer.customerId, sessionId: open.session_id });
    await cancelBooking(deps, { customerId: customer.customerId, sessionId: unpaid.session_id });

    // Assert
    expect(statuses(customer.connectionId).slice(2)).toEqual([
      { type: 'session_status', session_id: open.session_id, state: 'cancelled' },
      { type: 'session_status', session_id: unpaid.session_id, state: 'cancelled' },
    ]);
  });

  it('expired: the timer ends an open request nobody took', async () => {
    // Arrange
    const customer = await addCustomer();
    const { session_id, request_id } = await startIntake(deps, { customerId: customer.customerId, booking: booking() });

    // Act
    deps.clock.advance(1800);
    await onTimer(deps, { requestId: request_id!, dueAt: at(1800) });

    // Assert
    expect(statuses(customer.connectionId).at(-1)).toEqual({ type: 'session_status', session_id, state: 'expired' });
  });

  it('every connection of the customer hears it; another customer and the mechanics hear no session_status', async () => {
    // Arrange
    const customerId = newCustomerId();
    const [laptop, mobile] = [await addCustomer(customerId), await addCustomer(customerId)];
    const stranger = await addCustomer();
    const mechanic = await addMechanic(deps);

    // Act
    const { session_id } = await startIntake(deps, { customerId, booking: booking() });
    await deliverFanOut(deps);

    // Assert
    for (const connection of [laptop, mobile]) expect(statuses(connection.connectionId)).toEqual([expect.objectContaining({ session_id, state: 'open' })]);
    expect(deps.pusher.sentTo(stranger.connectionId)).toEqual([]);
    expect(received(deps, mechanic).map((m) => m.type)).toEqual(['new_request']);
  });

  it('a customer connection is never in a broadcast: it hears no new_request', async () => {
    // Arrange
    const customer = await addCustomer();

    // Act
    await startIntake(deps, { customerId: newCustomerId(), booking: booking() });
    await deliverFanOut(deps);

    // Assert
    expect(deps.pusher.sentTo(customer.connectionId)).toEqual([]);
  });
});

describe('tellCustomer never fails the flow', () => {
  it('a gone connection (410) is pruned; the others still hear it', async () => {
    // Arrange
    const customerId = newCustomerId();
    const [gone, live] = [await addCustomer(customerId), await addCustomer(customerId)];
    deps.pusher.markGone(gone.connectionId);

    // Act
    await startIntake(deps, { customerId, booking: booking() });

    // Assert
    expect(await deps.connections.listByCustomer(customerId)).toEqual([expect.objectContaining({ connection_id: live.connectionId })]);
    expect(statuses(live.connectionId)).toHaveLength(1);
    expect(deps.log.lines).toContainEqual(
      expect.objectContaining({ message: 'Pruned a gone connection', fields: expect.objectContaining({ customer_id: customerId }) }),
    );
  });

  it('a push failing with a 500 is logged; the booking still moves on', async () => {
    // Arrange
    const customer = await addCustomer();
    deps.pusher.markBroken(customer.connectionId);

    // Act
    const answer = await startIntake(deps, { customerId: customer.customerId, booking: booking() });

    // Assert
    expect((await stored(deps, answer.session_id)).state).toBe('open');
    expect(deps.log.lines).toContainEqual(
      expect.objectContaining({ level: 'WARN', message: 'Push to a connection failed', fields: expect.objectContaining({ message_type: 'session_status' }) }),
    );
  });

  it('a failed look-up of the connections is logged, not thrown', async () => {
    // Arrange
    const { session_id } = await startIntake(deps, { customerId: newCustomerId(), booking: booking() });
    deps.connections.listByCustomer = () => Promise.reject(new Error('ProvisionedThroughputExceededException'));

    // Act
    const outcome = tellCustomer(deps, await stored(deps, session_id));

    // Assert
    await expect(outcome).resolves.toBeUndefined();
    expect(deps.log.lines).toContainEqual(expect.objectContaining({ level: 'WARN', message: 'Could not tell the customer their booking status' }));
  });
});

describe('customerStatus', () => {
  const summary = {
    session_id: 's-1',
    request_id: 'req-s-1',
    audience: 'mechanic#mech-fav',
    mechanic_id: null,
    expires_at: '2026-11-24T12:10:00.000Z',
    open_until: '2026-11-24T12:40:00.000Z',
  };

  it.each([
    ['awaiting_checkout', {}],
    ['routing', {}],
    ['offered', { mechanic_id: 'mech-fav', expires_at: '2026-11-24T12:10:00.000Z' }],
    ['open', { expires_at: '2026-11-24T12:40:00.000Z' }],
    ['cancelled', {}],
    ['expired', {}],
  ] as const)('%s → %j besides session_id and state', (state, extra) => {
    expect(customerStatus({ ...summary, state })).toEqual({ session_id: 's-1', state, ...extra });
  });

  it('matched → the winner, not the favorite', () => {
    expect(customerStatus({ ...summary, state: 'matched', mechanic_id: 'mech-win' })).toEqual({ session_id: 's-1', state: 'matched', mechanic_id: 'mech-win' });
  });

  it('offered to a workshop or everyone names no mechanic', () => {
    expect(customerStatus({ ...summary, state: 'offered', audience: 'workshop#ws-1' })).toEqual({
      session_id: 's-1',
      state: 'offered',
      expires_at: '2026-11-24T12:10:00.000Z',
    });
  });
});

describe('syncCustomer', () => {
  it("answers one sessions message: the customer's latest bookings, newest first, as session_status says them, and the server's time", async () => {
    // Arrange
    const customer = await addCustomer();
    const favorite = await addMechanic(deps);
    const first = await startIntake(deps, { customerId: customer.customerId, booking: booking({ plan: 'paid' }) });
    deps.clock.advance(1);
    const second = await startIntake(deps, { customerId: customer.customerId, booking: priorityBooking(favorite.mechanicId) });
    await startIntake(deps, { customerId: newCustomerId(), booking: booking() });
    deps.pusher.sent.splice(0);

    // Act
    await syncCustomer(deps, { customerId: customer.customerId, connectionId: customer.connectionId });

    // Assert
    expect(deps.pusher.sent).toEqual([
      {
        connectionId: customer.connectionId,
        message: {
          type: 'sessions',
          sessions: [
            { session_id: second.session_id, state: 'offered', mechanic_id: favorite.mechanicId, expires_at: at(601) },
            { session_id: first.session_id, state: 'awaiting_checkout' },
          ],
          server_time: at(1),
        },
      },
    ]);
  });

  it(`lists at most the latest ${SYNC_BOOKINGS_LIMIT}; a customer with none gets an empty list`, async () => {
    // Arrange
    const customer = await addCustomer();
    const nobody = await addCustomer();
    for (let i = 0; i <= SYNC_BOOKINGS_LIMIT; i++) {
      await startIntake(deps, { customerId: customer.customerId, booking: booking({ plan: 'paid', concern: `Booking ${i}` }) });
      deps.clock.advance(1);
    }
    deps.pusher.sent.splice(0);

    // Act
    await syncCustomer(deps, customer);
    await syncCustomer(deps, nobody);

    // Assert
    const [mine, none] = deps.pusher.sent.map((s) => s.message as Extract<ServerMessage, { type: 'sessions' }>);
    expect(mine!.sessions).toHaveLength(SYNC_BOOKINGS_LIMIT);
    expect(none!.sessions).toEqual([]);
  });
});
