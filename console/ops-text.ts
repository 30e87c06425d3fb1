/** What the ops view says about settings, audiences and connections: pure, so it is tested without a browser. */
import type { SessionMetadata } from '../lambdas/domain/booking';
import type { CustomerConnection } from '../lambdas/domain/customer';
import type { Connection } from '../lambdas/domain/mechanic';

/** `600` → `10 min (600 s)`; under a minute, `5 s`. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const parts = [
    [Math.floor(seconds / 3600), 'h'],
    [Math.floor((seconds % 3600) / 60), 'min'],
    [seconds % 60, 's'],
  ] as const;
  const spoken = parts.filter(([amount]) => amount > 0).map(([amount, unit]) => `${amount} ${unit}`);
  return `${spoken.join(' ')} (${seconds} s)`;
}

/** The time of day on this device's clock, 24-hour (`14:03:27`): deadlines and connections are minutes apart, not days. */
export const localTime = (iso: string): string => new Date(iso).toLocaleTimeString([], { hourCycle: 'h23' });

/**
 * Whom a pending request is offered to, from its audience key (lambdas/domain/lifecycle.ts `audienceKey`:
 * `everyone`, `mechanic#<id>`, `workshop#<id>`; the console takes only types from the domain, so it reads the
 * key itself, and a unit test holds the two together): the favorite holding the window, and which of the
 * booking's favorites, a workshop, or everyone.
 */
export function audienceText(audience: string, metadata: SessionMetadata | undefined): string {
  const hash = audience.indexOf('#');
  const [kind, id] = [audience.slice(0, hash), audience.slice(hash + 1)];
  if (hash < 0 || (kind !== 'mechanic' && kind !== 'workshop')) return audience;
  if (kind === 'workshop') return `workshop ${id}`;
  // The favorites in order (lambdas/domain/booking.ts `favoritesOf`).
  const favorites = metadata?.preferred_mechanic_ids ?? (metadata?.preferred_mechanic_id ? [metadata.preferred_mechanic_id] : []);
  const index = favorites.indexOf(id);
  return index >= 0 ? `${id} (favorite ${index + 1} of ${favorites.length})` : id;
}

/** One connected mechanic, from their connection items. */
export interface ConnectedMechanic {
  readonly mechanicId: string;
  readonly connections: number;
  /** Their oldest live connection's `connected_at`. */
  readonly since: string;
  /** Copied onto every connection of theirs at each pause or resume, so any one of them says it. */
  readonly paused: boolean;
}

/**
 * Connection items grouped by mechanic (by id), and how many are customers' (a customer's
 * connection is indexed beside the mechanics' ones but is not a mechanic).
 */
export function connectedMechanics(items: readonly (Connection | CustomerConnection)[]): { mechanics: ConnectedMechanic[]; customerConnections: number } {
  const byMechanic = new Map<string, ConnectedMechanic>();
  let customerConnections = 0;
  for (const item of items) {
    if (!('mechanic_id' in item)) {
      customerConnections++;
      continue;
    }
    const known = byMechanic.get(item.mechanic_id);
    byMechanic.set(item.mechanic_id, {
      mechanicId: item.mechanic_id,
      connections: (known?.connections ?? 0) + 1,
      since: known && known.since < item.connected_at ? known.since : item.connected_at,
      paused: (known?.paused ?? false) || item.paused === true,
    });
  }
  return { mechanics: [...byMechanic.values()].sort((a, b) => a.mechanicId.localeCompare(b.mechanicId)), customerConnections };
}
