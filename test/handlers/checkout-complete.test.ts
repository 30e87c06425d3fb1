/** POST /sessions/{id}/checkout/complete: what the payment webhook calls; idempotent; owner only. */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { httpEvent, responseOf } from '../support/handler-events';
import { type AwsWires, captureLogs, newCustomerId, readRequest, sessionAndRequestKeys, useHandlerEnv } from '../support/handler-env';
import type { TestTable } from '../support/table';
import { handler as intakeStart } from '../../lambdas/handlers/intake-start';
import { handler as checkoutComplete } from '../../lambdas/handlers/checkout-complete';

let wires: AwsWires;
const logs = captureLogs();
let table: TestTable;

useHandlerEnv((env) => ({ table, wires } = env), { logs });

async function paidSession(customer: string): Promise<string> {
  const response = responseOf(
    await intakeStart(httpEvent({ method: 'POST', route: '/intake/start', sub: customer, body: { plan: 'paid', concern: 'Timing belt' } })),
  );
  expect(response.body.status).toBe('awaiting_checkout');
  return response.body.session_id as string;
}

const checkout = (sub: string, id: string) => checkoutComplete(httpEvent({ method: 'POST', route: '/sessions/{id}/checkout/complete', id, sub }));

describe('checkout complete', () => {
  it('fulfils a paid session: 200 fulfilled with the request id, and the request goes out', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();
    const customer = newCustomerId();
    const sessionId = await paidSession(customer);

    // Act
    const response = responseOf(await checkout(customer, sessionId));

    // Assert
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ session_id: sessionId, status: 'fulfilled', request_id: `req-${sessionId}` });
    expect(await readRequest(table, response.body.request_id)).toMatchObject({ status: 'pending', routing: 'broadcast', session_id: sessionId });
    expect(await wires.pushedTo(mechanic.connectionIds[0]!)).toEqual([
      expect.objectContaining({ type: 'new_request', request_id: response.body.request_id, reason: 'broadcast' }),
    ]);
  });

  it('repeated: the same request id, and only ONE offer ever pushed', async () => {
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
    const offers = (await wires.pushedTo(mechanic.connectionIds[0]!)).filter((m) => 'request_id' in m && m.request_id === first.body.request_id);
    expect(offers).toEqual([expect.objectContaining({ type: 'new_request' })]);
    const request = await readRequest(table, first.body.request_id);
    expect(request?.events.filter((e) => e.type === 'created')).toHaveLength(1);
  });

  it('a priority booking with the flag on sends ONE priority offer however often checkout is repeated', async () => {
    // Arrange
    await wires.setFlag('true');
    const favorite = await wires.addMechanic();
    const customer = newCustomerId();
    const intake = responseOf(
      await intakeStart(
        httpEvent({
          method: 'POST',
          route: '/intake/start',
          sub: customer,
          body: { plan: 'paid', concern: 'Priority please', preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' },
        }),
      ),
    );

    // Act
    const first = responseOf(await checkout(customer, intake.body.session_id));
    const second = responseOf(await checkout(customer, intake.body.session_id));

    // Assert
    expect(second.body.request_id).toBe(first.body.request_id);
    expect(await wires.pushedTo(favorite.connectionIds[0]!)).toEqual([
      expect.objectContaining({ type: 'priority_session_request', request_id: first.body.request_id }),
    ]);
    expect(await wires.schedulesCreated()).toHaveLength(1);
  });

  it("another customer's session → 404, and nothing is fulfilled", async () => {
    // Arrange
    const owner = newCustomerId();
    const sessionId = await paidSession(owner);
    const before = await sessionAndRequestKeys(table);

    // Act
    const response = responseOf(await checkout(newCustomerId(), sessionId));

    // Assert
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ error: { code: 'not_found', message: expect.stringContaining(sessionId) } });
    expect(await sessionAndRequestKeys(table)).toEqual(before);
    expect(await wires.pushed()).toEqual([]);
  });

  it.each([
    ['an unknown session id', () => randomUUID()],
    ['a garbage id', () => 'not-a-session'],
    ['an id that looks like a key', () => 'SESSION#x'],
  ])('%s → 404', async (_name, id) => {
    // Arrange
    const before = await sessionAndRequestKeys(table);

    // Act
    const response = responseOf(await checkout(newCustomerId(), id()));

    // Assert
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('not_found');
    expect(await sessionAndRequestKeys(table)).toEqual(before);
  });

  it('a cancelled session → 409 session_cancelled, no request created', async () => {
    // Arrange
    const customer = newCustomerId();
    const sessionId = await paidSession(customer);
    const { handler: cancelSession } = await import('../../lambdas/handlers/cancel-session');
    expect(responseOf(await cancelSession(httpEvent({ method: 'POST', route: '/sessions/{id}/cancel', id: sessionId, sub: customer }))).status).toBe(200);

    // Act
    const response = responseOf(await checkout(customer, sessionId));

    // Assert
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('session_cancelled');
    expect(await readRequest(table, `req-${sessionId}`)).toBeUndefined();
  });
});
