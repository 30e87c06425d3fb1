/**
 * The priority window ends on time under EventBridge Scheduler's real
 * precision. Scheduler runs an `at(T)` schedule at a random moment of T's
 * minute (the sandbox's `schedulerPrecision: 'aws'`), so up to 59 s after T;
 * the app therefore sets the request's timer a minute before `expires_at`, and
 * the timer function, fired early, waits inside its invocation for the
 * deadline. Measured for several bookings at once: the window ends (the
 * timer's write that starts the broadcast) never early, and from the outside,
 * the moment another mechanic receives the fallback `new_request`, minus the
 * `expires_at` the favorite was offered, is never early either.
 *
 * How late is a timing, and a loaded machine changes timings, never results:
 * issue #8's "at most a second late" is a goal of the bench (`npm run bench`,
 * the fallback figure, beside its floor), and here it is printed. What this
 * test bounds is lateness Scheduler's minute would cause: a timer left to fire
 * anywhere in its minute ends a window 0–59 s late, within 20 s one time in
 * three, so ten windows all within 20 s of their deadline (by chance: once in
 * 59,000 runs) mean the wait did its work. Measured: 7–20 ms idle; up to 3 s
 * at a load average of 8 (three test files and two busy loops on 2 cores).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import { api, eventsOf, eventually, fannedOut, logLines, MechanicClient, registerMechanic, sessionView, startTestSandbox, timerSchedule } from './clients';

/** Over Scheduler's minute, so the timer (set 60 s before expires_at) is set in the future: the path AWS takes for real windows. */
const WINDOW_SECONDS = 70;
const BOOKINGS = 10;
/** Bookings start this far apart, so each window ends in its own second and the fallbacks do not queue behind one another. */
const STAGGER_MS = 1_000;
/** The window ends (the broadcast starts) at most this long after `expires_at`: a third of Scheduler's minute. */
const MAX_LATE_MS = 20_000;
/** A mechanic receives the fallback at most this long after `expires_at`: the window end plus a fan-out on a loaded machine. */
const MAX_RECEIVED_LATE_MS = 30_000;

let sandbox: Sandbox;
const clients: MechanicClient[] = [];

beforeAll(async () => {
  sandbox = await startTestSandbox({ schedulerPrecision: 'aws', flag: 'on', priorityWindowSeconds: WINDOW_SECONDS, schedulerTickMs: 10 });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sandbox.stop();
});

interface Measured {
  requestId: string;
  expiresAt: number;
  /** When the schedule was set to fire (`at(...)`), and when the offer arrived. */
  scheduledAt: number;
  offeredAt: number;
  /** Fallback `new_request` received by the other mechanic, minus expires_at. */
  lateMs: number;
  /** The timer function's own measure: when it ended the window, minus expires_at. */
  serverLateMs: number;
}

const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { min: sorted[0]!, median, max: sorted.at(-1)! };
};

it(`${BOOKINGS} priority windows at once under AWS precision: each window ends no earlier than expires_at and at most ${MAX_LATE_MS} ms after; the fallback reaches another mechanic after it`, async () => {
  // Arrange: a favorite who never answers, and a mechanic who only listens
  const [favorite, other] = await Promise.all(
    [0, 1].map(async () => {
      const client = await MechanicClient.connect(sandbox, await registerMechanic(sandbox));
      clients.push(client);
      return client;
    }),
  );

  // Arrange: a warm system — one broadcast first, so the fan-out's containers (one per connection shard) have started
  const warmUp = await api<{ request_id: string }>(sandbox, 'POST', '/intake/start', {
    token: await sandbox.token({ sub: `cust-${randomUUID().slice(0, 8)}` }),
    body: { plan: 'free', concern: 'Warm-up' },
  });
  expect(warmUp.status).toBe(201);
  await other!.waitFor('new_request', warmUp.body.request_id);
  await fannedOut(sandbox, warmUp.body.request_id, 'new_request', 2);

  // Act: the bookings, side by side
  const measured = await Promise.all(
    Array.from({ length: BOOKINGS }, async (_, i): Promise<Measured> => {
      await new Promise((resolve) => setTimeout(resolve, i * STAGGER_MS));
      const customer = `cust-${randomUUID().slice(0, 8)}`;
      const booked = await api<{ session_id: string; request_id: string }>(sandbox, 'POST', '/intake/start', {
        token: await sandbox.token({ sub: customer }),
        body: { plan: 'free', concern: `Punctuality ${i}`, preferred_mechanic_id: favorite!.mechanicId, routing_type: 'priority_broadcast' },
      });
      expect(booked.status, JSON.stringify(booked.body)).toBe(201);
      const requestId = booked.body.request_id;
      const offer = await favorite!.waitFor('priority_session_request', requestId);
      const offeredAt = favorite!.receivedAt(offer);
      const expiresAt = Date.parse(String(offer.expires_at));
      const timer = await timerSchedule(sandbox, requestId);
      const fallback = await other!.waitFor('new_request', requestId, expiresAt - Date.now() + 60_000);
      expect(fallback).toMatchObject({ reason: 'fallback' });
      const ended = await eventually(
        () => logLines(sandbox, '[Fallback] Priority window over').find((l) => l.request_id === requestId),
        `the window end of ${requestId} to be logged`,
      );
      const view = await sessionView(sandbox, customer, booked.body.session_id);
      expect(Date.parse(eventsOf(view, 'fallback_started')[0]!.at)).toBeGreaterThanOrEqual(expiresAt);
      expect(timer.dueAt).toBe(expiresAt);
      return {
        requestId,
        expiresAt,
        scheduledAt: timer.at,
        offeredAt,
        lateMs: other!.receivedAt(fallback) - expiresAt,
        serverLateMs: Number(ended.late_ms),
      };
    }),
  );

  // Assert: the timer was set a minute early, in the future; the fallback arrived on time
  const late = stats(measured.map((m) => m.lateMs));
  const serverLate = stats(measured.map((m) => m.serverLateMs));
  console.log(
    `[punctuality] scheduler precision aws, window ${WINDOW_SECONDS} s, ${BOOKINGS} bookings ${STAGGER_MS} ms apart: ` +
      `fallback new_request received − expires_at: min ${late.min} ms, median ${late.median} ms, max ${late.max} ms ` +
      `(window ended by the timer − expires_at: min ${serverLate.min} ms, median ${serverLate.median} ms, max ${serverLate.max} ms)`,
  );
  for (const m of measured) {
    expect(m.scheduledAt, `${m.requestId}: the timer is set a minute before the window's end`).toBe(m.expiresAt - 60_000);
    expect(m.scheduledAt, `${m.requestId}: … which was still ahead when the offer went out`).toBeGreaterThan(m.offeredAt);
    expect(m.serverLateMs, `${m.requestId}: the window ended no earlier than expires_at`).toBeGreaterThanOrEqual(0);
    expect(m.serverLateMs, `${m.requestId}: … and at most ${MAX_LATE_MS} ms after`).toBeLessThanOrEqual(MAX_LATE_MS);
    expect(m.lateMs, `${m.requestId}: no mechanic heard of it before the window ended`).toBeGreaterThanOrEqual(0);
    expect(m.lateMs, `${m.requestId}: received at most ${MAX_RECEIVED_LATE_MS} ms after`).toBeLessThanOrEqual(MAX_RECEIVED_LATE_MS);
  }
}, 240_000);
