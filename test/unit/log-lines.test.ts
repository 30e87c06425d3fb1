/** The sandbox's terminal view of the handlers' Powertools lines: message first (so `grep '\[Priority\]'` works), quiet fields dropped, correlation id last. */
import { describe, expect, it } from 'vitest';
import { readable } from '../../sandbox/log-lines';

describe('readable', () => {
  it('puts time, level and message first, drops the fields every line has, and ends with the correlation id', () => {
    // Arrange
    const line = JSON.stringify({
      level: 'WARN',
      message: '[Priority] Favorite cannot take priority, broadcasting now',
      timestamp: '2026-11-27T23:38:17.931Z',
      service: 'priority-dispatch',
      cold_start: false,
      function_name: 'priority-dispatch-local-intakeStart',
      function_request_id: 'c0ffee',
      correlation_id: 'walkthrough-1',
      sampling_rate: 0,
      mechanic_id: 'mech-alice',
      why: 'mechanic_offline',
    });

    // Act
    const shown = readable(line);

    // Assert
    expect(shown).toBe(
      '23:38:17.931 WARN [Priority] Favorite cannot take priority, broadcasting now  mechanic_id=mech-alice why=mechanic_offline correlation_id=walkthrough-1',
    );
  });

  it('shows an EMF line as its metrics', () => {
    // Arrange
    const line = JSON.stringify({
      _aws: {
        Timestamp: Date.parse('2026-11-27T23:38:23.221Z'),
        CloudWatchMetrics: [
          {
            Namespace: 'PriorityDispatch',
            Dimensions: [['service']],
            Metrics: [
              { Name: 'FallbacksFired', Unit: 'Count' },
              { Name: 'BroadcastsDelivered', Unit: 'Count' },
            ],
          },
        ],
      },
      service: 'priority-dispatch',
      FallbacksFired: 1,
      BroadcastsDelivered: 2,
    });

    // Act + Assert
    expect(readable(line)).toBe('23:38:23.221 [metrics] FallbacksFired=1 BroadcastsDelivered=2');
  });

  it('passes anything that is not a JSON log line through unchanged', () => {
    expect(readable('plain text')).toBe('plain text');
    expect(readable('{"no":"message"}')).toBe('{"no":"message"}');
  });
});
