/**
 * The schedule expression EventBridge Scheduler accepts for a one-shot: `at(yyyy-mm-ddThh:mm:ss)`, read in UTC;
 * and when a timer's schedule is set for its deadline (a minute early, for Scheduler's 60-second precision).
 */
import { describe, expect, it } from 'vitest';
import { atExpression, SCHEDULER_PRECISION_SECONDS, scheduleTimeFor } from '../../lambdas/adapters/eventbridge-request-timer';

describe('atExpression', () => {
  it('formats a UTC instant as at(yyyy-mm-ddThh:mm:ss) with no zone suffix', () => {
    // Arrange
    const at = new Date('2026-11-24T12:10:00.000Z');

    // Act
    const expression = atExpression(at);

    // Assert
    expect(expression).toBe('at(2026-11-24T12:10:00)');
  });

  it('writes the UTC wall clock for an instant given with another offset', () => {
    // Arrange: 14:10 in UTC+2 is 12:10 UTC
    const at = new Date('2026-11-24T14:10:00+02:00');

    // Act
    const expression = atExpression(at);

    // Assert
    expect(expression).toBe('at(2026-11-24T12:10:00)');
  });

  it('rolls over the date in UTC, not local time', () => {
    // Arrange: 23:30 UTC-05:00 on the 24th is 04:30 UTC on the 25th
    const at = new Date('2026-11-24T23:30:00-05:00');

    // Act
    const expression = atExpression(at);

    // Assert
    expect(expression).toBe('at(2026-11-25T04:30:00)');
  });

  it('keeps whole seconds only', () => {
    // Arrange
    const at = new Date('2026-01-02T03:04:05.999Z');

    // Act
    const expression = atExpression(at);

    // Assert
    expect(expression).toBe('at(2026-01-02T03:04:05)');
    expect(expression).toMatch(/^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$/);
  });
});

describe('scheduleTimeFor', () => {
  const now = new Date('2026-11-24T12:00:00.000Z');

  it('sets the schedule one precision step (60 s) before its deadline', () => {
    // Arrange
    const due = new Date('2026-11-24T12:10:00.000Z');

    // Act
    const at = scheduleTimeFor(due, now);

    // Assert
    expect(SCHEDULER_PRECISION_SECONDS).toBe(60);
    expect(at.toISOString()).toBe('2026-11-24T12:09:00.000Z');
  });

  it('never sets it in the past: a deadline less than a minute away is scheduled now', () => {
    // Arrange
    const due = new Date('2026-11-24T12:00:30.000Z');

    // Act
    const at = scheduleTimeFor(due, now);

    // Assert
    expect(at.toISOString()).toBe('2026-11-24T12:00:00.000Z');
  });

  it('rounds down to a whole second, so it is never later than a minute before the deadline', () => {
    // Arrange
    const due = new Date('2026-11-24T12:10:00.750Z');

    // Act
    const at = scheduleTimeFor(due, new Date('2026-11-24T12:00:00.400Z'));

    // Assert
    expect(at.toISOString()).toBe('2026-11-24T12:09:00.000Z');
  });

  it('rounds "now" down too when the deadline is already close', () => {
    // Arrange
    const due = new Date('2026-11-24T12:00:10.000Z');

    // Act
    const at = scheduleTimeFor(due, new Date('2026-11-24T12:00:00.400Z'));

    // Assert
    expect(at.toISOString()).toBe('2026-11-24T12:00:00.000Z');
  });
});
