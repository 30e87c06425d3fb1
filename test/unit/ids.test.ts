/** Ids derived from one another: sessions from (customer, Idempotency-Key), requests from sessions (and back), timers from requests. */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  bookingFingerprint,
  isRequestId,
  isSessionId,
  newSessionId,
  requestIdFor,
  SCHEDULE_NAME,
  sessionIdOf,
  timerScheduleName,
} from '../../lambdas/domain/ids';

/** RFC 4122 version 4: version nibble 4, variant nibble 8, 9, a or b. */
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newSessionId', () => {
  it('is deterministic for the same customer and Idempotency-Key', () => {
    // Arrange
    const customer = `cust-${randomUUID()}`;
    const key = `key-${randomUUID()}`;

    // Act
    const first = newSessionId(customer, key);
    const second = newSessionId(customer, key);

    // Assert
    expect(second).toBe(first);
  });

  it('differs per customer for the same key, and per key for the same customer', () => {
    // Arrange
    const key = `key-${randomUUID()}`;

    // Act
    const a = newSessionId('cust-a', key);
    const b = newSessionId('cust-b', key);
    const c = newSessionId('cust-a', `${key}-2`);

    // Assert
    expect(new Set([a, b, c]).size).toBe(3);
  });

  it('does not let customer and key run into one another', () => {
    // Act: "ab" + "c" and "a" + "bc" must not hash the same input
    const one = newSessionId('ab', 'c');
    const two = newSessionId('a', 'bc');

    // Assert
    expect(one).not.toBe(two);
  });

  it('is random without a key', () => {
    // Act
    const ids = new Set(Array.from({ length: 50 }, () => newSessionId('cust-same')));

    // Assert
    expect(ids.size).toBe(50);
  });

  it('is always a v4-shaped UUID that isSessionId accepts, with or without a key', () => {
    // Arrange: enough keys to see every value of the variant nibble
    const ids = [
      ...Array.from({ length: 300 }, (_, i) => newSessionId(`cust-${i % 7}`, `key-${i}`)),
      ...Array.from({ length: 20 }, () => newSessionId('cust-x')),
    ];

    // Act
    const bad = ids.filter((id) => !UUID_V4.test(id) || !isSessionId(id));

    // Assert
    expect(bad).toEqual([]);
    expect(new Set(ids.map((id) => id[19]))).toEqual(new Set(['8', '9', 'a', 'b']));
  });
});

describe('isSessionId / isRequestId', () => {
  it.each(['', 'abc', '../SESSION#x', '00000000-0000-4000-8000-00000000000', 'ZZZZZZZZ-0000-4000-8000-000000000000', ' 00000000-0000-4000-8000-000000000000'])(
    'rejects %j as a session id',
    (value) => {
      // Act
      const valid = isSessionId(value);

      // Assert
      expect(valid).toBe(false);
    },
  );

  it('accepts the request id derived from a session id, and nothing else shaped differently', () => {
    // Arrange
    const sessionId = newSessionId(`cust-${randomUUID()}`, 'k');

    // Act
    const requestId = requestIdFor(sessionId);

    // Assert
    expect(requestId).toBe(`req-${sessionId}`);
    expect(isRequestId(requestId)).toBe(true);
    expect(isRequestId(sessionId)).toBe(false);
    expect(isRequestId(`req-${sessionId}x`)).toBe(false);
  });

  it('sessionIdOf gives back the session a request id was derived from', () => {
    // Arrange
    const sessionId = newSessionId(`cust-${randomUUID()}`);

    // Act
    const back = sessionIdOf(requestIdFor(sessionId));

    // Assert
    expect(back).toBe(sessionId);
  });
});

describe('bookingFingerprint', () => {
  it('is the same for the same booking and differs for a different one', () => {
    // Arrange
    const booking = { plan: 'free', concern: 'Brakes', vehicle: null };

    // Act
    const same = bookingFingerprint({ ...booking });
    const other = bookingFingerprint({ ...booking, concern: 'Brakes squeal' });

    // Assert
    expect(same).toBe(bookingFingerprint(booking));
    expect(other).not.toBe(same);
  });
});

describe('timerScheduleName', () => {
  it('fits the scheduler naming rules (≤ 64 of [0-9a-zA-Z-_.]) for any generated request id', () => {
    // Arrange
    const requestIds = [
      ...Array.from({ length: 100 }, () => requestIdFor(newSessionId(`cust-${randomUUID()}`))),
      ...Array.from({ length: 100 }, (_, i) => requestIdFor(newSessionId(`cust-${randomUUID()}`, `key-${i}`))),
    ];

    // Act
    const names = requestIds.map(timerScheduleName);

    // Assert
    for (const [i, name] of names.entries()) {
      expect(name).toBe(`timer-${requestIds[i]}`);
      expect(name.length).toBeLessThanOrEqual(64);
      expect(SCHEDULE_NAME.test(name)).toBe(true);
    }
  });

  it('allows exactly 64 characters and not 65', () => {
    // Arrange: "timer-" is 6 characters
    const longest = 'r'.repeat(58);
    const tooLong = 'r'.repeat(59);

    // Act
    const name = timerScheduleName(longest);

    // Assert
    expect(name).toHaveLength(64);
    expect(() => timerScheduleName(tooLong)).toThrow(/does not make a valid schedule name/);
  });

  it.each([
    ['a slash', 'req/with/slash'],
    ['a space', 'req with space'],
    ['a hash', 'BOOKING#abc'],
    ['too many characters', `req-${'x'.repeat(60)}`],
  ])('throws for a request id with %s', (_name, requestId) => {
    // Act / Assert
    expect(() => timerScheduleName(requestId)).toThrow(/does not make a valid schedule name/);
  });
});
