/**
 * THE lifecycle of a booking's request: every state, the events that move it,
 * each transition's guard and its effects, as one table. The DynamoDB adapter
 * turns a transition's guard into the ConditionExpression of its one
 * conditional write; `guardHolds` is the same guard in plain code (unit tests,
 * explaining a refusal); the README's flow diagram is checked against
 * `TRANSITIONS` by a test. Pure: no I/O, no clock.
 */

export const STATES = ['awaiting_checkout', 'routing', 'offered', 'open', 'matched', 'cancelled', 'expired'] as const;
export type BookingState = (typeof STATES)[number];

/** What each state means (the README's state table shows exactly these). */
export const STATE_MEANING: Record<BookingState, string> = {
  awaiting_checkout: 'paid plan: booked, waiting for the payment',
  routing: 'decided whom to tell (`route_to`: a favorite, everyone or a workshop); telling them is not confirmed yet',
  offered: 'one favorite alone holds the request until `expires_at` (their priority window)',
  open: 'offered to everyone or to a workshop until `open_until` (`requestTtl`, 30 minutes by default)',
  matched: 'a mechanic won it (`mechanic_id`)',
  cancelled: 'the customer cancelled it',
  expired: 'open until `open_until` and nobody took it',
};

export const TERMINAL_STATES: readonly BookingState[] = ['matched', 'cancelled', 'expired'];
export const isTerminal = (state: BookingState): boolean => TERMINAL_STATES.includes(state);
/** States in which a mechanic of the audience may win the request. */
export const ACCEPTING_STATES: readonly BookingState[] = ['routing', 'offered', 'open'];

/** Whom a `routing` booking is being sent to. */
export type RouteTo = 'favorite' | 'everyone' | 'workshop';

export type LifecycleEvent =
  | 'booked_unpaid'
  | 'booked'
  | 'checkout_completed'
  | 'routing_resumed'
  | 'favorite_unavailable'
  | 'offer_sent'
  | 'opened'
  | 'window_ended'
  | 'declined'
  | 'accepted'
  | 'cancelled'
  | 'expired';

/**
 * A transition's guard, as data. Every part must hold:
 * - `from`: the current state is one of these (`new` = the item does not exist yet);
 * - `routeTo`: the booking is being routed to this audience;
 * - `actorInAudience`: the acting mechanic is the booking's audience (the favorite, their workshop, or everyone);
 * - `actorIsAudience`: the acting mechanic alone is the audience (the favorite offered the window, or being offered it);
 * - `deadlinePassed`: that deadline is at or before now;
 * - `routingSinceIs`: the routing is still the one the caller read (`routing_since` unchanged), so of two
 *   invocations working on the same routing (two timer firings, or an intake the timer took over), one moves it
 *   on: one resumes it, one skips the favorite (not two favorites), one records the offer it sent.
 */
export interface Guard {
  readonly from: readonly (BookingState | 'new')[];
  readonly routeTo?: RouteTo;
  readonly actorInAudience?: true;
  readonly actorIsAudience?: true;
  readonly deadlinePassed?: 'expires_at' | 'open_until';
  readonly routingSinceIs?: true;
}

/**
 * What a transition does, in order. `write` is the one conditional write;
 * effects before it prepare for a crash after it (the timer is armed first),
 * effects after it tell people. Each is done by the use case named in `by`.
 */
export type Effect =
  /** The customer's place among their open bookings (domain/open-bookings.ts): refused at the limit, before anything else. */
  | 'hold_customer_place'
  | 'arm_timer_for_recovery'
  | 'push_offer_to_favorite'
  | 'write'
  | 'route'
  | 'fan_out_new_request'
  | 'arm_timer_for_window_end'
  | 'arm_timer_for_expiry'
  | 'reply_accept_result'
  | 'tell_audience_request_taken'
  /** `session_status` to the customer's connections (use-cases/tell-customer.ts); `routing` is never told. */
  | 'tell_customer'
  /** The place given back (route-request.ts `finishEnding`), before the timer goes, so the timer's repeat of a dead ending frees it too. */
  | 'free_customer_place'
  | 'clear_timer';

export interface Transition {
  readonly to: BookingState;
  readonly guard: Guard;
  readonly effects: readonly Effect[];
  /** The use case (lambdas/use-cases/) that applies it. */
  readonly by: string;
}

export const TRANSITIONS: Record<LifecycleEvent, Transition> = {
  booked_unpaid: { to: 'awaiting_checkout', guard: { from: ['new'] }, effects: ['hold_customer_place', 'write', 'tell_customer'], by: 'booking.startIntake' },
  booked: {
    to: 'routing',
    guard: { from: ['new'] },
    effects: ['hold_customer_place', 'arm_timer_for_recovery', 'write', 'route'],
    by: 'booking.startIntake',
  },
  checkout_completed: {
    to: 'routing',
    guard: { from: ['awaiting_checkout'] },
    effects: ['arm_timer_for_recovery', 'write', 'route'],
    by: 'booking.completeCheckout',
  },
  routing_resumed: {
    to: 'routing',
    guard: { from: ['routing'], routingSinceIs: true },
    effects: ['arm_timer_for_recovery', 'write', 'route'],
    by: 'request-timer.onTimer',
  },
  favorite_unavailable: {
    to: 'routing',
    guard: { from: ['routing'], routeTo: 'favorite', routingSinceIs: true },
    effects: ['write', 'route'],
    by: 'route-request.routeRequest',
  },
  offer_sent: {
    to: 'offered',
    guard: { from: ['routing'], routeTo: 'favorite', routingSinceIs: true },
    effects: ['push_offer_to_favorite', 'write', 'arm_timer_for_window_end', 'tell_customer'],
    by: 'route-request.routeRequest',
  },
  opened: {
    to: 'open',
    guard: { from: ['routing'] },
    effects: ['fan_out_new_request', 'write', 'arm_timer_for_expiry', 'tell_customer'],
    by: 'route-request.routeRequest',
  },
  window_ended: {
    to: 'routing',
    guard: { from: ['offered'], deadlinePassed: 'expires_at' },
    effects: ['arm_timer_for_recovery', 'write', 'route'],
    by: 'request-timer.onTimer',
  },
  declined: {
    to: 'routing',
    // From `routing` too: the favorite's offer is pushed before `offer_sent` is written, so their decline may come
    // first. Its new `routing_since` then refuses that `offer_sent` (routingSinceIs), and the window ends all the same.
    guard: { from: ['routing', 'offered'], actorIsAudience: true },
    effects: ['arm_timer_for_recovery', 'write', 'route'],
    by: 'decline-request.declineRequest',
  },
  accepted: {
    to: 'matched',
    guard: { from: ACCEPTING_STATES, actorInAudience: true },
    effects: ['write', 'reply_accept_result', 'free_customer_place', 'tell_audience_request_taken', 'tell_customer', 'clear_timer'],
    by: 'accept-request.acceptRequest',
  },
  cancelled: {
    to: 'cancelled',
    guard: { from: ['awaiting_checkout', ...ACCEPTING_STATES] },
    effects: ['write', 'free_customer_place', 'tell_audience_request_taken', 'tell_customer', 'clear_timer'],
    by: 'booking.cancelBooking',
  },
  expired: {
    to: 'expired',
    guard: { from: ['open'], deadlinePassed: 'open_until' },
    effects: ['write', 'free_customer_place', 'tell_audience_request_taken', 'tell_customer', 'clear_timer'],
    by: 'request-timer.onTimer',
  },
};

/**
 * The audience as one flat attribute, so "may this mechanic act?" is one
 * `IN` in a condition expression: `everyone`, `mechanic#<id>` or `workshop#<id>`.
 */
export const audienceKey = {
  everyone: 'everyone',
  mechanic: (mechanicId: string) => `mechanic#${mechanicId}`,
  workshop: (workshopId: string) => `workshop#${workshopId}`,
} as const;

/** The keys a mechanic belongs to: an accept is allowed when the booking's audience is one of them. */
export function audienceKeysOf(actor: { mechanicId: string; workshopId: string | null }): string[] {
  return [audienceKey.everyone, audienceKey.mechanic(actor.mechanicId), ...(actor.workshopId ? [audienceKey.workshop(actor.workshopId)] : [])];
}

/**
 * While a request is `offered` or `open` its audience may act on it, until that state's deadline: the
 * favorite's window (`expires_at`), or `open_until`. The table indexes a booking by audience and this
 * deadline exactly while it is pending (`pending-by-audience`), which is how a reconnecting mechanic's
 * `sync` finds what it may act on without reading every booking.
 */
export const PENDING_DEADLINE: Partial<Record<BookingState, 'expires_at' | 'open_until'>> = { offered: 'expires_at', open: 'open_until' };

/** Whom a booking is pending for, and until when; null when nobody may act on it now. */
export function pendingEntry(booking: Pick<GuardedFields, 'state' | 'audience' | 'expires_at' | 'open_until'>): { audience: string; deadline: string } | null {
  const field = PENDING_DEADLINE[booking.state];
  const deadline = field ? booking[field] : null;
  return booking.audience && deadline ? { audience: booking.audience, deadline } : null;
}

/** The fields of a booking a guard reads. */
export interface GuardedFields {
  readonly state: BookingState;
  readonly route_to: RouteTo | null;
  readonly audience: string | null;
  readonly expires_at: string | null;
  readonly open_until: string | null;
  readonly routing_since: string | null;
}

export interface GuardContext {
  readonly now: string;
  readonly routeTo?: RouteTo;
  readonly actor?: { mechanicId: string; workshopId: string | null };
  /** The `routing_since` the caller read. */
  readonly routingSince?: string;
}

/** The guard in plain code: exactly what the adapter's ConditionExpression checks. */
export function guardHolds(guard: Guard, booking: GuardedFields | undefined, context: GuardContext): boolean {
  if (!booking) return guard.from.includes('new');
  if (!guard.from.includes(booking.state)) return false;
  if (guard.routeTo && booking.route_to !== guard.routeTo) return false;
  if (guard.actorInAudience && (!context.actor || booking.audience === null || !audienceKeysOf(context.actor).includes(booking.audience))) return false;
  if (guard.actorIsAudience && (!context.actor || booking.audience !== audienceKey.mechanic(context.actor.mechanicId))) return false;
  if (guard.routingSinceIs && (context.routingSince === undefined || booking.routing_since !== context.routingSince)) return false;
  if (guard.deadlinePassed) {
    const deadline = booking[guard.deadlinePassed];
    if (deadline === null || deadline > context.now) return false;
  }
  return true;
}

/** The one thing a timer firing does for a booking in this state, once its deadline is due. */
export type DueWork = 'finish_routing' | 'end_window' | 'expire' | 'retell_end' | 'nothing';

export interface Deadlines {
  readonly state: BookingState;
  /** When the current routing began: a routing still undone `recoveryDelaySeconds` later is finished by the timer. */
  readonly routing_since: string | null;
  readonly expires_at: string | null;
  readonly open_until: string | null;
}

/** When the booking's timer must next do something; null when it needs no timer (awaiting checkout, ended). */
export function nextDeadline(booking: Deadlines, recoveryDelaySeconds: number): string | null {
  switch (booking.state) {
    case 'routing':
      return booking.routing_since && new Date(Date.parse(booking.routing_since) + recoveryDelaySeconds * 1000).toISOString();
    case 'offered':
      return booking.expires_at;
    case 'open':
      return booking.open_until;
    default:
      return null;
  }
}

/**
 * What a timer firing at `now` must do. An ended booking whose timer still
 * fires lost its ending invocation before the timer was cleared: tell the
 * audience again (duplicates are allowed, zero is not).
 */
export function dueWork(booking: Deadlines | undefined, now: string, recoveryDelaySeconds: number): DueWork {
  if (!booking) return 'nothing';
  if (isTerminal(booking.state)) return 'retell_end';
  const deadline = nextDeadline(booking, recoveryDelaySeconds);
  if (deadline === null || deadline > now) return 'nothing';
  if (booking.state === 'routing') return 'finish_routing';
  if (booking.state === 'offered') return 'end_window';
  return 'expire';
}
