/** The routing decision of DESIGN §1.2, pure so every combination is tested. */
import type { RoutingType } from './booking';

export type RoutingDecision =
  | { readonly kind: 'workshop'; readonly workshopId: string }
  | { readonly kind: 'priority'; readonly mechanicId: string }
  | { readonly kind: 'broadcast' };

export interface RoutingInput {
  readonly workshopId: string | null;
  readonly routingType: RoutingType | undefined;
  /** The favorites in order (empty: none). */
  readonly preferredMechanicIds: readonly string[];
}

/**
 * True when the booking asks for priority; only then is the flag read at all,
 * so with the flag off (or with no favorite) no priority code runs.
 */
export const wantsPriority = (input: RoutingInput): boolean =>
  input.workshopId === null && input.routingType === 'priority_broadcast' && input.preferredMechanicIds.length > 0;

/** Workshop routing always wins; priority (to the first favorite) needs the flag, the routing type and a favorite; else broadcast. */
export function decideRouting(input: RoutingInput, priorityEnabled: boolean): RoutingDecision {
  if (input.workshopId !== null) return { kind: 'workshop', workshopId: input.workshopId };
  if (priorityEnabled && wantsPriority(input)) return { kind: 'priority', mechanicId: input.preferredMechanicIds[0]! };
  return { kind: 'broadcast' };
}
