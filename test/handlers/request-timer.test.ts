/**
 * The request's one timer: Scheduler's target, invoked with
 * `{"request_id", "due_at"}`. It waits for `due_at`, re-reads the booking and
 * does the one thing then due — finish a routing an invocation left undone,
 * end the favorite's window, expire the request, or repeat `request_taken`
 * for a request whose ending died before deleting its timer (never to the
 * winner) — or nothing (an ending that finished deleted it), keeping
 * exactly the timer the booking needs. A malformed input is logged and ignored.
 *
 * The recovery delay is one second in this file, so a routing left undone is
 * due at once instead of after the stack's two minutes.
 */
import { describe, expect, it } from 'vitest';
import { ENV } from '../../contract/env';
import type { Booking } from '../../lambdas/domain/booking';
import { audienceKey } from '../../lambdas/domain/lifecycle';
import { httpEvent, responseOf, wsEvent } from '../support/handler-events';
import {
  type AwsWires,
  bookingRecord,
  bookingStore,
  captureLogs,
  newCustomerId,
  PRIORITY_WINDOW_SECONDS,
  readBooking,
  useHandlerEnv,
} from '../support/handler-env';
import type { TestTable } from '../support/table';
import { handler as intakeStart } from '../../lambdas/handlers/intake-start';
import { handler as cancelSession } from '../../lambdas/handlers/cancel-session';
import { handler as requestTimer } from '../../lambdas/handlers/request-timer';
import { handler as wsAccept } from '../../lambdas/handlers/ws-accept';
import { wire } from '../../lambdas/wiring';
import { timer } from '../../lambdas/wiring/timer';

const RECOVERY_DELAY_SECONDS = 1;
/** The handlers' own request timer (the same module instance): sets a timer as an invocation that died would have left it. */
const deps = wire(timer);

let wires: AwsWires;
const logs = captureLogs();
let table: TestTable;

useHandlerEnv((env) => ({ table, wires } = env), { logs, env: { [ENV.recoveryDelaySeconds]: String(RECOVERY_DELAY_SECONDS) } });

type Mechanic = { mechanicId: string; connectionIds: string[] };
const iso = (offsetMs = 0) => new Date(Date.now() + offsetMs).toISOString();

/** The fan-out hand-overs of this request (not the shard splits), as `type:reason` of their message. */
const handedOver = (requestId: string) =>
  wires
    .invocations()
    .map((i) => i.payload as { request_id: string; audience: { kind: string }; message: { type: string; reason?: string } })
    .filter((p) => p.request_id === requestId && p.audience.kind !== 'shard')
    .map((p) => `${p.message.type}:${p.message.reason}`);

/** The input the request's timer schedule hands the function; undefined when there is no timer. */
async function timerInput(requestId: string): Promise<{ request_id: string; due_at: string } | undefined> {
  const schedule = await wires.timer(requestId);
  return schedule && (JSON.parse(schedule.Target!.Input!) as { request_id: string; due_at: string });
}

/** A priority booking the favorite (two devices) accepted from its first device, a bystander connected; `armed`: its timer's input before the accept. */
async function offerAcceptedByFavorite() {
  await wires.setFlag('true');
  const favorite = await wires.addMechanic({ connections: 2 });
  const bystander = await wires.addMechanic();
  const booked = (await intake({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' })).body;
  const armed = (await timerInput(booked.request_id))!;
  await wsAccept(
    wsEvent({
      routeKey: 'accept',
      connectionId: favorite.connectionIds[0]!,
      mechanicId: favorite.mechanicId,
      body: { action: 'accept', request_id: booked.request_id },
    }),
  );
  return { favorite, bystander, booked, armed };
}

const metric = (name: string) => logs.metrics.filter((m) => name in m).reduce((sum, m) => sum + Number(m[name]), 0);

async function intake(body: object, customer = newCustomerId(), headers: Record<string, string> = {}) {
  return responseOf(
    await intakeStart(httpEvent({ method: 'POST', route: '/intake/start', sub: customer, body: { plan: 'free', concern: 'Timer test', ...body }, headers })),
  );
}

/** A priority booking offered to the favorite, whose window ends at `expiresAt`, written through the store as intake leaves it. */
async function offeredBooking(favorite: Mechanic, expiresAt: string): Promise<Booking> {
  const store = bookingStore(table);
  const since = new Date(Date.parse(expiresAt) - PRIORITY_WINDOW_SECONDS * 1000).toISOString();
  const seeded = bookingRecord({
    at: since,
    concern: 'Window test',
    routing: 'priority',
    route_to: 'favorite',
    audience: audienceKey.mechanic(favorite.mechanicId),
    new_request_reason: null,
    metadata: { preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' },
    request_metadata: { priority_mechanic_id: favorite.mechanicId, priority_window_minutes: 10 },
  });
  await store.create(seeded);
  const outcome = await store.transition(seeded.session_id, 'offer_sent', {
    now: since,
    guard: { routingSince: seeded.routing_since! },
    changes: { expires_at: expiresAt, request_metadata: { priority_notified_at: since } },
    audit: { at: since, type: 'priority_offer_sent', mechanic_id: favorite.mechanicId, expires_at: expiresAt },
  });
  if (!outcome.applied) throw new Error('could not seed the offered booking');
  return outcome.booking;
}

/** A broadcast booking open until `openUntil`, written through the store as routing leaves it. */
async function openBooking(openUntil: string): Promise<Booking> {
  const store = bookingStore(table);
  const since = iso(-3_600_000);
  const seeded = bookingRecord({ at: since, concern: 'Expiry test' });
  await store.create(seeded);
  const outcome = await store.transition(seeded.session_id, 'opened', {
    now: since,
    changes: { open_until: openUntil },
    audit: { at: since, type: 'broadcast_sent', reason: 'broadcast', open_until: openUntil },
  });
  if (!outcome.applied) throw new Error('could not seed the open booking');
  return outcome.booking;
}

describe('malformed input', () => {
  it.each([
    ['an empty object', {}],
    ['null', null],
    ['a string', 'req-123'],
    ['a numeric request_id', { request_id: 42, due_at: '2026-11-24T12:10:00.000Z' }],
    ['an empty request_id', { request_id: '', due_at: '2026-11-24T12:10:00.000Z' }],
    ['no due_at (the old fallback input)', { request_id: 'req-00000000-0000-4000-8000-000000000000' }],
    ['a due_at that is no time', { request_id: 'req-00000000-0000-4000-8000-000000000000', due_at: 'tomorrow' }],
  ])('%s → {did:"nothing"}, no throw, logged as an error, nothing touched', async (_name, input) => {
    // Act
    const outcome = await requestTimer(input);

    // Assert
    expect(outcome).toEqual({ did: 'nothing' });
    expect(logs.lines).toEqual([
      expect.objectContaining({ level: 'ERROR', message: '[Timer] Ignoring an invocation without request_id and due_at', error: expect.any(String) }),
    ]);
    expect(await wires.pushed()).toEqual([]);
    expect(wires.invocations()).toEqual([]);
    expect(await wires.schedulesCreated()).toEqual([]);
    expect(wires.deleteScheduleCalls()).toEqual([]);
  });

  it('an unknown request → {did:"nothing"}: no push, no timer set; its timer is deleted', async () => {
    // Act
    const outcome = await requestTimer({ request_id: 'req-00000000-0000-4000-8000-000000000000', due_at: iso() });

    // Assert
    expect(outcome).toEqual({ did: 'nothing' });
    expect(await wires.pushed()).toEqual([]);
    expect(await wires.schedulesCreated()).toEqual([]);
    expect(wires.deleteScheduleCalls()).toEqual(['timer-req-00000000-0000-4000-8000-000000000000']);
  });
});

describe('the end of the priority window', () => {
  it('opens the request to everyone through ONE hand-over (reason fallback), records why, and moves the timer to the expiry', async () => {
    // Arrange
    const favorite = await wires.addMechanic();
    const other = await wires.addMechanic();
    const offered = await offeredBooking(favorite, iso(-1000));

    // Act
    const outcome = await requestTimer({ request_id: offered.request_id, due_at: offered.expires_at });

    // Assert
    expect(outcome).toEqual({ did: 'end_window' });
    expect(handedOver(offered.request_id)).toEqual(['new_request:fallback']);
    const expected = {
      type: 'new_request',
      request_id: offered.request_id,
      session_id: offered.session_id,
      reason: 'fallback',
      expires_at: (await readBooking(table, offered.session_id))!.open_until,
      concern: 'Window test',
      vehicle: null,
    };
    expect(await wires.pushedTo(other.connectionIds[0]!)).toEqual([expected]);
    expect(await wires.pushedTo(favorite.connectionIds[0]!)).toEqual([expected]);
    const booking = (await readBooking(table, offered.session_id))!;
    expect(booking).toMatchObject({ state: 'open', route_to: 'everyone', audience: 'everyone', new_request_reason: 'fallback', routing: 'priority' });
    expect(booking.request_metadata).toMatchObject({
      priority_mechanic_id: favorite.mechanicId,
      fallback_reason: 'preferred_mechanic_no_response',
      fallback_broadcast_at: expect.any(String),
    });
    expect(booking.events.map((e) => e.type)).toEqual(['created', 'priority_offer_sent', 'fallback_started', 'broadcast_sent']);
    expect(await timerInput(offered.request_id)).toEqual({ request_id: offered.request_id, due_at: booking.open_until });
    expect(logs.lines.map((l) => l.message)).toContain('[Fallback] Priority window over, broadcasting to all mechanics');
    expect(metric('FallbacksFired')).toBe(1);
  });

  it('invoked again (at-least-once delivery): nothing more is sent, and the timer stays at the expiry', async () => {
    // Arrange
    const favorite = await wires.addMechanic();
    const offered = await offeredBooking(favorite, iso(-1000));
    await requestTimer({ request_id: offered.request_id, due_at: offered.expires_at });
    const pushesAfterFirst = (await wires.pushed()).length;

    // Act
    const again = await requestTimer({ request_id: offered.request_id, due_at: offered.expires_at });

    // Assert
    expect(again).toEqual({ did: 'nothing' });
    expect(await wires.pushed()).toHaveLength(pushesAfterFirst);
    expect(handedOver(offered.request_id)).toEqual(['new_request:fallback']);
    const booking = (await readBooking(table, offered.session_id))!;
    expect(booking.events.filter((e) => e.type === 'fallback_started')).toHaveLength(1);
    expect(await timerInput(offered.request_id)).toEqual({ request_id: offered.request_id, due_at: booking.open_until });
  });

  it('fired early (Scheduler runs a minute early, and up to 59 s before that), it waits for due_at first', async () => {
    // Arrange: the window ends in a moment
    const favorite = await wires.addMechanic();
    const offered = await offeredBooking(favorite, iso(1500));
    const started = Date.now();

    // Act
    const outcome = await requestTimer({ request_id: offered.request_id, due_at: offered.expires_at });

    // Assert
    expect(outcome).toEqual({ did: 'end_window' });
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(offered.expires_at!));
    expect(Date.now() - started).toBeGreaterThan(1000);
    expect(handedOver(offered.request_id)).toEqual(['new_request:fallback']);
  });

  it('after the favorite accepted (the timer deleted), a firing already under way does nothing: nothing pushed or handed over, no timer touched', async () => {
    // Arrange
    const { favorite, bystander, booked } = await offerAcceptedByFavorite();
    expect(await wires.timer(booked.request_id)).toBeUndefined();
    await wires.reset();

    // Act: the timer was deleted, but its firing was already under way
    const outcome = await requestTimer({ request_id: booked.request_id, due_at: iso() });

    // Assert
    expect(outcome).toEqual({ did: 'nothing' });
    expect(await readBooking(table, booked.session_id)).toMatchObject({ state: 'matched', mechanic_id: favorite.mechanicId });
    expect(await wires.pushed()).toEqual([]);
    expect(await wires.pushedTo(bystander.connectionIds[0]!)).toEqual([]);
    expect(wires.invocations()).toEqual([]);
    expect(wires.deleteScheduleCalls()).toEqual([]);
    expect(await wires.schedulesCreated()).toEqual([]);
    expect(logs.lines.map((l) => l.message)).toContain('[Timer] Request ended and its ending finished; nothing to do');
  });

  it("after the favorite accepted, an accept that died before deleting the timer: the firing repeats request_taken by_you to the favorite's devices only, and deletes the timer", async () => {
    // Arrange
    const { favorite, bystander, booked, armed } = await offerAcceptedByFavorite();
    // the timer as an accept that died before its last effect (the deletion) leaves it
    await deps.timer.set(booked.request_id, new Date(armed.due_at), 'new');
    await wires.reset();

    // Act
    const outcome = await requestTimer({ request_id: booked.request_id, due_at: iso() });

    // Assert: the favorite won it, so nobody else is told; not knowing which device accepted, all of theirs hear by_you; the timer goes
    expect(outcome).toEqual({ did: 'retell_end' });
    expect(await readBooking(table, booked.session_id)).toMatchObject({ state: 'matched', mechanic_id: favorite.mechanicId });
    const byYou = { type: 'request_taken', request_id: booked.request_id, reason: 'accepted', by_you: true };
    expect(await wires.pushedTo(favorite.connectionIds[0]!)).toEqual([byYou]);
    expect(await wires.pushedTo(favorite.connectionIds[1]!)).toEqual([byYou]);
    expect(await wires.pushedTo(bystander.connectionIds[0]!)).toEqual([]);
    expect(wires.invocations()).toEqual([]);
    expect(wires.deleteScheduleCalls()).toEqual([`timer-${booked.request_id}`]);
    expect(await wires.timer(booked.request_id)).toBeUndefined();
  });
});

describe('expiry', () => {
  it('an open request nobody took expires: everyone hears request_taken (expired) through ONE hand-over; the timer is deleted', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();
    const open = await openBooking(iso(-1000));

    // Act
    const outcome = await requestTimer({ request_id: open.request_id, due_at: open.open_until });

    // Assert
    expect(outcome).toEqual({ did: 'expire' });
    expect(await readBooking(table, open.session_id)).toMatchObject({ state: 'expired', mechanic_id: null });
    expect(handedOver(open.request_id)).toEqual(['request_taken:expired']);
    expect(await wires.pushedTo(mechanic.connectionIds[0]!)).toEqual([{ type: 'request_taken', request_id: open.request_id, reason: 'expired' }]);
    expect(wires.deleteScheduleCalls()).toEqual([`timer-${open.request_id}`]);
    expect(logs.lines.map((l) => l.message)).toContain('[Timer] Request expired: nobody accepted it');
    expect(metric('RequestsExpired')).toBe(1);
  });

  it('an open request not yet due (its timer fired early or was moved) → nothing, and the timer is set to its expiry', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();
    const open = await openBooking(iso(3_600_000));

    // Act
    const outcome = await requestTimer({ request_id: open.request_id, due_at: iso() });

    // Assert
    expect(outcome).toEqual({ did: 'nothing' });
    expect(await readBooking(table, open.session_id)).toMatchObject({ state: 'open' });
    expect(await wires.pushedTo(mechanic.connectionIds[0]!)).toEqual([]);
    expect(await timerInput(open.request_id)).toEqual({ request_id: open.request_id, due_at: open.open_until });
  });

  it('a request cancelled by an invocation that died before deleting its timer: everyone hears request_taken (cancelled) again, and the timer goes', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();
    const customer = newCustomerId();
    const booked = (await intake({}, customer)).body;
    const armed = (await timerInput(booked.request_id))!;
    await cancelSession(httpEvent({ method: 'POST', route: '/sessions/{id}/cancel', id: booked.session_id, sub: customer }));
    // the timer as a cancel that died before its last effect (the deletion) leaves it
    await deps.timer.set(booked.request_id, new Date(armed.due_at), 'new');
    await wires.reset();

    // Act
    const outcome = await requestTimer({ request_id: booked.request_id, due_at: iso() });

    // Assert: a duplicate (same request id) is allowed; nobody left thinking it is open is not
    expect(outcome).toEqual({ did: 'retell_end' });
    expect(handedOver(booked.request_id)).toEqual(['request_taken:cancelled']);
    expect(await wires.pushedTo(mechanic.connectionIds[0]!)).toEqual([{ type: 'request_taken', request_id: booked.request_id, reason: 'cancelled' }]);
    expect(wires.deleteScheduleCalls()).toEqual([`timer-${booked.request_id}`]);
    expect(await wires.timer(booked.request_id)).toBeUndefined();
    expect(logs.lines.map((l) => l.message)).toContain('[Timer] Request ended; repeating request_taken');
  });

  it('a request whose cancel finished (the timer deleted): a firing already under way tells nobody again', async () => {
    // Arrange
    const mechanic = await wires.addMechanic();
    const customer = newCustomerId();
    const booked = (await intake({}, customer)).body;
    await cancelSession(httpEvent({ method: 'POST', route: '/sessions/{id}/cancel', id: booked.session_id, sub: customer }));
    await wires.reset();

    // Act
    const outcome = await requestTimer({ request_id: booked.request_id, due_at: iso() });

    // Assert
    expect(outcome).toEqual({ did: 'nothing' });
    expect(wires.invocations()).toEqual([]);
    expect(await wires.pushedTo(mechanic.connectionIds[0]!)).toEqual([]);
    expect(wires.deleteScheduleCalls()).toEqual([]);
  });
});

describe('recovery: a routing an invocation left undone', () => {
  it('intake whose hand-over to the fan-out failed (500) leaves the booking in routing; the timer finishes it', async () => {
    // Arrange: Lambda's Invoke API fails while intake runs
    const mechanic = await wires.addMechanic();
    wires.failInvokes();
    const failed = await intake({ concern: 'Half-way' }, newCustomerId(), { 'Idempotency-Key': `k-${newCustomerId()}` });
    wires.clearFailures();
    const [stuck] = (await wires.schedulesCreated()).map((s) => JSON.parse(s.Target!.Input!) as { request_id: string; due_at: string });

    // Assert: the customer got a 500, the booking waits in routing, its timer armed for the recovery
    expect(failed).toMatchObject({ status: 500, body: { error: { code: 'internal_error' } } });
    const sessionId = stuck!.request_id.replace(/^req-/, '');
    const before = (await readBooking(table, sessionId))!;
    expect(before).toMatchObject({ state: 'routing', concern: 'Half-way', route_to: 'everyone' });
    // (armed a moment after the routing's start was taken: the clock is the real one here, and a loaded machine
    // stretches that moment, so the bound is loose; the recovery delay is what it must not lose)
    const lateBy = Date.parse(stuck!.due_at) - (Date.parse(before.routing_since!) + RECOVERY_DELAY_SECONDS * 1000);
    expect(lateBy).toBeGreaterThanOrEqual(0);
    expect(lateBy).toBeLessThan(10_000);
    expect(await wires.pushed()).toEqual([]);

    // Act: the timer fires (it waits for its due_at)
    const outcome = await requestTimer(stuck);

    // Assert
    expect(outcome).toEqual({ did: 'finish_routing' });
    expect(handedOver(stuck!.request_id)).toEqual(['new_request:broadcast']);
    expect(await wires.pushedTo(mechanic.connectionIds[0]!)).toEqual([
      expect.objectContaining({ type: 'new_request', request_id: stuck!.request_id, reason: 'broadcast' }),
    ]);
    const after = (await readBooking(table, sessionId))!;
    expect(after).toMatchObject({ state: 'open' });
    expect(await timerInput(stuck!.request_id)).toEqual({ request_id: stuck!.request_id, due_at: after.open_until });
    expect(logs.lines).toContainEqual(expect.objectContaining({ level: 'WARN', message: '[Timer] Finishing a routing an invocation left undone' }));
  });

  it("a client's retry (same Idempotency-Key) racing the routing left undone sends nothing twice; the timer finishes it", async () => {
    // Arrange
    const mechanic = await wires.addMechanic();
    const customer = newCustomerId();
    const headers = { 'Idempotency-Key': `k-${newCustomerId()}` };
    wires.failInvokes();
    expect((await intake({ concern: 'Retry me' }, customer, headers)).status).toBe(500);
    wires.clearFailures();

    // Act: the retry comes at once (the first attempt might still be routing), then the recovery deadline passes
    const retried = await intake({ concern: 'Retry me' }, customer, headers);
    const before = (await readBooking(table, retried.body.session_id))!;
    const outcome = await requestTimer({
      request_id: retried.body.request_id,
      due_at: new Date(Date.parse(before.routing_since!) + RECOVERY_DELAY_SECONDS * 1000).toISOString(),
    });

    // Assert
    expect(retried).toMatchObject({ status: 201, body: { status: 'fulfilled' } });
    expect(before.state).toBe('routing');
    expect(outcome).toEqual({ did: 'finish_routing' });
    expect(await wires.pushedTo(mechanic.connectionIds[0]!)).toEqual([expect.objectContaining({ type: 'new_request', request_id: retried.body.request_id })]);
    const booking = (await readBooking(table, retried.body.session_id))!;
    expect(booking.state).toBe('open');
    expect(await timerInput(retried.body.request_id)).toEqual({ request_id: retried.body.request_id, due_at: booking.open_until });
  });

  it('a routing to the favorite left undone: the timer pushes the offer and arms the window end', async () => {
    // Arrange: written through the store as intake leaves it before telling anyone
    const favorite = await wires.addMechanic();
    const since = iso(-5000);
    const seeded = bookingRecord({
      at: since,
      routing: 'priority',
      route_to: 'favorite',
      audience: audienceKey.mechanic(favorite.mechanicId),
      new_request_reason: null,
      metadata: { preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' },
    });
    await bookingStore(table).create(seeded);

    // Act
    const outcome = await requestTimer({ request_id: seeded.request_id, due_at: new Date(Date.parse(since) + RECOVERY_DELAY_SECONDS * 1000).toISOString() });

    // Assert
    expect(outcome).toEqual({ did: 'finish_routing' });
    expect(wires.invocations()).toEqual([]);
    const [offer] = await wires.pushedTo(favorite.connectionIds[0]!);
    expect(offer).toMatchObject({ type: 'priority_session_request', request_id: seeded.request_id, window_seconds: PRIORITY_WINDOW_SECONDS });
    const booking = (await readBooking(table, seeded.session_id))!;
    expect(booking).toMatchObject({ state: 'offered', expires_at: offer && 'expires_at' in offer ? offer.expires_at : 'missing' });
    expect(await timerInput(seeded.request_id)).toEqual({ request_id: seeded.request_id, due_at: booking.expires_at });
  });

  it('a paid booking awaiting checkout needs no timer: a firing deletes it', async () => {
    // Arrange
    const customer = newCustomerId();
    const booked = (await intake({ plan: 'paid' }, customer)).body;
    const requestId = `req-${booked.session_id}`;

    // Act
    const outcome = await requestTimer({ request_id: requestId, due_at: iso() });

    // Assert
    expect(outcome).toEqual({ did: 'nothing' });
    expect(wires.deleteScheduleCalls()).toEqual([`timer-${requestId}`]);
    expect(await readBooking(table, booked.session_id)).toMatchObject({ state: 'awaiting_checkout' });
  });
});
