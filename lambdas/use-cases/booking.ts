/**
 * The customer's side of a booking: intake, checkout complete, cancel, read.
 * Every customer-facing use case loads the booking through `ownedBooking`, so
 * another customer's booking is a 404 (ids are not confirmed to strangers).
 */
import { conflict, notFound, tooManyOpenBookings } from '../domain/errors';
import { bookingFingerprint, isSessionId, newSessionId, requestIdFor } from '../domain/ids';
import {
  type AuditEvent,
  type Booking,
  isFulfilledAtIntake,
  type Plan,
  type RequestMetadata,
  type Routing,
  type RoutingType,
  requestStatus,
  type SessionMetadata,
  sessionStatus,
  type Vehicle,
} from '../domain/booking';
import { type BookingState, isTerminal, nextDeadline } from '../domain/lifecycle';
import { isStaleHold } from '../domain/open-bookings';
import type { Deps } from './deps';
import { armRecovery, clearTimerQuietly, finishEnding, planRouting, type RouteDeps, routeRequest } from './route-request';
import { tellCustomer } from './tell-customer';

/** The longest an intake or checkout invocation runs: API Gateway's integration timeout (the functions' 29 s, rounded up). */
export const MAX_INVOCATION_SECONDS = 30;

export interface BookingInput {
  readonly plan: Plan;
  readonly concern: string;
  readonly vehicle: Vehicle | null;
  readonly preferred_mechanic_id: string | null;
  /** The favorites in order, when there are two or three (the first is `preferred_mechanic_id`). */
  readonly preferred_mechanic_ids?: readonly string[];
  readonly routing_type: RoutingType | null;
  readonly workshop_id: string | null;
}

export interface IntakeAnswer {
  session_id: string;
  status: 'fulfilled' | 'awaiting_checkout' | 'cancelled';
  request_id?: string;
}

export async function startIntake(
  deps: RouteDeps & Pick<Deps, 'flag' | 'maxOpenBookingsPerCustomer'>,
  input: { customerId: string; idempotencyKey?: string; booking: BookingInput },
): Promise<IntakeAnswer> {
  const sessionId = newSessionId(input.customerId, input.idempotencyKey);
  const now = deps.clock.now();
  const at = now.toISOString();
  // First, before anything is armed or written: a refused intake leaves no trace.
  const held = await holdPlace(deps, input.customerId, sessionId, now);
  // An Idempotency-Key retry of a booking that exists is answered as before, whatever the limit (it was counted when made).
  if (!held && !(input.idempotencyKey && (await deps.bookings.get(sessionId)))) throw tooManyOpenBookings(deps.maxOpenBookingsPerCustomer);
  const fingerprint = bookingFingerprint(input.booking);
  const metadata: SessionMetadata = {
    ...(input.booking.preferred_mechanic_id ? { preferred_mechanic_id: input.booking.preferred_mechanic_id } : {}),
    ...(input.booking.preferred_mechanic_ids ? { preferred_mechanic_ids: input.booking.preferred_mechanic_ids } : {}),
    ...(input.booking.routing_type ? { routing_type: input.booking.routing_type } : {}),
  };
  const draft = newBooking({ sessionId, customerId: input.customerId, booking: input.booking, metadata, fingerprint, at });
  const routeNow = isFulfilledAtIntake(input.booking.plan);
  const plan = routeNow ? await planRouting(deps, draft, now) : undefined;
  // Armed before the write: if this invocation dies after it, the timer finishes the routing.
  if (routeNow) await armRecovery(deps, draft.request_id, 'new');
  const { request_metadata, ...changes } = plan ?? {};
  const { created, booking } = await deps.bookings.create({
    ...draft,
    ...changes,
    state: routeNow ? 'routing' : 'awaiting_checkout',
    request_metadata: { ...request_metadata },
    events: [{ at, type: routeNow ? 'created' : 'awaiting_checkout', ...(plan ? { routing: plan.routing } : {}) }],
  });
  // The recovery timer was armed for a new booking; an existing one keeps its own deadline (or no timer at all).
  if (!created && routeNow) await restoreTimer(deps, booking);
  // A retry of a booking that has ended held its place again: it frees it (its ending did already).
  if (!created && held && isTerminal(booking.state)) await deps.openBookings.release(input.customerId, sessionId);
  if (!created && booking.intake_fingerprint !== fingerprint) {
    throw conflict('idempotency_key_reused', 'Idempotency-Key was already used for a different booking');
  }
  if (created) {
    deps.log.info('[intake] Booking received', { session_id: sessionId, plan: input.booking.plan, ...metadata, workshop_id: input.booking.workshop_id });
    deps.metrics.count('BookingsCreated');
  }
  // A routed booking's customer hears where it stands from its routing (offered, open, or how it ended); one awaiting its checkout, here.
  if (created && !routeNow) await tellCustomer(deps, booking);
  return answer(created ? await routeRequest(deps, booking) : await finishAbandonedRouting(deps, booking));
}

export async function completeCheckout(deps: RouteDeps & Pick<Deps, 'flag'>, input: { customerId: string; sessionId: string }): Promise<IntakeAnswer> {
  let booking = await ownedBooking(deps, input);
  if (booking.state === 'cancelled') throw conflict('session_cancelled', 'the session was cancelled');
  if (booking.state === 'awaiting_checkout') {
    const now = deps.clock.now();
    const plan = await planRouting(deps, booking, now);
    await armRecovery(deps, booking.request_id, 'new');
    const outcome = await deps.bookings.transition(booking.session_id, 'checkout_completed', {
      now: now.toISOString(),
      changes: plan,
      audit: { at: now.toISOString(), type: 'created', routing: plan.routing },
    });
    booking = outcome.booking ?? booking;
    if (booking.state === 'cancelled') {
      await clearTimerQuietly(deps, booking.request_id);
      throw conflict('session_cancelled', 'the session was cancelled');
    }
    if (outcome.applied) {
      deps.log.info('[checkout] Payment complete, fulfilling', { session_id: booking.session_id });
      return answer(await routeRequest(deps, booking));
    }
    // Another checkout got there first: the timer it set stays where its routing put it.
    await restoreTimer(deps, booking);
  }
  return answer(await finishAbandonedRouting(deps, booking));
}

/**
 * Holds a place among the customer's open bookings for this session (lambdas/domain/open-bookings.ts). At the limit,
 * places whose booking ended, or whose intake died before writing its booking, are freed, and the hold is tried once
 * more: a lost release never locks a customer out for longer than one intake's lifetime.
 */
async function holdPlace(
  deps: Pick<Deps, 'openBookings' | 'bookings' | 'maxOpenBookingsPerCustomer'>,
  customerId: string,
  sessionId: string,
  now: Date,
): Promise<boolean> {
  const hold = () => deps.openBookings.hold(customerId, sessionId, deps.maxOpenBookingsPerCustomer, now.toISOString());
  if (await hold()) return true;
  const { sessionIds, lastHeldAt } = await deps.openBookings.read(customerId);
  if (lastHeldAt === null) return false;
  const bookings = await Promise.all(sessionIds.map((id) => deps.bookings.get(id)));
  const stale = sessionIds.filter((_, i) => isStaleHold(bookings[i], lastHeldAt, now, MAX_INVOCATION_SECONDS));
  // A hold made since the read (`forget` refuses then) may be an intake between its hold and its write: not freed.
  if (stale.length === 0 || !(await deps.openBookings.forget(customerId, stale, lastHeldAt))) return false;
  return hold();
}

/**
 * A retried intake or checkout finds the booking already routed, or routing:
 * it routes only a routing begun longer ago than any invocation may run (its
 * invocation has died), so a retry racing the first attempt sends nothing
 * twice; a younger one is the first attempt's to finish — or the timer's.
 */
async function finishAbandonedRouting(deps: RouteDeps, booking: Booking): Promise<Booking> {
  const abandoned = booking.state === 'routing' && deps.clock.now().getTime() - Date.parse(booking.routing_since!) >= MAX_INVOCATION_SECONDS * 1000;
  return abandoned ? routeRequest(deps, booking) : booking;
}

export async function cancelBooking(
  deps: Pick<Deps, 'bookings' | 'connections' | 'openBookings' | 'pusher' | 'fanOut' | 'timer' | 'clock' | 'log' | 'metrics'>,
  input: { customerId: string; sessionId: string },
): Promise<{ session_id: string; status: 'cancelled' }> {
  const owned = await ownedBooking(deps, input);
  const cancelled = { session_id: owned.session_id, status: 'cancelled' as const };
  const at = deps.clock.now().toISOString();
  const outcome =
    owned.state === 'cancelled'
      ? { applied: false, booking: owned }
      : await deps.bookings.transition(owned.session_id, 'cancelled', { now: at, audit: { at, type: 'cancelled' } });
  const booking = outcome.booking ?? owned;
  if (booking.state === 'matched') throw conflict('already_matched', 'the request was already accepted by a mechanic');
  if (booking.state === 'expired') throw conflict('request_expired', 'the request expired before anyone accepted it');
  if (outcome.applied) deps.log.info('[cancel] Session cancelled', { session_id: booking.session_id, request_id: booking.request_id, was: owned.state });
  // A repeated cancel finds the timer still set when the first died after its write (the timer goes last): it finishes that one's work.
  const unfinished = outcome.applied || (booking.routing !== null && (await deps.timer.isSet(booking.request_id)));
  if (booking.routing !== null && unfinished) await finishEnding(deps, booking);
  // Cancelled before its checkout: never offered to anyone, so only its customer hears of it. (No timer tells a
  // repeat that this died before releasing the place: the next intake at the limit frees it, its booking ended.)
  if (booking.routing === null && outcome.applied) {
    await deps.openBookings.release(booking.customer_id, booking.session_id);
    await tellCustomer(deps, booking);
  }
  return cancelled;
}

export interface SessionView {
  session_id: string;
  customer_id: string;
  plan: Plan;
  status: ReturnType<typeof sessionStatus>;
  concern: string;
  vehicle: Vehicle | null;
  workshop_id: string | null;
  metadata: SessionMetadata;
  created_at: string;
  request: {
    request_id: string;
    status: ReturnType<typeof requestStatus>;
    state: BookingState;
    routing: Routing;
    mechanic_id: string | null;
    expires_at: string | null;
    open_until: string | null;
    metadata: RequestMetadata;
    events: readonly AuditEvent[];
  } | null;
}

export async function getSessionView(deps: Pick<Deps, 'bookings'>, input: { customerId: string; sessionId: string }): Promise<SessionView> {
  const booking = await ownedBooking(deps, input);
  return {
    session_id: booking.session_id,
    customer_id: booking.customer_id,
    plan: booking.plan,
    status: sessionStatus(booking),
    concern: booking.concern,
    vehicle: booking.vehicle,
    workshop_id: booking.workshop_id,
    metadata: booking.metadata,
    created_at: booking.created_at,
    // A request exists once routing began (a booking cancelled before its checkout never had one).
    request:
      booking.routing === null
        ? null
        : {
            request_id: booking.request_id,
            status: requestStatus(booking),
            state: booking.state,
            routing: booking.routing,
            mechanic_id: booking.mechanic_id,
            expires_at: booking.expires_at,
            open_until: booking.open_until,
            metadata: booking.request_metadata,
            events: booking.events,
          },
  };
}

/**
 * Puts the timer back where the booking's state needs it: at its next
 * deadline, or gone when it awaits its checkout. An ended booking keeps the
 * timer just armed: its ending may have died before telling everyone, and the
 * firing repeats `request_taken` (a duplicate at worst) and clears itself.
 */
async function restoreTimer(deps: RouteDeps, seen: Booking): Promise<void> {
  // Read again: the attempt that owns the routing may have moved the timer since `seen` was read.
  const booking = (await deps.bookings.get(seen.session_id)) ?? seen;
  if (isTerminal(booking.state)) return;
  const deadline = nextDeadline(booking, deps.recoveryDelaySeconds);
  if (deadline) await deps.timer.set(booking.request_id, new Date(deadline), 'existing');
  else await clearTimerQuietly(deps, booking.request_id);
}

function answer(booking: Booking): IntakeAnswer {
  const status = sessionStatus(booking);
  return status === 'awaiting_checkout'
    ? { session_id: booking.session_id, status }
    : { session_id: booking.session_id, status, request_id: booking.request_id };
}

function newBooking(input: {
  sessionId: string;
  customerId: string;
  booking: BookingInput;
  metadata: SessionMetadata;
  fingerprint: string;
  at: string;
}): Booking {
  return {
    session_id: input.sessionId,
    request_id: requestIdFor(input.sessionId),
    customer_id: input.customerId,
    plan: input.booking.plan,
    concern: input.booking.concern,
    vehicle: input.booking.vehicle,
    workshop_id: input.booking.workshop_id,
    metadata: input.metadata,
    intake_fingerprint: input.fingerprint,
    state: 'awaiting_checkout',
    routing: null,
    route_to: null,
    new_request_reason: null,
    audience: null,
    routing_since: null,
    mechanic_id: null,
    expires_at: null,
    open_until: null,
    request_metadata: {},
    events: [],
    created_at: input.at,
    updated_at: input.at,
  };
}

async function ownedBooking(deps: Pick<Deps, 'bookings'>, input: { customerId: string; sessionId: string }): Promise<Booking> {
  const booking = isSessionId(input.sessionId) ? await deps.bookings.get(input.sessionId) : undefined;
  // The id is echoed back shortened: a 404 must not mirror whatever a client sends.
  if (!booking || booking.customer_id !== input.customerId) throw notFound(`session ${input.sessionId.slice(0, 80)}`);
  return booking;
}
