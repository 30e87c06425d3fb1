/** The request's pure rules: who may accept it, when the fallback may run, whom it was offered to. */
import { describe, expect, it } from 'vitest';
import { acceptRefusal, canFallBack, isOpenToAll, offeredTo, windowMinutes, type DispatchRequest, type RequestMetadata } from '../../lambdas/domain/request';

const FAVORITE = 'mech-favorite';
const OTHER = 'mech-other';
const AT = '2026-11-24T12:00:00.000Z';

function request(overrides: Partial<DispatchRequest> = {}): DispatchRequest {
  return {
    request_id: 'req-00000000-0000-4000-8000-000000000001',
    session_id: '00000000-0000-4000-8000-000000000001',
    customer_id: 'cust-1',
    status: 'pending',
    routing: 'broadcast',
    preferred_mechanic_id: null,
    workshop_id: null,
    mechanic_id: null,
    expires_at: null,
    concern: 'Brakes squeal',
    vehicle: null,
    metadata: {},
    events: [],
    created_at: AT,
    ...overrides,
  };
}

const fallenBack: RequestMetadata = { priority_mechanic_id: FAVORITE, fallback_broadcast_at: AT, fallback_reason: 'preferred_mechanic_no_response' };

/** The states a request moves through, by name. */
const states = {
  broadcast: request({ routing: 'broadcast' }),
  priorityInWindow: request({
    routing: 'priority',
    preferred_mechanic_id: FAVORITE,
    expires_at: '2026-11-24T12:10:00.000Z',
    metadata: { priority_mechanic_id: FAVORITE },
  }),
  priorityAfterFallback: request({ routing: 'priority', preferred_mechanic_id: FAVORITE, expires_at: '2026-11-24T12:10:00.000Z', metadata: fallenBack }),
  workshop: request({ routing: 'workshop', workshop_id: 'w1' }),
  matchedByFavorite: request({ routing: 'priority', preferred_mechanic_id: FAVORITE, status: 'matched', mechanic_id: FAVORITE }),
  cancelledPriority: request({ routing: 'priority', preferred_mechanic_id: FAVORITE, status: 'cancelled' }),
  cancelledBroadcast: request({ routing: 'broadcast', status: 'cancelled' }),
  matchedBroadcast: request({ routing: 'broadcast', status: 'matched', mechanic_id: OTHER }),
} satisfies Record<string, DispatchRequest>;

describe('acceptRefusal', () => {
  it.each([
    ['a missing request', undefined, { mechanicId: FAVORITE, workshopId: null }, 'not_found'],
    ['a pending broadcast, anyone', states.broadcast, { mechanicId: OTHER, workshopId: null }, null],
    ['a pending broadcast, a workshop mechanic', states.broadcast, { mechanicId: OTHER, workshopId: 'w9' }, null],
    ['a priority request in its window, the favorite', states.priorityInWindow, { mechanicId: FAVORITE, workshopId: null }, null],
    ['a priority request in its window, another mechanic', states.priorityInWindow, { mechanicId: OTHER, workshopId: null }, 'priority_window'],
    ['a priority request after its fallback, another mechanic', states.priorityAfterFallback, { mechanicId: OTHER, workshopId: null }, null],
    ['a priority request after its fallback, the favorite', states.priorityAfterFallback, { mechanicId: FAVORITE, workshopId: null }, null],
    ['a workshop request, a mechanic of that workshop', states.workshop, { mechanicId: OTHER, workshopId: 'w1' }, null],
    ['a workshop request, a mechanic of another workshop', states.workshop, { mechanicId: OTHER, workshopId: 'w2' }, 'not_found'],
    ['a workshop request, a mechanic of no workshop', states.workshop, { mechanicId: OTHER, workshopId: null }, 'not_found'],
    ['a request matched by this same mechanic (a retried accept)', states.matchedByFavorite, { mechanicId: FAVORITE, workshopId: null }, null],
    ['a request matched by someone else', states.matchedByFavorite, { mechanicId: OTHER, workshopId: null }, 'already_matched'],
    ['a matched broadcast, another mechanic', states.matchedBroadcast, { mechanicId: FAVORITE, workshopId: null }, 'already_matched'],
    ['a cancelled priority request, even the favorite', states.cancelledPriority, { mechanicId: FAVORITE, workshopId: null }, 'cancelled'],
    ['a cancelled broadcast', states.cancelledBroadcast, { mechanicId: OTHER, workshopId: null }, 'cancelled'],
  ] as const)('%s → %s', (_name, subject, acceptor, expected) => {
    // Arrange: the table row
    // Act
    const refusal = acceptRefusal(subject, acceptor);

    // Assert
    expect(refusal).toBe(expected);
  });
});

describe('canFallBack', () => {
  it.each([
    ['a missing request', undefined, false],
    ['a pending priority request in its window', states.priorityInWindow, true],
    ['a priority request already fallen back', states.priorityAfterFallback, false],
    ['a matched priority request', states.matchedByFavorite, false],
    ['a cancelled priority request', states.cancelledPriority, false],
    ['a broadcast request', states.broadcast, false],
    ['a workshop request', states.workshop, false],
  ] as const)('%s → %s', (_name, subject, expected) => {
    // Act
    const allowed = canFallBack(subject);

    // Assert
    expect(allowed).toBe(expected);
  });
});

describe('isOpenToAll', () => {
  it.each([
    ['a broadcast request', states.broadcast, true],
    ['a priority request in its window', states.priorityInWindow, false],
    ['a priority request after its fallback', states.priorityAfterFallback, true],
    ['a workshop request', states.workshop, false],
  ] as const)('%s → %s', (_name, subject, expected) => {
    // Act
    const open = isOpenToAll(subject);

    // Assert
    expect(open).toBe(expected);
  });
});

describe('offeredTo', () => {
  it.each([
    ['a priority request in its window: the favorite alone', states.priorityInWindow, { kind: 'mechanic', mechanicId: FAVORITE }],
    ['a priority request after its fallback: everyone', states.priorityAfterFallback, { kind: 'everyone' }],
    ['a broadcast request: everyone', states.broadcast, { kind: 'everyone' }],
    [
      'a broadcast after a failed priority: everyone',
      request({
        routing: 'broadcast',
        preferred_mechanic_id: FAVORITE,
        metadata: { priority_mechanic_id: FAVORITE, fallback_reason: 'priority_failed', fallback_broadcast_at: AT },
      }),
      { kind: 'everyone' },
    ],
    ['a workshop request: that workshop', states.workshop, { kind: 'workshop', workshopId: 'w1' }],
  ] as const)('%s', (_name, subject, expected) => {
    // Act
    const audience = offeredTo(subject);

    // Assert
    expect(audience).toEqual(expected);
  });
});

describe('windowMinutes', () => {
  it.each([
    [600, 10],
    [90, 1.5],
    [100, 1.67],
    [1, 0.02],
  ])('%i s → %f min', (seconds, minutes) => {
    // Act
    const result = windowMinutes(seconds);

    // Assert
    expect(result).toBe(minutes);
  });
});
