/**
 * WebSocket message routes (accept, decline, ping, $default): every answer is
 * an event posted to the caller's connection, a bad message gets an `error`
 * event, and the route always returns 200 so the connection stays open.
 * An accept's losers hear `request_taken` through the fan-out (everyone or a
 * workshop) or inline (a favorite), never any connection of the winner.
 */
import { describe, expect, it } from 'vitest';
import { httpEvent, responseOf, wsEvent } from '../support/handler-events';
import {
  type AwsWires,
  bookingRecord,
  bookingStore,
  captureLogs,
  newCustomerId,
  PRIORITY_WINDOW_SECONDS,
  readBookingOfRequest,
  REQUEST_TTL_SECONDS,
  useHandlerEnv,
} from '../support/handler-env';
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

/** The fan-out hand-overs of this request (not the shard splits), as `type:reason` of their message. */
const handedOver = (requestId: string) =>
  wires
    .invocations()
    .map((i) => i.payload as { request_id: string; audience: { kind: string }; message: { type: string; reason?: string } })
    .filter((p) => p.request_id === requestId && p.audience.kind !== 'shard')
    .map((p) => `${p.message.type}:${p.message.reason}`);

/** The `due_at` the request's timer hands the timer function; undefined when there is no timer. */
async function timerDue(requestId: string): Promise<string | undefined> {
  const schedule = await wires.timer(requestId);
  return schedule && (JSON.parse(schedule.Target!.Input!) as { due_at: string }).due_at;
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

describe("a customer's connection (role=customer)", () => {
  const forbidden = { type: 'error', code: 'forbidden_for_customers', message: 'customers may send only ping, sync' };

  it.each([
    ['accept', wsAccept],
    ['decline', wsDecline],
  ] as const)('%s → error forbidden_for_customers naming ping and sync, 200 (connection kept), and nothing else happens', async (action, route) => {
    // Arrange: a request open to everyone; the customer's event arrives on a live socket of the gateway
    const socket = await wires.addMechanic();
    const booked = await book({});
    const before = await readBookingOfRequest(table, booked.request_id);
    await wires.asyncDone();
    const handedOverBefore = wires.invocations().length;

    // Act
    const result = await route(
      wsEvent({ routeKey: action, connectionId: conn(socket), customerId: newCustomerId(), body: { action, request_id: booked.request_id } }),
    );

    // Assert
    expect(result).toEqual(OK);
    expect(await wires.pushedTo(conn(socket))).toEqual([expect.objectContaining({ type: 'new_request' }), forbidden]);
    expect(await readBookingOfRequest(table, booked.request_id)).toEqual(before);
    expect(wires.invocations()).toHaveLength(handedOverBefore);
    expect(await wires.connectionsClosed()).toEqual([]);
  });

  it('ping → pong', async () => {
    // Arrange
    const socket = await wires.addMechanic();

    // Act
    const result = await wsPing(wsEvent({ routeKey: 'ping', connectionId: conn(socket), customerId: newCustomerId(), body: { action: 'ping' } }));

    // Assert
    expect(result).toEqual(OK);
    expect(await wires.pushedTo(conn(socket))).toEqual([{ type: 'pong' }]);
  });

  it('an unknown action → error unknown_action listing what a customer may send', async () => {
    // Arrange
    const socket = await wires.addMechanic();

    // Act
    await wsDefault(wsEvent({ routeKey: '$default', connectionId: conn(socket), customerId: newCustomerId(), body: { action: 'pause' } }));

    // Assert
    expect(await wires.pushedTo(conn(socket))).toEqual([
      { type: 'error', code: 'unknown_action', message: 'unknown action "pause"; expected one of ping, sync' },
    ]);
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

  it("a broadcast request: the first accept wins, its timer goes, the second gets already_matched, the others hear request_taken, the winner's other device hears it by_you", async () => {
    // Arrange
    const first = await wires.addMechanic({ connections: 2 });
    const second = await wires.addMechanic();
    const bystander = await wires.addMechanic();
    const booked = await book({});
    await wires.reset();

    // Act
    const firstResult = await wsAccept(message('accept', first, { action: 'accept', request_id: booked.request_id }));
    const secondResult = await wsAccept(message('accept', second, { action: 'accept', request_id: booked.request_id }));

    // Assert: the accepting connection hears only its answer, the winner's other one that they took it
    expect(firstResult).toEqual(OK);
    expect(secondResult).toEqual(OK);
    const taken = { type: 'request_taken', request_id: booked.request_id, reason: 'accepted' };
    expect(await wires.pushedTo(conn(first))).toEqual([{ type: 'accept_result', request_id: booked.request_id, ok: true }]);
    expect(await wires.pushedTo(first.connectionIds[1]!)).toEqual([{ ...taken, by_you: true }]);
    // request_taken comes through the fan-out, so it may land before or after the second's own answer
    expect(await wires.pushedTo(conn(second))).toEqual(
      expect.arrayContaining([taken, { type: 'accept_result', request_id: booked.request_id, ok: false, reason: 'already_matched' }]),
    );
    expect(await wires.pushedTo(conn(second))).toHaveLength(2);
    expect(await wires.pushedTo(conn(bystander))).toEqual([taken]);
    expect(wires.invocations()).toContainEqual(
      expect.objectContaining({
        payload: { request_id: booked.request_id, audience: { kind: 'everyone' }, message: taken, except_mechanic_id: first.mechanicId },
      }),
    );
    expect(handedOver(booked.request_id)).toEqual(['request_taken:accepted']);
    expect(await readBookingOfRequest(table, booked.request_id)).toMatchObject({ state: 'matched', mechanic_id: first.mechanicId });
    expect(await wires.timer(booked.request_id)).toBeUndefined();
    expect(wires.deleteScheduleCalls()).toEqual([`timer-${booked.request_id}`]);
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
    expect(await readBookingOfRequest(table, booked.request_id)).toMatchObject({ state: 'matched', mechanic_id: winners[0]!.mechanicId });
    expect(handedOver(booked.request_id)).toEqual(['request_taken:accepted']);
  });

  it('the winner accepting again is answered ok:true again, changes nothing stored, and repeats request_taken to the others', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();
    const other = await wires.addMechanic();
    const booked = await book({});
    await wsAccept(message('accept', mechanic, { action: 'accept', request_id: booked.request_id }));
    await wires.reset();

    // Act
    await wsAccept(message('accept', mechanic, { action: 'accept', request_id: booked.request_id }));

    // Assert
    expect(await wires.pushedTo(conn(mechanic))).toEqual([{ type: 'accept_result', request_id: booked.request_id, ok: true }]);
    expect(await wires.pushedTo(conn(other))).toEqual([{ type: 'request_taken', request_id: booked.request_id, reason: 'accepted' }]);
    expect(handedOver(booked.request_id)).toEqual(['request_taken:accepted']);
    expect((await readBookingOfRequest(table, booked.request_id))?.events.filter((e) => e.type === 'accepted')).toHaveLength(1);
  });

  it.each([
    ['an unknown request', 'req-00000000-0000-4000-8000-000000000000'],
    ['a request id of no shape we make', 'req-nope'],
  ])('%s → ok:false not_found', async (_name, requestId) => {
    // Arrange
    const mechanic = await wires.addMechanic();

    // Act
    await wsAccept(message('accept', mechanic, { action: 'accept', request_id: requestId }));

    // Assert
    expect(await wires.pushedTo(conn(mechanic))).toEqual([{ type: 'accept_result', request_id: requestId, ok: false, reason: 'not_found' }]);
  });

  it('a paid booking still awaiting checkout is not found (nobody was offered it)', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();
    const booked = await book({ plan: 'paid' });
    const requestId = `req-${booked.session_id}`;

    // Act
    await wsAccept(message('accept', mechanic, { action: 'accept', request_id: requestId }));

    // Assert
    expect(await wires.pushedTo(conn(mechanic))).toEqual([{ type: 'accept_result', request_id: requestId, ok: false, reason: 'not_found' }]);
    expect(await readBookingOfRequest(table, requestId)).toMatchObject({ state: 'awaiting_checkout', mechanic_id: null });
  });

  it('an expired request → ok:false expired', async () => {
    // Arrange: an open request whose time ran out, written through the store as the timer leaves it
    const mechanic = await wires.addMechanic();
    const store = bookingStore(table);
    const past = new Date(Date.now() - 2 * REQUEST_TTL_SECONDS * 1000).toISOString();
    const seeded = bookingRecord({ at: past });
    await store.create(seeded);
    await store.transition(seeded.session_id, 'opened', { now: past, changes: { open_until: past }, audit: { at: past, type: 'broadcast_sent' } });
    const now = new Date().toISOString();
    await store.transition(seeded.session_id, 'expired', { now, audit: { at: now, type: 'expired' } });

    // Act
    await wsAccept(message('accept', mechanic, { action: 'accept', request_id: seeded.request_id }));

    // Assert
    expect(await wires.pushedTo(conn(mechanic))).toEqual([{ type: 'accept_result', request_id: seeded.request_id, ok: false, reason: 'expired' }]);
    expect(await readBookingOfRequest(table, seeded.request_id)).toMatchObject({ state: 'expired', mechanic_id: null });
  });

  it('a priority request in its window: another mechanic gets priority_window; the favorite wins and the timer is deleted', async () => {
    // Arrange
    await wires.setFlag('true');
    const favorite = await wires.addMechanic();
    const other = await wires.addMechanic();
    const booked = await book({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' });
    await wires.reset();

    // Act
    await wsAccept(message('accept', other, { action: 'accept', request_id: booked.request_id }));
    await wsAccept(message('accept', favorite, { action: 'accept', request_id: booked.request_id }));

    // Assert: the request was only ever the favorite's, so nobody else is told it is taken
    expect(await wires.pushedTo(conn(other))).toEqual([{ type: 'accept_result', request_id: booked.request_id, ok: false, reason: 'priority_window' }]);
    expect(await wires.pushedTo(conn(favorite))).toEqual([{ type: 'accept_result', request_id: booked.request_id, ok: true }]);
    expect(wires.invocations()).toEqual([]);
    expect(await wires.timer(booked.request_id)).toBeUndefined();
    expect(await readBookingOfRequest(table, booked.request_id)).toMatchObject({ state: 'matched', routing: 'priority', mechanic_id: favorite.mechanicId });
  });

  it("the favorite's other devices hear request_taken by_you when one of them wins; nobody else hears anything, nothing goes through the fan-out", async () => {
    // Arrange
    await wires.setFlag('true');
    const favorite = await wires.addMechanic({ connections: 3 });
    const bystander = await wires.addMechanic();
    const booked = await book({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' });
    await wires.reset();

    // Act
    await wsAccept(message('accept', favorite, { action: 'accept', request_id: booked.request_id }));

    // Assert
    const byYou = { type: 'request_taken', request_id: booked.request_id, reason: 'accepted', by_you: true };
    expect(await wires.pushedTo(favorite.connectionIds[0]!)).toEqual([{ type: 'accept_result', request_id: booked.request_id, ok: true }]);
    expect(await wires.pushedTo(favorite.connectionIds[1]!)).toEqual([byYou]);
    expect(await wires.pushedTo(favorite.connectionIds[2]!)).toEqual([byYou]);
    expect(await wires.pushedTo(conn(bystander))).toEqual([]);
    expect(wires.invocations()).toEqual([]);
    expect(await readBookingOfRequest(table, booked.request_id)).toMatchObject({ state: 'matched', mechanic_id: favorite.mechanicId });
  });

  it("a workshop request: a mechanic outside the workshop is told it does not exist; the workshop's mechanic wins", async () => {
    // Arrange
    const workshopId = `ws-${newCustomerId()}`;
    const inside = await wires.addMechanic({ workshopId });
    const colleague = await wires.addMechanic({ workshopId });
    const outside = await wires.addMechanic();
    const booked = await book({ workshop_id: workshopId });
    await wires.reset();

    // Act
    await wsAccept(message('accept', outside, { action: 'accept', request_id: booked.request_id }));
    await wsAccept(
      wsEvent({
        routeKey: 'accept',
        connectionId: conn(inside),
        mechanicId: inside.mechanicId,
        workshopId,
        body: { action: 'accept', request_id: booked.request_id },
      }),
    );

    // Assert
    expect(await wires.pushedTo(conn(outside))).toEqual([{ type: 'accept_result', request_id: booked.request_id, ok: false, reason: 'not_found' }]);
    expect(await wires.pushedTo(conn(inside))).toEqual([{ type: 'accept_result', request_id: booked.request_id, ok: true }]);
    expect(await wires.pushedTo(conn(colleague))).toEqual([{ type: 'request_taken', request_id: booked.request_id, reason: 'accepted' }]);
    expect(wires.invocations()).toContainEqual(expect.objectContaining({ payload: expect.objectContaining({ audience: { kind: 'workshop', workshopId } }) }));
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
    expect(await readBookingOfRequest(table, booked.request_id)).toMatchObject({ state: 'open', mechanic_id: null });
  });
});

describe('decline', () => {
  it("the favorite's decline ends the window now: one hand-over to everyone with reason priority_declined, the timer moved to the expiry", async () => {
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
    expect(handedOver(booked.request_id)).toEqual(['new_request:priority_declined']);
    expect(await wires.pushedTo(conn(other))).toEqual([
      expect.objectContaining({ type: 'new_request', request_id: booked.request_id, reason: 'priority_declined' }),
    ]);
    const booking = (await readBookingOfRequest(table, booked.request_id))!;
    expect(booking).toMatchObject({ state: 'open', audience: 'everyone', route_to: 'everyone' });
    expect(booking.request_metadata).toMatchObject({ fallback_reason: 'preferred_mechanic_declined', fallback_broadcast_at: expect.any(String) });
    expect(booking.events.map((e) => e.type)).toEqual(['created', 'priority_offer_sent', 'declined', 'broadcast_sent']);
    expect(await timerDue(booked.request_id)).toBe(booking.open_until);
    expect(wires.deleteScheduleCalls()).toEqual([]);
    expect(logs.lines.map((l) => l.message)).toContain('[Priority] Favorite declined; ending the priority window now');
  });

  it("someone else's decline changes nothing, pushes nothing and leaves the timer at the window's end", async () => {
    // Arrange
    await wires.setFlag('true');
    const favorite = await wires.addMechanic();
    const other = await wires.addMechanic();
    const booked = await book({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' });
    const before = (await readBookingOfRequest(table, booked.request_id))!;
    await wires.reset();

    // Act
    const result = await wsDecline(message('decline', other, { action: 'decline', request_id: booked.request_id }));

    // Assert
    expect(result).toEqual(OK);
    expect(await wires.pushed()).toEqual([]);
    expect(wires.invocations()).toEqual([]);
    expect(wires.deleteScheduleCalls()).toEqual([]);
    expect(await timerDue(booked.request_id)).toBe(before.expires_at);
    expect(await readBookingOfRequest(table, booked.request_id)).toEqual(before);
    expect(Date.parse(before.expires_at!) - Date.parse(before.request_metadata.priority_notified_at!)).toBeLessThanOrEqual(
      PRIORITY_WINDOW_SECONDS * 1000 + 1000,
    );
  });

  it('a decline of an open broadcast request changes nothing', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();
    const booked = await book({});
    await wires.reset();

    // Act
    await wsDecline(message('decline', mechanic, { action: 'decline', request_id: booked.request_id }));

    // Assert
    expect(await wires.pushed()).toEqual([]);
    expect(await readBookingOfRequest(table, booked.request_id)).toMatchObject({ state: 'open', audience: 'everyone' });
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
