/**
 * Properties: whatever the interleaving of accepts, declines, a cancel, the
 * window end and the expiry, the booking's conditional writes keep the
 * lifecycle table (lambdas/domain/lifecycle.ts) — exactly one of the
 * conflicting transitions wins, every transition applied was allowed (its
 * guard held) in the state it was applied to, a refused one was refusable, the
 * final state is what the table makes of the applied ones, and a booking is
 * never matched and cancelled, nor won by anyone outside its audience.
 *
 * Real DynamoDB semantics (dynalite, real conditional writes). The first
 * property drives the store's transitions directly; the second the use cases
 * (accept, decline, cancel, the timer) on a priority booking, with the push,
 * fan-out and timer sides as small in-memory recorders, since what is under
 * test is the decision, and there are many runs.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DynamoDbBookingStore } from '../../lambdas/adapters/dynamodb-booking-store';
import { DynamoDbConnectionStore } from '../../lambdas/adapters/dynamodb-connection-store';
import { DynamoDbMechanicStore } from '../../lambdas/adapters/dynamodb-mechanic-store';
import { DynamoDbOpenBookings } from '../../lambdas/adapters/dynamodb-open-bookings';
import { DynamoDbTicketStore } from '../../lambdas/adapters/dynamodb-ticket-store';
import type { Booking } from '../../lambdas/domain/booking';
import { AppError } from '../../lambdas/domain/errors';
import {
  audienceKey,
  type BookingState,
  type GuardContext,
  guardHolds,
  isTerminal,
  type LifecycleEvent,
  nextDeadline,
  TRANSITIONS,
} from '../../lambdas/domain/lifecycle';
import type { Exclusion, TransitionChanges } from '../../lambdas/ports';
import { acceptRequest } from '../../lambdas/use-cases/accept-request';
import { cancelBooking, startIntake } from '../../lambdas/use-cases/booking';
import { declineRequest } from '../../lambdas/use-cases/decline-request';
import type { Deps } from '../../lambdas/use-cases/deps';
import { onTimer } from '../../lambdas/use-cases/request-timer';
import { bookingRecord } from '../support/deps';
import { ManualClock, RecordingFanOut, RecordingLogger, RecordingMetrics, RecordingPusher, RecordingTimer, SettableFlag } from '../support/in-memory-ports';
import { createTestTable } from '../support/table';

const MECHANICS = ['favorite', 'm1', 'm2'] as const;
type Who = (typeof MECHANICS)[number];

// ---- the store's transitions ----------------------------------------------------------------------

type StoreOp = { kind: 'accept'; who: Who } | { kind: 'decline'; who: 'favorite' | 'm1' } | { kind: 'cancel' } | { kind: 'window_end' } | { kind: 'expire' };

const storeOp: fc.Arbitrary<StoreOp> = fc.oneof(
  fc.record({ kind: fc.constant('accept' as const), who: fc.constantFrom(...MECHANICS) }),
  fc.record({ kind: fc.constant('decline' as const), who: fc.constantFrom('favorite' as const, 'm1' as const) }),
  fc.constant({ kind: 'cancel' as const }),
  fc.constant({ kind: 'window_end' as const }),
  fc.constant({ kind: 'expire' as const }),
);

/** Where the booking starts: its state, and whether each deadline has passed at the moment the operations run. */
const start = fc.record({
  state: fc.constantFrom<BookingState>('awaiting_checkout', 'routing', 'offered', 'open'),
  windowOver: fc.boolean(),
  expired: fc.boolean(),
});

/** Batches run one after another; the operations inside a batch start at the same moment. */
const storeInterleaving = fc.array(fc.array(storeOp, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 });

const T0 = '2026-11-24T12:00:00.000Z';
const NOW = '2026-11-24T12:20:00.000Z';
const PAST = '2026-11-24T12:10:00.000Z';
const FUTURE = '2026-11-24T12:30:00.000Z';

const EVENT_OF: Record<StoreOp['kind'], LifecycleEvent> = {
  accept: 'accepted',
  decline: 'declined',
  cancel: 'cancelled',
  window_end: 'window_ended',
  expire: 'expired',
};

/** What each operation asks the store, as the use case that applies it does. */
function transitionInput(op: StoreOp, id: string, ids: Record<Who, string>) {
  const actor = 'who' in op ? { mechanicId: ids[op.who], workshopId: null } : undefined;
  const toEveryone: TransitionChanges = { route_to: 'everyone', audience: audienceKey.everyone, new_request_reason: 'fallback', routing_since: NOW };
  const changes: TransitionChanges =
    op.kind === 'accept' ? { mechanic_id: actor!.mechanicId } : op.kind === 'decline' || op.kind === 'window_end' ? toEveryone : {};
  return { now: NOW, changes, audit: { at: NOW, type: EVENT_OF[op.kind], op: id }, ...(actor ? { guard: { actor } } : {}) };
}

/** The fields a guard reads, after a transition the table applied. */
function applied(model: Booking, op: StoreOp, input: ReturnType<typeof transitionInput>): Booking {
  const { request_metadata: _metadata, ...changes } = input.changes;
  return { ...model, ...changes, state: TRANSITIONS[EVENT_OF[op.kind]].to };
}

function seed(state: BookingState, ids: Record<Who, string>, deadlines: { windowOver: boolean; expired: boolean }): Booking {
  const toFavorite = state === 'routing' || state === 'offered';
  return bookingRecord({
    at: T0,
    plan: state === 'awaiting_checkout' ? 'paid' : 'free',
    state,
    routing: state === 'awaiting_checkout' ? null : 'priority',
    route_to: state === 'awaiting_checkout' ? null : toFavorite ? 'favorite' : 'everyone',
    audience: state === 'awaiting_checkout' ? null : toFavorite ? audienceKey.mechanic(ids.favorite) : audienceKey.everyone,
    new_request_reason: toFavorite ? null : 'broadcast',
    routing_since: state === 'awaiting_checkout' ? null : T0,
    metadata: { preferred_mechanic_id: ids.favorite, routing_type: 'priority_broadcast' },
    expires_at: state === 'offered' ? (deadlines.windowOver ? PAST : FUTURE) : null,
    open_until: state === 'open' ? (deadlines.expired ? PAST : FUTURE) : null,
  });
}

describe('the booking store under concurrent transitions', () => {
  it('applies each transition only where the lifecycle table allows it, and exactly one of the conflicting ones wins', async () => {
    const table = await createTestTable();
    const store = new DynamoDbBookingStore(table.db, table.tableName);

    await fc.assert(
      fc.asyncProperty(start, storeInterleaving, async (from, batches) => {
        // Arrange
        const run = randomUUID().slice(0, 8);
        const ids = Object.fromEntries(MECHANICS.map((who) => [who, `${who}-${run}`])) as Record<Who, string>;
        const initial = seed(from.state, ids, from);
        await store.create(initial);
        const ops = batches.flat().map((op, i) => ({ op, id: `op-${i}`, input: transitionInput(op, `op-${i}`, ids) }));

        // Act
        const outcomes = new Map<string, boolean>();
        let next = 0;
        for (const batch of batches) {
          const running = ops.slice(next, next + batch.length);
          next += batch.length;
          await Promise.all(
            running.map(async ({ op, id, input }) => {
              outcomes.set(id, (await store.transition(initial.session_id, EVENT_OF[op.kind], input)).applied);
            }),
          );
        }

        // Assert: the audit trail names exactly the applied operations, once each, in the order the table applied them
        const final = (await store.get(initial.session_id))!;
        const trail = final.events.slice(initial.events.length).map((e) => e.op as string);
        expect(new Set(trail).size).toBe(trail.length);
        expect([...trail].sort()).toEqual(
          ops
            .filter(({ id }) => outcomes.get(id))
            .map(({ id }) => id)
            .sort(),
        );

        // Assert: replayed through the lifecycle table, each applied one was allowed where it was applied, and they make the final state
        const byId = new Map(ops.map((o) => [o.id, o]));
        const models: Booking[] = [initial];
        for (const id of trail) {
          const { op, input } = byId.get(id)!;
          const model = models.at(-1)!;
          expect(
            guardHolds(TRANSITIONS[EVENT_OF[op.kind]].guard, model, { now: NOW, ...input.guard } as GuardContext),
            `${id} ${op.kind} from ${model.state}`,
          ).toBe(true);
          models.push(applied(model, op, input));
        }
        const model = models.at(-1)!;
        expect({ state: final.state, audience: final.audience, route_to: final.route_to, mechanic_id: final.mechanic_id }).toEqual({
          state: model.state,
          audience: model.audience,
          route_to: model.route_to,
          mechanic_id: model.mechanic_id,
        });

        // Assert: a refused one was refusable at some point of the table's order
        for (const { op, id, input } of ops.filter(({ id: opId }) => !outcomes.get(opId))) {
          const refusable = models.some((m) => !guardHolds(TRANSITIONS[EVENT_OF[op.kind]].guard, m, { now: NOW, ...input.guard } as GuardContext));
          expect(refusable, `${id} ${op.kind} was refused though every state allowed it`).toBe(true);
        }

        // Assert: at most one ending, nothing after it; never matched and cancelled; the winner was in the audience
        const endings = trail.filter((id) => isTerminal(TRANSITIONS[EVENT_OF[byId.get(id)!.op.kind]].to));
        expect(endings.length).toBeLessThanOrEqual(1);
        if (endings.length) expect(trail.at(-1)).toBe(endings[0]);
        const types = final.events.map((e) => e.type);
        expect(types.filter((t) => t === 'accepted').length).toBeLessThanOrEqual(1);
        if (final.state === 'matched') expect(types).not.toContain('cancelled');
        if (final.state === 'cancelled') expect([types.includes('accepted'), final.mechanic_id]).toEqual([false, null]);
        if (final.state === 'matched' && final.mechanic_id !== ids.favorite && initial.audience !== audienceKey.everyone)
          expect(trail.some((id) => ['window_end', 'decline'].includes(byId.get(id)!.op.kind))).toBe(true);
        expect(trail.filter((id) => ['window_end', 'decline'].includes(byId.get(id)!.op.kind)).length).toBeLessThanOrEqual(1);

        // Assert: a cancel can always end a booking not ended yet, so with one among the operations it did end — once
        if (ops.some(({ op }) => op.kind === 'cancel')) {
          expect(isTerminal(final.state)).toBe(true);
          expect(endings).toHaveLength(1);
        }
      }),
      { numRuns: 150 },
    );
  });
});

// ---- the use cases ----------------------------------------------------------------------------

type Operation = { kind: 'accept' | 'decline'; who: Who } | { kind: 'cancel' } | { kind: 'timer' };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ kind: fc.constant('accept' as const), who: fc.constantFrom(...MECHANICS) }),
  fc.record({ kind: fc.constant('decline' as const), who: fc.constantFrom(...MECHANICS) }),
  fc.constant({ kind: 'cancel' as const }),
  fc.constant({ kind: 'timer' as const }),
);

const interleaving = fc.array(fc.array(operation, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 });

/** The lifecycle event each audit type records (`created` is the booking's birth, in `routing`). */
const EVENT_OF_AUDIT: Record<string, LifecycleEvent> = {
  priority_offer_sent: 'offer_sent',
  priority_failed: 'favorite_unavailable',
  favorite_skipped: 'favorite_unavailable',
  priority_window_ended: 'window_ended',
  broadcast_sent: 'opened',
  fallback_started: 'window_ended',
  declined: 'declined',
  accepted: 'accepted',
  cancelled: 'cancelled',
  expired: 'expired',
};

describe('races between accept, decline, cancel and the timer', () => {
  it('never break the dispatch rules, whatever the interleaving', async () => {
    const table = await createTestTable();

    await fc.assert(
      fc.asyncProperty(interleaving, async (batches) => {
        // Arrange: a priority request offered to the favorite, two other mechanics online; its window just ended, but the timer has not run yet
        const pusher = new RecordingPusher();
        const fanOut = new RecordingFanOut();
        const timer = new RecordingTimer();
        const clock = new ManualClock();
        const deps: Deps = {
          bookings: new DynamoDbBookingStore(table.db, table.tableName),
          mechanics: new DynamoDbMechanicStore(table.db, table.tableName),
          connections: new DynamoDbConnectionStore(table.db, table.tableName),
          openBookings: new DynamoDbOpenBookings(table.db, table.tableName),
          tickets: new DynamoDbTicketStore(table.db, table.tableName),
          pusher,
          fanOut,
          timer,
          flag: new SettableFlag(true),
          metrics: new RecordingMetrics(),
          tokens: { verify: () => Promise.reject(new Error('unused')) },
          clock,
          log: new RecordingLogger(),
          priorityWindowSeconds: 600,
          recoveryDelaySeconds: 120,
          requestTtlSeconds: 1800,
          messageRateLimit: 10,
          maxOpenBookingsPerCustomer: 3,
          ticketTtlSeconds: 60,
        };
        const run = randomUUID().slice(0, 8);
        const ids = Object.fromEntries(MECHANICS.map((who) => [who, `${who}-${run}`])) as Record<Who, string>;
        const connectionOf = (who: Who) => `conn-${ids[who]}`;
        for (const who of MECHANICS) {
          await deps.mechanics.put({ mechanic_id: ids[who], status: 'approved', name: who, workshop_id: null, updated_at: T0 });
          await deps.connections.put({ connection_id: connectionOf(who), mechanic_id: ids[who], workshop_id: null, connected_at: T0 });
        }
        const customerId = `cust-${run}`;
        const booked = await startIntake(deps, {
          customerId,
          booking: {
            plan: 'free',
            concern: 'Rattle',
            vehicle: null,
            preferred_mechanic_id: ids.favorite,
            routing_type: 'priority_broadcast',
            workshop_id: null,
          },
        });
        const requestId = booked.request_id!;
        const offered = (await deps.bookings.get(booked.session_id))!;
        expect(offered.state).toBe('offered');
        clock.advance(600);

        // Act
        for (const batch of batches) {
          await Promise.all(
            // biome-ignore lint/suspicious/useIterableCallbackReturn: the switch covers every kind, and each case returns
            batch.map((op) => {
              switch (op.kind) {
                case 'accept':
                  return acceptRequest(deps, { requestId, mechanicId: ids[op.who], connectionId: connectionOf(op.who) });
                case 'decline':
                  return declineRequest(deps, { requestId, mechanicId: ids[op.who], connectionId: connectionOf(op.who) });
                case 'cancel':
                  return cancelBooking(deps, { customerId, sessionId: booked.session_id }).catch((error: unknown) => {
                    if (!(error instanceof AppError && error.status === 409)) throw error;
                  });
                case 'timer':
                  return onTimer(deps, { requestId, dueAt: offered.expires_at! });
              }
            }),
          );
        }

        // Assert: the audit trail walks the lifecycle table, from the booking's birth to its final state
        const final = (await deps.bookings.get(booked.session_id))!;
        let state: BookingState = 'routing';
        for (const event of final.events.slice(1)) {
          const lifecycleEvent = EVENT_OF_AUDIT[event.type]!;
          expect(TRANSITIONS[lifecycleEvent].guard.from, `${event.type} from ${state}`).toContain(state);
          state = TRANSITIONS[lifecycleEvent].to;
        }
        expect(final.state).toBe(state);
        const types = final.events.map((e) => e.type);

        // Assert: at most one winner, told so; never matched and cancelled. (That nobody else is told ok:true is NOT
        // asserted here: a known race breaks it — see 'an accept refused just before the window ends' below.)
        const toldOk = new Set(pusher.sent.filter((p) => p.message.type === 'accept_result' && p.message.ok).map((p) => p.connectionId));
        const winner = final.state === 'matched' ? `conn-${final.mechanic_id}` : undefined;
        expect(types.filter((t) => t === 'accepted').length).toBeLessThanOrEqual(1);
        if (winner) expect(toldOk).toContain(winner);
        expect(types.filter((t) => ['accepted', 'cancelled', 'expired'].includes(t)).length).toBeLessThanOrEqual(1);

        // Assert: the window ends once (by the timer or the favorite's decline), never after the request ended
        const ended = types.findIndex((t) => t === 'accepted' || t === 'cancelled');
        if (ended >= 0) expect(types.slice(ended + 1)).toEqual([]);
        expect(types.filter((t) => t === 'fallback_started' || t === 'declined').length).toBeLessThanOrEqual(1);

        // Assert: only the favorite wins while the window holds; anyone else only once it ended
        if (final.state === 'matched' && final.mechanic_id !== ids.favorite) {
          const opened = types.findIndex((t) => t === 'fallback_started' || t === 'declined');
          expect(opened).toBeGreaterThanOrEqual(0);
          expect(opened).toBeLessThan(types.indexOf('accepted'));
        }

        // Assert: a request still pending has its timer, due no later than its next deadline
        if (!isTerminal(final.state)) {
          const due = timer.timer(requestId)?.due;
          expect(due).toBeDefined();
          expect(due! <= nextDeadline(final, deps.recoveryDelaySeconds)!).toBe(true);
        }

        // Assert: the winner is never told someone else took the request — inline only ever by_you, and every hand-over of
        // request_taken leaves out all its connections
        const handOvers: (RecordingFanOut['sent'][number] & Exclusion)[] = fanOut.sent.filter((s) => s.requestId === requestId);
        if (final.state === 'matched') {
          const toWinner = pusher.sent.filter((p) => p.connectionId === winner && p.message.type === 'request_taken').map((p) => p.message);
          expect(toWinner.every((m) => m.type === 'request_taken' && m.by_you === true)).toBe(true);
          for (const taken of handOvers.filter((s) => s.message.type === 'request_taken')) expect(taken.exceptMechanicId).toBe(final.mechanic_id);
        }

        // Assert: nobody is left thinking an ended request is open — whoever was told of it hears that it ended (after the last telling), or won it
        if (isTerminal(final.state)) {
          const reaches = (s: (typeof handOvers)[number], who: Who) => s.exceptConnectionId !== connectionOf(who) && s.exceptMechanicId !== ids[who];
          const toEveryone = handOvers.filter((s) => s.audience.kind === 'everyone');
          const lastOpen = toEveryone.map((s) => s.message.type).lastIndexOf('new_request');
          const takenAfter = toEveryone.slice(lastOpen + 1).filter((s) => s.message.type === 'request_taken');
          for (const who of MECHANICS) {
            const connection = connectionOf(who);
            const inline = pusher.sent.filter((p) => p.connectionId === connection).map((p) => p.message);
            const toldOpen = lastOpen >= 0 || inline.some((m) => m.type === 'priority_session_request');
            const knows =
              connection === winner ||
              inline.some((m) => m.type === 'request_taken' || (m.type === 'accept_result' && !m.ok && m.reason !== 'priority_window')) ||
              takenAfter.some((s) => reaches(s, who)) ||
              (lastOpen < 0 && toEveryone.some((s) => s.message.type === 'request_taken' && reaches(s, who)));
            if (toldOpen) expect(knows, `${who} was told of the request but not that it ended (${final.state})`).toBe(true);
          }
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe('an accept refused just before the window ends', () => {
  // The favorite's decline lands between a refused accept and its read-back: the accept is tried again, never told
  // ok:true for a request nobody holds.
  it('a mechanic told ok:true is the one the booking is matched to', async () => {
    // Arrange: a priority request offered to the favorite
    const table = await createTestTable();
    const pusher = new RecordingPusher();
    const bookings = new DynamoDbBookingStore(table.db, table.tableName);
    const deps: Deps = {
      bookings,
      mechanics: new DynamoDbMechanicStore(table.db, table.tableName),
      connections: new DynamoDbConnectionStore(table.db, table.tableName),
      openBookings: new DynamoDbOpenBookings(table.db, table.tableName),
      tickets: new DynamoDbTicketStore(table.db, table.tableName),
      pusher,
      fanOut: new RecordingFanOut(),
      timer: new RecordingTimer(),
      flag: new SettableFlag(true),
      metrics: new RecordingMetrics(),
      tokens: { verify: () => Promise.reject(new Error('unused')) },
      clock: new ManualClock(),
      log: new RecordingLogger(),
      priorityWindowSeconds: 600,
      recoveryDelaySeconds: 120,
      requestTtlSeconds: 1800,
      messageRateLimit: 10,
      maxOpenBookingsPerCustomer: 3,
      ticketTtlSeconds: 60,
    };
    for (const id of ['favorite-race', 'm1-race']) {
      await deps.mechanics.put({ mechanic_id: id, status: 'approved', name: id, workshop_id: null, updated_at: T0 });
      await deps.connections.put({ connection_id: `conn-${id}`, mechanic_id: id, workshop_id: null, connected_at: T0 });
    }
    const booked = await startIntake(deps, {
      customerId: 'cust-race',
      booking: {
        plan: 'free',
        concern: 'Rattle',
        vehicle: null,
        preferred_mechanic_id: 'favorite-race',
        routing_type: 'priority_broadcast',
        workshop_id: null,
      },
    });
    // The favorite's decline lands right after m1's accept was refused, before the store reads the booking back.
    const read = bookings.get.bind(bookings);
    let declineFirst = true;
    bookings.get = async (sessionId) => {
      if (declineFirst) {
        declineFirst = false;
        await declineRequest(deps, { requestId: booked.request_id!, mechanicId: 'favorite-race', connectionId: 'conn-favorite-race' });
      }
      return read(sessionId);
    };

    // Act
    const won = await acceptRequest(deps, { requestId: booked.request_id!, mechanicId: 'm1-race', connectionId: 'conn-m1-race' });

    // Assert
    const final = (await read(booked.session_id))!;
    const toldM1 = pusher.sent.filter((p) => p.connectionId === 'conn-m1-race' && p.message.type === 'accept_result').map((p) => p.message);
    expect(final.events.map((e) => e.type)).toContain('declined');
    if (won || toldM1.some((m) => m.type === 'accept_result' && m.ok)) expect(final).toMatchObject({ state: 'matched', mechanic_id: 'm1-race' });
  });
});
