/** The console's wording and countdown arithmetic (console/clock.ts, console/status-text.ts), without a browser. */
import { describe, expect, it } from 'vitest';
import { formatRemaining, ServerClock } from '../../console/clock';
import { customerStatusText, isFinal } from '../../console/status-text';
import { STATES, TERMINAL_STATES } from '../../lambdas/domain/lifecycle';

describe('ServerClock', () => {
  it("counts down on the server's clock: a device 90 s behind still sees the window's true remaining time", () => {
    const clock = new ServerClock();
    const local = Date.parse('2026-11-28T10:00:00.000Z');

    clock.observe('2026-11-28T10:01:30.000Z', local);

    expect(clock.remaining('2026-11-28T10:02:00.000Z', local)).toBe(30_000);
    expect(clock.remaining('2026-11-28T10:02:00.000Z', local + 31_000)).toBe(-1_000);
  });

  it('keeps the last skew when a message has no usable sent_at', () => {
    const clock = new ServerClock();
    clock.observe('2026-11-28T10:00:05.000Z', Date.parse('2026-11-28T10:00:00.000Z'));

    clock.observe(undefined, 0);
    clock.observe('not a date', 0);

    expect(clock.now(Date.parse('2026-11-28T10:00:00.000Z'))).toBe(Date.parse('2026-11-28T10:00:05.000Z'));
  });
});

describe('ServerClock from HTTP Date headers', () => {
  it('narrows the skew to within a second and keeps narrowing with every answer', () => {
    // Arrange: the server is 90.3 s ahead; its Date headers name whole seconds.
    const skew = 90_300;
    const httpDate = (localMs: number) => new Date(Math.floor((localMs + skew) / 1000) * 1000).toUTCString();
    const clock = new ServerClock();
    const local = Date.parse('2026-11-28T10:00:00.000Z');

    // Act: answers arriving at different moments of the server's second
    clock.observeHttpDate(httpDate(local), local);
    const afterOne = clock.now(local) - local;
    clock.observeHttpDate(httpDate(local + 1_650), local + 1_650);
    clock.observeHttpDate(httpDate(local + 3_750), local + 3_750);

    // Assert
    expect(Math.abs(afterOne - skew)).toBeLessThanOrEqual(500);
    expect(Math.abs(clock.now(local) - local - skew)).toBeLessThanOrEqual(100);
  });

  it('starts again when an answer no longer fits (a clock was set), and ignores a missing or bad header', () => {
    const clock = new ServerClock();
    const local = Date.parse('2026-11-28T10:00:00.000Z');
    clock.observeHttpDate('Sat, 28 Nov 2026 10:00:00 GMT', local);

    clock.observeHttpDate('Sat, 28 Nov 2026 10:05:00 GMT', local);
    clock.observeHttpDate(undefined, local);
    clock.observeHttpDate('not a date', local);

    expect(clock.now(local)).toBe(Date.parse('2026-11-28T10:05:00.500Z'));
  });
});

describe('formatRemaining', () => {
  it.each([
    [27_000, '0:27'],
    [26_001, '0:27'],
    [600_000, '10:00'],
    [0, '0:00'],
    [-5_000, '0:00'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatRemaining(ms)).toBe(text);
  });
});

describe('customerStatusText', () => {
  const favorites = ['mech-carol', 'mech-alice', 'mech-bob'];

  it.each([
    [{ state: 'offered', mechanic_id: 'mech-alice', expires_at: 'x' }, favorites, 27_000, 'Contacting mech-alice (favorite 2 of 3) — 0:27 left'],
    [{ state: 'offered', mechanic_id: 'mech-alice', expires_at: 'x' }, [], 27_000, 'Contacting mech-alice — 0:27 left'],
    [{ state: 'open', expires_at: 'x' }, favorites, 1_799_000, 'Open to everyone — expires in 29:59'],
    [{ state: 'matched', mechanic_id: 'mech-bob' }, favorites, undefined, 'Matched with mech-bob'],
    [{ state: 'awaiting_checkout' }, [], undefined, 'Awaiting checkout'],
    [{ state: 'routing' }, [], undefined, 'Finding a mechanic…'],
    [{ state: 'cancelled' }, [], undefined, 'Cancelled'],
    [{ state: 'expired' }, [], undefined, 'Expired'],
  ] as const)('%o → %s', (status, favs, remaining, text) => {
    expect(customerStatusText({ session_id: 's-1', ...status }, favs, remaining)).toBe(text);
  });

  it("treats exactly the lifecycle's terminal states as final", () => {
    expect(STATES.filter(isFinal)).toEqual(TERMINAL_STATES);
  });
});
