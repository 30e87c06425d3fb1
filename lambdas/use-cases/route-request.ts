/**
 * Routing: deciding whom a booking's request goes to (`planRouting`, at
 * intake or checkout) and telling them (`routeRequest`, for a booking in the
 * `routing` state). The timer was armed before the booking entered `routing`,
 * so an invocation that dies half-way here is finished by the timer; running
 * this twice sends duplicates (same `request_id`), never nothing.
 */
import { describeError } from '../domain/errors';
import { audienceOf, type Booking, favoritesOf, type NewRequestReason, nextFavorite, type Routing, windowMinutes } from '../domain/booking';
import { audienceKey, isTerminal, type RouteTo } from '../domain/lifecycle';
import { canWork, isPaused } from '../domain/mechanic';
import { newRequest, priorityOffer, requestTaken, type TakenReason, takenByYou } from '../domain/messages';
import { decideRouting, wantsPriority } from '../domain/routing';
import type { TransitionChanges } from '../ports';
import type { Deps } from './deps';
import { tellCustomer } from './tell-customer';
import { pushToAudience, pushToConnections, tellAudience } from './tell-mechanics';

export type RouteDeps = Pick<
  Deps,
  | 'bookings'
  | 'mechanics'
  | 'connections'
  | 'openBookings'
  | 'pusher'
  | 'fanOut'
  | 'timer'
  | 'clock'
  | 'log'
  | 'metrics'
  | 'priorityWindowSeconds'
  | 'recoveryDelaySeconds'
  | 'requestTtlSeconds'
>;

/** What a booking entering `routing` is set to: whom to tell and who may act. */
export interface RoutingPlan extends TransitionChanges {
  readonly routing: Routing;
  readonly route_to: RouteTo;
  readonly audience: string;
  readonly new_request_reason: NewRequestReason | null;
  readonly routing_since: string;
}

/** DESIGN §1.2: workshop, else priority to the favorite (flag on), else everyone. */
export async function planRouting(deps: Pick<Deps, 'flag' | 'priorityWindowSeconds'>, booking: Booking, now: Date): Promise<RoutingPlan> {
  const input = { workshopId: booking.workshop_id, routingType: booking.metadata.routing_type, preferredMechanicIds: favoritesOf(booking.metadata) };
  // The flag is read only for a booking that asks for priority: with it off, no priority code runs.
  const decision = decideRouting(input, wantsPriority(input) && (await deps.flag.isPriorityEnabled()));
  const routing_since = now.toISOString();
  switch (decision.kind) {
    case 'workshop':
      return { routing: 'workshop', route_to: 'workshop', audience: audienceKey.workshop(decision.workshopId), new_request_reason: 'workshop', routing_since };
    case 'priority':
      return {
        routing: 'priority',
        route_to: 'favorite',
        audience: audienceKey.mechanic(decision.mechanicId),
        new_request_reason: null,
        routing_since,
        request_metadata: { priority_mechanic_id: decision.mechanicId, priority_window_minutes: windowMinutes(deps.priorityWindowSeconds) },
      };
    case 'broadcast':
      return { routing: 'broadcast', route_to: 'everyone', audience: audienceKey.everyone, new_request_reason: 'broadcast', routing_since };
  }
}

/** A routing to the next favorite: they hold the request now (`priority_mechanic_id`), and get their own window. */
const nextFavoriteChanges = (mechanicId: string, now: string): TransitionChanges & { readonly route_to: RouteTo } => ({
  route_to: 'favorite',
  audience: audienceKey.mechanic(mechanicId),
  routing_since: now,
  request_metadata: { priority_mechanic_id: mechanicId },
});

/**
 * What ending a favorite's window writes (it lapsed, or they declined): a new
 * routing to `next`, the next favorite in the customer's order (the caller's
 * `nextFavorite`, which its audit names too), or after the last, to everyone,
 * with the seed's fallback audit fields.
 */
export function windowOverChanges(
  next: string | undefined,
  reason: 'preferred_mechanic_no_response' | 'preferred_mechanic_declined',
  now: string,
): TransitionChanges {
  if (next) return nextFavoriteChanges(next, now);
  return {
    route_to: 'everyone',
    audience: audienceKey.everyone,
    new_request_reason: reason === 'preferred_mechanic_declined' ? 'priority_declined' : 'fallback',
    routing_since: now,
    request_metadata: { fallback_broadcast_at: now, fallback_reason: reason },
  };
}

/** Arms the timer to finish this routing if the invocation doing it dies (before the write that enters `routing`). */
export function armRecovery(deps: Pick<Deps, 'timer' | 'clock' | 'recoveryDelaySeconds'>, requestId: string, hint: 'new' | 'existing'): Promise<void> {
  return deps.timer.set(requestId, new Date(deps.clock.now().getTime() + deps.recoveryDelaySeconds * 1000), hint);
}

/** Tells the audience of a booking in `routing`, then records that it was told (`offered` or `open`) and re-arms the timer. */
export async function routeRequest(deps: RouteDeps, booking: Booking): Promise<Booking> {
  if (booking.state !== 'routing') return booking;
  return booking.route_to === 'favorite' ? offerToFavorite(deps, booking) : openRequest(deps, booking);
}

/**
 * The favorite being routed to alone gets the request for the priority window;
 * unavailable, they are skipped now: the next favorite is tried, or after the
 * last, the request opens to everyone.
 */
async function offerToFavorite(deps: RouteDeps, booking: Booking): Promise<Booking> {
  const mechanicId = currentFavorite(booking);
  const log = { request_id: booking.request_id, session_id: booking.session_id, mechanic_id: mechanicId };
  deps.log.info('[Priority] Favorite mechanic requested', log);
  const mechanic = await deps.mechanics.get(mechanicId);
  const connections = canWork(mechanic) && !isPaused(mechanic) ? await deps.connections.listByMechanic(mechanicId) : [];
  const unavailable = !mechanic
    ? 'mechanic_unknown'
    : !canWork(mechanic)
      ? 'mechanic_not_approved'
      : isPaused(mechanic)
        ? 'mechanic_paused'
        : connections.length === 0
          ? 'mechanic_offline'
          : null;
  if (unavailable) return skipFavorite(deps, booking, unavailable);

  const now = deps.clock.now();
  // Whole seconds, rounded up: the window is never shorter than promised.
  const expiresAt = new Date(Math.ceil((now.getTime() + deps.priorityWindowSeconds * 1000) / 1000) * 1000).toISOString();
  const delivery = await pushToConnections(deps, connections, priorityOffer(booking, expiresAt, deps.priorityWindowSeconds));
  if (delivery.delivered === 0) {
    deps.log.warn("[Priority] Offer reached none of the favorite's connections", { ...log, ...delivery });
    return skipFavorite(deps, booking, 'offer_undelivered');
  }
  const at = deps.clock.now().toISOString();
  const outcome = await deps.bookings.transition(booking.session_id, 'offer_sent', {
    now: at,
    guard: { routingSince: booking.routing_since! },
    changes: { expires_at: expiresAt, request_metadata: { priority_notified_at: at } },
    audit: { at, type: 'priority_offer_sent', mechanic_id: mechanicId, expires_at: expiresAt, ...delivery },
  });
  if (!outcome.applied) return settleLostRace(deps, outcome.booking ?? booking);
  await deps.timer.set(booking.request_id, new Date(expiresAt), 'existing');
  deps.log.info('[Priority] Priority offer sent', { ...log, expires_at: expiresAt, window_seconds: deps.priorityWindowSeconds, ...delivery });
  deps.metrics.count('OffersSent');
  await tellCustomer(deps, outcome.booking);
  return outcome.booking;
}

/** The favorite cannot have it: the next favorite is routed to (`favorite_skipped`), or after the last, everyone (`priority_failed`). */
async function skipFavorite(deps: RouteDeps, booking: Booking, why: string): Promise<Booking> {
  const mechanicId = currentFavorite(booking);
  const next = nextFavorite(booking);
  const log = { request_id: booking.request_id, session_id: booking.session_id, mechanic_id: mechanicId, why };
  const at = deps.clock.now().toISOString();
  if (next) deps.log.warn('[Priority] Favorite cannot take priority, trying the next favorite', { ...log, next_mechanic_id: next });
  else deps.log.warn('[Priority] Favorite cannot take priority, broadcasting now', log);
  const outcome = await deps.bookings.transition(booking.session_id, 'favorite_unavailable', {
    now: at,
    // Of two invocations finishing this routing, one moves it on: the other would skip a favorite twice.
    guard: { routingSince: booking.routing_since! },
    changes: next
      ? nextFavoriteChanges(next, at)
      : {
          route_to: 'everyone',
          audience: audienceKey.everyone,
          new_request_reason: 'priority_failed',
          request_metadata: { fallback_reason: 'priority_failed', fallback_broadcast_at: at },
        },
    audit: next
      ? { at, type: 'favorite_skipped', mechanic_id: mechanicId, why, next_mechanic_id: next }
      : { at, type: 'priority_failed', mechanic_id: mechanicId, why },
  });
  if (!outcome.applied) return settleLostRace(deps, outcome.booking ?? booking);
  return routeRequest(deps, outcome.booking);
}

/** The favorite a booking routed to a favorite is routed to (or offered to) now. */
function currentFavorite(booking: Booking): string {
  const audience = audienceOf(booking);
  if (audience?.kind !== 'mechanic') throw new Error(`booking ${booking.session_id} is not routed to a favorite`);
  return audience.mechanicId;
}

/** Hands `new_request` to the fan-out, then records the request open until it expires. */
async function openRequest(deps: RouteDeps, booking: Booking): Promise<Booking> {
  const reason = booking.new_request_reason ?? 'broadcast';
  const now = deps.clock.now();
  // Told before it is stored: a retry after a crash tells again, with its own (later) time, which is the one stored.
  const openUntil = new Date(now.getTime() + deps.requestTtlSeconds * 1000).toISOString();
  await tellAudience(deps, booking, newRequest(booking, reason, openUntil));
  const outcome = await deps.bookings.transition(booking.session_id, 'opened', {
    now: now.toISOString(),
    changes: { open_until: openUntil },
    audit: { at: now.toISOString(), type: `${booking.route_to === 'workshop' ? 'workshop' : 'broadcast'}_sent`, reason, open_until: openUntil },
  });
  if (!outcome.applied) return settleLostRace(deps, outcome.booking ?? booking);
  await deps.timer.set(booking.request_id, new Date(openUntil), 'existing');
  if (booking.route_to === 'workshop')
    deps.log.info("[fulfillment] Workshop routing to the workshop's mechanics", { request_id: booking.request_id, workshop_id: booking.workshop_id });
  else deps.log.info('[fulfillment] Broadcast routing to all mechanics', { request_id: booking.request_id, reason });
  await tellCustomer(deps, outcome.booking);
  return outcome.booking;
}

/**
 * The write after telling people was refused: another invocation finished
 * this routing (nothing to do), or the request ended meanwhile — then those
 * just told must hear that it is gone, even if its ending told them already.
 */
async function settleLostRace(deps: RouteDeps, current: Booking): Promise<Booking> {
  if (isTerminal(current.state)) await tellEnd(deps, current);
  return current;
}

export const TAKEN_REASON: Partial<Record<Booking['state'], TakenReason>> = { matched: 'accepted', cancelled: 'cancelled', expired: 'expired' };

/**
 * `request_taken` to the audience of an ended booking — never to the winner's
 * own connections (they won it; the accept answered them). A favorite who won
 * inside their window was the whole audience: nobody else heard of the
 * request, so there is no one else to tell. The winner's other connections
 * (another phone, a tablet) hear it with `by_you`, pushed from here: one
 * Query of that mechanic's connections, usually none besides the one that
 * accepted (left out when known), so an accept stays a handful of calls.
 * Then the customer hears how it ended (`session_status`: one more Query).
 */
export async function tellEnd(deps: Parameters<typeof tellAudience>[0], booking: Booking, winningConnectionId?: string): Promise<void> {
  const reason = TAKEN_REASON[booking.state];
  if (!reason) return;
  const winner = booking.mechanic_id;
  if (!winner || booking.audience !== audienceKey.mechanic(winner))
    await tellAudience(deps, booking, requestTaken(booking.request_id, reason), winner ? { exceptMechanicId: winner } : {});
  if (winner && booking.state === 'matched')
    await pushToAudience(
      deps,
      { kind: 'mechanic', mechanicId: winner },
      takenByYou(booking.request_id),
      winningConnectionId ? { exceptConnectionId: winningConnectionId } : {},
    );
  await tellCustomer(deps, booking);
}

/**
 * What follows every ending of a routed booking (matched, cancelled, expired), in this order: its customer's place
 * is freed (lambdas/domain/open-bookings.ts), everyone is told (`tellEnd`), and the timer goes — last, because a
 * timer still set is how a repeat (the timer's firing, a repeated cancel or accept) knows the ending died before
 * finishing, and then does all three again (each is harmless twice).
 */
export async function finishEnding(
  deps: Parameters<typeof tellEnd>[0] & Pick<Deps, 'openBookings' | 'timer'>,
  booking: Booking,
  winningConnectionId?: string,
): Promise<void> {
  await deps.openBookings.release(booking.customer_id, booking.session_id);
  await tellEnd(deps, booking, winningConnectionId);
  await clearTimerQuietly(deps, booking.request_id);
}

/** Best effort: a timer that fires anyway finds the booking ended and only repeats `request_taken`. */
export async function clearTimerQuietly(deps: Pick<Deps, 'timer' | 'log'>, requestId: string): Promise<void> {
  try {
    await deps.timer.clear(requestId);
  } catch (error) {
    deps.log.warn('Could not delete the timer; when it fires it repeats request_taken and stops', { request_id: requestId, error: describeError(error) });
  }
}
