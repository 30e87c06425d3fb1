/**
 * The open-bookings limit under concurrency, through the use cases on real
 * wires (DynamoDB on dynalite, Scheduler, the fan-out): intakes of one customer
 * racing at the limit are decided by the table's conditional writes, so
 * exactly `max` succeed however they interleave, and another customer is not
 * touched. (A Query-then-write count would let several through at once.)
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../lambdas/domain/errors';
import { acceptRequest } from '../../lambdas/use-cases/accept-request';
import { cancelBooking, startIntake } from '../../lambdas/use-cases/booking';
import { booking } from '../support/bookings';
import { createHarness, type Harness } from '../support/deps';
import { createTestTable } from '../support/table';

const MAX = 3;
let h: Harness;
beforeEach(async () => {
  h = await createHarness(await createTestTable(), { maxOpenBookingsPerCustomer: MAX });
});
afterEach(async () => {
  await h.close();
});

const intake = (customerId: string, idempotencyKey?: string) =>
  startIntake(h.deps, { customerId, ...(idempotencyKey ? { idempotencyKey } : {}), booking: booking() }).then(
    (answer) => ({ ok: true as const, answer }),
    (error: unknown) => {
      if (error instanceof AppError && error.code === 'too_many_open_bookings') return { ok: false as const };
      throw error;
    },
  );

describe('concurrent intakes of one customer at the limit', () => {
  it(`exactly ${MAX} of 12 concurrent intakes succeed, the rest get too_many_open_bookings and write nothing`, async () => {
    // Act
    const results = await Promise.all(Array.from({ length: 12 }, () => intake('cust-racer')));

    // Assert
    const booked = results.filter((r) => r.ok);
    expect(booked).toHaveLength(MAX);
    const stored = await h.deps.bookings.listByCustomer('cust-racer', 50);
    expect(stored.map((b) => b.session_id).sort()).toEqual(booked.map((r) => r.answer.session_id).sort());
    const held = await h.deps.openBookings.read('cust-racer');
    expect(held.sessionIds.sort()).toEqual(booked.map((r) => r.answer.session_id).sort());
    // Only the booked ones armed a timer: a refused intake arms nothing.
    const timers = (await h.schedulesCreated()).map((s) => s.Name);
    expect(timers.sort()).toEqual(booked.map((r) => `timer-req-${r.answer.session_id}`).sort());
  });

  it('another customer booking at the same moment is not touched', async () => {
    // Act
    const [racer, bystander] = await Promise.all([
      Promise.all(Array.from({ length: 8 }, () => intake('cust-busy'))),
      Promise.all(Array.from({ length: MAX }, () => intake('cust-bystander'))),
    ]);

    // Assert
    expect(racer.filter((r) => r.ok)).toHaveLength(MAX);
    expect(bystander.every((r) => r.ok)).toBe(true);
  });

  it('retries of one Idempotency-Key racing new intakes at the limit: the keyed booking is made once and never refused once made', async () => {
    // Arrange: one place left
    for (let i = 0; i < MAX - 1; i++) expect((await intake('cust-keyed')).ok).toBe(true);

    // Act: the keyed booking and its retries race three new intakes for the last place
    const results = await Promise.all([
      ...Array.from({ length: 4 }, () => intake('cust-keyed', 'the-key')),
      ...Array.from({ length: 3 }, () => intake('cust-keyed')),
    ]);

    // Assert: at most MAX open; and once the keyed booking exists, a retry is answered with it
    const stored = await h.deps.bookings.listByCustomer('cust-keyed', 50);
    expect(stored).toHaveLength(MAX);
    const keyed = results.slice(0, 4).filter((r) => r.ok);
    if (keyed.length > 0) {
      expect(new Set(keyed.map((r) => r.answer.session_id)).size).toBe(1);
      expect((await intake('cust-keyed', 'the-key')).ok).toBe(true);
    }
  });

  it('an ending frees the place: after a cancel and a match, exactly that many more intakes succeed, racing', async () => {
    // Arrange
    const first = await Promise.all(Array.from({ length: MAX }, () => intake('cust-cycle')));
    const [a, b] = first.map((r) => (r.ok ? r.answer : undefined));
    const mechanic = await h.addMechanic();
    await cancelBooking(h.deps, { customerId: 'cust-cycle', sessionId: a!.session_id });
    await acceptRequest(h.deps, { requestId: b!.request_id!, mechanicId: mechanic.mechanicId, connectionId: mechanic.connectionIds[0]! });

    // Act
    const next = await Promise.all(Array.from({ length: 6 }, () => intake('cust-cycle')));

    // Assert
    expect(next.filter((r) => r.ok)).toHaveLength(2);
  });
});
