/**
 * Telling a customer where their booking stands: `session_status` to each of
 * their live connections at every change they care about — awaiting the
 * checkout, offered to their favorite, open to everyone (or a workshop), and
 * its ending (matched, cancelled, expired). `routing` is not sent: it is a
 * moment between two of those (whom to tell is decided, telling them is not
 * confirmed yet) and the next one follows within the same invocation, or the
 * timer's. An ending told again (a retried accept, the timer repeating it) is
 * told again here too: delivery is at least once.
 *
 * One Query of the customer's connections (usually none or one), then a push
 * to each (a 410 prunes that connection). It never fails the flow that calls
 * it: the booking has already moved, and a status the customer missed is
 * theirs to read again (`GET /sessions/{id}`, their `sync`).
 */
import type { Booking } from '../domain/booking';
import { describeError } from '../domain/errors';
import { sessionStatusUpdate } from '../domain/messages';
import { type PushDeps, pushToConnections } from './tell-mechanics';

export async function tellCustomer(deps: PushDeps, booking: Booking): Promise<void> {
  try {
    const connections = await deps.connections.listByCustomer(booking.customer_id);
    if (connections.length > 0) await pushToConnections(deps, connections, sessionStatusUpdate(booking));
  } catch (error) {
    deps.log.warn('Could not tell the customer their booking status', {
      session_id: booking.session_id,
      customer_id: booking.customer_id,
      state: booking.state,
      error: describeError(error),
    });
  }
}
