/**
 * A customer's booking and the request mechanics compete for, as ONE record
 * (one table item): the session's intake fields and the request's lifecycle
 * (lifecycle.ts) together, so every transition — a cancel racing a checkout or
 * an accept included — is one conditional write on one item.
 */
import { audienceKey, isTerminal, type BookingState, type RouteTo } from './lifecycle';

export const PLANS = ['free', 'trial', 'credit', 'paid'] as const;
export type Plan = (typeof PLANS)[number];

export const ROUTING_TYPES = ['broadcast', 'priority_broadcast'] as const;
export type RoutingType = (typeof ROUTING_TYPES)[number];

export interface Vehicle {
  readonly make: string;
  readonly model: string;
  readonly year: number;
}

/** The favorite context the customer asked for (DESIGN §1.1). */
export interface SessionMetadata {
  /** The (first) favorite. */
  readonly preferred_mechanic_id?: string;
  /** All the favorites in order, when the customer named two or three. */
  readonly preferred_mechanic_ids?: readonly string[];
  readonly routing_type?: RoutingType;
}

/** The favorites in the order they get the window: each in turn, then everyone. */
export const favoritesOf = (metadata: SessionMetadata): readonly string[] =>
  metadata.preferred_mechanic_ids ?? (metadata.preferred_mechanic_id ? [metadata.preferred_mechanic_id] : []);

/** The favorite after the one the booking is routed to (or offered to) now; undefined after the last. */
export function nextFavorite(booking: Pick<Booking, 'metadata' | 'audience'>): string | undefined {
  const favorites = favoritesOf(booking.metadata);
  const current = favorites.findIndex((id) => audienceKey.mechanic(id) === booking.audience);
  return current === -1 ? undefined : favorites[current + 1];
}

/** How the request was routed when its routing began. */
export type Routing = 'priority' | 'broadcast' | 'workshop';

export type FallbackReason = 'preferred_mechanic_no_response' | 'preferred_mechanic_declined' | 'priority_failed';

/** Why a `new_request` went out (the message's `reason`). */
export type NewRequestReason = 'broadcast' | 'fallback' | 'priority_failed' | 'priority_declined' | 'workshop';

/** The seed's audit fields, kept as they were so existing dashboards still read them. */
export interface RequestMetadata {
  priority_notified_at?: string;
  priority_mechanic_id?: string;
  priority_window_minutes?: number;
  fallback_broadcast_at?: string;
  fallback_reason?: FallbackReason;
}

export interface AuditEvent {
  readonly at: string;
  readonly type: string;
  readonly [detail: string]: unknown;
}

export interface Booking {
  readonly session_id: string;
  /** `req-<session_id>`: derived, so every retry and every component lands on the same request. */
  readonly request_id: string;
  readonly customer_id: string;
  readonly plan: Plan;
  readonly concern: string;
  readonly vehicle: Vehicle | null;
  readonly workshop_id: string | null;
  readonly metadata: SessionMetadata;
  /** Fingerprint of the intake body, to refuse an `Idempotency-Key` reused for a different booking. */
  readonly intake_fingerprint: string;

  readonly state: BookingState;
  /** Set when routing begins. */
  readonly routing: Routing | null;
  /** Whom the current (or last) routing tells. */
  readonly route_to: RouteTo | null;
  /** The `reason` of the `new_request` an open routing sends. */
  readonly new_request_reason: NewRequestReason | null;
  /** Who may act on the request now, as one key (lifecycle.ts `audienceKey`); kept after it ends, to tell them. */
  readonly audience: string | null;
  /** When the current routing began (the timer's recovery deadline counts from it). */
  readonly routing_since: string | null;
  /** The winner, once matched. */
  readonly mechanic_id: string | null;
  /** End of the favorite's priority window. */
  readonly expires_at: string | null;
  /** When the open request expires unless someone takes it. */
  readonly open_until: string | null;
  readonly request_metadata: RequestMetadata;
  readonly events: readonly AuditEvent[];
  readonly created_at: string;
  readonly updated_at: string;
}

/**
 * What a customer's list of bookings holds of each: the fields the
 * `bookings-by-customer` index copies (contract/table-schema.ts), enough to
 * say where each booking stands (domain/customer.ts `customerStatus`).
 */
export type BookingSummary = Pick<Booking, 'session_id' | 'request_id' | 'state' | 'audience' | 'mechanic_id' | 'expires_at' | 'open_until'>;

/** Free, trial and credit sessions need no payment, so they are routed at intake. */
export const isFulfilledAtIntake = (plan: Plan): boolean => plan !== 'paid';

/** The session's status as `GET /sessions/{id}` has always shown it. */
export function sessionStatus(booking: Booking): 'awaiting_checkout' | 'fulfilled' | 'cancelled' {
  if (booking.state === 'awaiting_checkout' || booking.state === 'cancelled') return booking.state;
  return 'fulfilled';
}

/** The request's status: pending while anyone may still take it. */
export function requestStatus(booking: Booking): 'pending' | 'matched' | 'cancelled' | 'expired' {
  return isTerminal(booking.state) ? (booking.state as 'matched' | 'cancelled' | 'expired') : 'pending';
}

/** Won by a favorite while the request was theirs alone (their window): not a win from the open request after it lapsed. */
export const wonByFavorite = (booking: Pick<Booking, 'state' | 'audience' | 'mechanic_id'>): boolean =>
  booking.state === 'matched' && booking.mechanic_id !== null && booking.audience === audienceKey.mechanic(booking.mechanic_id);

/**
 * How long the customer waited for a mechanic: from the routing's start (the `created` event: the intake, or a paid
 * booking's checkout, so time spent paying is not counted) to the `accepted` event; undefined unless both are there.
 */
export function timeToMatchMs(booking: Pick<Booking, 'events'>): number | undefined {
  const started = booking.events.find((event) => event.type === 'created')?.at;
  const won = booking.events.find((event) => event.type === 'accepted')?.at;
  return started && won ? Date.parse(won) - Date.parse(started) : undefined;
}

/** Whom a message about this request goes to. `shard` is one slice of everyone (a fan-out invocation's share). */
export type Audience =
  | { readonly kind: 'mechanic'; readonly mechanicId: string }
  | { readonly kind: 'workshop'; readonly workshopId: string }
  | { readonly kind: 'everyone' }
  | { readonly kind: 'shard'; readonly shard: number };

export function audienceOf(booking: Pick<Booking, 'audience'>): Audience | undefined {
  const key = booking.audience;
  if (key === null) return undefined;
  if (key === audienceKey.everyone) return { kind: 'everyone' };
  const [kind, id] = [key.slice(0, key.indexOf('#')), key.slice(key.indexOf('#') + 1)];
  if (kind === 'mechanic') return { kind: 'mechanic', mechanicId: id };
  if (kind === 'workshop') return { kind: 'workshop', workshopId: id };
  return undefined;
}

export type AcceptRefusal = 'already_matched' | 'priority_window' | 'cancelled' | 'expired' | 'not_found';

export interface Acceptor {
  readonly mechanicId: string;
  readonly workshopId: string | null;
}

/** Why this mechanic may not take the request (null: they may, or already did). Mirrors the `accepted` guard. */
export function acceptRefusal(booking: Booking | undefined, acceptor: Acceptor): AcceptRefusal | null {
  if (!booking || booking.state === 'awaiting_checkout') return 'not_found';
  if (booking.state === 'matched') return booking.mechanic_id === acceptor.mechanicId ? null : 'already_matched';
  if (booking.state === 'cancelled' || booking.state === 'expired') return booking.state;
  const audience = audienceOf(booking);
  if (audience?.kind === 'everyone') return null;
  // A workshop request was never offered outside the workshop: to others it does not exist.
  if (audience?.kind === 'workshop') return audience.workshopId === acceptor.workshopId ? null : 'not_found';
  return audience?.kind === 'mechanic' && audience.mechanicId === acceptor.mechanicId ? null : 'priority_window';
}

export const windowMinutes = (windowSeconds: number): number => Math.round((windowSeconds / 60) * 100) / 100;
