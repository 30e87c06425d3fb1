/** POST /sessions/{id}/cancel: a pending request becomes cancelled, its schedule goes, the offered mechanics hear `request_taken`. */
import { describe, expect, it } from 'vitest';
import { httpEvent, responseOf, wsEvent } from '../support/handler-events';
import { type AwsWires, captureLogs, newCustomerId, readRequest, SCHEDULE_GROUP, useHandlerEnv } from '../support/handler-env';
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

describe('cancel', () => {
  it('a pending priority request → 200, cancelled, its schedule deleted, the favorite told request_taken', async () => {
    // Arrange
    await wires.setFlag('true');
    const favorite = await wires.addMechanic({ connections: 2 });
    const bystander = await wires.addMechanic();
    const customer = newCustomerId();
    const booked = await book(customer, { plan: 'free', concern: 'Cancel me', preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' });
    expect(await wires.schedulesCreated()).toEqual([expect.objectContaining({ Name: `fallback-${booked.request_id}`, GroupName: SCHEDULE_GROUP })]);

    // Act
    const response = responseOf(await cancel(customer, booked.session_id));

    // Assert
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ session_id: booked.session_id, status: 'cancelled' });
    expect(await readRequest(table, booked.request_id)).toMatchObject({ status: 'cancelled' });
    expect(await wires.schedule(`fallback-${booked.request_id}`)).toBeUndefined();
    for (const connectionId of favorite.connectionIds) {
      expect((await wires.pushedTo(connectionId)).map((m) => m.type)).toEqual(['priority_session_request', 'request_taken']);
      expect((await wires.pushedTo(connectionId))[1]).toEqual({ type: 'request_taken', request_id: booked.request_id });
    }
    // It was never offered to the bystander, so they hear nothing.
    expect(await wires.pushedTo(bystander.connectionIds[0]!)).toEqual([]);
  });

  it('a pending broadcast request → 200, cancelled, everyone told request_taken, no fallback schedule touched', async () => {
    // Arrange
    const a = await wires.addMechanic();
    const b = await wires.addMechanic();
    const customer = newCustomerId();
    const booked = await book(customer, { plan: 'free', concern: 'Broadcast then cancel' });

    // Act
    const response = responseOf(await cancel(customer, booked.session_id));

    // Assert
    expect(response.status).toBe(200);
    expect(await readRequest(table, booked.request_id)).toMatchObject({ status: 'cancelled' });
    for (const connectionId of [a.connectionIds[0]!, b.connectionIds[0]!]) {
      expect((await wires.pushedTo(connectionId)).filter((m) => 'request_id' in m && m.request_id === booked.request_id).map((m) => m.type)).toEqual([
        'new_request',
        'request_taken',
      ]);
    }
    // Only the booking's own routing guard was released; no fallback schedule was touched.
    expect(wires.deleteScheduleCalls()).toEqual([`route-${booked.session_id}`]);
  });

  it('cancelling twice is fine and pushes nothing more', async () => {
    // Arrange
    await wires.addMechanic();
    const customer = newCustomerId();
    const booked = await book(customer, { plan: 'free', concern: 'Twice' });
    await cancel(customer, booked.session_id);
    const pushesAfterFirst = (await wires.pushed()).length;

    // Act
    const response = responseOf(await cancel(customer, booked.session_id));

    // Assert
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ session_id: booked.session_id, status: 'cancelled' });
    expect(await wires.pushed()).toHaveLength(pushesAfterFirst);
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
    expect(await readRequest(table, booked.request_id)).toMatchObject({ status: 'matched', mechanic_id: mechanic.mechanicId });
  });

  it("another customer's session → 404 and the request stays pending", async () => {
    // Arrange
    const owner = newCustomerId();
    const booked = await book(owner, { plan: 'free', concern: 'Not yours' });

    // Act
    const response = responseOf(await cancel(newCustomerId(), booked.session_id));

    // Assert
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('not_found');
    expect(await readRequest(table, booked.request_id)).toMatchObject({ status: 'pending' });
  });
});
