/**
 * The store ports' contract, written once and run on every implementation:
 * the in-memory stores (test/unit/in-memory-stores.test.ts) and the DynamoDB
 * adapters on dynalite (test/integration/dynamodb-stores.test.ts). Passing on
 * both is what lets the unit tier's use-case tests stand in for the real
 * table: each conditional write is shown to succeed and to be refused alike.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { requestIdFor } from '../../lambdas/domain/ids';
import type { Connection, Mechanic } from '../../lambdas/domain/mechanic';
import type { DispatchRequest } from '../../lambdas/domain/request';
import type { Session } from '../../lambdas/domain/session';
import type { ConnectionStore, MechanicStore, RequestStore, SessionStore } from '../../lambdas/ports';

export interface Stores {
  readonly sessions: SessionStore;
  readonly requests: RequestStore;
  readonly mechanics: MechanicStore;
  readonly connections: ConnectionStore;
}

const T0 = '2026-11-24T12:00:00.000Z';
const T1 = '2026-11-24T12:01:00.000Z';
const T2 = '2026-11-24T12:02:00.000Z';

const uid = (): string => randomUUID().slice(0, 8);

function session(overrides: Partial<Session> = {}): Session {
  const sessionId = randomUUID();
  return {
    session_id: sessionId,
    customer_id: `cust-${uid()}`,
    plan: 'paid',
    status: 'awaiting_checkout',
    concern: 'Brakes squeal',
    vehicle: { make: 'Toyota', model: 'Corolla', year: 2019 },
    workshop_id: null,
    metadata: { preferred_mechanic_id: `mech-${uid()}`, routing_type: 'priority_broadcast' },
    request_id: null,
    intake_fingerprint: `fp-${uid()}`,
    created_at: T0,
    updated_at: T0,
    ...overrides,
  };
}

function request(overrides: Partial<DispatchRequest> = {}): DispatchRequest {
  const sessionId = randomUUID();
  return {
    request_id: requestIdFor(sessionId),
    session_id: sessionId,
    customer_id: `cust-${uid()}`,
    status: 'pending',
    routing: 'broadcast',
    preferred_mechanic_id: null,
    workshop_id: null,
    mechanic_id: null,
    expires_at: null,
    concern: 'Rattle at idle',
    vehicle: null,
    metadata: {},
    events: [{ at: T0, type: 'created' }],
    created_at: T0,
    ...overrides,
  };
}

/** A pending priority request in its window, offered to `favorite`. */
const priority = (favorite: string): DispatchRequest =>
  request({
    routing: 'priority',
    preferred_mechanic_id: favorite,
    expires_at: '2026-11-24T12:10:00.000Z',
    metadata: { priority_mechanic_id: favorite, priority_window_minutes: 10 },
  });

const connection = (mechanicId: string, workshopId: string | null = null): Connection => ({
  connection_id: `conn-${uid()}`,
  mechanic_id: mechanicId,
  workshop_id: workshopId,
  connected_at: T0,
});

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

    describe('SessionStore', () => {
      it('creates a session and reads it back; an unknown id is undefined', async () => {
        // Arrange
        const draft = session();

        // Act
        const result = await stores.sessions.create(draft);

        // Assert
        expect(result).toEqual({ created: true, session: draft });
        expect(await stores.sessions.get(draft.session_id)).toEqual(draft);
        expect(await stores.sessions.get(randomUUID())).toBeUndefined();
      });

      it('create with an existing id returns the first session and keeps it', async () => {
        // Arrange
        const first = session();
        await stores.sessions.create(first);

        // Act
        const second = await stores.sessions.create({ ...first, concern: 'Another booking', intake_fingerprint: 'other' });

        // Assert
        expect(second).toEqual({ created: false, session: first });
        expect(await stores.sessions.get(first.session_id)).toEqual(first);
      });

      it('markFulfilled sets status, request id and updated_at, and may run again', async () => {
        // Arrange
        const draft = session();
        await stores.sessions.create(draft);
        const requestId = requestIdFor(draft.session_id);

        // Act
        const fulfilled = await stores.sessions.markFulfilled(draft.session_id, requestId, T1);
        const again = await stores.sessions.markFulfilled(draft.session_id, requestId, T2);

        // Assert
        expect(fulfilled).toEqual({ ...draft, status: 'fulfilled', request_id: requestId, updated_at: T1 });
        expect(again).toEqual({ ...draft, status: 'fulfilled', request_id: requestId, updated_at: T2 });
        expect(await stores.sessions.get(draft.session_id)).toEqual(again);
      });

      it('markFulfilled refuses a cancelled session and a missing one, changing nothing', async () => {
        // Arrange
        const draft = session();
        await stores.sessions.create(draft);
        const cancelled = await stores.sessions.markCancelled(draft.session_id, T1);
        const missing = randomUUID();

        // Act
        const refused = await stores.sessions.markFulfilled(draft.session_id, requestIdFor(draft.session_id), T2);
        const unknown = await stores.sessions.markFulfilled(missing, requestIdFor(missing), T2);

        // Assert
        expect(refused).toBeUndefined();
        expect(await stores.sessions.get(draft.session_id)).toEqual(cancelled);
        expect(unknown).toBeUndefined();
        expect(await stores.sessions.get(missing)).toBeUndefined();
      });

      it('markCancelled cancels an awaiting or a fulfilled session; a missing one stays missing', async () => {
        // Arrange
        const awaiting = session();
        const fulfilled = session({ plan: 'free', status: 'fulfilled' });
        await stores.sessions.create(awaiting);
        await stores.sessions.create(fulfilled);
        const missing = randomUUID();

        // Act
        const first = await stores.sessions.markCancelled(awaiting.session_id, T1);
        const second = await stores.sessions.markCancelled(fulfilled.session_id, T1);
        const unknown = await stores.sessions.markCancelled(missing, T1);

        // Assert
        expect(first).toEqual({ ...awaiting, status: 'cancelled', updated_at: T1 });
        expect(second).toEqual({ ...fulfilled, status: 'cancelled', updated_at: T1 });
        expect(await stores.sessions.get(awaiting.session_id)).toEqual(first);
        expect(unknown).toBeUndefined();
        expect(await stores.sessions.get(missing)).toBeUndefined();
      });

      it('hands out copies: changing what was passed in or read back changes nothing stored', async () => {
        // Arrange
        const draft = session();
        const original = structuredClone(draft);
        const passedIn = structuredClone(draft) as { -readonly [K in keyof Session]: Session[K] };
        await stores.sessions.create(passedIn);

        // Act
        passedIn.concern = 'changed after create';
        const read = (await stores.sessions.get(draft.session_id)) as { -readonly [K in keyof Session]: Session[K] };
        read.status = 'cancelled';

        // Assert
        expect(await stores.sessions.get(draft.session_id)).toEqual(original);
      });
    });

    describe('RequestStore', () => {
      it('creates a request once: a second create returns the first', async () => {
        // Arrange
        const first = request();

        // Act
        const created = await stores.requests.create(first);
        const again = await stores.requests.create({ ...first, routing: 'workshop', workshop_id: 'w1' });

        // Assert
        expect(created).toEqual({ created: true, request: first });
        expect(again).toEqual({ created: false, request: first });
        expect(await stores.requests.get(first.request_id)).toEqual(first);
        expect(await stores.requests.get(requestIdFor(randomUUID()))).toBeUndefined();
      });

      it('record adds metadata (skipping undefined values) and an event; a missing request stays missing', async () => {
        // Arrange
        const draft = priority(`mech-${uid()}`);
        await stores.requests.create(draft);
        const missing = requestIdFor(randomUUID());

        // Act
        await stores.requests.record(
          draft.request_id,
          { priority_notified_at: T1, fallback_reason: undefined },
          { at: T1, type: 'priority_offer_sent', delivered: 1 },
        );
        await stores.requests.record(missing, { priority_notified_at: T1 }, { at: T1, type: 'priority_offer_sent' });

        // Assert
        expect(await stores.requests.get(draft.request_id)).toEqual({
          ...draft,
          metadata: { ...draft.metadata, priority_notified_at: T1 },
          events: [...draft.events, { at: T1, type: 'priority_offer_sent', delivered: 1 }],
        });
        expect(await stores.requests.get(missing)).toBeUndefined();
      });

      describe('match', () => {
        it('a pending broadcast goes to the first acceptor; later ones, the winner included, are refused with what is stored', async () => {
          // Arrange
          const draft = request();
          await stores.requests.create(draft);
          const winner = `mech-${uid()}`;

          // Act
          const first = await stores.requests.match(draft.request_id, { mechanicId: winner, workshopId: null }, T1);
          const second = await stores.requests.match(draft.request_id, { mechanicId: `mech-${uid()}`, workshopId: null }, T2);
          const retried = await stores.requests.match(draft.request_id, { mechanicId: winner, workshopId: null }, T2);

          // Assert
          const matched = {
            ...draft,
            status: 'matched',
            mechanic_id: winner,
            matched_at: T1,
            events: [...draft.events, { at: T1, type: 'accepted', mechanic_id: winner }],
          };
          expect(first).toEqual({ matched: true, request: matched });
          expect(second).toEqual({ matched: false, request: matched });
          expect(retried).toEqual({ matched: false, request: matched });
          expect(await stores.requests.get(draft.request_id)).toEqual(matched);
        });

        it('inside the priority window only the favorite may take it', async () => {
          // Arrange
          const favorite = `mech-${uid()}`;
          const draft = priority(favorite);
          await stores.requests.create(draft);

          // Act
          const other = await stores.requests.match(draft.request_id, { mechanicId: `mech-${uid()}`, workshopId: null }, T1);
          const otherInAWorkshop = await stores.requests.match(draft.request_id, { mechanicId: `mech-${uid()}`, workshopId: 'w1' }, T1);
          const byFavorite = await stores.requests.match(draft.request_id, { mechanicId: favorite, workshopId: null }, T2);

          // Assert
          expect(other).toEqual({ matched: false, request: draft });
          expect(otherInAWorkshop).toEqual({ matched: false, request: draft });
          expect(byFavorite).toMatchObject({ matched: true, request: { status: 'matched', mechanic_id: favorite, matched_at: T2 } });
        });

        it('after the fallback claimed it, anyone may take a priority request', async () => {
          // Arrange
          const draft = priority(`mech-${uid()}`);
          await stores.requests.create(draft);
          await stores.requests.claimFallback(draft.request_id, 'preferred_mechanic_no_response', T1);
          const other = `mech-${uid()}`;

          // Act
          const outcome = await stores.requests.match(draft.request_id, { mechanicId: other, workshopId: null }, T2);

          // Assert
          expect(outcome).toMatchObject({ matched: true, request: { status: 'matched', mechanic_id: other } });
          expect(outcome.request!.metadata).toMatchObject({ fallback_broadcast_at: T1, fallback_reason: 'preferred_mechanic_no_response' });
        });

        it('a workshop request goes only to a mechanic of that workshop', async () => {
          // Arrange
          const workshop = `ws-${uid()}`;
          const draft = request({ routing: 'workshop', workshop_id: workshop });
          await stores.requests.create(draft);
          const insider = `mech-${uid()}`;

          // Act
          const noWorkshop = await stores.requests.match(draft.request_id, { mechanicId: `mech-${uid()}`, workshopId: null }, T1);
          const otherWorkshop = await stores.requests.match(draft.request_id, { mechanicId: `mech-${uid()}`, workshopId: `ws-${uid()}` }, T1);
          const fromWorkshop = await stores.requests.match(draft.request_id, { mechanicId: insider, workshopId: workshop }, T2);

          // Assert
          expect(noWorkshop).toEqual({ matched: false, request: draft });
          expect(otherWorkshop).toEqual({ matched: false, request: draft });
          expect(fromWorkshop).toMatchObject({ matched: true, request: { status: 'matched', mechanic_id: insider } });
        });

        it('a cancelled request is refused, a missing one is undefined and stays missing', async () => {
          // Arrange
          const draft = request();
          await stores.requests.create(draft);
          const cancelled = await stores.requests.cancel(draft.request_id, T1);
          const missing = requestIdFor(randomUUID());

          // Act
          const refused = await stores.requests.match(draft.request_id, { mechanicId: `mech-${uid()}`, workshopId: null }, T2);
          const unknown = await stores.requests.match(missing, { mechanicId: `mech-${uid()}`, workshopId: null }, T2);

          // Assert
          expect(refused).toEqual({ matched: false, request: cancelled });
          expect(unknown).toEqual({ matched: false, request: undefined });
          expect(await stores.requests.get(missing)).toBeUndefined();
        });
      });

      describe('claimFallback', () => {
        it('claims a pending priority request once: a second claim is refused', async () => {
          // Arrange
          const draft = priority(`mech-${uid()}`);
          await stores.requests.create(draft);

          // Act
          const first = await stores.requests.claimFallback(draft.request_id, 'preferred_mechanic_declined', T1);
          const second = await stores.requests.claimFallback(draft.request_id, 'preferred_mechanic_no_response', T2);

          // Assert
          const claimed = {
            ...draft,
            metadata: { ...draft.metadata, fallback_broadcast_at: T1, fallback_reason: 'preferred_mechanic_declined' },
            events: [...draft.events, { at: T1, type: 'fallback_started', reason: 'preferred_mechanic_declined' }],
          };
          expect(first).toEqual(claimed);
          expect(second).toBeUndefined();
          expect(await stores.requests.get(draft.request_id)).toEqual(claimed);
        });

        it('refuses a broadcast, a matched, a cancelled and a missing request, changing nothing', async () => {
          // Arrange
          const favorite = `mech-${uid()}`;
          const broadcast = request();
          const matched = priority(favorite);
          const cancelled = priority(favorite);
          for (const r of [broadcast, matched, cancelled]) await stores.requests.create(r);
          await stores.requests.match(matched.request_id, { mechanicId: favorite, workshopId: null }, T1);
          await stores.requests.cancel(cancelled.request_id, T1);
          const before = await Promise.all([broadcast, matched, cancelled].map((r) => stores.requests.get(r.request_id)));
          const missing = requestIdFor(randomUUID());

          // Act
          const refused = await Promise.all(
            [broadcast, matched, cancelled].map((r) => stores.requests.claimFallback(r.request_id, 'preferred_mechanic_no_response', T2)),
          );
          const unknown = await stores.requests.claimFallback(missing, 'preferred_mechanic_no_response', T2);

          // Assert
          expect(refused).toEqual([undefined, undefined, undefined]);
          expect(await Promise.all([broadcast, matched, cancelled].map((r) => stores.requests.get(r.request_id)))).toEqual(before);
          expect(unknown).toBeUndefined();
          expect(await stores.requests.get(missing)).toBeUndefined();
        });
      });

      describe('releaseFallback', () => {
        it('gives back only the claim made at `claimedAt`; the request can then be claimed again', async () => {
          // Arrange
          const draft = priority(`mech-${uid()}`);
          await stores.requests.create(draft);
          const claimed = await stores.requests.claimFallback(draft.request_id, 'preferred_mechanic_no_response', T1);

          // Act: another invocation's claim time first, then ours
          await stores.requests.releaseFallback(draft.request_id, T2, { at: T2, type: 'fallback_failed', error: 'not ours' });
          const afterForeignRelease = await stores.requests.get(draft.request_id);
          await stores.requests.releaseFallback(draft.request_id, T1, { at: T2, type: 'fallback_failed', error: 'Throughput exceeded' });
          const afterRelease = await stores.requests.get(draft.request_id);
          const reclaimed = await stores.requests.claimFallback(draft.request_id, 'preferred_mechanic_no_response', T2);

          // Assert
          expect(afterForeignRelease).toEqual(claimed);
          expect(afterRelease).toEqual({
            ...draft,
            events: [...claimed!.events, { at: T2, type: 'fallback_failed', error: 'Throughput exceeded' }],
          });
          expect(reclaimed?.metadata).toMatchObject({ fallback_broadcast_at: T2 });
        });

        it('does nothing for a request never claimed or missing', async () => {
          // Arrange
          const draft = priority(`mech-${uid()}`);
          await stores.requests.create(draft);
          const missing = requestIdFor(randomUUID());

          // Act
          await stores.requests.releaseFallback(draft.request_id, T1, { at: T1, type: 'fallback_failed' });
          await stores.requests.releaseFallback(missing, T1, { at: T1, type: 'fallback_failed' });

          // Assert
          expect(await stores.requests.get(draft.request_id)).toEqual(draft);
          expect(await stores.requests.get(missing)).toBeUndefined();
        });
      });

      describe('cancel', () => {
        it('cancels a pending request once', async () => {
          // Arrange
          const draft = priority(`mech-${uid()}`);
          await stores.requests.create(draft);

          // Act
          const first = await stores.requests.cancel(draft.request_id, T1);
          const second = await stores.requests.cancel(draft.request_id, T2);

          // Assert
          const cancelled = { ...draft, status: 'cancelled', cancelled_at: T1, events: [...draft.events, { at: T1, type: 'cancelled' }] };
          expect(first).toEqual(cancelled);
          expect(second).toBeUndefined();
          expect(await stores.requests.get(draft.request_id)).toEqual(cancelled);
        });

        it('refuses a matched request and a missing one', async () => {
          // Arrange
          const draft = request();
          await stores.requests.create(draft);
          const { request: matched } = await stores.requests.match(draft.request_id, { mechanicId: `mech-${uid()}`, workshopId: null }, T1);
          const missing = requestIdFor(randomUUID());

          // Act
          const refused = await stores.requests.cancel(draft.request_id, T2);
          const unknown = await stores.requests.cancel(missing, T2);

          // Assert
          expect(refused).toBeUndefined();
          expect(await stores.requests.get(draft.request_id)).toEqual(matched);
          expect(unknown).toBeUndefined();
          expect(await stores.requests.get(missing)).toBeUndefined();
        });
      });

      it('hands out copies: changing a returned request changes nothing stored', async () => {
        // Arrange
        const draft = priority(`mech-${uid()}`);
        await stores.requests.create(draft);
        const claimed = (await stores.requests.claimFallback(draft.request_id, 'preferred_mechanic_no_response', T1))!;
        const expected = structuredClone(claimed);

        // Act
        (claimed.metadata as { fallback_broadcast_at?: string }).fallback_broadcast_at = undefined;
        (claimed.events as unknown[]).push({ at: T2, type: 'tampered' });
        ((await stores.requests.get(draft.request_id))!.events as unknown[]).splice(0);

        // Assert
        expect(await stores.requests.get(draft.request_id)).toEqual(expected);
      });
    });

    describe('MechanicStore', () => {
      it('puts, overwrites and reads mechanics; an unknown one is undefined', async () => {
        // Arrange
        const mechanicId = `mech-${uid()}`;
        const approved: Mechanic = { mechanic_id: mechanicId, status: 'approved', name: 'Ana', workshop_id: null, updated_at: T0 };
        const moved: Mechanic = { ...approved, status: 'suspended', workshop_id: `ws-${uid()}`, updated_at: T1 };

        // Act
        await stores.mechanics.put(approved);
        const first = await stores.mechanics.get(mechanicId);
        await stores.mechanics.put(moved);

        // Assert
        expect(first).toEqual(approved);
        expect(await stores.mechanics.get(mechanicId)).toEqual(moved);
        expect(await stores.mechanics.get(`mech-${uid()}`)).toBeUndefined();
      });
    });

    describe('ConnectionStore', () => {
      it('lists connections by mechanic, by workshop and all; a deleted one is in none', async () => {
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
        expect(ids(await collect(stores.connections.listAll()))).toEqual(ids([soloPhone, soloTablet, crewPhone]));

        // Act + Assert: deleted (twice: an absent one is fine)
        await stores.connections.delete(soloPhone.connection_id);
        await stores.connections.delete(crewPhone.connection_id);
        await stores.connections.delete(crewPhone.connection_id);
        expect(await stores.connections.listByMechanic(solo)).toEqual([soloTablet]);
        expect(await stores.connections.listByMechanic(crew)).toEqual([]);
        expect(await collect(stores.connections.listByWorkshop(workshop))).toEqual([]);
        expect(await collect(stores.connections.listAll())).toEqual([soloTablet]);
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
        expect(await collect(stores.connections.listAll())).toEqual([{ ...phone, workshop_id: null }]);
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
        expect(await collect(stores.connections.listAll())).toEqual([replaced]);
      });
    });
  });
}
