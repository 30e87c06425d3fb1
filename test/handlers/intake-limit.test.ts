/**
 * POST /intake/start at the open-bookings limit (here 2, from the function's
 * environment as the stack sets it), through the handler with API Gateway's
 * payload v2.0 event on a dynalite table: the refusal is 429 in the contract's
 * error shape naming the limit, and leaves no booking, no timer and no
 * hand-over to the fan-out; an Idempotency-Key retry is answered as before.
 */
import { describe, expect, it } from 'vitest';
import { ENV } from '../../contract/env';
import { handler as intakeStart } from '../../lambdas/handlers/intake-start';
import { httpEvent, responseOf } from '../support/handler-events';
import { type AwsWires, bookingKeys, newCustomerId, useHandlerEnv } from '../support/handler-env';
import type { TestTable } from '../support/table';

let wires: AwsWires;
let table: TestTable;
useHandlerEnv(
  (env) => {
    ({ table, wires } = env);
  },
  { env: { [ENV.maxOpenBookingsPerCustomer]: '2' } },
);

const intake = async (customerId: string, idempotencyKey?: string) =>
  responseOf(
    await intakeStart(
      httpEvent({
        method: 'POST',
        route: '/intake/start',
        sub: customerId,
        body: { plan: 'free', concern: 'Brakes' },
        ...(idempotencyKey ? { headers: { 'Idempotency-Key': idempotencyKey } } : {}),
      }),
    ),
  );

describe('POST /intake/start at the limit', () => {
  it('the third open booking → 429 too_many_open_bookings naming the limit; no booking, timer or fan-out', async () => {
    // Arrange
    const customerId = newCustomerId();
    expect((await intake(customerId)).status).toBe(201);
    expect((await intake(customerId)).status).toBe(201);
    const before = { bookings: await bookingKeys(table), timers: (await wires.schedulesCreated()).length, invocations: wires.invocations().length };

    // Act
    const refused = await intake(customerId);

    // Assert
    expect(refused.status).toBe(429);
    expect(refused.contentType).toBe('application/json');
    expect(refused.body).toEqual({
      error: {
        code: 'too_many_open_bookings',
        message: 'a customer may hold at most 2 open bookings at once; cancel one, or wait until one is matched or expires',
      },
    });
    expect({ bookings: await bookingKeys(table), timers: (await wires.schedulesCreated()).length, invocations: wires.invocations().length }).toEqual(before);
  });

  it('an Idempotency-Key retry of a booking made before the limit was reached → 201 with the same answer', async () => {
    // Arrange
    const customerId = newCustomerId();
    const first = await intake(customerId, 'retry-me');
    await intake(customerId);

    // Act
    const retried = await intake(customerId, 'retry-me');

    // Assert
    expect(retried).toEqual(first);
  });

  it('another customer is not affected', async () => {
    // Arrange
    const busy = newCustomerId();
    await intake(busy);
    await intake(busy);

    // Act + Assert
    expect((await intake(newCustomerId())).status).toBe(201);
  });
});
