/**
 * The customer's side of the WebSocket: a customer's live connection, and
 * what they are told about their bookings (`session_status`, and the
 * `sessions` answer to their `sync`). Pure: no I/O, no clock.
 */
import { audienceOf, type BookingSummary } from './booking';
import type { BookingState } from './lifecycle';

/** A customer's live connection: it hears only their own bookings' status, never an offer (it is in no broadcast). */
export interface CustomerConnection {
  readonly connection_id: string;
  readonly customer_id: string;
  readonly connected_at: string;
}

/** A booking as its customer sees it: the fields of `session_status` (and of each of `sessions`). */
export interface CustomerStatus {
  readonly session_id: string;
  readonly state: BookingState;
  /** The favorite holding the window (`offered`), or the winner (`matched`). */
  readonly mechanic_id?: string;
  /** The window's end (`offered`), or until when anyone may take it (`open`). */
  readonly expires_at?: string;
}

export function customerStatus(booking: BookingSummary): CustomerStatus {
  const status = { session_id: booking.session_id, state: booking.state };
  switch (booking.state) {
    case 'offered': {
      const audience = audienceOf(booking);
      return {
        ...status,
        ...(audience?.kind === 'mechanic' ? { mechanic_id: audience.mechanicId } : {}),
        ...(booking.expires_at ? { expires_at: booking.expires_at } : {}),
      };
    }
    case 'open':
      return { ...status, ...(booking.open_until ? { expires_at: booking.open_until } : {}) };
    case 'matched':
      return { ...status, ...(booking.mechanic_id ? { mechanic_id: booking.mechanic_id } : {}) };
    default:
      return status;
  }
}
