/**
 * GET /sessions/{id}: the session, its request and its audit trail, for the
 * owner; a 404 for anyone else. The view kept its shape: `request` is null
 * until routing began, and has status, state, routing, mechanic_id,
 * expires_at, open_until, metadata and events.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { httpEvent, responseOf, wsEvent } from '../support/handler-events';
import { type AwsWires, captureLogs, newCustomerId, REQUEST_TTL_SECONDS, useHandlerEnv } from '../support/handler-env';
import { handler as intakeStart } from '../../lambdas/handlers/intake-start';
import { handler as getSession } from '../../lambdas/handlers/get-session';
import { handler as cancelSession } from '../../lambdas/handlers/cancel-session';
import { handler as wsAccept } from '../../lambdas/handlers/ws-accept';

let wires: AwsWires;
const logs = captureLogs();

useHandlerEnv((env) => ({ wires } = env), { logs });

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const SESSION_FIELDS = ['session_id', 'customer_id', 'plan', 'status', 'concern', 'vehicle', 'workshop_id', 'metadata', 'created_at', 'request'];
const REQUEST_FIELDS = ['request_id', 'status', 'state', 'routing', 'mechanic_id', 'expires_at', 'open_until', 'metadata', 'events'];

async function book(customer: string, body: object): Promise<{ session_id: string; request_id?: string }> {
  const response = responseOf(await intakeStart(httpEvent({ method: 'POST', route: '/intake/start', sub: customer, body })));
  expect(response.status).toBe(201);
  return response.body;
}

const read = (sub: string, id: string) => getSession(httpEvent({ method: 'GET', route: '/sessions/{id}', id, sub }));

describe('GET /sessions/{id}', () => {
  it('owner → 200 with exactly the view fields: the metadata, and the request with its state and audit trail', async () => {
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
    expect(Object.keys(response.body).sort()).toEqual([...SESSION_FIELDS].sort());
    expect(Object.keys(response.body.request).sort()).toEqual([...REQUEST_FIELDS].sort());
    expect(response.body).toEqual({
      session_id: booked.session_id,
      customer_id: customer,
      plan: 'free',
      status: 'fulfilled',
      concern: 'Rattle at idle',
      vehicle: { make: 'Ford', model: 'Focus', year: 2016 },
      workshop_id: null,
      metadata: { preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' },
      created_at: expect.stringMatching(ISO),
      request: {
        request_id: booked.request_id,
        status: 'pending',
        state: 'open',
        routing: 'broadcast',
        mechanic_id: null,
        expires_at: null,
        open_until: expect.stringMatching(ISO),
        metadata: {},
        events: [
          { at: expect.stringMatching(ISO), type: 'created', routing: 'broadcast' },
          { at: expect.stringMatching(ISO), type: 'broadcast_sent', reason: 'broadcast', open_until: response.body.request.open_until },
        ],
      },
    });
    expect(Date.parse(response.body.request.open_until) - Date.parse(response.body.request.events[1].at)).toBe(REQUEST_TTL_SECONDS * 1000);
    // Storage-only attributes never leak into the view.
    expect(JSON.stringify(response.body)).not.toMatch(/"pk"|"sk"|intake_fingerprint|BOOKING#|audience|route_to|routing_since/);
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

  it('a paid session cancelled before checkout → status cancelled, and still no request', async () => {
    // Arrange
    const customer = newCustomerId();
    const booked = await book(customer, { plan: 'paid', concern: 'Never paid' });
    await cancelSession(httpEvent({ method: 'POST', route: '/sessions/{id}/cancel', id: booked.session_id, sub: customer }));

    // Act
    const response = responseOf(await read(customer, booked.session_id));

    // Assert
    expect(response.body).toMatchObject({ status: 'cancelled', request: null });
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
      status: 'pending',
      state: 'offered',
      routing: 'priority',
      expires_at: expect.stringMatching(ISO),
      open_until: null,
      metadata: { priority_mechanic_id: favorite.mechanicId, priority_window_minutes: 10, priority_notified_at: expect.stringMatching(ISO) },
    });
    expect(response.body.request.events.map((e: { type: string }) => e.type)).toEqual(['created', 'priority_offer_sent']);
  });

  it('a matched request names its mechanic; a cancelled one says so, in the session status too', async () => {
    // Arrange
    const customer = newCustomerId();
    const mechanic = await wires.addMechanic();
    const matched = await book(customer, { plan: 'free', concern: 'Taken' });
    const cancelled = await book(customer, { plan: 'free', concern: 'Dropped' });
    await wsAccept(
      wsEvent({
        routeKey: 'accept',
        connectionId: mechanic.connectionIds[0]!,
        mechanicId: mechanic.mechanicId,
        body: { action: 'accept', request_id: matched.request_id },
      }),
    );
    await cancelSession(httpEvent({ method: 'POST', route: '/sessions/{id}/cancel', id: cancelled.session_id, sub: customer }));

    // Act
    const matchedView = responseOf(await read(customer, matched.session_id));
    const cancelledView = responseOf(await read(customer, cancelled.session_id));

    // Assert
    expect(matchedView.body).toMatchObject({ status: 'fulfilled', request: { status: 'matched', state: 'matched', mechanic_id: mechanic.mechanicId } });
    expect(matchedView.body.request.events.at(-1)).toEqual({ at: expect.stringMatching(ISO), type: 'accepted', mechanic_id: mechanic.mechanicId });
    expect(cancelledView.body).toMatchObject({ status: 'cancelled', request: { status: 'cancelled', state: 'cancelled', mechanic_id: null } });
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
