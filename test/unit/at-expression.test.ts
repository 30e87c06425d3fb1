/** The schedule expression EventBridge Scheduler accepts for a one-shot: `at(yyyy-mm-ddThh:mm:ss)`, read in UTC. */
import { describe, expect, it } from 'vitest';
import { atExpression } from '../../lambdas/adapters/eventbridge-scheduler';

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
