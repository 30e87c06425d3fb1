/** GET /sessions/{id}: the session, its request and its audit trail, for the owner; a 404 for anyone else. */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { httpEvent, responseOf } from '../support/handler-events';
import { type AwsWires, captureLogs, newCustomerId, useHandlerEnv } from '../support/handler-env';
import { handler as intakeStart } from '../../lambdas/handlers/intake-start';
import { handler as getSession } from '../../lambdas/handlers/get-session';

let wires: AwsWires;
const logs = captureLogs();

useHandlerEnv((env) => ({ wires } = env), { logs });

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function book(customer: string, body: object): Promise<{ session_id: string; request_id?: string }> {
  const response = responseOf(await intakeStart(httpEvent({ method: 'POST', route: '/intake/start', sub: customer, body })));
  expect(response.status).toBe(201);
  return response.body;
}

const read = (sub: string, id: string) => getSession(httpEvent({ method: 'GET', route: '/sessions/{id}', id, sub }));

describe('GET /sessions/{id}', () => {
  it('owner → 200 with the metadata and the request with its audit trail', async () => {
    // Arrange
    const customer = newCustomerId();
    const favorite = await wires.addMechanic();
    const booked = await book(customer, {
      plan: 'free',
      concern: 'Rattle at idle',
      vehicle: { make: 'Ford', model: 'Focus', year: 2016 },
      preferred_mechanic_id: favorite.mechanicId,
      routing_type: 'priority_broadcast',
    });

    // Act
    const response = responseOf(await read(customer, booked.session_id));

    // Assert: flag off → broadcast, but the favorite context is kept
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      session_id: booked.session_id,
      customer_id: customer,
      plan: 'free',
      status: 'fulfilled',
      metadata: { preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' },
      request: { request_id: booked.request_id, status: 'pending', routing: 'broadcast', mechanic_id: null, expires_at: null, metadata: {} },
    });
    expect(response.body.request.events).toEqual([
      { at: expect.stringMatching(ISO), type: 'created', routing: 'broadcast' },
      expect.objectContaining({ at: expect.stringMatching(ISO), type: 'broadcast_sent', reason: 'broadcast', delivered: expect.any(Number) }),
    ]);
    // Storage-only attributes never leak into the view.
    expect(JSON.stringify(response.body)).not.toMatch(/"pk"|"sk"|intake_fingerprint|SESSION#|REQUEST#/);
  });

  it('a paid session awaiting checkout → 200 with request null', async () => {
    // Arrange
    const customer = newCustomerId();
    const booked = await book(customer, { plan: 'paid', concern: 'Clutch' });

    // Act
    const response = responseOf(await read(customer, booked.session_id));

    // Assert
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ session_id: booked.session_id, status: 'awaiting_checkout', metadata: {}, request: null });
  });

  it('the priority audit fields show once a priority offer went out', async () => {
    // Arrange
    await wires.setFlag('true');
    const customer = newCustomerId();
    const favorite = await wires.addMechanic();
    const booked = await book(customer, { plan: 'free', concern: 'Priority', preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' });

    // Act
    const response = responseOf(await read(customer, booked.session_id));

    // Assert
    expect(response.body.request).toMatchObject({
      routing: 'priority',
      expires_at: expect.stringMatching(ISO),
      metadata: { priority_mechanic_id: favorite.mechanicId, priority_window_minutes: 10, priority_notified_at: expect.stringMatching(ISO) },
    });
    expect(response.body.request.events.map((e: { type: string }) => e.type)).toEqual(['created', 'fallback_scheduled', 'priority_offer_sent']);
  });

  it("another customer's session → 404 (not 403), with no detail", async () => {
    // Arrange
    const owner = newCustomerId();
    const booked = await book(owner, { plan: 'free', concern: 'Private' });

    // Act
    const response = responseOf(await read(newCustomerId(), booked.session_id));

    // Assert
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ error: { code: 'not_found', message: `session ${booked.session_id} not found` } });
    expect(JSON.stringify(response.body)).not.toContain(owner);
  });

  it.each([
    ['an unknown id', () => randomUUID()],
    ['a garbage id', () => 'garbage'],
    ['an empty id', () => ''],
    ['an upper-cased uuid', () => randomUUID().toUpperCase()],
  ])('%s → 404', async (_name, id) => {
    // Act
    const response = responseOf(await read(newCustomerId(), id()));

    // Assert
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('not_found');
  });

  it('no JWT → 401', async () => {
    // Arrange
    const customer = newCustomerId();
    const booked = await book(customer, { plan: 'free', concern: 'x' });

    // Act
    const response = responseOf(await getSession(httpEvent({ method: 'GET', route: '/sessions/{id}', id: booked.session_id, sub: null })));

    // Assert
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
  });
});
