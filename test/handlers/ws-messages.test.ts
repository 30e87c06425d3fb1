/**
 * WebSocket message routes (accept, decline, ping, $default): every answer is
 * an event posted to the caller's connection, a bad message gets an `error`
 * event, and the route always returns 200 so the connection stays open.
 */
import { describe, expect, it } from 'vitest';
import { httpEvent, responseOf, wsEvent } from '../support/handler-events';
import { type AwsWires, captureLogs, newCustomerId, readRequest, SCHEDULE_GROUP, useHandlerEnv } from '../support/handler-env';
import type { TestTable } from '../support/table';
import { handler as intakeStart } from '../../lambdas/handlers/intake-start';
import { handler as wsAccept } from '../../lambdas/handlers/ws-accept';
import { handler as wsDecline } from '../../lambdas/handlers/ws-decline';
import { handler as wsPing } from '../../lambdas/handlers/ws-ping';
import { handler as wsDefault } from '../../lambdas/handlers/ws-default';

let wires: AwsWires;
const logs = captureLogs();
let table: TestTable;

useHandlerEnv((env) => ({ table, wires } = env), { logs });

const OK = { statusCode: 200, body: '' };

type Mechanic = { mechanicId: string; connectionIds: string[] };
const conn = (m: Mechanic) => m.connectionIds[0]!;
const message = (routeKey: string, m: Mechanic, body: unknown) => wsEvent({ routeKey, connectionId: conn(m), mechanicId: m.mechanicId, body });

async function book(body: object): Promise<{ session_id: string; request_id: string }> {
  const response = responseOf(
    await intakeStart(httpEvent({ method: 'POST', route: '/intake/start', sub: newCustomerId(), body: { plan: 'free', concern: 'WS test', ...body } })),
  );
  expect(response.status).toBe(201);
  return response.body;
}

describe('ping', () => {
  it("posts pong to the caller's connection only", async () => {
    // Arrange
    const mechanic = await wires.addMechanic();

    // Act
    const result = await wsPing(message('ping', mechanic, { action: 'ping' }));

    // Assert
    expect(result).toEqual(OK);
    expect(await wires.pushed()).toEqual([{ connectionId: conn(mechanic), message: { type: 'pong' } }]);
  });
});

describe('a push that fails', () => {
  it('ping: a 500 from @connections is logged, and the route still answers 200', async () => {
    // Arrange: the gateway answers this connection's PostToConnection with a 500 (fault injection)
    const mechanic = await wires.addMechanic();
    wires.failPosting(conn(mechanic));

    // Act
    const result = await wsPing(message('ping', mechanic, { action: 'ping' }));

    // Assert
    expect(result).toEqual(OK);
    expect(logs.lines).toEqual([expect.objectContaining({ level: 'ERROR', message: 'Unhandled error in a WebSocket route', route: 'ping' })]);
  });
});

describe('$default', () => {
  it('a non-JSON body → error invalid_json, and 200 (connection kept)', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();

    // Act
    const result = await wsDefault(message('$default', mechanic, 'hello there'));

    // Assert
    expect(result).toEqual(OK);
    expect(await wires.pushed()).toEqual([{ connectionId: conn(mechanic), message: { type: 'error', code: 'invalid_json', message: expect.any(String) } }]);
    expect(await wires.connectionsClosed()).toEqual([]);
  });

  it('an unknown action → error unknown_action listing the actions', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();

    // Act
    const result = await wsDefault(message('$default', mechanic, { action: 'dance' }));

    // Assert
    expect(result).toEqual(OK);
    const [pushed] = await wires.pushedTo(conn(mechanic));
    expect(pushed).toEqual({ type: 'error', code: 'unknown_action', message: expect.stringContaining('dance') });
    expect(pushed && 'message' in pushed && pushed.message).toMatch(/accept.*decline.*ping/);
  });

  it('JSON without an action → error invalid_request naming action', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();

    // Act
    const result = await wsDefault(message('$default', mechanic, { request_id: 'x' }));

    // Assert
    expect(result).toEqual(OK);
    expect(await wires.pushedTo(conn(mechanic))).toEqual([{ type: 'error', code: 'invalid_request', message: expect.stringContaining('action') }]);
  });

  it('a push that fails while answering (the caller is gone: 410) still returns 200', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();
    await wires.goneConnection(conn(mechanic));

    // Act
    const result = await wsDefault(message('$default', mechanic, 'nope'));

    // Assert
    expect(result).toEqual(OK);
    expect(await wires.pushed()).toEqual([]);
  });
});

describe('accept', () => {
  it('a missing request_id → error naming request_id', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();

    // Act
    const result = await wsAccept(message('accept', mechanic, { action: 'accept' }));

    // Assert
    expect(result).toEqual(OK);
    expect(await wires.pushedTo(conn(mechanic))).toEqual([{ type: 'error', code: 'invalid_request', message: expect.stringContaining('request_id') }]);
  });

  it('a numeric request_id → error naming request_id and the expected type', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();

    // Act
    const result = await wsAccept(message('accept', mechanic, { action: 'accept', request_id: 42 }));

    // Assert
    expect(result).toEqual(OK);
    expect(await wires.pushedTo(conn(mechanic))).toEqual([
      { type: 'error', code: 'invalid_request', message: 'request_id: Invalid input: expected string, received number' },
    ]);
  });

  it('a non-JSON body → error invalid_json, 200', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();

    // Act
    const result = await wsAccept(message('accept', mechanic, '{"action":"accept",'));

    // Assert
    expect(result).toEqual(OK);
    expect(await wires.pushedTo(conn(mechanic))).toEqual([{ type: 'error', code: 'invalid_json', message: expect.any(String) }]);
  });

  it('a broadcast request: the first accept wins, the second gets already_matched, the others hear request_taken', async () => {
    // Arrange
    const first = await wires.addMechanic();
    const second = await wires.addMechanic();
    const booked = await book({});
    await wires.reset();

    // Act
    const firstResult = await wsAccept(message('accept', first, { action: 'accept', request_id: booked.request_id }));
    const secondResult = await wsAccept(message('accept', second, { action: 'accept', request_id: booked.request_id }));

    // Assert
    expect(firstResult).toEqual(OK);
    expect(secondResult).toEqual(OK);
    expect(await wires.pushedTo(conn(first))).toEqual([{ type: 'accept_result', request_id: booked.request_id, ok: true }]);
    expect(await wires.pushedTo(conn(second))).toEqual([
      { type: 'request_taken', request_id: booked.request_id },
      { type: 'accept_result', request_id: booked.request_id, ok: false, reason: 'already_matched' },
    ]);
    expect(await readRequest(table, booked.request_id)).toMatchObject({ status: 'matched', mechanic_id: first.mechanicId });
  });

  it('concurrent accepts by five mechanics: exactly one wins, the request names that one', async () => {
    // Arrange
    const racers = await Promise.all(Array.from({ length: 5 }, () => wires.addMechanic()));
    const booked = await book({});
    await wires.reset();

    // Act
    await Promise.all(racers.map((m) => wsAccept(message('accept', m, { action: 'accept', request_id: booked.request_id }))));

    // Assert
    const results = await Promise.all(racers.map(async (m) => (await wires.pushedTo(conn(m))).find((x) => x.type === 'accept_result')));
    const winners = racers.filter((_, i) => results[i] && 'ok' in results[i]! && results[i]!.ok);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r && 'reason' in r && r.reason === 'already_matched')).toHaveLength(4);
    expect(await readRequest(table, booked.request_id)).toMatchObject({ status: 'matched', mechanic_id: winners[0]!.mechanicId });
  });

  it('the winner accepting again is answered ok:true again and changes nothing', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();
    const booked = await book({});
    await wsAccept(message('accept', mechanic, { action: 'accept', request_id: booked.request_id }));
    await wires.reset();

    // Act
    await wsAccept(message('accept', mechanic, { action: 'accept', request_id: booked.request_id }));

    // Assert
    expect(await wires.pushed()).toEqual([{ connectionId: conn(mechanic), message: { type: 'accept_result', request_id: booked.request_id, ok: true } }]);
    expect((await readRequest(table, booked.request_id))?.events.filter((e) => e.type === 'accepted')).toHaveLength(1);
  });

  it('an unknown request → ok:false not_found', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();

    // Act
    await wsAccept(message('accept', mechanic, { action: 'accept', request_id: 'req-00000000-0000-4000-8000-000000000000' }));

    // Assert
    expect(await wires.pushedTo(conn(mechanic))).toEqual([
      { type: 'accept_result', request_id: 'req-00000000-0000-4000-8000-000000000000', ok: false, reason: 'not_found' },
    ]);
  });

  it('a priority request in its window: another mechanic gets priority_window; the favorite wins and the schedule is deleted', async () => {
    // Arrange
    await wires.setFlag('true');
    const favorite = await wires.addMechanic();
    const other = await wires.addMechanic();
    const booked = await book({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' });
    await wires.reset();

    // Act
    await wsAccept(message('accept', other, { action: 'accept', request_id: booked.request_id }));
    await wsAccept(message('accept', favorite, { action: 'accept', request_id: booked.request_id }));

    // Assert
    expect(await wires.pushedTo(conn(other))).toEqual([{ type: 'accept_result', request_id: booked.request_id, ok: false, reason: 'priority_window' }]);
    expect(await wires.pushedTo(conn(favorite))).toEqual([{ type: 'accept_result', request_id: booked.request_id, ok: true }]);
    expect(await wires.schedule(`fallback-${booked.request_id}`)).toBeUndefined();
  });

  it('a suspended mechanic cannot accept', async () => {
    // Arrange
    const mechanic = await wires.addMechanic({ status: 'suspended' });
    const booked = await book({});
    await wires.reset();

    // Act
    const result = await wsAccept(message('accept', mechanic, { action: 'accept', request_id: booked.request_id }));

    // Assert
    expect(result).toEqual(OK);
    expect(await wires.pushedTo(conn(mechanic))).toEqual([{ type: 'error', code: 'mechanic_not_approved', message: expect.any(String) }]);
    expect(await readRequest(table, booked.request_id)).toMatchObject({ status: 'pending' });
  });
});

describe('decline', () => {
  it("the favorite's decline ends the window now: broadcast with reason priority_declined, schedule deleted", async () => {
    // Arrange
    await wires.setFlag('true');
    const favorite = await wires.addMechanic();
    const other = await wires.addMechanic();
    const booked = await book({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' });
    await wires.reset();

    // Act
    const result = await wsDecline(message('decline', favorite, { action: 'decline', request_id: booked.request_id }));

    // Assert
    expect(result).toEqual(OK);
    expect(await wires.pushedTo(conn(other))).toEqual([
      expect.objectContaining({ type: 'new_request', request_id: booked.request_id, reason: 'priority_declined' }),
    ]);
    expect(await wires.schedule(`fallback-${booked.request_id}`)).toBeUndefined();
    expect((await readRequest(table, booked.request_id))?.metadata).toMatchObject({
      fallback_reason: 'preferred_mechanic_declined',
      fallback_broadcast_at: expect.any(String),
    });
  });

  it("someone else's decline changes nothing and pushes nothing", async () => {
    // Arrange
    await wires.setFlag('true');
    const favorite = await wires.addMechanic();
    const other = await wires.addMechanic();
    const booked = await book({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' });
    await wires.reset();

    // Act
    const result = await wsDecline(message('decline', other, { action: 'decline', request_id: booked.request_id }));

    // Assert
    expect(result).toEqual(OK);
    expect(await wires.pushed()).toEqual([]);
    expect(wires.deleteScheduleCalls()).toEqual([]);
    expect(await wires.schedule(`fallback-${booked.request_id}`)).toMatchObject({ GroupName: SCHEDULE_GROUP, State: 'ENABLED' });
    expect((await readRequest(table, booked.request_id))?.metadata.fallback_broadcast_at).toBeUndefined();
  });

  it('an unknown request → error not_found', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();

    // Act
    await wsDecline(message('decline', mechanic, { action: 'decline', request_id: 'req-00000000-0000-4000-8000-0000000000ff' }));

    // Assert
    expect(await wires.pushedTo(conn(mechanic))).toEqual([
      { type: 'error', code: 'not_found', message: expect.stringContaining('req-00000000-0000-4000-8000-0000000000ff') },
    ]);
  });

  it('a missing request_id → error naming request_id', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();

    // Act
    await wsDecline(message('decline', mechanic, { action: 'decline' }));

    // Assert
    expect(await wires.pushedTo(conn(mechanic))).toEqual([{ type: 'error', code: 'invalid_request', message: expect.stringContaining('request_id') }]);
  });
});
