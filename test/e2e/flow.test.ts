/**
 * The seed's scenarios end to end: a started sandbox, real `ws` mechanic
 * clients, real HTTP calls, a 2-second priority window that really expires
 * and the request's timer schedule that really fires. Messages to everyone
 * (or a workshop) go out through asynchronous fan-out invocations, after the
 * call that caused them answered. Polls, never fixed sleeps for outcomes.
 */
import { randomUUID } from 'node:crypto';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import {
  api,
  eventsOf,
  eventually,
  fannedOut,
  logLines,
  MechanicClient,
  roundTrip,
  sessionView,
  startTestSandbox,
  timerName,
  timerOf,
  timerSchedule,
} from './clients';

/** A window a test waits out: short, so the fallback comes soon. */
const LAPSING_WINDOW_SECONDS = 2;
/** A window that must not end during a test, however busy the machine: the favorite acts, or the booking fails over, inside it. */
const OPEN_WINDOW_SECONDS = 300;
const FLAG_TTL_SECONDS = 1;
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

const open: MechanicClient[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function start(flag: 'on' | 'off', priorityWindowSeconds = OPEN_WINDOW_SECONDS): Promise<Sandbox> {
  return startTestSandbox({
    flag,
    priorityWindowSeconds,
    flagCacheTtlSeconds: FLAG_TTL_SECONDS,
    schedulerTickMs: 50,
  });
}

/** A new mechanic through the admin route, connected over a real WebSocket (or not). */
async function mechanic(
  sandbox: Sandbox,
  options: { status?: string; workshop_id?: string; connect?: boolean } = {},
): Promise<{ id: string; client?: MechanicClient }> {
  const id = `mech-${randomUUID().slice(0, 8)}`;
  const admin = await sandbox.token({ sub: 'ops', scope: 'admin' });
  const put = await api(sandbox, 'PUT', `/mechanics/${id}`, {
    token: admin,
    body: { status: options.status ?? 'approved', name: id, workshop_id: options.workshop_id },
  });
  expect(put.status).toBe(200);
  if (options.connect === false) return { id };
  const client = await MechanicClient.connect(sandbox, id);
  open.push(client);
  return { id, client };
}

async function book(sandbox: Sandbox, body: Record<string, unknown>): Promise<{ customer: string; session_id: string; request_id: string }> {
  const customer = `cust-${randomUUID().slice(0, 8)}`;
  const answer = await api<{ session_id: string; request_id: string; status: string }>(sandbox, 'POST', '/intake/start', {
    token: await sandbox.token({ sub: customer }),
    body: { plan: 'free', concern: 'Grinding noise when braking', vehicle: { make: 'Mazda', model: '3', year: 2020 }, ...body },
  });
  expect(answer.status).toBe(201);
  expect(answer.body.status).toBe('fulfilled');
  return { customer, ...answer.body };
}

/** The customer's view; its request exists once routing began. */
async function session(sandbox: Sandbox, customer: string, sessionId: string) {
  const view = await sessionView(sandbox, customer, sessionId);
  expect(view.request).not.toBeNull();
  return view as typeof view & { request: NonNullable<typeof view.request> };
}

/** Polls the view until the request is in `state`. */
const inState = (sandbox: Sandbox, booked: { customer: string; session_id: string; request_id: string }, state: string) =>
  eventually(async () => {
    const view = await session(sandbox, booked.customer, booked.session_id);
    return view.request.state === state && view;
  }, `${booked.request_id} to be ${state}`);

/** The request's timer waits for the expiry of the open request (its `due_at` is `open_until`). */
const timerWaitsForExpiry = (sandbox: Sandbox, requestId: string, openUntil: string | null) =>
  eventually(async () => (await timerSchedule(sandbox, requestId)).input.due_at === openUntil, `the timer of ${requestId} to wait for ${openUntil}`);

const forRequest = (sandbox: Sandbox, prefix: string, requestId: string) => logLines(sandbox, prefix).filter((line) => line.request_id === requestId);

describe('flag off', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await start('off');
  });
  afterAll(() => sandbox.stop());

  it('seed scenario 1: a priority booking is broadcast at once and no priority code runs', async () => {
    // Arrange
    const favorite = await mechanic(sandbox);
    const other = await mechanic(sandbox);
    const priorityLinesBefore = logLines(sandbox, '[Priority]').length;

    // Act
    const booked = await book(sandbox, { preferred_mechanic_id: favorite.id, routing_type: 'priority_broadcast' });

    // Assert
    expect(await favorite.client!.waitFor('new_request', booked.request_id)).toMatchObject({ reason: 'broadcast' });
    expect(await other.client!.waitFor('new_request', booked.request_id)).toMatchObject({ reason: 'broadcast' });
    expect(favorite.client!.of('priority_session_request')).toEqual([]);
    expect(logLines(sandbox, '[Priority]')).toHaveLength(priorityLinesBefore);
    expect(forRequest(sandbox, '[fulfillment] Broadcast routing to all mechanics', booked.request_id)).toHaveLength(1);
    const view = await session(sandbox, booked.customer, booked.session_id);
    expect(view.request).toMatchObject({ routing: 'broadcast', status: 'pending', state: 'open', expires_at: null, open_until: expect.any(String) });
    expect(eventsOf(view, 'priority_offer_sent')).toEqual([]);
    expect(eventsOf(view, 'broadcast_sent')).toEqual([expect.objectContaining({ reason: 'broadcast', open_until: view.request.open_until })]);
    // Its one timer waits for the expiry of the open request; there is no priority window to end.
    expect(await timerOf(sandbox, booked.request_id)).toEqual([timerName(booked.request_id)]);
    expect((await timerSchedule(sandbox, booked.request_id)).input).toEqual({ request_id: booked.request_id, due_at: view.request.open_until });
  });

  it('cancel of an open broadcast: every mechanic hears request_taken (cancelled) and the timer is deleted', async () => {
    // Arrange
    const mechanics = [await mechanic(sandbox), await mechanic(sandbox)];
    const booked = await book(sandbox, {});
    for (const m of mechanics) await m.client!.waitFor('new_request', booked.request_id);

    // Act
    const cancelled = await api(sandbox, 'POST', `/sessions/${booked.session_id}/cancel`, { token: await sandbox.token({ sub: booked.customer }) });

    // Assert
    expect(cancelled).toEqual({ status: 200, body: { session_id: booked.session_id, status: 'cancelled' } });
    for (const m of mechanics) {
      expect(await m.client!.waitFor('request_taken', booked.request_id)).toEqual({
        type: 'request_taken',
        request_id: booked.request_id,
        reason: 'cancelled',
      });
    }
    expect(await timerOf(sandbox, booked.request_id)).toEqual([]);
    expect((await session(sandbox, booked.customer, booked.session_id)).request).toMatchObject({ status: 'cancelled', state: 'cancelled' });
  });

  it('seed scenario 5: a booking without a favorite is broadcast', async () => {
    const listener = await mechanic(sandbox);

    const booked = await book(sandbox, {});

    expect(await listener.client!.waitFor('new_request', booked.request_id)).toMatchObject({ reason: 'broadcast', concern: 'Grinding noise when braking' });
  });

  it('the flag flipped on through SSM takes effect within the cache TTL, no restart', async () => {
    // Arrange
    const favorite = await mechanic(sandbox);
    const before = await book(sandbox, { preferred_mechanic_id: favorite.id, routing_type: 'priority_broadcast' });
    await favorite.client!.waitFor('new_request', before.request_id);

    // Act: ops flip the flag with the real SDK, exactly as `aws ssm put-parameter` does
    const ssm = new SSMClient({ endpoint: sandbox.awsUrl, region: 'us-east-1', credentials });
    await ssm.send(new PutParameterCommand({ Name: sandbox.flagParameterName, Value: 'true', Overwrite: true, Type: 'String' }));
    await new Promise((resolve) => setTimeout(resolve, FLAG_TTL_SECONDS * 1000 + 100)); // the TTL is the contract being tested
    const after = await book(sandbox, { preferred_mechanic_id: favorite.id, routing_type: 'priority_broadcast' });

    // Assert
    // The booking made right after the TTL got the priority offer: that is the claim. How long the offer took to arrive is the machine's business.
    expect(await favorite.client!.waitFor('priority_session_request', after.request_id)).toMatchObject({ window_seconds: OPEN_WINDOW_SECONDS });
    await ssm.send(new PutParameterCommand({ Name: sandbox.flagParameterName, Value: 'false', Overwrite: true, Type: 'String' }));
  });
});

describe('flag on', () => {
  let sandbox: Sandbox;
  /** Its windows end during the test (seed scenario 3). */
  let lapsing: Sandbox;
  beforeAll(async () => {
    [sandbox, lapsing] = await Promise.all([start('on'), start('on', LAPSING_WINDOW_SECONDS)]);
  });
  afterAll(() => Promise.all([sandbox.stop(), lapsing.stop()]));

  it('seed scenario 2: the favorite alone gets the offer and wins inside the window; no fallback follows', async () => {
    // Arrange
    const favorite = await mechanic(sandbox);
    const other = await mechanic(sandbox);

    // Act
    const booked = await book(sandbox, { preferred_mechanic_id: favorite.id, routing_type: 'priority_broadcast' });
    const offer = await favorite.client!.waitFor('priority_session_request', booked.request_id);
    other.client!.accept(booked.request_id);
    const refused = await other.client!.waitFor('accept_result', booked.request_id);
    favorite.client!.accept(booked.request_id);
    const won = await favorite.client!.waitFor('accept_result', booked.request_id);

    // Assert
    expect(Date.parse(String(offer.expires_at)) - Date.now()).toBeGreaterThan(0);
    expect(refused).toEqual({ type: 'accept_result', request_id: booked.request_id, ok: false, reason: 'priority_window' });
    expect(won).toEqual({ type: 'accept_result', request_id: booked.request_id, ok: true });
    expect(other.client!.of('new_request')).toEqual([]);
    await eventually(async () => (await timerOf(sandbox, booked.request_id)).length === 0, 'the timer to be deleted on match');
    const view = await session(sandbox, booked.customer, booked.session_id);
    expect(view.request).toMatchObject({ status: 'matched', state: 'matched', routing: 'priority', mechanic_id: favorite.id, expires_at: offer.expires_at });
    expect(view.request.metadata).toMatchObject({ priority_mechanic_id: favorite.id, priority_notified_at: expect.any(String) });
    expect(view.request.metadata.fallback_broadcast_at).toBeUndefined();
  });

  it('seed scenario 3: the window expires, the timer fires, the fallback reaches everyone once', async () => {
    // Arrange
    const favorite = await mechanic(lapsing);
    const other = await mechanic(lapsing);

    // Act
    const booked = await book(lapsing, { preferred_mechanic_id: favorite.id, routing_type: 'priority_broadcast' });
    const offer = await favorite.client!.waitFor('priority_session_request', booked.request_id);
    expect((await timerSchedule(lapsing, booked.request_id)).input).toEqual({ request_id: booked.request_id, due_at: offer.expires_at });
    const fallback = await other.client!.waitFor('new_request', booked.request_id, (LAPSING_WINDOW_SECONDS + 30) * 1000);

    // Assert: never before the window ended
    expect(fallback).toMatchObject({ reason: 'fallback' });
    expect(other.client!.receivedAt(fallback)).toBeGreaterThanOrEqual(Date.parse(String(offer.expires_at)));
    expect(await favorite.client!.waitFor('new_request', booked.request_id)).toMatchObject({ reason: 'fallback' });
    await fannedOut(lapsing, booked.request_id, 'new_request', 2);
    await roundTrip(other.client!);
    expect(other.client!.of('new_request', booked.request_id)).toHaveLength(1);
    expect(forRequest(lapsing, '[Fallback]', booked.request_id).map((l) => l.message)).toEqual([
      '[Fallback] Priority window over, broadcasting to all mechanics',
    ]);
    const view = await inState(lapsing, booked, 'open');
    expect(view.request.metadata).toMatchObject({ fallback_reason: 'preferred_mechanic_no_response', fallback_broadcast_at: expect.any(String) });
    expect(eventsOf(view, 'fallback_started')).toEqual([expect.objectContaining({ reason: 'preferred_mechanic_no_response' })]);
    expect(eventsOf(view, 'broadcast_sent')).toEqual([expect.objectContaining({ reason: 'fallback' })]);
    expect(Date.parse(view.request.metadata.fallback_broadcast_at as string)).toBeGreaterThanOrEqual(Date.parse(String(offer.expires_at)));
    // The same timer now waits for the open request's expiry.
    await timerWaitsForExpiry(lapsing, booked.request_id, view.request.open_until);

    // Act + Assert: now anyone may take it; the others hear it is taken
    other.client!.accept(booked.request_id);
    expect(await other.client!.waitFor('accept_result', booked.request_id)).toMatchObject({ ok: true });
    expect(await favorite.client!.waitFor('request_taken', booked.request_id)).toEqual({
      type: 'request_taken',
      request_id: booked.request_id,
      reason: 'accepted',
    });
    await eventually(async () => (await timerOf(lapsing, booked.request_id)).length === 0, 'the timer to be deleted on match');
  });

  it.each([
    ['unknown', 'mechanic_unknown', async (_sandbox: Sandbox) => ({ id: `mech-missing-${randomUUID().slice(0, 6)}` })],
    ['unapproved', 'mechanic_not_approved', async (sandbox: Sandbox) => mechanic(sandbox, { status: 'pending', connect: false })],
    ['offline', 'mechanic_offline', async (sandbox: Sandbox) => mechanic(sandbox, { connect: false })],
  ])('seed scenario 4: an %s favorite → immediate broadcast with reason priority_failed', async (_kind, why, favoriteOf) => {
    // Arrange
    const favorite = await favoriteOf(sandbox);
    const other = await mechanic(sandbox);
    // Act
    const booked = await book(sandbox, { preferred_mechanic_id: favorite.id, routing_type: 'priority_broadcast' });

    // Assert: at once, not after the window
    // The reason names the immediate path; a broadcast that waited for the window (OPEN_WINDOW_SECONDS) would never arrive within this wait.
    expect(await other.client!.waitFor('new_request', booked.request_id)).toMatchObject({ reason: 'priority_failed' });
    const view = await session(sandbox, booked.customer, booked.session_id);
    expect(view.request).toMatchObject({ routing: 'priority', state: 'open', expires_at: null, metadata: { fallback_reason: 'priority_failed' } });
    expect(eventsOf(view, 'priority_failed')).toEqual([expect.objectContaining({ mechanic_id: favorite.id, why })]);
    expect(eventsOf(view, 'priority_offer_sent')).toEqual([]);
    expect(eventsOf(view, 'broadcast_sent')).toEqual([expect.objectContaining({ reason: 'priority_failed' })]);
    // No window to end: the timer waits for the open request's expiry.
    expect((await timerSchedule(sandbox, booked.request_id)).input.due_at).toBe(view.request.open_until);
    expect(forRequest(sandbox, '[Priority]', booked.request_id).some((l) => l.level === 'WARN')).toBe(true);
  });

  it("the favorite's decline ends the window at once", async () => {
    // Arrange
    const favorite = await mechanic(sandbox);
    const other = await mechanic(sandbox);
    const booked = await book(sandbox, { preferred_mechanic_id: favorite.id, routing_type: 'priority_broadcast' });
    await favorite.client!.waitFor('priority_session_request', booked.request_id);

    // Act
    favorite.client!.decline(booked.request_id);

    // Assert
    // As above: the window is far longer than this wait, so only the decline can have opened the request.
    expect(await other.client!.waitFor('new_request', booked.request_id)).toMatchObject({ reason: 'priority_declined' });
    const view = await inState(sandbox, booked, 'open');
    expect(view.request.metadata).toMatchObject({ fallback_reason: 'preferred_mechanic_declined' });
    expect(eventsOf(view, 'declined')).toEqual([expect.objectContaining({ mechanic_id: favorite.id })]);
    expect(eventsOf(view, 'broadcast_sent')).toEqual([expect.objectContaining({ reason: 'priority_declined' })]);
    // The window's end is no longer awaited: the timer moved to the open request's expiry.
    await timerWaitsForExpiry(sandbox, booked.request_id, view.request.open_until);
  });

  it('workshop routing reaches only the workshop, even with a favorite', async () => {
    const workshop = `ws-${randomUUID().slice(0, 6)}`;
    const inWorkshop = await mechanic(sandbox, { workshop_id: workshop });
    const favorite = await mechanic(sandbox);

    const booked = await book(sandbox, { workshop_id: workshop, preferred_mechanic_id: favorite.id, routing_type: 'priority_broadcast' });

    expect(await inWorkshop.client!.waitFor('new_request', booked.request_id)).toMatchObject({ reason: 'workshop' });
    // The workshop's fan-out is done (it pushed to its one mechanic); anything it sent the favorite has arrived after a round trip.
    const [delivered] = await fannedOut(sandbox, booked.request_id, 'new_request', 1);
    expect(delivered).toMatchObject({ audience: { kind: 'workshop', workshopId: workshop }, delivered: 1 });
    await roundTrip(favorite.client!);
    expect(favorite.client!.messages.filter((m) => m.request_id === booked.request_id)).toEqual([]);
    const view = await session(sandbox, booked.customer, booked.session_id);
    expect(view.request).toMatchObject({ routing: 'workshop', state: 'open' });
    expect(eventsOf(view, 'workshop_sent')).toEqual([expect.objectContaining({ reason: 'workshop' })]);
  });

  it('20 mechanics accepting at the same moment → exactly one ok', async () => {
    // Arrange: the favorite declines so the request is open to all 20
    const favorite = await mechanic(sandbox);
    const crowd = await Promise.all(Array.from({ length: 20 }, () => mechanic(sandbox)));
    const booked = await book(sandbox, { preferred_mechanic_id: favorite.id, routing_type: 'priority_broadcast' });
    await favorite.client!.waitFor('priority_session_request', booked.request_id);
    favorite.client!.decline(booked.request_id);
    await Promise.all(crowd.map((m) => m.client!.waitFor('new_request', booked.request_id)));

    // Act
    for (const m of crowd) m.client!.accept(booked.request_id);
    const results = await Promise.all(crowd.map((m) => m.client!.waitFor('accept_result', booked.request_id)));

    // Assert
    const winners = results.filter((r) => r.ok === true);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.ok === false && r.reason === 'already_matched')).toHaveLength(19);
    const winner = crowd[results.indexOf(winners[0]!)]!;
    expect((await session(sandbox, booked.customer, booked.session_id)).request).toMatchObject({ status: 'matched', mechanic_id: winner.id });
    const taken = await Promise.all(crowd.filter((m) => m !== winner).map((m) => m.client!.waitFor('request_taken', booked.request_id)));
    expect(new Set(taken.map((t) => t.reason))).toEqual(new Set(['accepted']));
    // Everyone but the winner's connection: the 19 others and the favorite who declined.
    await fannedOut(sandbox, booked.request_id, 'request_taken', 20);
    await roundTrip(winner.client!);
    expect(winner.client!.of('request_taken')).toEqual([]);
  });

  it('cancel: the offered favorite is told and the timer is deleted, so no fallback follows', async () => {
    const favorite = await mechanic(sandbox);
    const other = await mechanic(sandbox);
    const booked = await book(sandbox, { preferred_mechanic_id: favorite.id, routing_type: 'priority_broadcast' });
    await favorite.client!.waitFor('priority_session_request', booked.request_id);

    const cancelled = await api(sandbox, 'POST', `/sessions/${booked.session_id}/cancel`, { token: await sandbox.token({ sub: booked.customer }) });

    expect(cancelled).toEqual({ status: 200, body: { session_id: booked.session_id, status: 'cancelled' } });
    expect(await favorite.client!.waitFor('request_taken', booked.request_id)).toEqual({
      type: 'request_taken',
      request_id: booked.request_id,
      reason: 'cancelled',
    });
    expect(await timerOf(sandbox, booked.request_id)).toEqual([]);
    const view = await session(sandbox, booked.customer, booked.session_id);
    expect(view.status).toBe('cancelled');
    expect(view.request).toMatchObject({ status: 'cancelled', state: 'cancelled' });
    expect(eventsOf(view, 'cancelled')).toHaveLength(1);
    expect(other.client!.of('new_request', booked.request_id)).toEqual([]);
  });
});
