/**
 * Server → client WebSocket messages (DESIGN §3), `type` first: offers and
 * their outcomes to mechanics, `session_status` and `sessions` to customers. The pusher
 * adds `sent_at` (server time, ISO 8601) to each as it sends it (Pusher port).
 */
import type { AcceptRefusal, Booking, BookingSummary, NewRequestReason } from './booking';
import { type CustomerStatus, customerStatus } from './customer';

/** Why a request is no longer available. */
export type TakenReason = 'accepted' | 'cancelled' | 'expired';

export type ServerMessage =
  | {
      type: 'priority_session_request';
      request_id: string;
      session_id: string;
      expires_at: string;
      window_seconds: number;
      concern: string;
      vehicle: Booking['vehicle'];
    }
  | {
      type: 'new_request';
      request_id: string;
      session_id: string;
      reason: NewRequestReason;
      /** When the open request expires if nobody takes it. */
      expires_at: string;
      concern: string;
      vehicle: Booking['vehicle'];
    }
  | { type: 'accept_result'; request_id: string; ok: true }
  | { type: 'accept_result'; request_id: string; ok: false; reason: AcceptRefusal }
  | { type: 'request_taken'; request_id: string; reason: TakenReason; by_you?: true }
  | ({ type: 'session_status' } & CustomerStatus)
  /** The answer to a customer's `sync`: their latest bookings, newest first. */
  | { type: 'sessions'; sessions: CustomerStatus[]; server_time: string }
  | { type: 'pong' }
  | { type: 'error'; code: string; message: string };

export const priorityOffer = (request: Booking, expiresAt: string, windowSeconds: number): ServerMessage => ({
  type: 'priority_session_request',
  request_id: request.request_id,
  session_id: request.session_id,
  expires_at: expiresAt,
  window_seconds: windowSeconds,
  concern: request.concern,
  vehicle: request.vehicle,
});

export const newRequest = (request: Booking, reason: NewRequestReason, expiresAt: string): ServerMessage => ({
  type: 'new_request',
  request_id: request.request_id,
  session_id: request.session_id,
  reason,
  expires_at: expiresAt,
  concern: request.concern,
  vehicle: request.vehicle,
});

export const acceptResult = (requestId: string, refusal: AcceptRefusal | null): ServerMessage =>
  refusal === null ? { type: 'accept_result', request_id: requestId, ok: true } : { type: 'accept_result', request_id: requestId, ok: false, reason: refusal };

export const requestTaken = (requestId: string, reason: TakenReason): ServerMessage => ({ type: 'request_taken', request_id: requestId, reason });

/** To the winner's other connections (another phone, a tablet): taken, and by them. */
export const takenByYou = (requestId: string): ServerMessage => ({ type: 'request_taken', request_id: requestId, reason: 'accepted', by_you: true });

/** To the customer's connections, at each change of their booking they care about. */
export const sessionStatusUpdate = (booking: BookingSummary): ServerMessage => ({ type: 'session_status', ...customerStatus(booking) });

export const sessionsAnswer = (bookings: readonly BookingSummary[], serverTime: string): ServerMessage => ({
  type: 'sessions',
  sessions: bookings.map(customerStatus),
  server_time: serverTime,
});

export const pong = (): ServerMessage => ({ type: 'pong' });

export const errorEvent = (code: string, message: string): ServerMessage => ({ type: 'error', code, message });
