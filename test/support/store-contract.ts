/**
 * The store ports' contract, written once and run on every implementation:
 * the in-memory stores (test/unit/in-memory-stores.test.ts) and the DynamoDB
 * adapters on dynalite (test/integration/dynamodb-stores.test.ts). Passing on
 * both is what lets the unit tier's use-case tests stand in for the real
 * table. The heart of it: every lifecycle transition (lambdas/domain/lifecycle.ts)
 * tried from every state, with and without its actor and deadline, is
 * applied exactly when the table's guard (`guardHolds`) says so.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { CONNECTION_SHARDS } from '../../contract/table-schema';
import type { Booking } from '../../lambdas/domain/booking';
import { requestIdFor } from '../../lambdas/domain/ids';
import {
  audienceKey,
  type BookingState,
  type GuardContext,
  guardHolds,
  type LifecycleEvent,
  pendingEntry,
  STATES,
  TRANSITIONS,
} from '../../lambdas/domain/lifecycle';
import type { CustomerConnection } from '../../lambdas/domain/customer';
import type { Connection, MechanicProfile } from '../../lambdas/domain/mechanic';
import type { BookingStore, ConnectionStore, MechanicStore, OpenBookings, TicketStore } from '../../lambdas/ports';

export interface Stores {
  readonly bookings: BookingStore;
  readonly mechanics: MechanicStore;
  readonly connections: ConnectionStore;
  readonly openBookings: OpenBookings;
  readonly tickets: TicketStore;
}

const T0 = '2026-11-24T12:00:00.000Z';
const T1 = '2026-11-24T12:01:00.000Z';
const T2 = '2026-11-24T12:02:00.000Z';
/** Between T1 (deadlines in the past) and T3. */
const NOW = '2026-11-24T12:05:00.000Z';
const T3 = '2026-11-24T12:10:00.000Z';

const uid = (): string => randomUUID().slice(0, 8);

/** A booking in `state`, offered to `favorite` (offered/routing to favorite) or to everyone (open); deadlines as given. */
function booking(state: BookingState, options: { favorite?: string; audience?: string; deadline?: string } = {}): Booking {
  const sessionId = randomUUID();
  const favorite = options.favorite ?? `mech-${uid()}`;
  const toFavorite = state === 'offered' || state === 'routing';
  const routed = state !== 'awaiting_checkout';
  return {
    session_id: sessionId,
    request_id: requestIdFor(sessionId),
    customer_id: `cust-${uid()}`,
    plan: 'paid',
    concern: 'Brakes squeal',
    vehicle: { make: 'Toyota', model: 'Corolla', year: 2019 },
    workshop_id: null,
    metadata: { preferred_mechanic_id: favorite, routing_type: 'priority_broadcast' },
    intake_fingerprint: `fp-${uid()}`,
    state,
    routing: routed ? 'priority' : null,
    route_to: routed ? (toFavorite ? 'favorite' : 'everyone') : null,
    new_request_reason: null,
    audience: options.audience ?? (routed ? (toFavorite ? audienceKey.mechanic(favorite) : audienceKey.everyone) : null),
    routing_since: routed ? T0 : null,
    mechanic_id: state === 'matched' ? `mech-${uid()}` : null,
    expires_at: state === 'awaiting_checkout' ? null : (options.deadline ?? T1),
    open_until: state === 'awaiting_checkout' ? null : (options.deadline ?? T1),
    request_metadata: {},
    events: [{ at: T0, type: 'created' }],
    created_at: T0,
    updated_at: T0,
  };
}

const connection = (mechanicId: string, workshopId: string | null = null): Connection => ({
  connection_id: `conn-${uid()}`,
  mechanic_id: mechanicId,
  workshop_id: workshopId,
  connected_at: T0,
});

/** Every connection, shard by shard: each is in exactly one shard. */
async function allConnections(store: ConnectionStore): Promise<Connection[]> {
  const all: Connection[] = [];
  for (let shard = 0; shard < CONNECTION_SHARDS; shard++) all.push(...(await collect(store.listByShard(shard))));
  return all.sort((a, b) => (a.connection_id < b.connection_id ? -1 : 1));
}

async function collect(pages: AsyncIterable<Connection[]>): Promise<Connection[]> {
  const all: Connection[] = [];
  for await (const page of pages) all.push(...page);
  return all;
}

const ids = (connections: Connection[]): string[] => connections.map((c) => c.connection_id).sort();

export function describeStoreContract(name: string, makeStores: () => Promise<Stores>): void {
  describe(`store contract: ${name}`, () => {
    let stores: Stores;
    beforeEach(async () => {
      stores = await makeStores();
    });

    describe('BookingStore', () => {
      it('creates a booking once: a second create returns the first and keeps it; an unknown id is undefined', async () => {
        // Arrange
        const first = booking('awaiting_checkout');

        // Act
        const created = await stores.bookings.create(first);
        const again = await stores.bookings.create({ ...first, concern: 'Another booking', intake_fingerprint: 'other' });

        // Assert
        expect(created).toEqual({ created: true, booking: first });
        expect(again).toEqual({ created: false, booking: first });
        expect(await stores.bookings.get(first.session_id)).toEqual(first);
        expect(await stores.bookings.get(randomUUID())).toBeUndefined();
      });

      /**
       * Every event from every state, by the favorite, by another mechanic and
       * with no actor, before and after the deadline: applied exactly when the
       * guard holds; a refused write changes nothing and returns what is stored.
       */
      const cases: { event: LifecycleEvent; state: BookingState; actor: 'favorite' | 'other' | 'none'; deadline: 'passed' | 'ahead' }[] = [];
      for (const event of Object.keys(TRANSITIONS) as LifecycleEvent[])
        for (const state of STATES)
          for (const actor of ['favorite', 'other', 'none'] as const)
            for (const deadline of ['passed', 'ahead'] as const) {
              const guard = TRANSITIONS[event].guard;
              // Vary only what the guard reads, to keep the table small.
              if (actor !== 'none' && !guard.actorInAudience && !guard.actorIsAudience) continue;
              if (deadline === 'ahead' && !guard.deadlinePassed && !guard.routingSinceIs) continue;
              cases.push({ event, state, actor, deadline });
            }

      it.each(cases)(
        '$event from $state (actor: $actor, deadline $deadline) applies exactly when the guard holds',
        async ({ event, state, actor, deadline }) => {
          // Arrange
          const favorite = `mech-${uid()}`;
          const stored = booking(state, { favorite, deadline: deadline === 'passed' ? T1 : T3 });
          await stores.bookings.create(stored);
          const guard: Omit<GuardContext, 'now'> = {
            ...(actor === 'none' ? {} : { actor: { mechanicId: actor === 'favorite' ? favorite : `mech-${uid()}`, workshopId: null } }),
            ...(TRANSITIONS[event].guard.routeTo ? { routeTo: TRANSITIONS[event].guard.routeTo } : {}),
            // The routing_since the caller read: the stored one, or (deadline "ahead") one that moved meanwhile.
            ...(TRANSITIONS[event].guard.routingSinceIs ? { routingSince: deadline === 'passed' ? (stored.routing_since ?? T0) : T2 } : {}),
          };
          const expected = guardHolds(TRANSITIONS[event].guard, stored, { now: NOW, ...guard });
          const audit = { at: NOW, type: event };

          // Act
          const outcome = await stores.bookings
            .transition(stored.session_id, event, {
              now: NOW,
              guard,
              audit,
              changes: { mechanic_id: 'mech-winner', request_metadata: { fallback_reason: 'priority_failed' } },
            })
            .catch((error: Error) => ({ error: error.message }));

          // Assert
          if ('error' in outcome) {
            // An actor-guarded transition without an actor is a programming error, refused before any write.
            expect(actor).toBe('none');
            expect(await stores.bookings.get(stored.session_id)).toEqual(stored);
            return;
          }
          expect(outcome.applied).toBe(expected);
          const after = await stores.bookings.get(stored.session_id);
          if (expected) {
            const changed = {
              ...stored,
              state: TRANSITIONS[event].to,
              mechanic_id: 'mech-winner',
              updated_at: NOW,
              request_metadata: { fallback_reason: 'priority_failed' },
              events: [...stored.events, audit],
            };
            expect(after).toEqual(changed);
            expect(outcome.booking).toEqual(changed);
          } else {
            expect(after).toEqual(stored);
            expect(outcome.booking).toEqual(stored);
          }
          // Listed as pending for its audience (before any deadline) exactly while offered or open, whatever moved it there.
          const pendingAt = T0;
          const listed = stored.audience ? await stores.bookings.pendingFor(stored.audience, pendingAt) : [];
          expect(listed.map((p) => p.request_id)).toEqual(pendingEntry(after!) ? [stored.request_id] : []);
        },
      );

      it('a transition of a missing booking is refused and creates nothing', async () => {
        // Arrange
        const missing = randomUUID();

        // Act
        const outcome = await stores.bookings.transition(missing, 'cancelled', { now: NOW, audit: { at: NOW, type: 'cancelled' } });

        // Assert
        expect(outcome).toEqual({ applied: false, booking: undefined });
        expect(await stores.bookings.get(missing)).toBeUndefined();
      });

      it('an accept by a mechanic of the workshop the request is open to applies; by another workshop it is refused', async () => {
        // Arrange
        const open = booking('open', { audience: audienceKey.workshop('ws-north'), deadline: T3 });
        await stores.bookings.create(open);
        const audit = { at: NOW, type: 'accepted' };

        // Act
        const stranger = await stores.bookings.transition(open.session_id, 'accepted', {
          now: NOW,
          guard: { actor: { mechanicId: 'mech-south', workshopId: 'ws-south' } },
          audit,
        });
        const member = await stores.bookings.transition(open.session_id, 'accepted', {
          now: NOW,
          guard: { actor: { mechanicId: 'mech-north', workshopId: 'ws-north' } },
          changes: { mechanic_id: 'mech-north' },
          audit,
        });

        // Assert
        expect(stranger.applied).toBe(false);
        expect(member.applied).toBe(true);
        expect((await stores.bookings.get(open.session_id))?.mechanic_id).toBe('mech-north');
      });

      /**
       * The matrix routes every `routing` booking to the favorite, so the `routeTo` part of a guard never
       * refuses there: here a booking routed to everyone, where only the favorite's transitions must not apply.
       */
      it.each([
        ['offer_sent', false],
        ['favorite_unavailable', false],
        ['declined', false],
        ['opened', true],
        ['accepted', true],
      ] as const)('%s of a booking being routed to everyone (not to a favorite) applies: %s', async (event, applies) => {
        // Arrange
        const favorite = `mech-${uid()}`;
        const stored: Booking = { ...booking('routing', { favorite, audience: audienceKey.everyone, deadline: T1 }), route_to: 'everyone' };
        await stores.bookings.create(stored);
        const guard: Omit<GuardContext, 'now'> = {
          // The favorite asked for, now one of everyone: as the actor, any mechanic may accept; nobody may decline.
          actor: { mechanicId: favorite, workshopId: `ws-${uid()}` },
          ...(TRANSITIONS[event].guard.routeTo ? { routeTo: TRANSITIONS[event].guard.routeTo } : {}),
          ...(TRANSITIONS[event].guard.routingSinceIs ? { routingSince: stored.routing_since! } : {}),
        };
        expect(guardHolds(TRANSITIONS[event].guard, stored, { now: NOW, ...guard })).toBe(applies);

        // Act
        const outcome = await stores.bookings.transition(stored.session_id, event, { now: NOW, guard, audit: { at: NOW, type: event } });

        // Assert
        expect(outcome.applied).toBe(applies);
        expect((await stores.bookings.get(stored.session_id))?.state).toBe(applies ? TRANSITIONS[event].to : 'routing');
      });

      it('pendingFor lists a request for its audience from offered to open, with the deadline of each, and not once it ends', async () => {
        // Arrange: a booking being routed to its favorite, as intake stores it
        const favorite = `mech-${uid()}`;
        const stored: Booking = { ...booking('routing', { favorite }), expires_at: null, open_until: null };
        await stores.bookings.create(stored);
        const favoriteKey = audienceKey.mechanic(favorite);
        const listed = async (audience: string, now = T0) => (await stores.bookings.pendingFor(audience, now)).map((p) => [p.request_id, p.state, p.deadline]);
        const move = (event: LifecycleEvent, changes: Parameters<BookingStore['transition']>[2]['changes'], guard: Omit<GuardContext, 'now'> = {}) =>
          stores.bookings.transition(stored.session_id, event, { now: T0, changes, guard, audit: { at: T0, type: event } });

        // Act + Assert: routing is not pending
        expect(await listed(favoriteKey)).toEqual([]);

        // Act + Assert: offered to the favorite until expires_at, for them alone, and only until then
        expect((await move('offer_sent', { expires_at: T2 }, { routeTo: 'favorite', routingSince: stored.routing_since! })).applied).toBe(true);
        expect(await listed(favoriteKey)).toEqual([[stored.request_id, 'offered', T2]]);
        expect(await listed(audienceKey.everyone)).toEqual([]);
        expect(await listed(favoriteKey, T2)).toEqual([]);

        // Act + Assert: the favorite declines: routing to everyone again, pending for nobody
        const declined = await move(
          'declined',
          { route_to: 'everyone', audience: audienceKey.everyone, routing_since: T1 },
          { actor: { mechanicId: favorite, workshopId: null } },
        );
        expect(declined.applied).toBe(true);
        expect(await listed(favoriteKey)).toEqual([]);
        expect(await listed(audienceKey.everyone)).toEqual([]);

        // Act + Assert: open to everyone until open_until (not the old window's expires_at)
        expect((await move('opened', { open_until: T3 })).applied).toBe(true);
        expect(await listed(audienceKey.everyone)).toEqual([[stored.request_id, 'open', T3]]);
        expect(await listed(favoriteKey)).toEqual([]);

        // Act + Assert: matched: pending for nobody
        expect((await move('accepted', { mechanic_id: 'mech-winner' }, { actor: { mechanicId: 'mech-winner', workshopId: null } })).applied).toBe(true);
        expect(await listed(audienceKey.everyone)).toEqual([]);
      });

      it('pendingFor lists an audience’s requests soonest deadline first, with the fields sync answers with, every page', async () => {
        // Arrange: more requests open to one workshop than fit in one 1 MB page (each with a 2,000-character concern), one offered elsewhere
        const workshop = audienceKey.workshop(`ws-${uid()}`);
        const deadlines = Array.from({ length: 600 }, (_, i) => new Date(Date.parse(T3) + (600 - i) * 1000).toISOString());
        const open = deadlines.map((deadline) => ({ ...booking('open', { audience: workshop, deadline }), concern: 'x'.repeat(2000) }));
        for (const b of open) await stores.bookings.create(b);
        await stores.bookings.create(booking('offered', { deadline: T3 }));

        // Act
        const listed = await stores.bookings.pendingFor(workshop, NOW);

        // Assert
        expect(listed.map((p) => p.request_id)).toEqual([...open].reverse().map((b) => b.request_id));
        const first = open.at(-1)!;
        expect(listed[0]).toEqual({
          request_id: first.request_id,
          session_id: first.session_id,
          state: 'open',
          concern: first.concern,
          vehicle: first.vehicle,
          expires_at: first.expires_at,
          open_until: first.open_until,
          deadline: first.open_until,
        });
      });

      it('declinedBy names, among the given bookings, those whose request this mechanic declined (more than one batch of keys)', async () => {
        // Arrange
        const sessionIds = Array.from({ length: 230 }, () => randomUUID());
        const declinedByMe = sessionIds.filter((_, i) => i % 7 === 0);
        for (const sessionId of declinedByMe) await stores.bookings.noteDecline(sessionId, 'mech-me', T1);
        await stores.bookings.noteDecline(sessionIds[1]!, 'mech-other', T1);

        // Act
        const declined = await stores.bookings.declinedBy('mech-me', [...sessionIds, sessionIds[0]!]);

        // Assert
        expect([...declined].sort()).toEqual([...declinedByMe].sort());
        expect([...(await stores.bookings.declinedBy('mech-me', []))]).toEqual([]);
      });

      it('record adds an audit event and metadata (skipping undefined values); a missing booking stays missing', async () => {
        // Arrange
        const stored = booking('offered');
        await stores.bookings.create(stored);
        const missing = randomUUID();

        // Act
        await stores.bookings.record(stored.session_id, { at: T2, type: 'note' }, { priority_notified_at: T2, fallback_reason: undefined });
        await stores.bookings.record(missing, { at: T2, type: 'note' });

        // Assert
        expect(await stores.bookings.get(stored.session_id)).toEqual({
          ...stored,
          request_metadata: { priority_notified_at: T2 },
          events: [...stored.events, { at: T2, type: 'note' }],
        });
        expect(await stores.bookings.get(missing)).toBeUndefined();
      });

      it('notes declines per request: a repeated one counts once, another request has its own, and the booking itself is untouched', async () => {
        // Arrange
        const declined = booking('open');
        const other = booking('open');
        await stores.bookings.create(declined);
        await stores.bookings.create(other);

        // Act
        await stores.bookings.noteDecline(declined.session_id, 'mech-a', T1);
        await stores.bookings.noteDecline(declined.session_id, 'mech-b', T1);
        await stores.bookings.noteDecline(declined.session_id, 'mech-a', T2);
        await stores.bookings.noteDecline(other.session_id, 'mech-c', T2);

        // Assert
        expect([...(await stores.bookings.decliners(declined.session_id))].sort()).toEqual(['mech-a', 'mech-b']);
        expect([...(await stores.bookings.decliners(other.session_id))]).toEqual(['mech-c']);
        expect([...(await stores.bookings.decliners(randomUUID()))]).toEqual([]);
        expect(await stores.bookings.get(declined.session_id)).toEqual(declined);
      });

      it('hands out copies: changing what was passed in or read back changes nothing stored', async () => {
        // Arrange
        const stored = booking('open');
        const original = structuredClone(stored);
        const passedIn = structuredClone(stored) as { -readonly [K in keyof Booking]: Booking[K] };
        await stores.bookings.create(passedIn);

        // Act
        passedIn.concern = 'changed after create';
        const read = (await stores.bookings.get(stored.session_id)) as { -readonly [K in keyof Booking]: Booking[K] };
        read.state = 'cancelled';

        // Assert
        expect(await stores.bookings.get(stored.session_id)).toEqual(original);
      });

      it("listByCustomer: the customer's latest bookings, newest first, their status fields only; nobody else's", async () => {
        // Arrange: three bookings of one customer, made in no particular order, and one of another customer
        const customerId = `cust-${uid()}`;
        const at = (created_at: string, state: BookingState) => ({ ...booking(state), customer_id: customerId, created_at, updated_at: created_at });
        const [oldest, middle, newest] = [at(T0, 'expired'), at(T1, 'matched'), at(T2, 'offered')];
        for (const b of [middle, newest, oldest, booking('open')]) await stores.bookings.create(b);
        const summary = (b: Booking) => ({
          session_id: b.session_id,
          request_id: b.request_id,
          state: b.state,
          audience: b.audience,
          mechanic_id: b.mechanic_id,
          expires_at: b.expires_at,
          open_until: b.open_until,
        });

        // Act
        const all = await stores.bookings.listByCustomer(customerId, 20);
        const latestTwo = await stores.bookings.listByCustomer(customerId, 2);

        // Assert
        expect(all).toEqual([newest, middle, oldest].map(summary));
        expect(latestTwo).toEqual([newest, middle].map(summary));
        expect(await stores.bookings.listByCustomer(`cust-${uid()}`, 20)).toEqual([]);
      });

      it('listByCustomer shows a booking as its last transition left it', async () => {
        // Arrange
        const open = booking('open', { deadline: T3 });
        await stores.bookings.create(open);

        // Act
        await stores.bookings.transition(open.session_id, 'cancelled', { now: NOW, audit: { at: NOW, type: 'cancelled' } });

        // Assert
        expect(await stores.bookings.listByCustomer(open.customer_id, 20)).toEqual([
          expect.objectContaining({ session_id: open.session_id, state: 'cancelled' }),
        ]);
      });
      it("a customer id longer than an index key may be (a token's sub of 3,000 characters) still lists its bookings and connections", async () => {
        // Arrange
        const longId = `cust-${uid()}-${'x'.repeat(3000)}`;
        const stored: Booking = { ...booking('open', { deadline: T3 }), customer_id: longId };
        const phone: CustomerConnection = { connection_id: `conn-${uid()}`, customer_id: longId, connected_at: T0 };

        // Act
        await stores.bookings.create(stored);
        await stores.connections.putCustomer(phone);

        // Assert
        expect((await stores.bookings.listByCustomer(longId, 20)).map((b) => b.session_id)).toEqual([stored.session_id]);
        expect(await stores.connections.listByCustomer(longId)).toEqual([phone]);
        expect(await stores.bookings.listByCustomer(longId.slice(0, -1), 20)).toEqual([]);
      });
    });

    describe('MechanicStore', () => {
      it('puts, overwrites and reads mechanics (a new one not paused); an unknown one is undefined', async () => {
        // Arrange
        const mechanicId = `mech-${uid()}`;
        const approved: MechanicProfile = { mechanic_id: mechanicId, status: 'approved', name: 'Ana', workshop_id: null, updated_at: T0 };
        const moved: MechanicProfile = { ...approved, status: 'suspended', workshop_id: `ws-${uid()}`, updated_at: T1 };

        // Act
        const answered = await stores.mechanics.put(approved);
        const first = await stores.mechanics.get(mechanicId);
        await stores.mechanics.put(moved);

        // Assert
        expect(answered).toEqual({ ...approved, paused: false });
        expect(first).toEqual({ ...approved, paused: false });
        expect(await stores.mechanics.get(mechanicId)).toEqual({ ...moved, paused: false });
        expect(await stores.mechanics.get(`mech-${uid()}`)).toBeUndefined();
      });

      it("setPaused pauses and resumes an existing mechanic; an admin's put keeps it; an unknown one stays unknown", async () => {
        // Arrange
        const mechanicId = `mech-${uid()}`;
        const profile: MechanicProfile = { mechanic_id: mechanicId, status: 'approved', name: 'Ana', workshop_id: null, updated_at: T0 };
        await stores.mechanics.put(profile);

        // Act + Assert: paused, and kept by the admin's next put
        expect(await stores.mechanics.setPaused(mechanicId, true, T1)).toEqual({ ...profile, paused: true, paused_at: T1 });
        expect(await stores.mechanics.put({ ...profile, name: 'Ana B.', updated_at: T1 })).toEqual({
          ...profile,
          name: 'Ana B.',
          updated_at: T1,
          paused: true,
          paused_at: T1,
        });

        // Act + Assert: resumed
        expect(await stores.mechanics.setPaused(mechanicId, false, T1)).toMatchObject({ paused: false });
        expect(await stores.mechanics.get(mechanicId)).toMatchObject({ paused: false });

        // Act + Assert: nobody
        const nobody = `mech-${uid()}`;
        expect(await stores.mechanics.setPaused(nobody, true, T1)).toBeUndefined();
        expect(await stores.mechanics.get(nobody)).toBeUndefined();
      });
    });

    describe('ConnectionStore', () => {
      it('lists connections by mechanic, by workshop and by shard (every connection in exactly one); a deleted one is in none', async () => {
        // Arrange
        const workshop = `ws-${uid()}`;
        const [solo, crew] = [`mech-${uid()}`, `mech-${uid()}`];
        const soloPhone = connection(solo);
        const soloTablet = connection(solo);
        const crewPhone = connection(crew, workshop);
        for (const c of [soloPhone, soloTablet, crewPhone]) await stores.connections.put(c);

        // Act + Assert: listed
        expect(ids(await stores.connections.listByMechanic(solo))).toEqual(ids([soloPhone, soloTablet]));
        expect(await stores.connections.listByMechanic(crew)).toEqual([crewPhone]);
        expect(await collect(stores.connections.listByWorkshop(workshop))).toEqual([crewPhone]);
        expect(await collect(stores.connections.listByWorkshop(`ws-${uid()}`))).toEqual([]);
        expect(ids(await allConnections(stores.connections))).toEqual(ids([soloPhone, soloTablet, crewPhone]));

        // Act + Assert: deleted (twice: an absent one is fine)
        await stores.connections.delete(soloPhone.connection_id);
        await stores.connections.delete(crewPhone.connection_id);
        await stores.connections.delete(crewPhone.connection_id);
        expect(await stores.connections.listByMechanic(solo)).toEqual([soloTablet]);
        expect(await stores.connections.listByMechanic(crew)).toEqual([]);
        expect(await collect(stores.connections.listByWorkshop(workshop))).toEqual([]);
        expect(await allConnections(stores.connections)).toEqual([soloTablet]);
      });

      it('setWorkshop moves a connection between workshops and out of any; a missing connection stays missing', async () => {
        // Arrange
        const [north, south] = [`ws-${uid()}`, `ws-${uid()}`];
        const mechanicId = `mech-${uid()}`;
        const phone = connection(mechanicId, north);
        await stores.connections.put(phone);
        const missing = `conn-${uid()}`;

        // Act + Assert: to another workshop
        await stores.connections.setWorkshop(phone.connection_id, south);
        expect(await collect(stores.connections.listByWorkshop(north))).toEqual([]);
        expect(await collect(stores.connections.listByWorkshop(south))).toEqual([{ ...phone, workshop_id: south }]);

        // Act + Assert: out of any workshop
        await stores.connections.setWorkshop(phone.connection_id, null);
        expect(await collect(stores.connections.listByWorkshop(south))).toEqual([]);
        expect(await stores.connections.listByMechanic(mechanicId)).toEqual([{ ...phone, workshop_id: null }]);

        // Act + Assert: a connection gone meanwhile is not brought back
        await stores.connections.setWorkshop(missing, north);
        expect(await allConnections(stores.connections)).toEqual([{ ...phone, workshop_id: null }]);
      });

      it('setPaused marks a connection, wherever it is listed; a missing connection stays missing', async () => {
        // Arrange
        const workshop = `ws-${uid()}`;
        const phone = connection(`mech-${uid()}`, workshop);
        await stores.connections.put(phone);
        const missing = `conn-${uid()}`;

        // Act
        await stores.connections.setPaused(phone.connection_id, true);
        await stores.connections.setPaused(missing, true);

        // Assert
        const paused = { ...phone, paused: true };
        expect(await stores.connections.listByMechanic(phone.mechanic_id)).toEqual([paused]);
        expect(await collect(stores.connections.listByWorkshop(workshop))).toEqual([paused]);
        expect(await allConnections(stores.connections)).toEqual([paused]);
      });

      it('a second put of the same connection id replaces the first', async () => {
        // Arrange
        const workshop = `ws-${uid()}`;
        const first = connection(`mech-${uid()}`, workshop);
        const replaced: Connection = { ...first, mechanic_id: `mech-${uid()}`, workshop_id: null, connected_at: T1 };

        // Act
        await stores.connections.put(first);
        await stores.connections.put(replaced);

        // Assert
        expect(await stores.connections.listByMechanic(first.mechanic_id)).toEqual([]);
        expect(await stores.connections.listByMechanic(replaced.mechanic_id)).toEqual([replaced]);
        expect(await collect(stores.connections.listByWorkshop(workshop))).toEqual([]);
        expect(await allConnections(stores.connections)).toEqual([replaced]);
      });

      it("a customer's connections are listed by that customer only: by no mechanic (not even one of the same id), workshop or shard", async () => {
        // Arrange: a customer on two devices, another customer, and a mechanic whose id is the first customer's
        const customerId = `cust-${uid()}`;
        const customer = (id: string): CustomerConnection => ({ connection_id: `conn-${uid()}`, customer_id: id, connected_at: T0 });
        const [phone, laptop, stranger] = [customer(customerId), customer(customerId), customer(`cust-${uid()}`)];
        for (const c of [phone, laptop, stranger]) await stores.connections.putCustomer(c);
        const namesake = connection(customerId);
        await stores.connections.put(namesake);

        // Act + Assert: listed
        expect(await stores.connections.listByCustomer(customerId)).toEqual([phone, laptop].sort((a, b) => (a.connection_id < b.connection_id ? -1 : 1)));
        expect(await stores.connections.listByCustomer(stranger.customer_id)).toEqual([stranger]);
        expect(await stores.connections.listByMechanic(customerId)).toEqual([namesake]);
        expect(await allConnections(stores.connections)).toEqual([namesake]);

        // Act + Assert: deleted like any connection
        await stores.connections.delete(phone.connection_id);
        expect(await stores.connections.listByCustomer(customerId)).toEqual([laptop]);
      });

      describe('countMessage', () => {
        const SECOND = 1_800_000_000;

        it('counts a second up to the limit, then says over once and over_again after; the next second starts again', async () => {
          // Arrange
          const phone = connection(`mech-${uid()}`);
          await stores.connections.put(phone);
          const count = (second: number) => stores.connections.countMessage(phone.connection_id, second, 3);

          // Act
          const first = [await count(SECOND), await count(SECOND), await count(SECOND), await count(SECOND), await count(SECOND), await count(SECOND)];
          const next = [await count(SECOND + 1), await count(SECOND + 1)];

          // Assert
          expect(first).toEqual(['within', 'within', 'within', 'over', 'over_again', 'over_again']);
          expect(next).toEqual(['within', 'within']);
        });

        it("counts each connection apart, and never shows in the connection's listings", async () => {
          // Arrange
          const mechanicId = `mech-${uid()}`;
          const [phone, tablet] = [connection(mechanicId), connection(mechanicId)];
          for (const c of [phone, tablet]) await stores.connections.put(c);

          // Act
          const phoneCounts = [
            await stores.connections.countMessage(phone.connection_id, SECOND, 1),
            await stores.connections.countMessage(phone.connection_id, SECOND, 1),
          ];
          const tabletCount = await stores.connections.countMessage(tablet.connection_id, SECOND, 1);

          // Assert
          expect(phoneCounts).toEqual(['within', 'over']);
          expect(tabletCount).toBe('within');
          expect(ids(await stores.connections.listByMechanic(mechanicId))).toEqual(ids([phone, tablet]));
          expect(ids(await allConnections(stores.connections))).toEqual(ids([phone, tablet]));
        });

        it('counts messages at the same moment exactly: 20 at once with a limit of 5 are 5 within, 1 over, 14 over_again', async () => {
          // Arrange
          const phone = connection(`mech-${uid()}`);

          // Act
          const counts = await Promise.all(Array.from({ length: 20 }, () => stores.connections.countMessage(phone.connection_id, SECOND, 5)));

          // Assert
          const tally = (what: string) => counts.filter((c) => c === what).length;
          expect({ within: tally('within'), over: tally('over'), over_again: tally('over_again') }).toEqual({ within: 5, over: 1, over_again: 14 });
        });
      });
    });

    describe('OpenBookings', () => {
      it('holds up to max sessions per customer; a session already held is held again at the limit; another customer is apart', async () => {
        // Arrange
        const [customer, other] = [`cust-${uid()}`, `cust-${uid()}`];
        const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];

        // Act
        const first = [await stores.openBookings.hold(customer, a, 2, T0), await stores.openBookings.hold(customer, b, 2, T1)];
        const third = await stores.openBookings.hold(customer, c, 2, T2);
        const again = await stores.openBookings.hold(customer, a, 2, T2);
        const others = await stores.openBookings.hold(other, c, 2, T2);

        // Assert
        expect(first).toEqual([true, true]);
        expect(third).toBe(false);
        expect(again).toBe(true);
        expect(others).toBe(true);
        const read = await stores.openBookings.read(customer);
        expect(read.sessionIds.sort()).toEqual([a, b].sort());
        expect(read.lastHeldAt).toBe(T2);
        expect(await stores.openBookings.read(other)).toEqual({ sessionIds: [c], lastHeldAt: T2 });
      });

      it('a refused hold writes nothing (its time is not kept)', async () => {
        // Arrange
        const customer = `cust-${uid()}`;
        await stores.openBookings.hold(customer, randomUUID(), 1, T0);

        // Act
        const refused = await stores.openBookings.hold(customer, randomUUID(), 1, T1);

        // Assert
        expect(refused).toBe(false);
        expect((await stores.openBookings.read(customer)).lastHeldAt).toBe(T0);
      });

      it('release frees a place (twice is fine; a session never held, or a customer with none, too)', async () => {
        // Arrange
        const customer = `cust-${uid()}`;
        const [a, b] = [randomUUID(), randomUUID()];
        await stores.openBookings.hold(customer, a, 1, T0);

        // Act
        await stores.openBookings.release(customer, a);
        await stores.openBookings.release(customer, a);
        await stores.openBookings.release(customer, randomUUID());
        await stores.openBookings.release(`cust-${uid()}`, a);
        const freed = await stores.openBookings.hold(customer, b, 1, T1);

        // Assert
        expect(freed).toBe(true);
        expect((await stores.openBookings.read(customer)).sessionIds).toEqual([b]);
        expect(await stores.openBookings.read(`cust-${uid()}`)).toEqual({ sessionIds: [], lastHeldAt: null });
      });

      it('forget drops the sessions named, unless a hold was made after the one read', async () => {
        // Arrange
        const customer = `cust-${uid()}`;
        const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
        await stores.openBookings.hold(customer, a, 3, T0);
        await stores.openBookings.hold(customer, b, 3, T1);

        // Act
        const late = await stores.openBookings.forget(customer, [a], T0);
        const onTime = await stores.openBookings.forget(customer, [a], T1);
        await stores.openBookings.hold(customer, c, 3, T2);

        // Assert
        expect(late).toBe(false);
        expect(onTime).toBe(true);
        expect((await stores.openBookings.read(customer)).sessionIds.sort()).toEqual([b, c].sort());
      });
    });

    describe('TicketStore', () => {
      it('take returns the ticket once, and only before it expires; an unknown hash is nothing', async () => {
        // Arrange
        const [used, expired] = [`hash-${uid()}`, `hash-${uid()}`];
        const ticket = { subject: `mech-${uid()}`, role: 'mechanic' as const, expires_at: T3 };
        await stores.tickets.put(used, ticket);
        await stores.tickets.put(expired, { ...ticket, expires_at: T1 });

        // Act
        const first = await stores.tickets.take(used, NOW);
        const replay = await stores.tickets.take(used, NOW);
        const late = await stores.tickets.take(expired, NOW);
        const atTheSecond = await stores.tickets.take(expired, T1);
        const forged = await stores.tickets.take(`hash-${uid()}`, NOW);

        // Assert
        expect(first).toEqual(ticket);
        expect(replay).toBeUndefined();
        expect(late).toBeUndefined();
        expect(atTheSecond).toBeUndefined();
        expect(forged).toBeUndefined();
      });

      it('of many takes at once, exactly one gets the ticket', async () => {
        // Arrange
        const hash = `hash-${uid()}`;
        await stores.tickets.put(hash, { subject: `cust-${uid()}`, role: 'customer', expires_at: T3 });

        // Act
        const takes = await Promise.all(Array.from({ length: 10 }, () => stores.tickets.take(hash, NOW)));

        // Assert
        expect(takes.filter(Boolean)).toHaveLength(1);
      });

      it('a hash already stored is never rebound to someone else', async () => {
        // Arrange
        const hash = `hash-${uid()}`;
        const original = { subject: `cust-${uid()}`, role: 'customer' as const, expires_at: T3 };
        await stores.tickets.put(hash, original);

        // Act
        const overwrite = stores.tickets.put(hash, { subject: `mech-${uid()}`, role: 'mechanic', expires_at: T3 });

        // Assert
        await expect(overwrite).rejects.toThrow();
        expect(await stores.tickets.take(hash, NOW)).toEqual(original);
      });
    });
  });
}
