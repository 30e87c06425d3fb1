/** The ops view's wording and grouping (console/ops-text.ts), without a browser. */
import { describe, expect, it } from 'vitest';
import { audienceText, connectedMechanics, formatDuration } from '../../console/ops-text';
import { favoritesOf, type SessionMetadata } from '../../lambdas/domain/booking';
import { audienceKey } from '../../lambdas/domain/lifecycle';

describe('formatDuration', () => {
  it.each([
    [5, '5 s'],
    [59, '59 s'],
    [60, '1 min (60 s)'],
    [600, '10 min (600 s)'],
    [90, '1 min 30 s (90 s)'],
    [3600, '1 h (3600 s)'],
    [5430, '1 h 30 min 30 s (5430 s)'],
  ])('%i s reads %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});

describe('audienceText', () => {
  const metadata: SessionMetadata = { preferred_mechanic_ids: ['mech-alice', 'mech-bob'], routing_type: 'priority_broadcast' };

  it("names the favorite holding the window and which of the booking's favorites they are (the domain's keys and order)", () => {
    expect(favoritesOf(metadata)[1]).toBe('mech-bob');
    expect(audienceText(audienceKey.mechanic('mech-bob'), metadata)).toBe('mech-bob (favorite 2 of 2)');
    expect(audienceText(audienceKey.mechanic('mech-alice'), { preferred_mechanic_id: 'mech-alice' })).toBe('mech-alice (favorite 1 of 1)');
  });

  it('names a mechanic whose booking is unknown, a workshop, and everyone', () => {
    expect(audienceText(audienceKey.mechanic('mech-carol'), undefined)).toBe('mech-carol');
    expect(audienceText(audienceKey.workshop('ws-downtown'), metadata)).toBe('workshop ws-downtown');
    expect(audienceText(audienceKey.everyone, metadata)).toBe('everyone');
  });
});

describe('connectedMechanics', () => {
  it('groups connections by mechanic (count, oldest, paused) and counts customers apart', () => {
    const { mechanics, customerConnections } = connectedMechanics([
      { connection_id: 'c1', mechanic_id: 'mech-bob', workshop_id: null, connected_at: '2026-11-28T10:00:05.000Z', paused: true },
      { connection_id: 'c2', mechanic_id: 'mech-alice', workshop_id: null, connected_at: '2026-11-28T10:00:03.000Z' },
      { connection_id: 'c3', customer_id: 'customer-demo', connected_at: '2026-11-28T10:00:01.000Z' },
      { connection_id: 'c4', mechanic_id: 'mech-bob', workshop_id: null, connected_at: '2026-11-28T10:00:02.000Z', paused: true },
    ]);

    expect(mechanics).toEqual([
      { mechanicId: 'mech-alice', connections: 1, since: '2026-11-28T10:00:03.000Z', paused: false },
      { mechanicId: 'mech-bob', connections: 2, since: '2026-11-28T10:00:02.000Z', paused: true },
    ]);
    expect(customerConnections).toBe(1);
  });
});
