/**
 * How many bookings one customer may hold open at once, and when a hold on
 * that limit is stale. A booking is **open** from its intake until it ends:
 * `awaiting_checkout`, `routing`, `offered` and `open` count; `matched`,
 * `cancelled` and `expired` do not (a matched session is under way, no longer
 * waiting for anyone). Pure: no I/O, no clock.
 *
 * The count is not a Query of the customer's bookings: two intakes counting at
 * once would both see room. Each customer has one list of the sessions they
 * hold open, changed by single conditional writes (lambdas/ports
 * `OpenBookings`): an intake holds its session there before it writes the
 * booking, and every ending releases it.
 */
import type { Booking } from './booking';
import { isTerminal } from './lifecycle';

/**
 * Whether a listed session no longer holds a place: its booking ended (its
 * ending died before releasing it), or there is no booking and the newest
 * hold on the list is older than any intake runs (`maxInvocationSeconds`) —
 * so the intake that held it died before writing it, and no intake between
 * its hold and its write can be mistaken for one (the list's newest hold is
 * at least as new as that intake's).
 */
export function isStaleHold(booking: Pick<Booking, 'state'> | undefined, lastHeldAt: string, now: Date, maxInvocationSeconds: number): boolean {
  if (booking) return isTerminal(booking.state);
  return now.getTime() - Date.parse(lastHeldAt) >= maxInvocationSeconds * 1000;
}
