/**
 * The per-customer limit on open bookings, end to end in the sandbox over
 * HTTP (the stack's default, 3): the fourth open booking gets 429
 * `too_many_open_bookings` and nothing is written (read back from the table
 * and from the intake's own AWS calls); an Idempotency-Key retry is answered
 * as before; a cancel or a match frees a place; one customer at the limit
 * never affects another; and intakes of one customer racing at the limit let
 * exactly 3 through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_OPEN_BOOKINGS_PER_CUSTOMER } from '../../contract/env';
import type { Sandbox } from '../../sandbox/index';
import { api, bookingsOfCustomer, eventually, MechanicClient, registerMechanic, scheduleNames, startTestSandbox } from './clients';

const MAX = DEFAULT_MAX_OPEN_BOOKINGS_PER_CUSTOMER;
let sandbox: Sandbox;
const clients: MechanicClient[] = [];

beforeAll(async () => {
  sandbox = await startTestSandbox({ maxOpenBookingsPerCustomer: MAX });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sandbox?.stop();
});

async function book(customer: string, headers: Record<string, string> = {}) {
  return api<{ session_id: string; request_id: string; error?: { code: string; message: string } }>(sandbox, 'POST', '/intake/start', {
    token: await sandbox.token({ sub: customer }),
    body: { plan: 'free', concern: `Limit ${customer}` },
    headers,
  });
}

describe(`at most ${MAX} open bookings per customer`, () => {
  it(`the ${MAX + 1}th → 429 too_many_open_bookings naming the limit; no booking, no timer, no write of any kind`, async () => {
    // Arrange
    const customer = 'cust-limit-1';
    for (let i = 0; i < MAX; i++) expect((await book(customer)).status).toBe(201);
    const timersBefore = await scheduleNames(sandbox);
    const invocationsBefore = sandbox.invocations().length;

    // Act
    const refused = await book(customer);

    // Assert
    expect(refused).toEqual({
      status: 429,
      body: {
        error: {
          code: 'too_many_open_bookings',
          message: `a customer may hold at most ${MAX} open bookings at once; cancel one, or wait until one is matched or expires`,
        },
      },
    });
    expect(await bookingsOfCustomer(sandbox, customer)).toHaveLength(MAX);
    expect(await scheduleNames(sandbox)).toEqual(timersBefore);
    // The refused intake's own calls: its hold refused (a failed conditional UpdateItem writes nothing) and the reads that found no stale place.
    const [intake] = await eventually(() => {
      const found = sandbox
        .invocations()
        .slice(invocationsBefore)
        .filter((r) => r.function === 'intakeStart');
      return found.length > 0 && found;
    }, 'the refused intake');
    expect(intake!.calls).toEqual({ UpdateItem: 1, GetItem: 1 + MAX });
  });

  it('an Idempotency-Key retry of an existing booking is answered as before at the limit', async () => {
    // Arrange
    const customer = 'cust-limit-retry';
    const first = await book(customer, { 'Idempotency-Key': 'limit-retry-1' });
    for (let i = 1; i < MAX; i++) await book(customer);

    // Act
    const retried = await book(customer, { 'Idempotency-Key': 'limit-retry-1' });
    const fresh = await book(customer, { 'Idempotency-Key': 'limit-retry-2' });

    // Assert
    expect(retried).toEqual(first);
    expect(fresh.status).toBe(429);
    expect(await bookingsOfCustomer(sandbox, customer)).toHaveLength(MAX);
  });

  it('one customer at the limit never affects another', async () => {
    // Arrange
    for (let i = 0; i < MAX; i++) await book('cust-limit-full');

    // Act
    const other = await book('cust-limit-other');

    // Assert
    expect(other.status).toBe(201);
  });

  it('a cancel frees a place, and so does a match', async () => {
    // Arrange
    const customer = 'cust-limit-freed';
    const mechanic = await MechanicClient.connect(sandbox, await registerMechanic(sandbox));
    clients.push(mechanic);
    const booked = [];
    for (let i = 0; i < MAX; i++) booked.push((await book(customer)).body);
    expect((await book(customer)).status).toBe(429);
    const token = await sandbox.token({ sub: customer });

    // Act + Assert: cancelled
    expect((await api(sandbox, 'POST', `/sessions/${booked[0]!.session_id}/cancel`, { token })).status).toBe(200);
    expect((await book(customer)).status).toBe(201);
    expect((await book(customer)).status).toBe(429);

    // Act + Assert: matched
    await mechanic.waitFor('new_request', booked[1]!.request_id);
    mechanic.accept(booked[1]!.request_id);
    expect(await mechanic.waitFor('accept_result', booked[1]!.request_id)).toMatchObject({ ok: true });
    expect((await book(customer)).status).toBe(201);
  });

  it(`${MAX * 3} intakes of one customer at once: exactly ${MAX} are booked, the others 429`, async () => {
    // Act
    const answers = await Promise.all(Array.from({ length: MAX * 3 }, () => book('cust-limit-burst')));

    // Assert
    expect(answers.filter((a) => a.status === 201)).toHaveLength(MAX);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(MAX * 2);
    expect(await bookingsOfCustomer(sandbox, 'cust-limit-burst')).toHaveLength(MAX);
  });
});
