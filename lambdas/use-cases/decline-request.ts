/**
 * Decline: every decline of a pending request is remembered, so no later
 * offer of it reaches that mechanic (the fallback broadcast leaves out the
 * favorite who declined, a repeated broadcast anyone who did). The favorite
 * holding the window declining also ends it at once — the next favorite gets
 * theirs now, or after the last, the request opens to everyone else — instead
 * of at `expires_at`. Anyone else's decline changes nothing more (the request
 * stays open to the others).
 */
import { nextFavorite } from '../domain/booking';
import { isRequestId, sessionIdOf } from '../domain/ids';
import { guardHolds, isTerminal, TRANSITIONS } from '../domain/lifecycle';
import { errorEvent } from '../domain/messages';
import { armRecovery, type RouteDeps, routeRequest, windowOverChanges } from './route-request';

export async function declineRequest(deps: RouteDeps, input: { requestId: string; mechanicId: string; connectionId: string }): Promise<void> {
  const booking = isRequestId(input.requestId) ? await deps.bookings.get(sessionIdOf(input.requestId)) : undefined;
  if (!booking || booking.state === 'awaiting_checkout') {
    await deps.pusher.send(input.connectionId, errorEvent('not_found', `request_id ${input.requestId.slice(0, 80)} not found`));
    return;
  }
  const now = deps.clock.now().toISOString();
  // First: the fallback this decline may start must already leave them out.
  if (!isTerminal(booking.state)) await deps.bookings.noteDecline(booking.session_id, input.mechanicId, now);
  const actor = { mechanicId: input.mechanicId, workshopId: null };
  if (!guardHolds(TRANSITIONS.declined.guard, booking, { now, actor })) {
    deps.log.info('[Decline] Noted; the request stays open', { request_id: booking.request_id, mechanic_id: input.mechanicId });
    return;
  }
  const nextMechanicId = nextFavorite(booking);
  const next = nextMechanicId ? { next_mechanic_id: nextMechanicId } : {};
  deps.log.info('[Priority] Favorite declined; ending the priority window now', { request_id: booking.request_id, mechanic_id: input.mechanicId, ...next });
  await armRecovery(deps, booking.request_id, 'existing');
  const outcome = await deps.bookings.transition(booking.session_id, 'declined', {
    now,
    guard: { actor },
    changes: windowOverChanges(nextMechanicId, 'preferred_mechanic_declined', now),
    audit: { at: now, type: 'declined', mechanic_id: input.mechanicId, ...next },
  });
  if (!outcome.applied) return;
  // A fallback is the request opening to everyone; the next favorite's turn is still the priority flow.
  if (!nextMechanicId) deps.metrics.count('FallbacksFired');
  await routeRequest(deps, outcome.booking);
}
