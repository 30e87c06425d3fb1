/**
 * The routing decision of DESIGN §1.2 for every combination of its four inputs:
 * flag × routing_type × preferred mechanic × workshop = 2 × 3 × 2 × 2 = 24 rows.
 * Each row states its expected decision from the rules, written out by hand:
 * workshop always wins; priority needs the flag AND priority_broadcast AND a
 * favorite AND no workshop; anything else is broadcast.
 */
import { describe, expect, it } from 'vitest';
import { decideRouting, wantsPriority, type RoutingDecision } from '../../lambdas/domain/routing';
import type { RoutingType } from '../../lambdas/domain/booking';

type Row = {
  flag: boolean;
  routingType: RoutingType | undefined;
  preferred: string | undefined;
  workshop: string | null;
  wants: boolean;
  expected: RoutingDecision['kind'];
};

const W = 'w1';
const M = 'm1';
const PB = 'priority_broadcast' as const;
const B = 'broadcast' as const;

// prettier-ignore
const TABLE: Row[] = [
  // flag OFF
  { flag: false, routingType: undefined, preferred: undefined, workshop: null, wants: false, expected: 'broadcast' },
  { flag: false, routingType: undefined, preferred: undefined, workshop: W, wants: false, expected: 'workshop' },
  { flag: false, routingType: undefined, preferred: M, workshop: null, wants: false, expected: 'broadcast' },
  { flag: false, routingType: undefined, preferred: M, workshop: W, wants: false, expected: 'workshop' },
  { flag: false, routingType: B, preferred: undefined, workshop: null, wants: false, expected: 'broadcast' },
  { flag: false, routingType: B, preferred: undefined, workshop: W, wants: false, expected: 'workshop' },
  { flag: false, routingType: B, preferred: M, workshop: null, wants: false, expected: 'broadcast' },
  { flag: false, routingType: B, preferred: M, workshop: W, wants: false, expected: 'workshop' },
  { flag: false, routingType: PB, preferred: undefined, workshop: null, wants: false, expected: 'broadcast' },
  { flag: false, routingType: PB, preferred: undefined, workshop: W, wants: false, expected: 'workshop' },
  { flag: false, routingType: PB, preferred: M, workshop: null, wants: true, expected: 'broadcast' },
  { flag: false, routingType: PB, preferred: M, workshop: W, wants: false, expected: 'workshop' },
  // flag ON
  { flag: true, routingType: undefined, preferred: undefined, workshop: null, wants: false, expected: 'broadcast' },
  { flag: true, routingType: undefined, preferred: undefined, workshop: W, wants: false, expected: 'workshop' },
  { flag: true, routingType: undefined, preferred: M, workshop: null, wants: false, expected: 'broadcast' },
  { flag: true, routingType: undefined, preferred: M, workshop: W, wants: false, expected: 'workshop' },
  { flag: true, routingType: B, preferred: undefined, workshop: null, wants: false, expected: 'broadcast' },
  { flag: true, routingType: B, preferred: undefined, workshop: W, wants: false, expected: 'workshop' },
  { flag: true, routingType: B, preferred: M, workshop: null, wants: false, expected: 'broadcast' },
  { flag: true, routingType: B, preferred: M, workshop: W, wants: false, expected: 'workshop' },
  { flag: true, routingType: PB, preferred: undefined, workshop: null, wants: false, expected: 'broadcast' },
  { flag: true, routingType: PB, preferred: undefined, workshop: W, wants: false, expected: 'workshop' },
  { flag: true, routingType: PB, preferred: M, workshop: null, wants: true, expected: 'priority' },
  { flag: true, routingType: PB, preferred: M, workshop: W, wants: false, expected: 'workshop' },
];

const label = (r: Pick<Row, 'flag' | 'routingType' | 'preferred' | 'workshop'>): string =>
  `flag=${r.flag ? 'on' : 'off'} routing_type=${r.routingType ?? '∅'} preferred=${r.preferred ?? '∅'} workshop=${r.workshop ?? '∅'}`;

describe('the routing table', () => {
  it('has exactly one row for each of the 24 combinations', () => {
    // Arrange
    const all: string[] = [];
    for (const flag of [false, true])
      for (const routingType of [undefined, B, PB] as const)
        for (const preferred of [undefined, M]) for (const workshop of [null, W]) all.push(label({ flag, routingType, preferred, workshop }));

    // Act
    const rows = TABLE.map(label);

    // Assert
    expect(all).toHaveLength(24);
    expect([...rows].sort()).toEqual([...all].sort());
  });
});

describe('decideRouting / wantsPriority', () => {
  it.each(TABLE.map((row) => [label(row), row] as const))('%s', (_name, row) => {
    // Arrange
    const input = { workshopId: row.workshop, routingType: row.routingType, preferredMechanicIds: row.preferred ? [row.preferred] : [] };

    // Act
    const decision = decideRouting(input, row.flag);
    const wants = wantsPriority(input);

    // Assert
    const expected: RoutingDecision =
      row.expected === 'workshop'
        ? { kind: 'workshop', workshopId: W }
        : row.expected === 'priority'
          ? { kind: 'priority', mechanicId: M }
          : { kind: 'broadcast' };
    expect(decision).toEqual(expected);
    expect(wants).toBe(row.wants);
  });

  it('priority goes to the first of several favorites', () => {
    // Act
    const decision = decideRouting({ workshopId: null, routingType: PB, preferredMechanicIds: [M, 'mech-2', 'mech-3'] }, true);

    // Assert
    expect(decision).toEqual({ kind: 'priority', mechanicId: M });
  });

  it('treats an empty list of favorites as no favorite', () => {
    // Arrange
    const input = { workshopId: null, routingType: PB, preferredMechanicIds: [] };

    // Act
    const decision = decideRouting(input, true);

    // Assert
    expect(wantsPriority(input)).toBe(false);
    expect(decision).toEqual({ kind: 'broadcast' });
  });
});
