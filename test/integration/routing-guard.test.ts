/**
 * The routing guard at use-case level: the durable schedule exists before the
 * session is written, finishes a routing an invocation left undone, and is a
 * no-op for a routed, cancelled or unknown session.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cancelSession, finishRouting, startIntake, type Booking } from '../../lambdas/use-cases/sessions';
import { createHarness, ROUTING_GUARD_FUNCTION_ARN, type Harness } from '../support/deps';
import { createTestTable } from '../support/table';

const booking: Booking = { plan: 'free', concern: 'Half-way', vehicle: null, preferred_mechanic_id: null, routing_type: null, workshop_id: null };

let h: Harness;
beforeEach(async () => {
  h = await createHarness(await createTestTable());
});
afterEach(() => h.close());

describe('routing guard', () => {
  it('is scheduled before the session exists and finishes the routing once when the invocation died', async () => {
    // Arrange: the request write fails once, as if the function died between its two writes
    const mechanic = await h.addMechanic();
    const create = h.deps.requests.create.bind(h.deps.requests);
    let dies = true;
    h.deps.requests.create = (request) => {
      if (dies) {
        dies = false;
        return Promise.reject(new Error('Task timed out'));
      }
      return create(request);
    };

    // Act
    await expect(startIntake(h.deps, { customerId: 'cust-guard', idempotencyKey: 'k1', booking })).rejects.toThrow('Task timed out');
    await startIntake(h.deps, { customerId: 'cust-other', booking }); // a normal booking alongside
    const halfWritten = (await h.schedulesCreated()).map((s) => s.Name);

    // Assert: the half-written booking's guard is waiting, the normal one's was released
    expect(halfWritten.filter((name) => name?.startsWith('route-'))).toHaveLength(1);
    const guardName = halfWritten.find((name) => name?.startsWith('route-'))!;
    const guard = (await h.schedule(guardName))!;
    const guardedSession = guardName.replace(/^route-/, '');
    expect(guard).toMatchObject({
      ScheduleExpression: 'at(2026-11-24T12:02:00)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      Target: expect.objectContaining({ Arn: ROUTING_GUARD_FUNCTION_ARN, Input: JSON.stringify({ session_id: guardedSession }) }),
    });
    expect(await h.deps.requests.get(`req-${guardedSession}`)).toBeUndefined();

    // Act: the guard fires (twice, as at-least-once delivery allows)
    const first = await finishRouting(h.deps, { sessionId: guardedSession });
    const again = await finishRouting(h.deps, { sessionId: guardedSession });

    // Assert
    expect(first).toEqual({ routed: true });
    expect(again).toEqual({ routed: false });
    expect((await h.deps.requests.get(`req-${guardedSession}`))!.status).toBe('pending');
    expect((await h.pushedTo(mechanic.connectionIds[0]!)).filter((m) => m.type === 'new_request' && m.request_id === `req-${guardedSession}`)).toHaveLength(1);
  });

  it('does nothing for a cancelled or unknown session', async () => {
    const paid = await startIntake(h.deps, { customerId: 'cust-cancel', booking: { ...booking, plan: 'paid' } });
    await cancelSession(h.deps, { customerId: 'cust-cancel', sessionId: paid.session_id });

    expect(await finishRouting(h.deps, { sessionId: paid.session_id })).toEqual({ routed: false });
    expect(await finishRouting(h.deps, { sessionId: '00000000-0000-4000-8000-000000000000' })).toEqual({ routed: false });
    expect(await h.deps.requests.get(`req-${paid.session_id}`)).toBeUndefined();
  });
});
