/**
 * Intake and checkout on the in-memory ports: which plans route at once, the
 * Idempotency-Key, the routing decision as the use case applies it (flag read
 * only when a booking asks for priority; workshop first), the routing guard,
 * and broadcast delivery. The reference is test/integration/flow.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { completeCheckout, finishRouting, startIntake } from '../../../lambdas/use-cases/sessions';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory-ports';
import { addMechanic, booking, newCustomerId, phone, priorityBooking, received, receivedTypes } from './fixtures';

let deps: InMemoryDeps;
beforeEach(() => {
  deps = inMemoryDeps();
});

describe('startIntake', () => {
  it('a free plan is fulfilled at once and broadcast to every connection, under a routing guard released afterwards', async () => {
    // Arrange
    const customerId = newCustomerId();
    const first = await addMechanic(deps, { connections: 2 });
    const second = await addMechanic(deps);

    // Act
    const answer = await startIntake(deps, { customerId, booking: booking() });

    // Assert
    expect(answer).toEqual({ session_id: answer.session_id, status: 'fulfilled', request_id: `req-${answer.session_id}` });
    for (const connectionId of [...first.connectionIds, ...second.connectionIds]) {
      expect(deps.pusher.sentTo(connectionId)).toEqual([
        expect.objectContaining({ type: 'new_request', reason: 'broadcast', request_id: answer.request_id, session_id: answer.session_id }),
      ]);
    }
    expect(await deps.sessions.get(answer.session_id)).toMatchObject({ status: 'fulfilled', request_id: answer.request_id, customer_id: customerId });
    const request = await deps.requests.get(answer.request_id!);
    expect(request).toMatchObject({ status: 'pending', routing: 'broadcast', expires_at: null, metadata: {} });
    expect(request!.events.map((e) => e.type)).toEqual(['created', 'broadcast_sent']);
    expect(request!.events.at(-1)).toMatchObject({ delivered: 3, gone: 0, failed: 0 });
    expect(deps.scheduler.created).toEqual([{ name: `route-${answer.session_id}`, at: '2026-11-24T12:02:00.000Z', input: { session_id: answer.session_id } }]);
    expect(deps.scheduler.schedules()).toEqual([]);
    expect(deps.metrics.total('BroadcastsDelivered')).toBe(3);
  });

  it('a paid plan waits for checkout: no request, no push, no schedule', async () => {
    // Arrange
    const customerId = newCustomerId();
    const favorite = await addMechanic(deps);
    deps.flag.enabled = true;

    // Act
    const answer = await startIntake(deps, { customerId, booking: priorityBooking(favorite.mechanicId, { plan: 'paid' }) });

    // Assert
    expect(answer).toEqual({ session_id: answer.session_id, status: 'awaiting_checkout' });
    expect(await deps.sessions.get(answer.session_id)).toMatchObject({ status: 'awaiting_checkout', request_id: null, plan: 'paid' });
    expect(await deps.requests.get(`req-${answer.session_id}`)).toBeUndefined();
    expect(deps.pusher.sent).toEqual([]);
    expect(deps.scheduler.created).toEqual([]);
    expect(deps.flag.reads).toBe(0);
  });

  it('the same Idempotency-Key returns the first answer and sends nothing twice; another customer gets their own session', async () => {
    // Arrange
    const [customerId, otherCustomerId] = [newCustomerId(), newCustomerId()];
    const mechanic = await addMechanic(deps);

    // Act
    const first = await startIntake(deps, { customerId, idempotencyKey: 'key-1', booking: booking() });
    const retry = await startIntake(deps, { customerId, idempotencyKey: 'key-1', booking: booking() });
    const otherCustomer = await startIntake(deps, { customerId: otherCustomerId, idempotencyKey: 'key-1', booking: booking() });

    // Assert
    expect(retry).toEqual(first);
    expect(otherCustomer.session_id).not.toBe(first.session_id);
    expect(received(deps, mechanic)).toEqual([
      expect.objectContaining({ type: 'new_request', request_id: first.request_id }),
      expect.objectContaining({ type: 'new_request', request_id: otherCustomer.request_id }),
    ]);
    expect((await deps.requests.get(first.request_id!))!.events.filter((e) => e.type === 'broadcast_sent')).toHaveLength(1);
  });

  it('an Idempotency-Key reused for a different booking is refused with idempotency_key_reused, and the first booking stands', async () => {
    // Arrange
    const customerId = newCustomerId();
    const mechanic = await addMechanic(deps);
    const first = await startIntake(deps, { customerId, idempotencyKey: 'key-2', booking: booking() });

    // Act
    const reused = startIntake(deps, { customerId, idempotencyKey: 'key-2', booking: booking({ concern: 'Something else' }) });

    // Assert
    await expect(reused).rejects.toMatchObject({ status: 409, code: 'idempotency_key_reused' });
    expect(await deps.sessions.get(first.session_id)).toMatchObject({ concern: 'Check engine light after a cold start', status: 'fulfilled' });
    expect(receivedTypes(deps, mechanic)).toEqual(['new_request']);
  });

  describe('routing', () => {
    it('flag off: a priority booking is broadcast at once; the favorite is never looked up and no priority code runs', async () => {
      // Arrange
      const customerId = newCustomerId();
      const favorite = await addMechanic(deps);
      const other = await addMechanic(deps);
      deps.flag.enabled = false;

      // Act
      const answer = await startIntake(deps, { customerId, booking: priorityBooking(favorite.mechanicId) });

      // Assert
      expect(received(deps, favorite)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'broadcast' })]);
      expect(received(deps, other)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'broadcast' })]);
      expect(deps.flag.reads).toBe(1);
      expect(deps.mechanics.gets).toEqual([]);
      expect(deps.log.messages('[Priority]')).toEqual([]);
      expect(deps.scheduler.created.filter((s) => s.name.startsWith('fallback-'))).toEqual([]);
      expect(await deps.requests.get(answer.request_id!)).toMatchObject({
        routing: 'broadcast',
        preferred_mechanic_id: favorite.mechanicId,
        expires_at: null,
        metadata: {},
      });
      expect(deps.metrics.total('OffersSent')).toBe(0);
    });

    it('flag on: the same booking goes to the favorite alone', async () => {
      // Arrange
      const customerId = newCustomerId();
      const favorite = await addMechanic(deps);
      const other = await addMechanic(deps);
      deps.flag.enabled = true;

      // Act
      const answer = await startIntake(deps, { customerId, booking: priorityBooking(favorite.mechanicId) });

      // Assert
      expect(receivedTypes(deps, favorite)).toEqual(['priority_session_request']);
      expect(received(deps, other)).toEqual([]);
      expect(deps.flag.reads).toBe(1);
      expect(deps.mechanics.gets).toEqual([favorite.mechanicId]);
      expect(await deps.requests.get(answer.request_id!)).toMatchObject({ routing: 'priority', status: 'pending' });
    });

    it.each([
      ['no favorite at all', {}],
      ['routing_type broadcast with a favorite', { routing_type: 'broadcast' as const, preferred_mechanic_id: 'mech-fav' }],
      ['priority_broadcast without a favorite', { routing_type: 'priority_broadcast' as const }],
    ])('%s → broadcast, and the flag is never read', async (_name, overrides) => {
      // Arrange
      const customerId = newCustomerId();
      const mechanic = await addMechanic(deps);
      deps.flag.enabled = true;

      // Act
      await startIntake(deps, { customerId, booking: booking(overrides) });

      // Assert
      expect(received(deps, mechanic)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'broadcast' })]);
      expect(deps.flag.reads).toBe(0);
      expect(deps.mechanics.gets).toEqual([]);
    });

    it('a workshop booking goes to the workshop only, ahead of priority: neither flag nor favorite is read', async () => {
      // Arrange
      const customerId = newCustomerId();
      const inWorkshop = await addMechanic(deps, { workshopId: 'ws-north', connections: 2 });
      const otherWorkshop = await addMechanic(deps, { workshopId: 'ws-south' });
      const favoriteElsewhere = await addMechanic(deps);
      deps.flag.enabled = true;

      // Act
      const answer = await startIntake(deps, { customerId, booking: priorityBooking(favoriteElsewhere.mechanicId, { workshop_id: 'ws-north' }) });

      // Assert
      for (const connectionId of inWorkshop.connectionIds) {
        expect(deps.pusher.sentTo(connectionId)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'workshop' })]);
      }
      expect(received(deps, otherWorkshop)).toEqual([]);
      expect(received(deps, favoriteElsewhere)).toEqual([]);
      expect(deps.flag.reads).toBe(0);
      expect(deps.mechanics.gets).toEqual([]);
      expect(await deps.requests.get(answer.request_id!)).toMatchObject({ routing: 'workshop', workshop_id: 'ws-north' });
      expect(deps.log.messages('[Priority]')).toEqual([]);
    });
  });

  it('an invocation that dies before its request exists leaves the routing guard, which finishes the routing once', async () => {
    // Arrange: the request write fails once, as if the function died between its two writes
    const customerId = newCustomerId();
    const mechanic = await addMechanic(deps);
    const create = deps.requests.create.bind(deps.requests);
    let dies = true;
    deps.requests.create = (request) => {
      if (!dies) return create(request);
      dies = false;
      return Promise.reject(new Error('Task timed out'));
    };

    // Act
    await expect(startIntake(deps, { customerId, idempotencyKey: 'k1', booking: booking() })).rejects.toThrow('Task timed out');
    const [guard] = deps.scheduler.schedules();
    const sessionId = guard!.name.replace(/^route-/, '');
    const first = await finishRouting(deps, { sessionId });
    const again = await finishRouting(deps, { sessionId });

    // Assert
    expect(guard).toEqual({ name: `route-${sessionId}`, at: '2026-11-24T12:02:00.000Z', input: { session_id: sessionId } });
    expect(first).toEqual({ routed: true });
    expect(again).toEqual({ routed: false });
    expect(received(deps, mechanic)).toEqual([expect.objectContaining({ type: 'new_request', request_id: `req-${sessionId}` })]);
  });

  it('broadcast delivery: a 410 prunes that connection only; another push error is counted and never stops the rest', async () => {
    // Arrange
    const customerId = newCustomerId();
    const healthy = [await addMechanic(deps), await addMechanic(deps), await addMechanic(deps)];
    const gone = await addMechanic(deps);
    const broken = await addMechanic(deps);
    deps.pusher.markGone(phone(gone));
    deps.pusher.markBroken(phone(broken));

    // Act
    const answer = await startIntake(deps, { customerId, booking: booking() });

    // Assert
    for (const m of healthy) expect(receivedTypes(deps, m)).toEqual(['new_request']);
    expect(await deps.connections.listByMechanic(gone.mechanicId)).toEqual([]);
    expect(await deps.connections.listByMechanic(broken.mechanicId)).toHaveLength(1);
    expect((await deps.requests.get(answer.request_id!))!.events.at(-1)).toMatchObject({ type: 'broadcast_sent', delivered: 3, gone: 1, failed: 1 });
    expect(deps.log.lines).toContainEqual(
      expect.objectContaining({ level: 'WARN', message: 'Push to a connection failed', fields: expect.objectContaining({ connection_id: phone(broken) }) }),
    );
  });
});

describe('completeCheckout', () => {
  it('fulfills a paid priority session once: a repeated checkout answers the same and sends one offer', async () => {
    // Arrange
    const customerId = newCustomerId();
    const favorite = await addMechanic(deps);
    deps.flag.enabled = true;
    const intake = await startIntake(deps, { customerId, booking: priorityBooking(favorite.mechanicId, { plan: 'paid' }) });
    deps.clock.advance(45);

    // Act
    const first = await completeCheckout(deps, { customerId, sessionId: intake.session_id });
    const again = await completeCheckout(deps, { customerId, sessionId: intake.session_id });

    // Assert
    expect(first).toEqual({ session_id: intake.session_id, status: 'fulfilled', request_id: `req-${intake.session_id}` });
    expect(again).toEqual(first);
    expect(receivedTypes(deps, favorite)).toEqual(['priority_session_request']);
    expect(deps.scheduler.schedules()).toEqual([
      { name: `fallback-req-${intake.session_id}`, at: '2026-11-24T12:10:45.000Z', input: { request_id: `req-${intake.session_id}` } },
    ]);
    expect(await deps.sessions.get(intake.session_id)).toMatchObject({ status: 'fulfilled', request_id: first.request_id });
  });

  it('a cancelled session cannot be checked out', async () => {
    // Arrange
    const customerId = newCustomerId();
    const mechanic = await addMechanic(deps);
    const intake = await startIntake(deps, { customerId, booking: booking({ plan: 'paid' }) });
    await deps.sessions.markCancelled(intake.session_id, deps.clock.now().toISOString());

    // Act
    const checkout = completeCheckout(deps, { customerId, sessionId: intake.session_id });

    // Assert
    await expect(checkout).rejects.toMatchObject({ status: 409, code: 'session_cancelled' });
    expect(await deps.requests.get(`req-${intake.session_id}`)).toBeUndefined();
    expect(received(deps, mechanic)).toEqual([]);
  });

  it("another customer's session is not found and stays as it was", async () => {
    // Arrange
    const [customerId, intruder] = [newCustomerId(), newCustomerId()];
    const intake = await startIntake(deps, { customerId, booking: booking({ plan: 'paid' }) });

    // Act
    const checkout = completeCheckout(deps, { customerId: intruder, sessionId: intake.session_id });

    // Assert
    await expect(checkout).rejects.toMatchObject({ status: 404, code: 'not_found' });
    expect(await deps.sessions.get(intake.session_id)).toMatchObject({ status: 'awaiting_checkout', request_id: null });
  });
});
