/**
 * POST /sessions/{id}/cancel: a pending request becomes cancelled, its timer
 * goes, and those it was offered to hear `request_taken` (reason cancelled):
 * the favorite inline, everyone through one hand-over to the fan-out.
 */
import { describe, expect, it } from 'vitest';
import { audienceKey } from '../../lambdas/domain/lifecycle';
import { httpEvent, responseOf, wsEvent } from '../support/handler-events';
import { type AwsWires, bookingRecord, bookingStore, captureLogs, newCustomerId, readBooking, useHandlerEnv } from '../support/handler-env';
import type { TestTable } from '../support/table';
import { handler as intakeStart } from '../../lambdas/handlers/intake-start';
import { handler as cancelSession } from '../../lambdas/handlers/cancel-session';
import { handler as wsAccept } from '../../lambdas/handlers/ws-accept';

let wires: AwsWires;
const logs = captureLogs();
let table: TestTable;

useHandlerEnv((env) => ({ table, wires } = env), { logs });

async function book(customer: string, body: object): Promise<{ session_id: string; request_id: string }> {
  const response = responseOf(await intakeStart(httpEvent({ method: 'POST', route: '/intake/start', sub: customer, body })));
  expect(response.status).toBe(201);
  return response.body;
}

const cancel = (sub: string, id: string) => cancelSession(httpEvent({ method: 'POST', route: '/sessions/{id}/cancel', id, sub }));

/** The fan-out hand-overs of this request (not the shard splits), as `type:reason` of their message. */
const handedOver = (requestId: string) =>
  wires
    .invocations()
    .map((i) => i.payload as { request_id: string; audience: { kind: string }; message: { type: string; reason?: string } })
    .filter((p) => p.request_id === requestId && p.audience.kind !== 'shard')
    .map((p) => `${p.message.type}:${p.message.reason}`);

describe('cancel', () => {
  it('an offered priority request → 200, cancelled, its timer deleted, the favorite told request_taken inline', async () => {
    // Arrange
    await wires.setFlag('true');
    const favorite = await wires.addMechanic({ connections: 2 });
    const bystander = await wires.addMechanic();
    const customer = newCustomerId();
    const booked = await book(customer, { plan: 'free', concern: 'Cancel me', preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' });
    expect(await wires.timer(booked.request_id)).toBeDefined();

    // Act
    const response = responseOf(await cancel(customer, booked.session_id));

    // Assert
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ session_id: booked.session_id, status: 'cancelled' });
    expect(await readBooking(table, booked.session_id)).toMatchObject({ state: 'cancelled', audience: audienceKey.mechanic(favorite.mechanicId) });
    expect(await wires.timer(booked.request_id)).toBeUndefined();
    expect(wires.deleteScheduleCalls()).toEqual([`timer-${booked.request_id}`]);
    for (const connectionId of favorite.connectionIds) {
      expect(await wires.pushedTo(connectionId)).toEqual([
        expect.objectContaining({ type: 'priority_session_request' }),
        { type: 'request_taken', request_id: booked.request_id, reason: 'cancelled' },
      ]);
    }
    // It was never offered to the bystander, so they hear nothing, and nothing went through the fan-out.
    expect(await wires.pushedTo(bystander.connectionIds[0]!)).toEqual([]);
    expect(handedOver(booked.request_id)).toEqual([]);
  });

  it('an open broadcast request → 200, cancelled, ONE hand-over of request_taken to everyone, its timer deleted', async () => {
    // Arrange
    const a = await wires.addMechanic();
    const b = await wires.addMechanic();
    const customer = newCustomerId();
    const booked = await book(customer, { plan: 'free', concern: 'Broadcast then cancel' });

    // Act
    const response = responseOf(await cancel(customer, booked.session_id));

    // Assert
    expect(response.status).toBe(200);
    expect(await readBooking(table, booked.session_id)).toMatchObject({ state: 'cancelled' });
    expect(handedOver(booked.request_id)).toEqual(['new_request:broadcast', 'request_taken:cancelled']);
    for (const connectionId of [a.connectionIds[0]!, b.connectionIds[0]!]) {
      const messages = (await wires.pushedTo(connectionId)).filter((m) => 'request_id' in m && m.request_id === booked.request_id);
      expect(messages.map((m) => m.type).sort()).toEqual(['new_request', 'request_taken']);
      expect(messages).toContainEqual({ type: 'request_taken', request_id: booked.request_id, reason: 'cancelled' });
    }
    expect(wires.deleteScheduleCalls()).toEqual([`timer-${booked.request_id}`]);
    expect(logs.lines.map((l) => l.message)).toContain('[cancel] Session cancelled');
  });

  it('a paid booking awaiting checkout → 200 cancelled: nobody was told of it, so nobody is told, and no timer is touched', async () => {
    // Arrange
    await wires.addMechanic();
    const customer = newCustomerId();
    const booked = await book(customer, { plan: 'paid', concern: 'Changed my mind' });

    // Act
    const response = responseOf(await cancel(customer, booked.session_id));

    // Assert
    expect(response.body).toEqual({ session_id: booked.session_id, status: 'cancelled' });
    expect(await readBooking(table, booked.session_id)).toMatchObject({ state: 'cancelled', routing: null });
    expect(wires.invocations()).toEqual([]);
    expect(wires.deleteScheduleCalls()).toEqual([]);
    expect(await wires.pushed()).toEqual([]);
  });

  it('cancelling twice is fine and tells nobody anything more', async () => {
    // Arrange
    await wires.addMechanic();
    const customer = newCustomerId();
    const booked = await book(customer, { plan: 'free', concern: 'Twice' });
    await cancel(customer, booked.session_id);
    const pushesAfterFirst = (await wires.pushed()).length;
    const handOversAfterFirst = handedOver(booked.request_id);

    // Act
    const response = responseOf(await cancel(customer, booked.session_id));

    // Assert
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ session_id: booked.session_id, status: 'cancelled' });
    expect(await wires.pushed()).toHaveLength(pushesAfterFirst);
    expect(handedOver(booked.request_id)).toEqual(handOversAfterFirst);
    expect((await readBooking(table, booked.session_id))?.events.filter((e) => e.type === 'cancelled')).toHaveLength(1);
  });

  it('a matched request → 409 already_matched, the request stays matched', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();
    const customer = newCustomerId();
    const booked = await book(customer, { plan: 'free', concern: 'Taken' });
    await wsAccept(
      wsEvent({
        routeKey: 'accept',
        connectionId: mechanic.connectionIds[0]!,
        mechanicId: mechanic.mechanicId,
        body: { action: 'accept', request_id: booked.request_id },
      }),
    );

    // Act
    const response = responseOf(await cancel(customer, booked.session_id));

    // Assert
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('already_matched');
    expect(await readBooking(table, booked.session_id)).toMatchObject({ state: 'matched', mechanic_id: mechanic.mechanicId });
  });

  it('an expired request → 409 request_expired, the request stays expired', async () => {
    // Arrange: an open request whose time ran out, written through the store as the timer leaves it
    const customer = newCustomerId();
    const store = bookingStore(table);
    const past = new Date(Date.now() - 3_600_000).toISOString();
    const seeded = bookingRecord({ customer_id: customer, at: past });
    await store.create(seeded);
    await store.transition(seeded.session_id, 'opened', { now: past, changes: { open_until: past }, audit: { at: past, type: 'broadcast_sent' } });
    const now = new Date().toISOString();
    expect((await store.transition(seeded.session_id, 'expired', { now, audit: { at: now, type: 'expired' } })).applied).toBe(true);

    // Act
    const response = responseOf(await cancel(customer, seeded.session_id));

    // Assert
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('request_expired');
    expect(await readBooking(table, seeded.session_id)).toMatchObject({ state: 'expired' });
    expect(wires.invocations()).toEqual([]);
  });

  it("another customer's session → 404 and the request stays open", async () => {
    // Arrange
    const owner = newCustomerId();
    const booked = await book(owner, { plan: 'free', concern: 'Not yours' });

    // Act
    const response = responseOf(await cancel(newCustomerId(), booked.session_id));

    // Assert
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('not_found');
    expect(await readBooking(table, booked.session_id)).toMatchObject({ state: 'open' });
    expect(await wires.timer(booked.request_id)).toBeDefined();
  });
});
