/** POST /sessions/{id}/checkout/complete: what the payment webhook calls; idempotent; owner only. */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { httpEvent, responseOf } from '../support/handler-events';
import { type AwsWires, bookingKeys, captureLogs, newCustomerId, readBooking, useHandlerEnv } from '../support/handler-env';
import type { TestTable } from '../support/table';
import { handler as intakeStart } from '../../lambdas/handlers/intake-start';
import { handler as checkoutComplete } from '../../lambdas/handlers/checkout-complete';
import { handler as cancelSession } from '../../lambdas/handlers/cancel-session';

let wires: AwsWires;
const logs = captureLogs();
let table: TestTable;

useHandlerEnv((env) => ({ table, wires } = env), { logs });

async function paidSession(customer: string, extra: object = {}): Promise<string> {
  const response = responseOf(
    await intakeStart(httpEvent({ method: 'POST', route: '/intake/start', sub: customer, body: { plan: 'paid', concern: 'Timing belt', ...extra } })),
  );
  expect(response.body.status).toBe('awaiting_checkout');
  return response.body.session_id as string;
}

const checkout = (sub: string, id: string) => checkoutComplete(httpEvent({ method: 'POST', route: '/sessions/{id}/checkout/complete', id, sub }));
const cancel = (sub: string, id: string) => cancelSession(httpEvent({ method: 'POST', route: '/sessions/{id}/cancel', id, sub }));

/** The fan-out hand-overs (everyone) of this request's messages, by message type. */
const handedOver = (requestId: string) =>
  wires
    .invocations()
    .map((i) => i.payload as { request_id: string; audience: { kind: string }; message: { type: string } })
    .filter((p) => p.request_id === requestId && p.audience.kind === 'everyone')
    .map((p) => p.message.type);

describe('checkout complete', () => {
  it('routes a paid booking: 200 fulfilled with the request id, one event handed to the fan-out, and the request goes out', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();
    const customer = newCustomerId();
    const sessionId = await paidSession(customer);

    // Act
    const response = responseOf(await checkout(customer, sessionId));

    // Assert
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ session_id: sessionId, status: 'fulfilled', request_id: `req-${sessionId}` });
    expect(handedOver(response.body.request_id)).toEqual(['new_request']);
    expect(await readBooking(table, sessionId)).toMatchObject({ state: 'open', routing: 'broadcast', audience: 'everyone' });
    expect(await wires.pushedTo(mechanic.connectionIds[0]!)).toEqual([
      expect.objectContaining({ type: 'new_request', request_id: response.body.request_id, reason: 'broadcast' }),
    ]);
    expect(await wires.timer(response.body.request_id)).toBeDefined();
    expect(logs.lines.map((l) => l.message)).toContain('[checkout] Payment complete, fulfilling');
  });

  it('repeated: the same answer, and only ONE hand-over and ONE offer ever pushed', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();
    const customer = newCustomerId();
    const sessionId = await paidSession(customer);

    // Act
    const first = responseOf(await checkout(customer, sessionId));
    const second = responseOf(await checkout(customer, sessionId));
    const third = responseOf(await checkout(customer, sessionId));

    // Assert
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    expect(handedOver(first.body.request_id)).toEqual(['new_request']);
    const offers = (await wires.pushedTo(mechanic.connectionIds[0]!)).filter((m) => 'request_id' in m && m.request_id === first.body.request_id);
    expect(offers).toEqual([expect.objectContaining({ type: 'new_request' })]);
    const booking = await readBooking(table, sessionId);
    expect(booking?.events.map((e) => e.type)).toEqual(['awaiting_checkout', 'created', 'broadcast_sent']);
  });

  it('a priority booking with the flag on sends ONE priority offer however often checkout is repeated', async () => {
    // Arrange
    await wires.setFlag('true');
    const favorite = await wires.addMechanic();
    const customer = newCustomerId();
    const sessionId = await paidSession(customer, { preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' });

    // Act
    const first = responseOf(await checkout(customer, sessionId));
    const second = responseOf(await checkout(customer, sessionId));

    // Assert
    expect(second.body.request_id).toBe(first.body.request_id);
    expect(await wires.pushedTo(favorite.connectionIds[0]!)).toEqual([
      expect.objectContaining({ type: 'priority_session_request', request_id: first.body.request_id }),
    ]);
    expect(wires.invocations()).toEqual([]);
    expect((await wires.schedulesCreated()).map((s) => s.Name)).toEqual([`timer-${first.body.request_id}`]);
    expect(await readBooking(table, sessionId)).toMatchObject({ state: 'offered', routing: 'priority' });
  });

  it("another customer's session → 404, and nothing is routed", async () => {
    // Arrange
    const owner = newCustomerId();
    const sessionId = await paidSession(owner);
    const before = await bookingKeys(table);

    // Act
    const response = responseOf(await checkout(newCustomerId(), sessionId));

    // Assert
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ error: { code: 'not_found', message: expect.stringContaining(sessionId) } });
    expect(await bookingKeys(table)).toEqual(before);
    expect(await readBooking(table, sessionId)).toMatchObject({ state: 'awaiting_checkout' });
    expect(await wires.schedulesCreated()).toEqual([]);
    expect(wires.invocations()).toEqual([]);
    expect(await wires.pushed()).toEqual([]);
  });

  it.each([
    ['an unknown session id', () => randomUUID()],
    ['a garbage id', () => 'not-a-session'],
    ['an id that looks like a key', () => 'BOOKING#x'],
  ])('%s → 404', async (_name, id) => {
    // Arrange
    const before = await bookingKeys(table);

    // Act
    const response = responseOf(await checkout(newCustomerId(), id()));

    // Assert
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('not_found');
    expect(await bookingKeys(table)).toEqual(before);
  });

  it('a cancelled session → 409 session_cancelled: no routing, no timer, no hand-over', async () => {
    // Arrange
    const customer = newCustomerId();
    const sessionId = await paidSession(customer);
    expect(responseOf(await cancel(customer, sessionId)).status).toBe(200);

    // Act
    const response = responseOf(await checkout(customer, sessionId));

    // Assert
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('session_cancelled');
    expect(await readBooking(table, sessionId)).toMatchObject({ state: 'cancelled', routing: null });
    expect(await wires.timer(`req-${sessionId}`)).toBeUndefined();
    expect(wires.invocations()).toEqual([]);
  });

  it('racing a cancel: the booking ends cancelled, and anyone told of it also hears it was cancelled', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();
    const customer = newCustomerId();
    const sessionId = await paidSession(customer);

    // Act
    const [checkedOut, cancelled] = (await Promise.all([checkout(customer, sessionId), cancel(customer, sessionId)])).map(responseOf);

    // Assert: the checkout lost (409), or won and was cancelled right after (200, fulfilled or already cancelled)
    expect(cancelled).toMatchObject({ status: 200, body: { session_id: sessionId, status: 'cancelled' } });
    const outcome = checkedOut!.status === 409 ? `409 ${checkedOut!.body.error.code}` : `${checkedOut!.status} ${checkedOut!.body.status}`;
    expect(['409 session_cancelled', '200 fulfilled', '200 cancelled']).toContain(outcome);
    expect(await readBooking(table, sessionId)).toMatchObject({ state: 'cancelled' });
    // Two fan-outs may deliver in either order; what matters is that nobody is left with only the new_request.
    const heard = (await wires.pushedTo(mechanic.connectionIds[0]!)).map((m) => (m.type === 'request_taken' ? `${m.type}:${m.reason}` : m.type));
    if (heard.includes('new_request')) expect(heard).toContain('request_taken:cancelled');
    else expect(heard).toEqual([]);
  });
});
