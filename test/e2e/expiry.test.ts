/**
 * Expiry: an open request nobody takes expires at `open_until`
 * (`requestTtlSeconds` after it opened). The request's timer fires for it,
 * tells everyone `request_taken` (reason `expired`) and deletes itself; from
 * then on an accept is refused and a cancel is a 409. And a request that
 * ended while its timer was already waiting for the deadline: the timer does
 * nothing when the ending finished (deleted it), and repeats `request_taken`
 * (a duplicate, never to the winner) when the ending could not delete it.
 * Real HTTP, `ws` clients, the real SchedulerClient (and AWS CLI where installed).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import { awsClis } from '../support/aws-cli';
import {
  api,
  armFault,
  clearFaults,
  eventsOf,
  eventually,
  fannedOut,
  faultState,
  logLines,
  MechanicClient,
  registerMechanic,
  roundTrip,
  type SessionView,
  sessionView,
  startTestSandbox,
  timerName,
  timerOf,
} from './clients';

const TTL_SECONDS = 3;
const WINDOW_SECONDS = 2;
/** Every outcome here comes a few seconds after the booking; this much more is for a busy machine. */
const SLACK_MS = 30_000;
const clis = awsClis();

let sandbox: Sandbox;
const open: MechanicClient[] = [];

beforeAll(async () => {
  sandbox = await startTestSandbox({ flag: 'on', requestTtlSeconds: TTL_SECONDS, priorityWindowSeconds: WINDOW_SECONDS, schedulerTickMs: 50 });
});
afterAll(() => sandbox.stop());
afterEach(async () => {
  await clearFaults(sandbox);
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function mechanics(count: number): Promise<MechanicClient[]> {
  const clients = await Promise.all(Array.from({ length: count }, async () => MechanicClient.connect(sandbox, await registerMechanic(sandbox))));
  open.push(...clients);
  return clients;
}

async function book(body: Record<string, unknown> = {}): Promise<{ customer: string; session_id: string; request_id: string }> {
  const customer = `cust-${randomUUID().slice(0, 8)}`;
  const answer = await api<{ session_id: string; request_id: string }>(sandbox, 'POST', '/intake/start', {
    token: await sandbox.token({ sub: customer }),
    body: { plan: 'free', concern: `Nobody wants this ${randomUUID()}`, ...body },
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return { customer, ...answer.body };
}

const inState = (booked: { customer: string; session_id: string; request_id: string }, state: string): Promise<SessionView> =>
  eventually(
    async () => {
      const view = await sessionView(sandbox, booked.customer, booked.session_id);
      return view.request?.state === state && view;
    },
    `${booked.request_id} to be ${state}`,
    SLACK_MS,
  );

/** How often the request's timer fired, by the scheduler's own lines. */
const firings = (requestId: string): number =>
  sandbox.logs.filter((line) => line.includes(`scheduler: fired ${sandbox.scheduleGroupName}/${timerName(requestId)} `)).length;

/** Every firing of the request's timer has run to its end (the scheduler's lines against the host's finished invocations). */
const timerRunsFinished = (requestId: string, atLeast: number) =>
  eventually(
    () => {
      const fired = firings(requestId);
      const finished = sandbox.invocations().filter((i) => i.function === 'requestTimer' && i.requestId === requestId).length;
      return fired >= atLeast && finished >= fired;
    },
    `the timer of ${requestId} to have fired ${atLeast} time(s) and finished`,
    TTL_SECONDS * 1000 + SLACK_MS,
  );

describe('an open request nobody takes', () => {
  it('expires at open_until: everyone hears request_taken (expired), the request shows expired, an accept is refused, a cancel is a 409, the timer is gone', async () => {
    // Arrange
    const [first, second] = await mechanics(2);

    // Act
    const booked = await book();
    // Its deadline from the offer itself: reading the booking now would race the 3-second TTL on a busy machine.
    const offer = await first!.waitFor('new_request', booked.request_id);
    const openUntil = Date.parse(offer.expires_at as string);

    // Assert: open for the TTL, then everyone is told, not before
    for (const m of [first!, second!]) {
      const taken = await m.waitFor('request_taken', booked.request_id, TTL_SECONDS * 1000 + SLACK_MS);
      expect(taken).toEqual({ type: 'request_taken', request_id: booked.request_id, reason: 'expired' });
      expect(m.receivedAt(taken)).toBeGreaterThanOrEqual(openUntil);
    }
    const view = await inState(booked, 'expired');
    expect(view).toMatchObject({
      status: 'fulfilled',
      request: { status: 'expired', state: 'expired', routing: 'broadcast', open_until: offer.expires_at, mechanic_id: null },
    });
    expect(openUntil - Date.parse(eventsOf(view, 'broadcast_sent')[0]!.at)).toBe(TTL_SECONDS * 1000);
    expect(eventsOf(view, 'expired')).toHaveLength(1);
    expect(Date.parse(eventsOf(view, 'expired')[0]!.at)).toBeGreaterThanOrEqual(openUntil);
    expect(logLines(sandbox, '[Timer] Request expired: nobody accepted it').filter((l) => l.request_id === booked.request_id)).toHaveLength(1);
    expect(sandbox.logs.some((line) => line.startsWith('{') && (JSON.parse(line) as { RequestsExpired?: number }).RequestsExpired === 1)).toBe(true);

    // Act + Assert: too late to take or cancel
    first!.accept(booked.request_id);
    expect(await first!.waitFor('accept_result', booked.request_id)).toEqual({
      type: 'accept_result',
      request_id: booked.request_id,
      ok: false,
      reason: 'expired',
    });
    const cancel = await api(sandbox, 'POST', `/sessions/${booked.session_id}/cancel`, { token: await sandbox.token({ sub: booked.customer }) });
    expect(cancel).toEqual({ status: 409, body: { error: { code: 'request_expired', message: expect.any(String) } } });
    expect((await sessionView(sandbox, booked.customer, booked.session_id)).request!.state).toBe('expired');

    // Assert: the timer deleted itself (the SDK's ListSchedules, and the real AWS CLI where installed)
    await eventually(async () => (await timerOf(sandbox, booked.request_id)).length === 0, 'the timer to be deleted');
    for (const aws of clis) {
      const listed = await aws.run(sandbox.awsUrl, [
        'scheduler',
        'list-schedules',
        '--group-name',
        sandbox.scheduleGroupName,
        '--name-prefix',
        timerName(booked.request_id),
      ]);
      expect(listed.code, `${aws.label}: ${listed.stderr}`).toBe(0);
      expect(JSON.parse(listed.stdout), aws.label).toMatchObject({ Schedules: [] });
    }
    await fannedOut(sandbox, booked.request_id, 'request_taken', 2);
    for (const m of [first!, second!]) {
      await roundTrip(m);
      expect(m.of('request_taken', booked.request_id)).toHaveLength(1);
    }
  });

  it('a priority booking whose favorite stays silent: the window ends, it opens to everyone, then expires; the favorite and the others hear it', async () => {
    // Arrange
    const [favorite, other] = await mechanics(2);

    // Act
    const booked = await book({ preferred_mechanic_id: favorite!.mechanicId, routing_type: 'priority_broadcast' });
    await favorite!.waitFor('priority_session_request', booked.request_id);

    // Assert: fallback after the window, expiry after the TTL
    const fallback = await other!.waitFor('new_request', booked.request_id, WINDOW_SECONDS * 1000 + SLACK_MS);
    expect(fallback).toMatchObject({ reason: 'fallback' });
    for (const m of [favorite!, other!]) {
      expect(await m.waitFor('request_taken', booked.request_id, TTL_SECONDS * 1000 + SLACK_MS)).toEqual({
        type: 'request_taken',
        request_id: booked.request_id,
        reason: 'expired',
      });
    }
    const view = await inState(booked, 'expired');
    expect(view.request!.events.map((e) => e.type)).toEqual(['created', 'priority_offer_sent', 'fallback_started', 'broadcast_sent', 'expired']);
    expect(Date.parse(view.request!.open_until!)).toBeGreaterThanOrEqual(Date.parse(view.request!.expires_at!) + TTL_SECONDS * 1000);
    await eventually(async () => (await timerOf(sandbox, booked.request_id)).length === 0, 'the timer to be deleted');
  });
});

describe('a request that ended while its timer was already waiting for the deadline', () => {
  it('accepted: the waiting timer finds the ending finished (its schedule deleted) and does nothing; the others hear request_taken once, the winner never', async () => {
    // Arrange: the timer fires at once (set a minute before a 3-second deadline) and waits inside its invocation
    const [winner, loser] = await mechanics(2);
    const booked = await book();
    await loser!.waitFor('new_request', booked.request_id);
    await eventually(() => firings(booked.request_id) > 0, 'the timer to fire and wait for open_until');

    // Act
    winner!.accept(booked.request_id);

    // Assert
    expect(await winner!.waitFor('accept_result', booked.request_id)).toMatchObject({ ok: true });
    expect(await loser!.waitFor('request_taken', booked.request_id)).toEqual({ type: 'request_taken', request_id: booked.request_id, reason: 'accepted' });
    expect(await timerOf(sandbox, booked.request_id)).toEqual([]);
    await timerRunsFinished(booked.request_id, 1);
    expect(logLines(sandbox, '[Timer] Request ended and its ending finished; nothing to do').filter((l) => l.request_id === booked.request_id)).toHaveLength(1);
    expect(logLines(sandbox, '[Timer] Request ended; repeating request_taken').filter((l) => l.request_id === booked.request_id)).toEqual([]);
    await fannedOut(sandbox, booked.request_id, 'request_taken', 1);
    await roundTrip(loser!);
    await roundTrip(winner!);
    expect(loser!.of('request_taken', booked.request_id)).toHaveLength(1);
    expect(winner!.of('request_taken', booked.request_id)).toEqual([]);
    const view = await sessionView(sandbox, booked.customer, booked.session_id);
    expect(view.request).toMatchObject({ state: 'matched', mechanic_id: winner!.mechanicId });
    expect(eventsOf(view, 'expired')).toEqual([]);
  });

  it('the winner of a priority offer is never told request_taken about their own win, even when the timer was already waiting', async () => {
    // Arrange: the favorite's offer; its timer fires at once and waits for expires_at
    const [favorite] = await mechanics(1);
    const booked = await book({ preferred_mechanic_id: favorite!.mechanicId, routing_type: 'priority_broadcast' });
    await favorite!.waitFor('priority_session_request', booked.request_id);
    await eventually(() => firings(booked.request_id) > 0, 'the timer to fire and wait for expires_at');

    // Act
    favorite!.accept(booked.request_id);
    expect(await favorite!.waitFor('accept_result', booked.request_id)).toMatchObject({ ok: true });
    await timerRunsFinished(booked.request_id, 1);

    // Assert
    await roundTrip(favorite!);
    expect(favorite!.of('request_taken', booked.request_id)).toEqual([]);
  });

  it('an ending that could not delete the timer: the timer repeats request_taken to the others (a duplicate, same reason), then deletes itself', async () => {
    // Arrange: the accept's DeleteSchedule fails once, with an error the SDK does not retry
    const [winner, loser] = await mechanics(2);
    const booked = await book();
    await loser!.waitFor('new_request', booked.request_id);
    await armFault(sandbox, { service: 'scheduler', operation: 'DeleteSchedule', error: 'ValidationException', times: 1 });

    // Act
    winner!.accept(booked.request_id);

    // Assert: the accept told the others, but its timer stayed
    expect(await winner!.waitFor('accept_result', booked.request_id)).toMatchObject({ ok: true });
    expect(await loser!.waitFor('request_taken', booked.request_id)).toMatchObject({ reason: 'accepted' });
    await eventually(
      () => logLines(sandbox, 'Could not delete the timer').some((l) => l.request_id === booked.request_id),
      "the accept's failed DeleteSchedule to be logged",
    );
    expect((await faultState(sandbox)).faults).toEqual([]);
    // Assert: at open_until the timer, still set, repeats request_taken and deletes itself
    await eventually(async () => (await timerOf(sandbox, booked.request_id)).length === 0, 'the timer to delete itself', TTL_SECONDS * 1000 + SLACK_MS);
    await timerRunsFinished(booked.request_id, 1);
    expect(logLines(sandbox, '[Timer] Request ended; repeating request_taken').filter((l) => l.request_id === booked.request_id)).toHaveLength(1);
    await fannedOut(sandbox, booked.request_id, 'request_taken', 2);
    await roundTrip(loser!);
    await roundTrip(winner!);
    expect(loser!.of('request_taken', booked.request_id).map((m) => m.reason)).toEqual(['accepted', 'accepted']);
    // The timer does not know which of the winner's connections accepted: all of them hear it was theirs.
    expect(winner!.of('request_taken', booked.request_id)).toEqual([
      { type: 'request_taken', request_id: booked.request_id, reason: 'accepted', by_you: true },
    ]);
    expect((await sessionView(sandbox, booked.customer, booked.session_id)).request).toMatchObject({ state: 'matched' });
  });
});
