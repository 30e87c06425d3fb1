/**
 * Input validation of DESIGN §3: unknown extra fields are ignored, and every
 * 400 names the offending field (and, for an enum, the allowed values).
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../lambdas/domain/errors';
import { bookingSchema, fanOutInputSchema, mechanicSchema, parseWith, requestActionSchema, timerInputSchema } from '../../lambdas/handlers/shared/schemas';

/** Runs parseWith expecting a 400 and returns the error. */
function refusal(schema: Parameters<typeof parseWith>[0], input: unknown, where?: string): AppError {
  try {
    parseWith(schema, input, where);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be refused`);
}

describe('bookingSchema: accepted bookings', () => {
  it('accepts the minimal {plan, concern} and fills the optional fields with null', () => {
    // Arrange
    const body = { plan: 'free', concern: 'Brakes squeal' };

    // Act
    const booking = parseWith(bookingSchema, body);

    // Assert
    expect(booking).toEqual({ plan: 'free', concern: 'Brakes squeal', vehicle: null, preferred_mechanic_id: null, routing_type: null, workshop_id: null });
  });

  it('accepts every field', () => {
    // Arrange
    const body = {
      plan: 'paid',
      concern: 'Check engine light',
      vehicle: { make: 'Toyota', model: 'Corolla', year: 2019 },
      preferred_mechanic_id: 'mech-42',
      routing_type: 'priority_broadcast',
      workshop_id: 'ws_north.1',
    };

    // Act
    const booking = parseWith(bookingSchema, body);

    // Assert
    expect(booking).toEqual(body);
  });

  it.each(['free', 'trial', 'credit', 'paid'])('accepts plan %s', (plan) => {
    // Act
    const booking = parseWith(bookingSchema, { plan, concern: 'x' });

    // Assert
    expect(booking.plan).toBe(plan);
  });

  it('accepts null for every optional field (old and new clients)', () => {
    // Arrange
    const body = { plan: 'trial', concern: 'Noise', vehicle: null, preferred_mechanic_id: null, routing_type: null, workshop_id: null };

    // Act
    const booking = parseWith(bookingSchema, body);

    // Assert
    expect(booking).toEqual(body);
  });

  it('strips unknown extra fields, at the top and inside vehicle', () => {
    // Arrange
    const body = {
      plan: 'credit',
      concern: 'Noise',
      client_version: '9.9',
      metadata: { a: 1 },
      vehicle: { make: 'VW', model: 'Golf', year: 2010, color: 'red' },
    };

    // Act
    const booking = parseWith(bookingSchema, body);

    // Assert
    expect(booking).toEqual({
      plan: 'credit',
      concern: 'Noise',
      vehicle: { make: 'VW', model: 'Golf', year: 2010 },
      preferred_mechanic_id: null,
      routing_type: null,
      workshop_id: null,
    });
  });

  it('trims the concern', () => {
    // Act
    const booking = parseWith(bookingSchema, { plan: 'free', concern: '  Brakes  ' });

    // Assert
    expect(booking.concern).toBe('Brakes');
  });
});

describe('bookingSchema: refused bookings name the field', () => {
  it('missing concern', () => {
    // Act
    const error = refusal(bookingSchema, { plan: 'free' });

    // Assert
    expect(error.status).toBe(400);
    expect(error.code).toBe('invalid_request');
    expect(error.message).toBe('concern is required');
  });

  it('blank concern', () => {
    // Act
    const error = refusal(bookingSchema, { plan: 'free', concern: '   ' });

    // Assert
    expect(error.message).toContain('concern');
    expect(error.message).toContain('must not be empty');
  });

  it('missing plan: names the field and the allowed values', () => {
    // Act
    const error = refusal(bookingSchema, { concern: 'x' });

    // Assert: zod 4 reports a missing enum as an invalid value, which still tells the client what to send
    expect(error.message).toBe('plan must be one of free, trial, credit, paid');
  });

  it('unknown plan: names the field and the allowed values', () => {
    // Act
    const error = refusal(bookingSchema, { plan: 'gold', concern: 'x' });

    // Assert
    expect(error.code).toBe('invalid_request');
    expect(error.message).toBe('plan must be one of free, trial, credit, paid');
  });

  it('unknown routing_type: names the field and the allowed values', () => {
    // Act
    const error = refusal(bookingSchema, { plan: 'free', concern: 'x', routing_type: 'priority' });

    // Assert
    expect(error.message).toBe('routing_type must be one of broadcast, priority_broadcast');
  });

  it.each([
    ['vehicle.year as a string', { vehicle: { make: 'VW', model: 'Golf', year: '2010' } }, 'vehicle.year', 'expected number'],
    ['vehicle as a string', { vehicle: 'VW Golf' }, 'vehicle', 'expected object'],
    ['preferred_mechanic_id as a number', { preferred_mechanic_id: 42 }, 'preferred_mechanic_id', 'expected string'],
    ['concern as a number', { concern: 7 }, 'concern', 'expected string'],
    ['workshop_id as an object', { workshop_id: { id: 'w1' } }, 'workshop_id', 'expected string'],
  ])('wrong type: %s → names the field and the expected type, not "required"', (_name, overrides, field, expected) => {
    // Arrange
    const body = { plan: 'free', concern: 'x', ...overrides };

    // Act
    const error = refusal(bookingSchema, body);

    // Assert: the field was sent, so "is required" would send the client looking for the wrong mistake
    expect(error.status).toBe(400);
    expect(error.message.startsWith(`${field}:`)).toBe(true);
    expect(error.message).toContain(expected);
    expect(error.message).not.toContain('required');
  });

  it.each([
    ['vehicle without make', { vehicle: { model: 'Golf', year: 2010 } }, 'vehicle.make is required'],
    [
      'preferred_mechanic_id with a key separator',
      { preferred_mechanic_id: 'MECHANIC#1' },
      'preferred_mechanic_id: must be 1-128 letters, digits or _ . : @ -',
    ],
    ['vehicle.year out of range', { vehicle: { make: 'VW', model: 'Golf', year: 1700 } }, 'vehicle.year: '],
  ])('%s → names the field', (_name, overrides, prefix) => {
    // Arrange
    const body = { plan: 'free', concern: 'x', ...overrides };

    // Act
    const error = refusal(bookingSchema, body);

    // Assert
    expect(error.status).toBe(400);
    expect(error.message.startsWith(prefix)).toBe(true);
  });

  it('routing_type as a boolean → names the field and the allowed values', () => {
    // Act
    const error = refusal(bookingSchema, { plan: 'free', concern: 'x', routing_type: true });

    // Assert
    expect(error.message).toBe('routing_type must be one of broadcast, priority_broadcast');
  });

  it('an empty workshop_id → names workshop_id', () => {
    // Act
    const error = refusal(bookingSchema, { plan: 'free', concern: 'x', workshop_id: '' });

    // Assert
    expect(error.message.startsWith('workshop_id:')).toBe(true);
  });

  it.each([
    ['an array', []],
    ['a string', 'plan=free'],
    ['a number', 42],
    ['null', null],
  ])('body that is %s: names the body and says an object is expected', (_name, body) => {
    // Act
    const error = refusal(bookingSchema, body);

    // Assert
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/^body: .*expected object/);
  });
});

describe('the other schemas', () => {
  it('mechanicSchema refuses an unknown status, naming it and the allowed values', () => {
    // Act
    const error = refusal(mechanicSchema, { status: 'retired' });

    // Assert
    expect(error.message).toBe('status must be one of approved, pending, suspended');
  });

  it('mechanicSchema fills name and workshop_id with null', () => {
    // Act
    const mechanic = parseWith(mechanicSchema, { status: 'approved' });

    // Assert
    expect(mechanic).toEqual({ status: 'approved', name: null, workshop_id: null });
  });

  it('requestActionSchema names request_id when it is missing', () => {
    // Act
    const error = refusal(requestActionSchema, { action: 'accept' }, 'message');

    // Assert
    expect(error.message).toBe('request_id is required');
  });

  it('a non-object message is named by the `where` given', () => {
    // Act
    const error = refusal(requestActionSchema, 'accept', 'message');

    // Assert
    expect(error.message).toMatch(/^message: .*expected object/);
  });

  it('timerInputSchema wants a request_id and an ISO 8601 due_at', () => {
    // Act
    const good = timerInputSchema.safeParse({ request_id: 'req-1', due_at: '2026-11-24T12:10:00.000Z' });
    const noDue = timerInputSchema.safeParse({ request_id: 'req-1' });
    const badDue = timerInputSchema.safeParse({ request_id: 'req-1', due_at: 'in ten minutes' });
    const badId = timerInputSchema.safeParse({ request_id: 1, due_at: '2026-11-24T12:10:00.000Z' });

    // Assert
    expect(good.success).toBe(true);
    expect([noDue.success, badDue.success, badId.success]).toEqual([false, false, false]);
  });

  it.each([
    ['everyone', { kind: 'everyone' }],
    ['a shard', { kind: 'shard', shard: 3 }],
    ['a workshop', { kind: 'workshop', workshopId: 'ws-north' }],
    ['a mechanic', { kind: 'mechanic', mechanicId: 'mech-1' }],
  ])('fanOutInputSchema accepts %s as the audience and passes the message through', (_name, audience) => {
    // Arrange
    const event = { request_id: 'req-1', audience, message: { type: 'request_taken', request_id: 'req-1', reason: 'accepted' }, except_connection_id: 'c-1' };

    // Act
    const parsed = fanOutInputSchema.parse(event);

    // Assert
    expect(parsed).toEqual(event);
  });

  it.each([
    ['an unknown audience kind', { kind: 'planet' }],
    ['a negative shard', { kind: 'shard', shard: -1 }],
    ['a fractional shard', { kind: 'shard', shard: 1.5 }],
    ['a workshop without its id', { kind: 'workshop' }],
  ])('fanOutInputSchema refuses %s', (_name, audience) => {
    // Act
    const result = fanOutInputSchema.safeParse({ request_id: 'req-1', audience, message: { type: 'new_request' } });

    // Assert
    expect(result.success).toBe(false);
  });

  it('fanOutInputSchema wants a message with a type', () => {
    // Act
    const result = fanOutInputSchema.safeParse({ request_id: 'req-1', audience: { kind: 'everyone' }, message: { request_id: 'req-1' } });

    // Assert
    expect(result.success).toBe(false);
  });
});

describe('bookingSchema: favorites in order', () => {
  it('two or three favorites: the first is preferred_mechanic_id, the list is kept in order', () => {
    // Act
    const booking = parseWith(bookingSchema, { plan: 'free', concern: 'x', preferred_mechanic_ids: ['mech-b', 'mech-a', 'mech-c'] });

    // Assert
    expect(booking).toMatchObject({ preferred_mechanic_id: 'mech-b', preferred_mechanic_ids: ['mech-b', 'mech-a', 'mech-c'] });
  });

  it('a one-element list is the same booking as preferred_mechanic_id alone (and so the same Idempotency-Key fingerprint)', () => {
    // Act
    const fromList = parseWith(bookingSchema, { plan: 'free', concern: 'x', preferred_mechanic_ids: ['mech-a'] });
    const fromField = parseWith(bookingSchema, { plan: 'free', concern: 'x', preferred_mechanic_id: 'mech-a' });

    // Assert
    expect(fromList).toEqual(fromField);
    expect(JSON.stringify(fromList)).toBe(JSON.stringify(fromField));
  });

  it('both fields, the single one first of the list (what a client of old and new servers sends), is fine', () => {
    // Act
    const booking = parseWith(bookingSchema, { plan: 'free', concern: 'x', preferred_mechanic_id: 'mech-a', preferred_mechanic_ids: ['mech-a', 'mech-b'] });

    // Assert
    expect(booking).toMatchObject({ preferred_mechanic_id: 'mech-a', preferred_mechanic_ids: ['mech-a', 'mech-b'] });
  });

  it.each([
    ['an empty list', { preferred_mechanic_ids: [] }, 'preferred_mechanic_ids: '],
    ['four favorites', { preferred_mechanic_ids: ['m1', 'm2', 'm3', 'm4'] }, 'preferred_mechanic_ids: '],
    ['a favorite named twice', { preferred_mechanic_ids: ['m1', 'm2', 'm1'] }, 'preferred_mechanic_ids: must not name a mechanic twice'],
    ['a bad id in the list', { preferred_mechanic_ids: ['m1', 'MECHANIC#2'] }, 'preferred_mechanic_ids.1: must be 1-128'],
    ['a list that is not a list', { preferred_mechanic_ids: 'm1' }, 'preferred_mechanic_ids: '],
    [
      'both fields, disagreeing',
      { preferred_mechanic_id: 'm2', preferred_mechanic_ids: ['m1', 'm2'] },
      'preferred_mechanic_id: must be the first of preferred_mechanic_ids when both are given',
    ],
  ])('%s → 400 naming the field', (_name, overrides, prefix) => {
    // Act
    const error = refusal(bookingSchema, { plan: 'free', concern: 'x', ...overrides });

    // Assert
    expect(error.status).toBe(400);
    expect(error.message.startsWith(prefix)).toBe(true);
  });
});
